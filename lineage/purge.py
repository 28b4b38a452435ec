"""``lineage purge REF --reason TEXT [--yes]``: erase a snapshot's bytes, keep its record.

Privacy requests (and DVC users in treeverse/dvc#4903) need stored data gone for good
while the audit trail stays: which bytes existed, what was built from them, who erased
them and why. Purge deletes the snapshot's blobs (its file, or a directory's manifest
and member files) and keeps the snapshot row, its hashes, its lineage edges and every
audit event; a tombstone row records the erasure.

Blobs are content-addressed, so the same bytes may back another snapshot or a model
artifact: such a blob is never deleted, only this snapshot's claim on it is dropped
(the plan lists who still holds it). Purge applies gc's rule: a blob gc would keep for
a record that is not purged, purge keeps too.

Crash safety: the tombstone and its ``snapshot.purge`` event are committed first, the
bytes are deleted after. A crash in between leaves a purged snapshot whose blobs still
exist, which is harmless (every reader refuses a purged snapshot) and finished by
running purge again (audited as ``snapshot.purge.finish``) or by ``lineage gc``.
Deletion runs under the store's write lock with sharing re-read there, so a snapshot
registered meanwhile with the same bytes keeps them.

In a versioned bucket every version and delete marker of an erased key is deleted too:
a noncurrent version would keep the erased bytes readable. An account that may not
delete is refused before the tombstone is written, and a deletion the store refuses
later is never reported (nor audited) as erased.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from lineage.audit import append_event
from lineage.errors import InvalidInputError, LineageError, NotFoundError, ReadOnlyError
from lineage.tables import (
    Dataset,
    ModelArtifactFile,
    ModelRow,
    ModelVersion,
    Snapshot,
    SnapshotFile,
    SnapshotTombstone,
)
from lineage.tombstones import Tombstone, from_row

if TYPE_CHECKING:
    from lineage.entities import SnapshotInfo
    from lineage.objectstore import ObjectStore
    from lineage.store import Store

ACTION = "snapshot.purge"
FINISH_ACTION = "snapshot.purge.finish"
KIND_NAMES = {"model_version": "a model version", "feature_set_version": "a feature-set version"}


@dataclass(frozen=True)
class PurgeBlob:
    """One blob the snapshot holds: erased unless absent or still needed by another record."""

    sha256: str
    size_bytes: int
    role: str  # data | manifest | member
    path: str = ""  # the member's path inside a directory snapshot
    present: bool = True
    shared_with: tuple[str, ...] = ()  # refs of other snapshots / model versions that keep it

    @property
    def erasable(self) -> bool:
        return self.present and not self.shared_with

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size_bytes": self.size_bytes, "role": self.role, "path": self.path,
                "present": self.present, "shared_with": list(self.shared_with)}


@dataclass(frozen=True)
class PurgeReport:
    """What purge would erase (dry run) or erased, and what stays and depends on it."""

    ref: str
    sha256: str
    format: str
    reason: str
    blobs: tuple[PurgeBlob, ...]
    dependents: tuple[dict[str, Any], ...]  # model versions built from it, directly or through derived data
    derived: tuple[str, ...]  # snapshots derived from it: they keep their own bytes
    source: str
    source_exists: bool
    already_purged: bool  # a tombstone existed before this call
    tombstone: Tombstone | None = None  # the tombstone after this call (None on a first dry run)
    acted: bool = False
    erased: tuple[str, ...] = field(default_factory=tuple)  # digests this call deleted

    @property
    def erase(self) -> list[PurgeBlob]:
        return [b for b in self.blobs if b.erasable]

    @property
    def shared(self) -> list[PurgeBlob]:
        return [b for b in self.blobs if b.shared_with]

    @property
    def erase_bytes(self) -> int:
        return sum(b.size_bytes for b in self.erase)

    @property
    def erased_bytes(self) -> int:
        return sum(b.size_bytes for b in self.blobs if b.sha256 in self.erased)

    def to_json(self) -> dict[str, Any]:
        """The shape ``lineage purge --json`` prints (keys are stable)."""
        return {
            "ref": self.ref, "sha256": self.sha256, "format": self.format, "reason": self.reason,
            "dry_run": not self.acted, "already_purged": self.already_purged,
            "purged": self.tombstone.to_json() if self.tombstone is not None else None,
            "erase": [b.to_json() for b in self.erase], "erase_bytes": self.erase_bytes,
            "kept_shared": [b.to_json() for b in self.shared],
            "absent": [b.sha256 for b in self.blobs if not b.present],
            "erased": list(self.erased), "erased_bytes": self.erased_bytes,
            "dependents": list(self.dependents), "derived": list(self.derived),
            "source": {"uri": self.source, "exists": self.source_exists},
        }


def purge(store: Store, ref: str, *, reason: str, yes: bool = False) -> PurgeReport:
    """Plan (and with ``yes`` carry out) the erasure of ``ref``'s bytes.

    Without ``yes`` nothing is written. An already purged snapshot is reported as such;
    with ``yes`` any blob an interrupted purge left behind is deleted. Raises
    NotFoundError for an unknown ref, InvalidInputError for an empty reason or a ref
    that names a model or feature-set version, ReadOnlyError on a read-only store.
    """
    reason = _checked_reason(reason)
    if yes:
        store.require_writable()
    info = _snapshot(store, ref)
    with store.db.session() as session:
        report = _plan(store, session, info, reason)
    if not yes or (report.already_purged and not report.erase):
        return report
    if report.erase:
        store.objects.check_deletable([b.sha256 for b in report.erase])  # refused now: nothing recorded
    tombstone = report.tombstone
    if tombstone is None:
        tombstone = _record(store, info, reason)
    erased = _erase(store, info, finishing=report.already_purged, tombstone=tombstone)
    return replace(report, tombstone=tombstone, acted=True, erased=tuple(erased))


# -- steps ----------------------------------------------------------------------------------
def _checked_reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise InvalidInputError('purge needs a reason: pass --reason "why these bytes must go" (it is kept in the '
                                "audit log and on the tombstone)")
    from lineage.stored_text import check_text

    return check_text(reason.strip(), what="reason")  # a NUL or a non-UTF-8 byte: no backend stores it


def _snapshot(store: Store, ref: str) -> SnapshotInfo:
    """The snapshot ``ref`` names; a model or feature-set ref is refused by name."""
    try:
        return store.snapshots.get(ref)
    except NotFoundError as missing:
        from lineage.graph_refs import resolve

        with store.db.session() as session:
            try:
                kind, _, canonical = resolve(session.connection(), ref)
            except NotFoundError:
                raise missing from None
        if kind in KIND_NAMES:
            raise InvalidInputError(
                f"{canonical} is {KIND_NAMES[kind]}, not a snapshot: purge erases the bytes of a dataset snapshot "
                "(dataset@version); see `lineage trace` for the snapshots it was built from"
            ) from None
        raise


def _plan(store: Store, session: Session, info: SnapshotInfo, reason: str) -> PurgeReport:
    from lineage.graph import impact

    snapshot_id = _snapshot_id(session, info)
    existing = session.get(SnapshotTombstone, snapshot_id)
    graph = impact(store, info.ref)
    dependents = tuple({"ref": n.ref, "aliases": list(n.aliases)} for n in graph.nodes if n.kind == "model_version")
    derived = tuple(n.ref for n in graph.nodes if n.kind == "snapshot" and n.depth > 0)
    return PurgeReport(
        ref=info.ref, sha256=info.sha256, format=info.format,
        reason=existing.reason if existing is not None else reason,
        blobs=tuple(_blobs(store, session, snapshot_id, info)), dependents=dependents, derived=derived,
        source=info.source_uri, source_exists=_source_exists(info.source_uri),
        already_purged=existing is not None, tombstone=from_row(existing) if existing is not None else None,
    )


def _record(store: Store, info: SnapshotInfo, reason: str) -> Tombstone:
    """Tombstone and audit event in one transaction, before any byte is deleted."""
    with store.db.session(write=True) as session:
        snapshot_id = _snapshot_id(session, info)
        existing = session.get(SnapshotTombstone, snapshot_id)
        if existing is not None:  # purged meanwhile by another writer: finish that purge
            return from_row(existing)
        blobs = _blobs(store, session, snapshot_id, info)  # re-read under the write lock
        erase = [b for b in blobs if b.erasable]
        row = SnapshotTombstone(snapshot_id=snapshot_id, reason=reason, purged_blobs=len(erase),
                                purged_bytes=sum(b.size_bytes for b in erase), purged_by=store.actor)
        session.add(row)
        session.flush()
        append_event(session, actor=store.actor, action=ACTION, subject=info.ref, payload={
            "reason": reason, "sha256": info.sha256, "format": info.format,
            "erase": [b.sha256 for b in erase], "erase_bytes": row.purged_bytes,
            "kept_shared": {b.sha256: list(b.shared_with) for b in blobs if b.shared_with},
        })
        return from_row(row)


def _erase(store: Store, info: SnapshotInfo, *, finishing: bool, tombstone: Tombstone) -> list[str]:
    """Delete the blobs nothing else needs, deciding under the write lock; audit a finishing run.

    Only blobs the store really deleted are returned and audited: when it refuses one,
    the finishing event lists those removed before, and the error says how to finish.
    """
    removed: list[str] = []
    failure: LineageError | None = None
    with store.db.session(write=True) as session:
        blobs = _blobs(store, session, _snapshot_id(session, info), info)
        targets = [b.sha256 for b in blobs if b.erasable]
        try:
            for digest in targets:
                remove_blob(store, digest)
                removed.append(digest)
        except LineageError as exc:
            failure = exc
        if finishing and removed:
            append_event(session, actor=store.actor, action=FINISH_ACTION, subject=info.ref,
                         payload={"removed": removed, "reason": tombstone.reason})
    if failure is not None:
        raise _unfinished(info.ref, len(targets) - len(removed), failure)
    return removed


def _unfinished(ref: str, left: int, failure: LineageError) -> LineageError:
    """The store's refusal, plus what state the purge is in and how to finish it (one line)."""
    return type(failure)(
        f"{failure}; {ref} is recorded as purged but {left} of its blob(s) remain: run the same purge "
        "again with a writer's credentials to erase them"
    ) if isinstance(failure, ReadOnlyError) else failure


def remove_blob(store: Store, digest: str) -> None:
    """Delete one blob and, in a versioned bucket, every older version of it; one already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        store.objects.remove(digest, every_version=True)


# -- queries --------------------------------------------------------------------------------
def _snapshot_id(session: Session, info: SnapshotInfo) -> int:
    return session.exec(select(Snapshot.id).join(Dataset).where(
        Dataset.name == info.dataset, Snapshot.version == info.version)).one()


def _blobs(store: Store, session: Session, snapshot_id: int, info: SnapshotInfo) -> list[PurgeBlob]:
    """The blobs this snapshot holds in the object store, each with who else keeps it."""
    wanted: dict[str, tuple[int, str, str]] = {}
    if info.format == "parquet-dir":
        wanted[info.sha256] = (_size(store, info.sha256), "manifest", "")
    elif info.stored:
        wanted[info.sha256] = (info.size_bytes, "data", "")
    if info.stored:
        for member in info.files:
            wanted.setdefault(member["sha256"], (member["size_bytes"], "member", member["path"]))
    users = blob_users(session, set(wanted), exclude_snapshot=snapshot_id)
    return [PurgeBlob(digest, size, role, path, store.objects.holds(digest), tuple(sorted(users.get(digest, ()))))
            for digest, (size, role, path) in wanted.items()]


def blob_users(session: Session, digests: set[str], *, exclude_snapshot: int) -> dict[str, set[str]]:
    """Which other records keep each digest: snapshots that are not purged, and model versions.

    The same rule as ``lineage gc``: a snapshot keeps its blob (or manifest) and its member
    files; a model version keeps its artifact and the artifact's files.
    """
    if not digests:
        return {}
    purged = select(SnapshotTombstone.snapshot_id)
    live = (Snapshot.id != exclude_snapshot) & col(Snapshot.id).not_in(purged)
    snapshot_ref = Dataset.name + "@" + Snapshot.version
    model_ref = ModelRow.name + "@" + ModelVersion.version
    queries = [
        select(Snapshot.sha256, snapshot_ref).join(Dataset).where(
            col(Snapshot.sha256).in_(digests), live, or_(col(Snapshot.stored), Snapshot.format == "parquet-dir")),
        select(SnapshotFile.sha256, snapshot_ref).join(Snapshot, Snapshot.id == SnapshotFile.snapshot_id)
        .join(Dataset).where(col(SnapshotFile.sha256).in_(digests), live),
        select(ModelVersion.artifact_sha256, model_ref).join(ModelRow).where(
            col(ModelVersion.artifact_sha256).in_(digests)),
        select(ModelArtifactFile.sha256, model_ref).join(
            ModelVersion, ModelVersion.id == ModelArtifactFile.model_version_id).join(ModelRow).where(
            col(ModelArtifactFile.sha256).in_(digests)),
    ]
    users: dict[str, set[str]] = {}
    for query in queries:
        for digest, ref in session.exec(query):
            users.setdefault(digest, set()).add(ref)
    return users


def require_still_stored(objects: ObjectStore, session: Session, digests: Sequence[str]) -> None:
    """Under the write lock: the blobs a registration found already stored must still be there.

    ``gc`` and ``purge`` delete under that lock, and only blobs no live record keeps; so on a
    remote store only those are asked for (one query instead of a request per blob: a new
    version of a 300-file folder reuses 299 blobs that other snapshots keep). A local
    store answers each with a stat, cheaper than the query.
    """
    if digests and not objects.is_local:
        kept = blob_users(session, set(digests), exclude_snapshot=-1)
        digests = [digest for digest in digests if digest not in kept]
    objects.require_stored(digests)


def _size(store: Store, digest: str) -> int:
    """A stored blob's size (a manifest's is not recorded), 0 when it is gone."""
    try:
        return int(store.objects.fs.size(store.objects.key_path(digest)))
    except FileNotFoundError:
        return 0


def _source_exists(uri: str) -> bool:
    """Whether the original local path still exists (it may still hold the bytes purge erases)."""
    from pathlib import Path

    if "://" in uri or ":" in uri.split("/", 1)[0]:
        return False  # computed (lineage:), uploaded (upload:) or remote: nothing local to point at
    return Path(uri).exists()
