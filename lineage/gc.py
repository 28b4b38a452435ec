"""``lineage gc``: remove blobs nothing references (left by interrupted registrations).

A registration stores its blobs before it inserts its rows, so a crash between the
two leaves an unreferenced blob behind; the store stays consistent, only bigger.
Garbage collection deletes such blobs, never anything reachable from a snapshot
(its bytes, manifest or member files) or a model version (its artifact and files).
Blobs left behind by an interrupted ``lineage purge`` are unreferenced too.
A blob younger than the grace period is kept whatever its state, because a
registration running right now may be about to reference it (git's prune window).
Temporary objects of interrupted writes (``tmp/`` under the store root: a killed
upload to a bucket, a crash before the local link) are removed once older than the
same grace period, and so are multipart uploads to ``tmp/`` that a killed process
never completed (they are invisible to a listing of objects). Dry run by default;
the deletion is audited, and only what the store really deleted is recorded: an
account that may only read is refused before anything is deleted or written.

In a versioned bucket gc deletes an unreferenced blob's key and leaves its older
versions to the bucket's lifecycle rule: a blob gc removed by mistake (a registration
racing it) stays recoverable, as docs/deploy.md promises. A blob of a purged snapshot
is the exception: its bytes were erased on purpose, so every version of it goes.
Objects below the root that are neither blobs nor temporaries (another store in a
subfolder) are never touched, only reported.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineage.errors import InvalidInputError, LineageError

if TYPE_CHECKING:
    from lineage.objectstore_cleanup import PendingUpload
    from lineage.store import Store

DEFAULT_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class GcResult:
    referenced: int
    unreferenced: list[str] = field(default_factory=list)
    kept_young: list[str] = field(default_factory=list)
    removed: bool = False
    stale_temporaries: list[str] = field(default_factory=list)  # temporary objects and incomplete uploads
    incomplete_uploads: list[str] = field(default_factory=list)  # those of stale_temporaries never completed
    ignored_foreign: list[str] = field(default_factory=list)  # objects below the root that are not this store's

    def to_json(self) -> dict[str, Any]:
        return {"referenced": self.referenced, "unreferenced": self.unreferenced, "kept_young": self.kept_young,
                "removed": self.removed, "stale_temporaries": self.stale_temporaries,
                "incomplete_uploads": self.incomplete_uploads, "ignored_foreign": self.ignored_foreign}


def referenced_blobs(store: Store) -> set[str]:
    """Every digest a snapshot or model version points at.

    A purged snapshot points at nothing: its bytes were erased on purpose, so a blob of
    it that is still present (a purge interrupted before it deleted everything) is
    collectable unless another snapshot or a model version shares it. gc finishes such
    a purge; it never recreates anything.
    """
    return _blob_sets(store)[0]


def _blob_sets(store: Store) -> tuple[set[str], set[str]]:
    """The digests records keep, and those only purged snapshots name (erased with every version)."""
    keep: set[str] = set()
    purged: set[str] = set()
    for snapshot in store.snapshots.list():
        held = {member["sha256"] for member in snapshot.files}
        if snapshot.stored or snapshot.format == "parquet-dir":
            held.add(snapshot.sha256)
        (purged if snapshot.purged is not None else keep).update(held)
    for model in store.models.list():
        keep.add(model.artifact["sha256"])
        keep.update(member["sha256"] for member in model.artifact["files"])
    return keep, purged - keep


def collect(store: Store, *, remove: bool = False, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> GcResult:
    """Find (and with ``remove`` delete) unreferenced blobs and temporaries older than the grace period."""
    _check_grace(grace_seconds)
    if remove:
        store.require_writable()
    keep, _ = _blob_sets(store)
    now = time.time()
    digests, foreign = store.objects.scan()
    old, young = _unreferenced(store, digests, keep, now - grace_seconds)
    temporaries = store.objects.stale_temporaries(older_than=now - grace_seconds)
    uploads = store.objects.stale_uploads(older_than=now - grace_seconds)
    if remove and (old or temporaries or uploads):
        store.objects.check_deletable(old)  # a read-only account is refused before anything is deleted
        old = _remove(store, old, temporaries, uploads, grace_seconds)
    stale = sorted([*temporaries, *(u.path for u in uploads)])
    return GcResult(len(keep), old, young, remove, stale, sorted({u.path for u in uploads}), sorted(foreign))


def _unreferenced(store: Store, digests: list[str], keep: set[str], cutoff: float) -> tuple[list[str], list[str]]:
    """Unreferenced digests split into old (collectable) and young (maybe a registration in flight)."""
    old, young = [], []
    for digest in digests:
        if digest in keep:
            continue
        try:
            modified = store.objects.modified_at(digest)
        except FileNotFoundError:  # deleted meanwhile (another gc, a purge): nothing left to collect
            continue
        (young if modified > cutoff else old).append(digest)
    return sorted(old), sorted(young)


def _remove(store: Store, old: list[str], temporaries: list[str], uploads: list[PendingUpload],
            grace_seconds: float) -> list[str]:
    """Delete under the write lock, audit exactly what was deleted, and return it.

    The references are read again under the lock every registration takes to insert its
    rows: a registration that committed since the listing keeps its blob, and one still
    waiting for the lock finds its blob gone and refuses (``snapshots``/``models`` check
    under the lock). Deleting outside the lock lost blobs of registrations committed in
    between. When the store refuses part way, what was deleted is audited and the refusal
    re-raised.
    """
    from lineage.audit import append_event

    removed: list[str] = []
    failure: LineageError | None = None
    temporaries_done = uploads_done = 0
    with store.db.session(write=True) as session:
        keep_now, purged = _blob_sets(store)
        try:
            for digest in old:
                if digest in keep_now:
                    continue
                store.objects.remove(digest, every_version=digest in purged)
                removed.append(digest)
            for path in temporaries:
                store.objects.remove_temporaries([path])
                temporaries_done += 1
            for upload in uploads:
                store.objects.abort_uploads([upload])
                uploads_done += 1
        except LineageError as exc:
            failure = exc
        if removed or temporaries_done or uploads_done or failure is None:
            append_event(session, actor=store.actor, action="store.gc", subject=str(store.home),
                         payload={"removed": removed, "grace_seconds": grace_seconds,
                                  "stale_temporaries": temporaries_done + uploads_done,
                                  "incomplete_uploads": uploads_done})
    if failure is not None:
        raise failure
    return removed


def _check_grace(grace_seconds: float) -> None:
    """A negative, NaN or infinite grace period would delete blobs of registrations in flight, or nothing ever."""
    if not (math.isfinite(grace_seconds) and grace_seconds >= 0):
        raise InvalidInputError(f"--grace {grace_seconds:g} is not a number of seconds >= 0: give a finite "
                                f"number such as {DEFAULT_GRACE_SECONDS} (the default)")
