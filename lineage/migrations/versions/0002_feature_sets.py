"""Feature sets, their immutable versions and per-feature code.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_set",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
    )
    op.create_index("ix_feature_set_name", "feature_set", ["name"], unique=True)

    op.create_table(
        "feature_set_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("feature_set_id", sa.Integer(), sa.ForeignKey("feature_set.id"), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("schema_doc", sa.Text(), nullable=False),
        sa.Column("set_hash", sa.String(length=80), nullable=False),
        sa.Column("module", sa.Text(), nullable=False),
        sa.Column("module_path", sa.Text(), nullable=False),
        sa.Column("git_commit", sa.String(length=64), nullable=False),
        sa.Column("git_dirty", sa.Boolean(), nullable=True),
        sa.Column("change_class", sa.String(length=8), nullable=False),
        sa.Column("allow_breaking", sa.Text(), nullable=False),
        sa.Column("released_tag", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.UniqueConstraint("feature_set_id", "version", name="uq_feature_set_version"),
    )
    op.create_index("ix_feature_set_version_feature_set_id", "feature_set_version", ["feature_set_id"])

    op.create_table(
        "feature_code",
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("feature_set_version.id"), primary_key=True),
        sa.Column("name", sa.String(length=128), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("dtype", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.String(length=80), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feature_code")
    op.drop_index("ix_feature_set_version_feature_set_id", table_name="feature_set_version")
    op.drop_table("feature_set_version")
    op.drop_index("ix_feature_set_name", table_name="feature_set")
    op.drop_table("feature_set")
