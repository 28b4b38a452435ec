"""Tombstones: the record that a snapshot's bytes were erased on purpose (``lineage purge``).

The snapshot row, its hashes, its lineage edges and its audit events stay; the tombstone
is a separate, append-only row, so every reader can tell "bytes purged on request"
(expected, reported as *purged*) from "blob missing" (corruption, reported as a failure).
Readers that need the bytes call ``require_bytes`` and refuse with one clear line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from lineage.audit import format_time
from lineage.errors import PurgedError
from lineage.tables import Dataset, Snapshot, SnapshotTombstone

if TYPE_CHECKING:
    from lineage.entities import SnapshotInfo


@dataclass(frozen=True)
class Tombstone:
    """Why, when and by whom a snapshot's bytes were purged, and how much was erased."""

    reason: str
    at: datetime  # aware UTC
    by: str
    blobs: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"at": format_time(self.at), "by": self.by, "reason": self.reason,
                "blobs": self.blobs, "bytes": self.bytes}

    def describe(self) -> str:
        """``purged on 2026-03-01 10:00:00Z by alice: GDPR request 17`` (one line for messages)."""
        return f"purged on {self.at:%Y-%m-%d %H:%M:%S}Z by {self.by}: {self.reason}"


def from_row(row: SnapshotTombstone) -> Tombstone:
    return Tombstone(row.reason, row.purged_at.replace(tzinfo=UTC), row.purged_by, row.purged_blobs, row.purged_bytes)


def load_tombstones(session: Session, snapshot_ids: Iterable[int | None]) -> dict[int, Tombstone]:
    """The tombstones of these snapshots, by snapshot id (one query; most snapshots have none)."""
    ids = {i for i in snapshot_ids if i is not None}
    if not ids:
        return {}
    rows = session.exec(select(SnapshotTombstone).where(col(SnapshotTombstone.snapshot_id).in_(ids)))
    return {row.snapshot_id: from_row(row) for row in rows}


def purged_snapshots(session: Session) -> list[tuple[str, Tombstone]]:
    """Every purged snapshot's ref with its tombstone, oldest purge first (few rows: purges are rare)."""
    rows = session.exec(
        select(Dataset.name, Snapshot.version, SnapshotTombstone)
        .join(Snapshot, Snapshot.id == SnapshotTombstone.snapshot_id).join(Dataset, Dataset.id == Snapshot.dataset_id)
        .order_by(SnapshotTombstone.purged_at, SnapshotTombstone.snapshot_id)
    )
    return [(f"{name}@{version}", from_row(row)) for name, version, row in rows]


def require_bytes(snapshot: SnapshotInfo, action: str = "read") -> None:
    """Refuse to ``action`` a purged snapshot, naming when, by whom and why its bytes were erased."""
    if snapshot.purged is not None:
        raise PurgedError(
            f"cannot {action} {snapshot.ref}: bytes {snapshot.purged.describe()}; its hashes, lineage and "
            "audit trail remain (`lineage snapshot show` lists them)"
        )
