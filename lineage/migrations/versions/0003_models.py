"""Models, their immutable versions, directory-artifact members and the alias history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
    )
    op.create_index("ix_model_name", "model", ["name"], unique=True)

    op.create_table(
        "model_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("model.id"), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
        sa.Column("artifact_size", sa.BigInteger(), nullable=False),
        sa.Column("artifact_kind", sa.String(length=8), nullable=False),
        sa.Column("artifact_name", sa.Text(), nullable=False),
        sa.Column("feature_set_version_id", sa.Integer(), sa.ForeignKey("feature_set_version.id"), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("git_commit", sa.String(length=64), nullable=False),
        sa.Column("git_dirty", sa.Boolean(), nullable=True),
        sa.Column("entrypoint", sa.Text(), nullable=False),
        sa.Column("workdir", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.UniqueConstraint("model_id", "version", name="uq_model_version"),
    )
    op.create_index("ix_model_version_model_id", "model_version", ["model_id"])
    op.create_index("ix_model_version_artifact_sha256", "model_version", ["artifact_sha256"])
    op.create_index("ix_model_version_feature_set_version_id", "model_version", ["feature_set_version_id"])
    op.create_index("ix_model_version_created_at", "model_version", ["created_at"])

    op.create_table(
        "model_artifact_file",
        sa.Column("model_version_id", sa.Integer(), sa.ForeignKey("model_version.id"), primary_key=True),
        sa.Column("path", sa.String(length=1024), primary_key=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
    )

    op.create_table(
        "alias_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("model.id"), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("model_version_id", sa.Integer(), sa.ForeignKey("model_version.id"), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
    )
    op.create_index("ix_alias_event_model_alias", "alias_event", ["model_id", "alias", "id"])
    op.create_index("ix_alias_event_model_version_id", "alias_event", ["model_version_id"])
    op.create_index("ix_alias_event_at", "alias_event", ["at"])


def downgrade() -> None:
    op.drop_table("alias_event")
    op.drop_table("model_artifact_file")
    op.drop_table("model_version")
    op.drop_index("ix_model_name", table_name="model")
    op.drop_table("model")
