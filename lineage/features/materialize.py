"""Compute a feature-set version on a registered snapshot and register the result.

The output is a ``features`` snapshot linked to its source snapshot (derived_from)
and to the feature-set version (materialized). It is deterministic: rows sorted by
(entity, timestamp), every column cast to the schema's Arrow type, fixed Parquet
options and no wall-clock values, so the same inputs give the same sha256 and a
re-run returns the existing snapshot.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from lineage.edges import FEATURE_SET_VERSION, MATERIALIZED, Link
from lineage.naming import validate_name
from lineage.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    import pyarrow as pa

    from lineage.entities import SnapshotInfo
    from lineage.store import Store

PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "row_group_size": 1 << 20,
                   "use_dictionary": True, "write_statistics": True, "store_schema": True}


def default_dataset(feature_set: str) -> str:
    """``customer_features_values``: the feature values, distinct from the feature set's own refs."""
    return f"{feature_set}_values"


def default_version(feature_version: str, source: SnapshotInfo) -> str:
    """``2.1.0-customers_clean-v1.0``: which code on which data, readable in any list."""
    return f"{feature_version}-{source.dataset}-{source.version}"


def compute_features(store: Store, feature_ref: str, snapshot_ref: str) -> tuple[pa.Table, SnapshotInfo]:
    """The feature table of a registered version over a registered snapshot (nothing written)."""
    from lineage.snapshot_data import read_table

    info = store.features.get(feature_ref)
    schema, feature_set = store.features.load_code(info)
    source = store.snapshots.get(snapshot_ref)
    return feature_set.compute_batch(read_table(store, source), schema), source


def materialize(
    store: Store, feature_ref: str, snapshot_ref: str, *, dataset: str | None = None, version: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> SnapshotInfo:
    """Register the computed features as ``dataset@version`` (defaults: default_dataset, default_version)."""
    import pyarrow.parquet as pq

    store.require_writable()
    info = store.features.get(feature_ref)
    dataset = validate_name(dataset or default_dataset(info.feature_set), what="dataset name", new=True)
    table, source = compute_features(store, info.ref, snapshot_ref)
    version = version or default_version(info.version, source)
    validate_name(version, what="version", new=True)
    link = Link(FEATURE_SET_VERSION, store.features.version_id(info.ref), MATERIALIZED,
                transform_ref=info.ref, parent_ref=info.ref)
    with tempfile.TemporaryDirectory(prefix="lineage-materialize-") as tmp:
        path = Path(tmp) / f"{dataset}-{version}.parquet"
        pq.write_table(table, path, **PARQUET_OPTIONS)
        return store.snapshots.add(
            path, dataset=dataset, version=version, stage="features", parents=[source.ref],
            transform=info.ref, note=f"{info.ref} computed on {source.ref}", progress=progress, links=[link],
            source_uri=f"lineage:materialize/{info.ref}/{source.ref}",
        )
