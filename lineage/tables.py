"""All table models in one module (the SQLModel way).

Rows never leave the store layer: services turn them into frozen entities
(``lineage/entities.py``) before returning. Times are naive UTC datetimes in the
database (SQLite keeps no zone) and become aware UTC values at the entity boundary.
Every change to these classes needs an Alembic migration in ``lineage/migrations``;
``tests/test_db.py`` fails when the two disagree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from lineage.clock import utcnow  # noqa: F401 - re-exported: services import the clock from here


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


class FeatureSetRow(SQLModel, table=True):
    """A named feature set, such as ``customer_features``; its versions hold the content."""

    __tablename__ = "feature_set"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False))
    created_by: str = Field(max_length=256)


class FeatureSetVersion(SQLModel, table=True):
    """One immutable version of a feature set: schema, code hashes, git state (invariant 2)."""

    __tablename__ = "feature_set_version"
    __table_args__ = (UniqueConstraint("feature_set_id", "version", name="uq_feature_set_version"),)

    id: int | None = Field(default=None, primary_key=True)
    feature_set_id: int = Field(foreign_key="feature_set.id", index=True)
    version: str = Field(max_length=128)
    schema_doc: str = Field(sa_column=Column(Text, nullable=False))
    set_hash: str = Field(max_length=80)
    module: str = Field(sa_column=Column(Text, nullable=False))
    module_path: str = Field(default="", sa_column=Column(Text, nullable=False))
    git_commit: str = Field(default="", max_length=64)
    git_dirty: bool | None = None
    change_class: str = Field(default="", max_length=8)  # bump required over the previous version
    allow_breaking: str = Field(default="", sa_column=Column(Text, nullable=False))
    released_tag: str = Field(default="", max_length=256)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False))
    created_by: str = Field(max_length=256)


class FeatureCodeRow(SQLModel, table=True):
    """The source and normalised code hash of one feature in one feature-set version."""

    __tablename__ = "feature_code"

    version_id: int = Field(foreign_key="feature_set_version.id", primary_key=True)
    name: str = Field(primary_key=True, max_length=128)
    position: int
    dtype: str = Field(max_length=16)
    source: str = Field(sa_column=Column(Text, nullable=False))
    code_hash: str = Field(max_length=80)


class ModelRow(SQLModel, table=True):
    """A named model, such as ``churn``; its versions hold the content."""

    __tablename__ = "model"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False))
    created_by: str = Field(max_length=256)


class ModelVersion(SQLModel, table=True):
    """One immutable model version: its artifact and everything needed to reproduce it.

    Inputs (snapshots with roles) and the feature-set version are lineage edges; the
    rest is recorded here. The artifact is stored as a blob (a manifest for a directory)
    and never unpickled or imported.
    """

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("model_id", "version", name="uq_model_version"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id", index=True)
    version: str = Field(max_length=128)
    artifact_sha256: str = Field(max_length=64, index=True)
    artifact_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    artifact_kind: str = Field(max_length=8)  # file | dir
    artifact_name: str = Field(sa_column=Column(Text, nullable=False))
    feature_set_version_id: int | None = Field(default=None, foreign_key="feature_set_version.id", index=True)
    seed: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    params: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    metrics: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    git_commit: str = Field(default="", max_length=64)
    git_dirty: bool | None = None
    entrypoint: str = Field(default="", sa_column=Column(Text, nullable=False))
    workdir: str = Field(default="", sa_column=Column(Text, nullable=False))
    environment: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    run_id: str = Field(default="", max_length=64)
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False, index=True))
    created_by: str = Field(max_length=256)


class ModelArtifactFile(SQLModel, table=True):
    """One member file of a directory artifact, as listed in its manifest."""

    __tablename__ = "model_artifact_file"

    model_version_id: int = Field(foreign_key="model_version.id", primary_key=True)
    path: str = Field(primary_key=True, max_length=1024)
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)


class AliasEvent(SQLModel, table=True):
    """One move of an alias (append-only): the holder at any time is the latest event before it."""

    __tablename__ = "alias_event"
    __table_args__ = (Index("ix_alias_event_model_alias", "model_id", "alias", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="model.id")
    alias: str = Field(max_length=128)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    action: str = Field(max_length=16)  # promote | rollback
    reason: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False, index=True))
    actor: str = Field(max_length=256)


class SnapshotProfile(SQLModel, table=True):
    """Per-column statistics of a snapshot, computed once so pages never rescan the data."""

    __tablename__ = "snapshot_profile"

    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    profile: str = Field(sa_column=Column(Text, nullable=False))  # JSON: {column: profile}
    mode: str = Field(max_length=16)  # exact | streaming
    computed_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False))
    computed_by: str = Field(max_length=256)


class DriftReportRow(SQLModel, table=True):
    """A saved drift report, linked to both snapshots and (optionally) the feature-set version."""

    __tablename__ = "drift_report"

    id: int | None = Field(default=None, primary_key=True)
    reference_snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    current_snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    feature_set_version_id: int | None = Field(default=None, foreign_key="feature_set_version.id")
    drifted: bool
    share: float
    report: str = Field(sa_column=Column(Text, nullable=False))  # the report's JSON
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False, index=True))
    created_by: str = Field(max_length=256)


class SnapshotTombstone(SQLModel, table=True):
    """Marks a snapshot whose bytes were purged (privacy requests): hashes and lineage stay.

    The snapshot row itself is never deleted or edited (invariant 1); the tombstone is a
    separate, append-only record so every reader can tell "bytes erased on purpose" from
    "blob missing" (corruption).
    """

    __tablename__ = "snapshot_tombstone"

    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    purged_blobs: int = 0
    purged_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    purged_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(), nullable=False))
    purged_by: str = Field(max_length=256)


class SnapshotDigest(SQLModel, table=True):
    """A digest another tool recorded for a snapshot or one of its member files.

    DVC identifies data by md5; keeping its digest next to our sha256 lets users match
    the two worlds. ``path`` is empty for the snapshot as a whole.
    """

    __tablename__ = "snapshot_digest"

    snapshot_id: int = Field(foreign_key="snapshot.id", primary_key=True)
    path: str = Field(default="", primary_key=True, max_length=1024)
    algorithm: str = Field(primary_key=True, max_length=16)  # e.g. md5
    digest: str = Field(max_length=128, index=True)
    origin: str = Field(max_length=32)  # e.g. dvc
