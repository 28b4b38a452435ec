"""Plain values the services return: never ORM rows or sessions (MLflow's rule).

Each has ``to_json()`` with the keys the CLI's ``--json`` prints; keys are stable
once released (add, never rename).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lineage.audit_hash import format_time
from lineage.naming import STAGES  # noqa: F401 - re-exported: the stages belong to the entities

if TYPE_CHECKING:
    from lineage.tombstones import Tombstone


@dataclass(frozen=True)
class SnapshotInfo:
    """One immutable dataset snapshot as users see it."""

    dataset: str
    version: str
    stage: str
    hash_algorithm: str
    sha256: str
    size_bytes: int
    format: str
    rows: int
    columns: int
    fingerprint: str
    schema: list[dict[str, str]]
    arrow_schema: str
    parents: list[str]
    transform: str
    source_uri: str
    stored: bool
    note: str
    created_at: datetime  # aware UTC
    created_by: str
    created: bool = False  # True only on the call that registered it
    files: list[dict[str, Any]] = field(default_factory=list)
    purged: Tombstone | None = None  # set once `lineage purge` erased its bytes

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"

    @property
    def holds_bytes(self) -> bool:
        """Whether the store holds a copy now: copied at registration and not purged since.

        ``stored`` says how it was registered (copy or ``--no-copy``); after ``lineage
        purge`` the copy is gone, and what users read ("stored") must say so.
        """
        return self.stored and self.purged is None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "dataset": self.dataset,
            "version": self.version,
            "stage": self.stage,
            "hash_algorithm": self.hash_algorithm,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "format": self.format,
            "rows": self.rows,
            "columns": self.columns,
            "fingerprint": self.fingerprint,
            "schema": self.schema,
            "parents": self.parents,
            "transform": self.transform,
            "source_uri": self.source_uri,
            "stored": self.holds_bytes,
            "note": self.note,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "created": self.created,
            "files": self.files,
            "purged": self.purged.to_json() if self.purged is not None else None,
        }


@dataclass(frozen=True)
class VerifyResult:
    """Whether a snapshot's bytes are intact, and whether its source still matches."""

    ref: str
    ok: bool
    problem: str | None
    source_status: str  # unchanged | changed | missing | not-local | computed
    source_problem: str | None = None
    purged: Tombstone | None = None  # bytes erased on purpose: ok, nothing left to re-hash

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "ok": self.ok,
            "problem": self.problem,
            "source_status": self.source_status,
            "source_problem": self.source_problem,
            "purged": self.purged.to_json() if self.purged is not None else None,
        }


@dataclass(frozen=True)
class AuditEntry:
    """One audit event as users see it."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": format_time(self.at),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class FeatureInfo:
    """One feature of a registered feature-set version."""

    name: str
    dtype: str
    source: str
    code_hash: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "code_hash": self.code_hash, "source": self.source}


@dataclass(frozen=True)
class FeatureSetVersionInfo:
    """One immutable feature-set version as users see it."""

    feature_set: str
    version: str
    schema: dict[str, Any]  # canonical long form
    features: list[FeatureInfo]
    set_hash: str
    module: str
    module_path: str
    git_commit: str
    git_dirty: bool | None
    previous: str
    change_class: str
    allow_breaking: str
    released_tag: str
    created_at: datetime
    created_by: str
    created: bool = False
    affected: list[str] = field(default_factory=list)  # models/aliases trained on changed features

    @property
    def ref(self) -> str:
        return f"{self.feature_set}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "feature_set": self.feature_set,
            "version": self.version,
            "entity": self.schema.get("entity"),
            "timestamp": self.schema.get("timestamp"),
            "schema": self.schema,
            "features": [f.to_json() for f in self.features],
            "set_hash": self.set_hash,
            "module": self.module,
            "module_path": self.module_path,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "previous": self.previous,
            "change_class": self.change_class,
            "allow_breaking": self.allow_breaking,
            "released_tag": self.released_tag,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "created": self.created,
            "affected": self.affected,
        }


ROLES = ("train", "validation", "test", "features")


@dataclass(frozen=True)
class ModelInput:
    """A snapshot a model version was trained or evaluated on, with its role."""

    ref: str
    role: str
    sha256: str
    stage: str

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "role": self.role, "sha256": self.sha256, "stage": self.stage}


@dataclass(frozen=True)
class ModelVersionInfo:
    """One immutable model version with everything it was built from."""

    model: str
    version: str
    artifact: dict[str, Any]  # sha256, size_bytes, kind, name, files
    inputs: list[ModelInput]
    feature_set: str  # "name@version" or ""
    seed: int | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    code: dict[str, Any]  # git_commit, git_dirty, entrypoint, workdir
    environment: dict[str, Any]
    run_id: str
    note: str
    created_at: datetime
    created_by: str
    aliases: list[str] = field(default_factory=list)
    created: bool = False

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    @property
    def training_input(self) -> ModelInput | None:
        """The snapshot the linkage record names: the train input, else the features input."""
        for role in ("train", "features"):
            for item in self.inputs:
                if item.role == role:
                    return item
        return self.inputs[0] if self.inputs else None

    def linkage_record(self) -> dict[str, Any]:
        """The seed's mandatory linkage record, keys exactly as agreed."""
        train = self.training_input
        return {
            "model_version": self.version,
            "data_snapshot_id": train.ref if train else None,
            "data_hash": train.sha256 if train else None,
            "feature_set_version": self.feature_set.partition("@")[2] or None,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.linkage_record(),
            "ref": self.ref,
            "model": self.model,
            "version": self.version,
            "feature_set": self.feature_set or None,
            "artifact": self.artifact,
            "inputs": [i.to_json() for i in self.inputs],
            "seed": self.seed,
            "params": self.params,
            "metrics": self.metrics,
            "code": self.code,
            "environment": self.environment,
            "run_id": self.run_id,
            "note": self.note,
            "aliases": self.aliases,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "created": self.created,
        }


@dataclass(frozen=True)
class ModelSummary:
    """A model version as registries list it: no inputs, artifact files, params or environment.

    ``ModelService.summaries`` builds a thousand of these from one query, where ``list``
    needs several per version's parts; ``get`` gives everything about one version.
    """

    model: str
    version: str
    feature_set: str  # "name@version" or ""
    aliases: list[str]
    seed: int | None
    metrics: dict[str, Any]
    artifact_sha256: str
    created_at: datetime
    created_by: str
    id: int  # the row id lineage edges point at

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"


@dataclass(frozen=True)
class AliasMove:
    """One entry of an alias's history."""

    model: str
    alias: str
    version: str
    action: str
    reason: str
    at: datetime
    actor: str
    previous: str | None = field(default=None, compare=False)
    """For a move just made: the version that held the alias just before it (read under the write lock)."""

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "alias": self.alias, "version": self.version, "action": self.action,
                "reason": self.reason, "at": format_time(self.at), "actor": self.actor}
