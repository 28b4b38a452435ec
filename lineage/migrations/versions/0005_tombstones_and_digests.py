"""Snapshot tombstones (purged bytes) and digests recorded by other tools (DVC's md5).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshot_tombstone",
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("purged_blobs", sa.Integer(), nullable=False),
        sa.Column("purged_bytes", sa.BigInteger(), nullable=False),
        sa.Column("purged_at", sa.DateTime(), nullable=False),
        sa.Column("purged_by", sa.String(length=256), nullable=False),
    )
    op.create_table(
        "snapshot_digest",
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), primary_key=True),
        sa.Column("path", sa.String(length=1024), primary_key=True),
        sa.Column("algorithm", sa.String(length=16), primary_key=True),
        sa.Column("digest", sa.String(length=128), nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
    )
    op.create_index("ix_snapshot_digest_digest", "snapshot_digest", ["digest"])


def downgrade() -> None:
    op.drop_table("snapshot_digest")
    op.drop_table("snapshot_tombstone")
