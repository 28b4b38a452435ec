"""Read a registered snapshot's table back from the object store.

Materialisation, parity checks and profiles compute from the stored bytes, never
from the original path, which may have changed since registration. Snapshots
recorded with ``--no-copy`` are read from their source after checking its sha256.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from lineage.errors import IntegrityError, InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from lineage.entities import SnapshotInfo
    from lineage.store import Store


def read_table(store: Store, snapshot: SnapshotInfo, columns: list[str] | None = None) -> pa.Table:
    """The snapshot's rows as one Arrow table (directory snapshots: members in manifest order)."""
    import pyarrow as pa

    from lineage.tombstones import require_bytes

    require_bytes(snapshot)
    if not snapshot.stored:
        return _read_unstored(snapshot, columns)
    if snapshot.format == "parquet-dir":
        parts = [_read_blob(store, member["sha256"], "parquet", member["path"], columns) for member in snapshot.files]
        return pa.concat_tables(parts, promote_options="default") if parts else pa.table({})
    return _read_blob(store, snapshot.sha256, snapshot.format, snapshot.source_uri, columns)


def _read_blob(store: Store, sha256: str, data_format: str, name: str, columns: list[str] | None) -> pa.Table:
    with store.objects.open(sha256) as handle:
        return _decode(handle.read(), data_format, name, columns)


def _read_unstored(snapshot: SnapshotInfo, columns: list[str] | None) -> pa.Table:
    import fsspec

    from lineage.hashing import sha256_bytes

    if snapshot.format == "parquet-dir":
        raise InvalidInputError(
            f"{snapshot.ref} is a directory recorded with --no-copy: register it with a copy to compute from it"
        )
    with fsspec.open(snapshot.source_uri, "rb") as handle:
        data = handle.read()
    if sha256_bytes(data) != snapshot.sha256:
        raise IntegrityError(
            f"{snapshot.source_uri} no longer holds the bytes of {snapshot.ref} (sha256 {snapshot.sha256}): "
            "restore the source or register the new bytes as a new version"
        )
    return _decode(data, snapshot.format, snapshot.source_uri, columns)


def _decode(data: bytes, data_format: str, name: str, columns: list[str] | None) -> pa.Table:
    import pyarrow.parquet as pq
    from pyarrow import csv

    if data_format == "csv":
        delimiter = "\t" if name.lower().endswith(".tsv") else ","
        table = csv.read_csv(io.BytesIO(data), parse_options=csv.ParseOptions(delimiter=delimiter))
        return table.select(columns) if columns else table
    return pq.read_table(io.BytesIO(data), columns=columns)
