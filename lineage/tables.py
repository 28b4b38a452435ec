"""All table models in one module (the SQLModel way).

Rows never leave the store layer: services turn them into frozen entities
(``lineage/entities.py``) before returning. Times are naive UTC datetimes in the
database (SQLite keeps no zone) and become aware UTC values at the entity boundary.
Every change to these classes needs an Alembic migration in ``lineage/migrations``;
``tests/test_db.py`` fails when the two disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:  # columns use plain DateTime: naive UTC by design
    """The one clock of the store: naive UTC with microseconds (invariant 6)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Dataset(SQLModel, table=True):
    """A named stream of snapshots, such as ``customers_raw``."""

    __tablename__ = "dataset"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False))
    created_by: str = Field(max_length=256)


class Snapshot(SQLModel, table=True):
    """One immutable version of a dataset."""

    __tablename__ = "snapshot"
    __table_args__ = (UniqueConstraint("dataset_id", "version", name="uq_snapshot_dataset_version"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
    version: str = Field(max_length=128)
    stage: str = Field(max_length=16)
    hash_algorithm: str = Field(default="sha256", max_length=16)
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    format: str = Field(max_length=32)
    rows: int = Field(sa_column=Column(BigInteger, nullable=False))
    column_count: int
    arrow_schema: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(max_length=80)
    source_uri: str = Field(sa_column=Column(Text, nullable=False))
    stored: bool = True
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False, index=True))
    created_by: str = Field(max_length=256)


class SnapshotFile(SQLModel, table=True):
    """One member file of a directory snapshot, as listed in its manifest."""

    __tablename__ = "snapshot_file"

    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    path: str = Field(primary_key=True, max_length=1024)
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64, index=True)


class Edge(SQLModel, table=True):
    """A lineage edge between two nodes of any kind (snapshot, feature set, model…).

    One table for every relation keeps trace and impact a single recursive query.
    """

    __tablename__ = "edge"
    __table_args__ = (
        Index("ix_edge_child", "child_kind", "child_id"),
        Index("ix_edge_parent", "parent_kind", "parent_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    parent_kind: str = Field(max_length=32)
    parent_id: int
    child_kind: str = Field(max_length=32)
    child_id: int
    relation: str = Field(max_length=32)
    transform_ref: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False))


class AuditEvent(SQLModel, table=True):
    """One link of the append-only, hash-chained audit log (invariant 4)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("prev_hash", name="uq_audit_event_prev_hash"),
        UniqueConstraint("hash", name="uq_audit_event_hash"),
    )

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_column=Column(DateTime(), nullable=False, index=True))
    actor: str = Field(max_length=256, index=True)
    action: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=512, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """A single row holding the chain head; locking it serialises every append."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = Field(max_length=64)
