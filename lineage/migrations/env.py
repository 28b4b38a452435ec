"""Alembic environment: always called with a connection from lineage.migrations.runner."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from lineage import tables  # noqa: F401 - registers the tables on the metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `lineage init` or `lineage migrate`")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
)
with context.begin_transaction():
    context.run_migrations()
