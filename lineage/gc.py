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
same grace period. Dry run by default; the deletion is audited.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineage.errors import InvalidInputError

if TYPE_CHECKING:
    from lineage.store import Store

DEFAULT_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class GcResult:
    referenced: int
    unreferenced: list[str] = field(default_factory=list)
    kept_young: list[str] = field(default_factory=list)
    removed: bool = False
    stale_temporaries: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"referenced": self.referenced, "unreferenced": self.unreferenced, "kept_young": self.kept_young,
                "removed": self.removed, "stale_temporaries": self.stale_temporaries}


def referenced_blobs(store: Store) -> set[str]:
    """Every digest a snapshot or model version points at.

    A purged snapshot points at nothing: its bytes were erased on purpose, so a blob of
    it that is still present (a purge interrupted before it deleted everything) is
    collectable unless another snapshot or a model version shares it. gc finishes such
    a purge; it never recreates anything.
    """
    keep: set[str] = set()
    for snapshot in store.snapshots.list():
        if snapshot.purged is not None:
            continue
        if snapshot.stored or snapshot.format == "parquet-dir":
            keep.add(snapshot.sha256)
        keep.update(member["sha256"] for member in snapshot.files)
    for model in store.models.list():
        keep.add(model.artifact["sha256"])
        keep.update(member["sha256"] for member in model.artifact["files"])
    return keep


def collect(store: Store, *, remove: bool = False, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> GcResult:
    """Find (and with ``remove`` delete) unreferenced blobs older than the grace period."""
    from lineage.audit import append_event

    _check_grace(grace_seconds)
    if remove:
        store.require_writable()
    keep = referenced_blobs(store)
    now = time.time()
    old, young = [], []
    for digest in store.objects.iter_keys():
        if digest in keep:
            continue
        (young if now - store.objects.modified_at(digest) < grace_seconds else old).append(digest)
    old.sort()
    young.sort()
    temporaries = store.objects.stale_temporaries(older_than=now - grace_seconds)
    if remove and (old or temporaries):
        keep_now = referenced_blobs(store)  # re-read: a registration may have finished meanwhile
        old = [d for d in old if d not in keep_now]
        with store.db.session(write=True) as session:
            for digest in old:
                store.objects.remove(digest)
            store.objects.remove_temporaries(temporaries)
            append_event(session, actor=store.actor, action="store.gc", subject=str(store.home),
                         payload={"removed": old, "grace_seconds": grace_seconds,
                                  "stale_temporaries": len(temporaries)})
    return GcResult(len(keep), old, young, remove, temporaries)


def _check_grace(grace_seconds: float) -> None:
    """A negative, NaN or infinite grace period would delete blobs of registrations in flight, or nothing ever."""
    if not (math.isfinite(grace_seconds) and grace_seconds >= 0):
        raise InvalidInputError(f"--grace {grace_seconds:g} is not a number of seconds >= 0: give a finite "
                                f"number such as {DEFAULT_GRACE_SECONDS} (the default)")
