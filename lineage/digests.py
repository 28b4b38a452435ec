"""Digests other tools recorded for a snapshot (DVC's md5), kept next to our sha256.

Our identity for bytes stays the sha256; these rows let a user who knows data by
another tool's digest find the snapshot, and show which digest that tool expects.
A digest is recorded only after it was checked against the bytes, in the same
transaction as the snapshot (or the audit event that adds it later).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from lineage.byte_order import byte_order
from lineage.tables import Dataset, Snapshot, SnapshotDigest


@dataclass(frozen=True)
class ExternalDigest:
    """One digest of a snapshot (``path`` empty) or of one of its member files."""

    path: str
    algorithm: str
    digest: str
    origin: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "algorithm": self.algorithm, "digest": self.digest, "origin": self.origin}


def write_digests(session: Session, snapshot_id: int, digests: Iterable[ExternalDigest]) -> None:
    """Insert the rows in the caller's transaction (the caller audits them)."""
    for item in digests:
        session.add(SnapshotDigest(snapshot_id=snapshot_id, path=item.path, algorithm=item.algorithm,
                                   digest=item.digest, origin=item.origin))
    session.flush()


def digests_of(session: Session, snapshot_id: int) -> list[ExternalDigest]:
    """The snapshot's recorded digests, the whole snapshot's first, then by member path."""
    rows = session.exec(
        select(SnapshotDigest).where(SnapshotDigest.snapshot_id == snapshot_id)
        .order_by(byte_order(SnapshotDigest.path), byte_order(SnapshotDigest.algorithm))
    )
    return [ExternalDigest(row.path, row.algorithm, row.digest, row.origin) for row in rows]


def missing_digests(session: Session, snapshot_id: int, digests: Sequence[ExternalDigest]) -> list[ExternalDigest]:
    """The digests not yet recorded for this snapshot (same path and algorithm)."""
    known = {(d.path, d.algorithm) for d in digests_of(session, snapshot_id)}
    return [d for d in digests if (d.path, d.algorithm) not in known]


def snapshot_ids_with(session: Session, *, dataset: str, algorithm: str, digest: str, origin: str) -> list[int]:
    """Snapshots of ``dataset`` whose whole-snapshot digest is this one, newest first."""
    return list(session.exec(
        select(SnapshotDigest.snapshot_id)
        .join(Snapshot, col(Snapshot.id) == SnapshotDigest.snapshot_id)
        .join(Dataset, col(Dataset.id) == Snapshot.dataset_id)
        .where(
            Dataset.name == dataset, SnapshotDigest.path == "", SnapshotDigest.algorithm == algorithm,
            SnapshotDigest.digest == digest, SnapshotDigest.origin == origin,
        ).order_by(col(SnapshotDigest.snapshot_id).desc())
    ))
