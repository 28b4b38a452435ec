"""Plain values the services return: never ORM rows or sessions (MLflow's rule).

Each has ``to_json()`` with the keys the CLI's ``--json`` prints; keys are stable
once released (add, never rename).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lineage.audit import format_time

STAGES = ("raw", "processed", "features", "online")


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

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"

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
            "stored": self.stored,
            "note": self.note,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "created": self.created,
            "files": self.files,
        }


@dataclass(frozen=True)
class VerifyResult:
    """Whether a snapshot's bytes are intact, and whether its source still matches."""

    ref: str
    ok: bool
    problem: str | None
    source_status: str  # unchanged | changed | missing | not-local
    source_problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "ok": self.ok,
            "problem": self.problem,
            "source_status": self.source_status,
            "source_problem": self.source_problem,
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
