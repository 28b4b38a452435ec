"""What a DVC import did, output by output, as plain values with stable JSON keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REGISTERED = "registered"  # a new snapshot
EXISTING = "existing"  # these bytes were already a snapshot of the dataset: recognised, not duplicated
SKIPPED = "skipped"  # not a table (model, metrics...), or not a path in the repository
MISMATCH = "mismatch"  # the bytes do not match the md5 DVC recorded: a finding
NOT_WRITTEN = "not-written"  # checked and fine, but the import wrote nothing because another output mismatched


@dataclass(frozen=True)
class OutResult:
    """One tracked output and what became of it."""

    path: str  # in the repository
    declared_in: str  # the .dvc file, or dvc.lock:stage
    status: str
    ref: str | None = None  # dataset@version
    sha256: str | None = None
    md5: str | None = None  # what DVC recorded
    source: str = ""  # workspace | cache (where the bytes were read)
    parents: list[str] = field(default_factory=list)
    transform: str = ""  # the stage command, for pipeline outputs
    detail: str = ""  # why it was skipped, or what does not match

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "declared_in": self.declared_in, "status": self.status, "ref": self.ref,
            "sha256": self.sha256, "md5": self.md5, "source": self.source, "parents": self.parents,
            "transform": self.transform, "detail": self.detail,
        }


@dataclass(frozen=True)
class DvcImportResult:
    """The whole import: every output, warnings, and whether anything was written."""

    repo: str
    outs: list[OutResult]
    warnings: list[str]
    written: bool

    @property
    def ok(self) -> bool:
        """False when some bytes do not match what DVC recorded (then nothing was written)."""
        return not any(out.status == MISMATCH for out in self.outs)

    def count(self, status: str) -> int:
        return sum(out.status == status for out in self.outs)

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo, "ok": self.ok, "written": self.written,
            "counts": {status: self.count(status) for status in (REGISTERED, EXISTING, SKIPPED, MISMATCH, NOT_WRITTEN)},
            "outs": [out.to_json() for out in self.outs], "warnings": self.warnings,
        }
