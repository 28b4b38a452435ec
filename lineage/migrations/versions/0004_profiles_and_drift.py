"""Stored snapshot profiles and saved drift reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshot_profile",
        sa.Column("snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), primary_key=True),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("computed_by", sa.String(length=256), nullable=False),
    )
    op.create_table(
        "drift_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reference_snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("current_snapshot_id", sa.Integer(), sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("feature_set_version_id", sa.Integer(), sa.ForeignKey("feature_set_version.id"), nullable=True),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
    )
    op.create_index("ix_drift_report_reference_snapshot_id", "drift_report", ["reference_snapshot_id"])
    op.create_index("ix_drift_report_current_snapshot_id", "drift_report", ["current_snapshot_id"])
    op.create_index("ix_drift_report_created_at", "drift_report", ["created_at"])


def downgrade() -> None:
    op.drop_table("drift_report")
    op.drop_table("snapshot_profile")
