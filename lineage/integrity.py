"""The store-wide integrity check behind `lineage audit verify`: chain and bytes.

The audit chain proves no recorded event was edited, removed, inserted or reordered;
re-hashing every stored blob (snapshots, their member files and manifests, model
artifacts) proves the bytes the events point at are still the bytes recorded. Snapshots
whose bytes were purged on purpose are listed as purged, never as missing. Each
completed check is itself recorded (``store.verify``), so the dashboard can show when
the store was last verified and with what result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineage.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from lineage.audit import ChainCheck
    from lineage.entities import SnapshotInfo
    from lineage.store import Store


@dataclass(frozen=True)
class BlobCheck:
    kind: str  # snapshot | model
    ref: str
    sha256: str
    ok: bool
    problem: str | None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "sha256": self.sha256, "ok": self.ok, "problem": self.problem}


@dataclass(frozen=True)
class IntegrityReport:
    chain: ChainCheck
    blobs: list[BlobCheck] = field(default_factory=list)
    blobs_checked: bool = True
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    purged: list[dict[str, Any]] = field(default_factory=list)  # snapshots whose bytes were erased on purpose

    @property
    def ok(self) -> bool:
        return self.chain.ok and all(b.ok for b in self.blobs)

    def to_json(self) -> dict[str, Any]:
        from lineage.audit import format_time

        return {
            "ok": self.ok, "at": format_time(self.at),
            "events": self.chain.events, "head_hash": self.chain.head_hash,
            "first_broken_seq": self.chain.first_broken_seq, "problem": self.chain.problem,
            "blobs_checked": self.blobs_checked, "blob_count": len(self.blobs),
            "blob_problems": [b.to_json() for b in self.blobs if not b.ok],
            "purged": self.purged,
        }


def verify_store(store: Store, *, blobs: bool = True, progress: Progress = NO_PROGRESS) -> IntegrityReport:
    """Recompute the chain, re-hash every stored blob, and record the result (unless read-only)."""
    chain = store.audit.verify_chain()
    snapshots = store.snapshots.list()
    checks = _blob_checks(store, [s for s in snapshots if s.purged is None], progress) if blobs else []
    purged = [{"ref": s.ref, "sha256": s.sha256, **s.purged.to_json()} for s in snapshots if s.purged is not None]
    report = IntegrityReport(chain, checks, blobs, purged=purged)
    if not store.read_only:
        from lineage.audit import append_event

        with store.db.session(write=True) as session:
            append_event(session, actor=store.actor, action="store.verify", subject=str(store.home), payload={
                "ok": report.ok, "chain_ok": chain.ok, "events": chain.events, "head_hash": chain.head_hash,
                "first_broken_seq": chain.first_broken_seq, "blobs_checked": blobs, "blob_count": len(checks),
                "blob_problems": [b.to_json() for b in checks if not b.ok],
                "purged": len(purged),
            })
    return report


def last_verification(store: Store) -> dict[str, Any] | None:
    """The most recent recorded integrity check: time, result and what failed."""
    events = store.audit.log(action="store.verify", newest_first=True, limit=1)
    if not events:
        return None
    event = events[0]
    return {"at": event.at, "actor": event.actor, **event.payload}


def _blob_checks(store: Store, live: list[SnapshotInfo], progress: Progress) -> list[BlobCheck]:
    """Re-hash the blobs of every snapshot that is not purged and of every model version.

    A purged snapshot's bytes are gone on purpose (``lineage purge``): it is reported as
    purged, not as missing. A blob it shared with another record is checked for that one.
    """
    models = store.models.list()
    targets: list[tuple[str, str, str, int]] = []
    for snapshot in (s for s in live if s.stored):
        targets.append(("snapshot", snapshot.ref, snapshot.sha256, snapshot.size_bytes))
        targets += [("snapshot", f"{snapshot.ref}:{f['path']}", f["sha256"], f["size_bytes"]) for f in snapshot.files]
    for model in models:
        artifact = model.artifact
        targets.append(("model", model.ref, artifact["sha256"], artifact["size_bytes"]))
        targets += [("model", f"{model.ref}:{f['path']}", f["sha256"], f["size_bytes"]) for f in artifact["files"]]
    progress.start(sum(size for *_, size in targets), "re-hashing blobs")
    checks = []
    try:
        for kind, ref, sha256, _ in targets:
            problem = store.objects.verify(sha256, progress.advance)
            checks.append(BlobCheck(kind, ref, sha256, problem is None, problem))
    finally:
        progress.finish()
    return checks
