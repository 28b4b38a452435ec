"""The store reads an OpenLineage export needs, batched per page of the audit log and cached.

An export describes every snapshot it names (schema, hashes, stage) and every feature-set
version (set hash, code location, entity and timestamp). Looking each one up as the events
come costs several queries per event; here a page of audit events is scanned first and
everything it names is loaded in a few indexed queries. Snapshots and feature-set versions
are immutable, so cached facts never go stale during an export; the snapshot cache is
bounded (parents are usually registered shortly before their children).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select

from lineage.db import driver_rows
from lineage.tables import Dataset, FeatureSetRow, FeatureSetVersion, Snapshot

if TYPE_CHECKING:
    from lineage.entities import AuditEntry
    from lineage.store import Store

LOAD_CHUNK = 500  # values per IN list: far below SQLite's bound-parameter limit
SNAPSHOT_CACHE = 20_000
SCHEMA_CACHE = 5_000


class SnapshotFacts(NamedTuple):
    """What an exported dataset says about a snapshot."""

    ref: str
    version: str
    stage: str
    sha256: str
    rows: int
    format: str
    fingerprint: str
    schema: list[dict[str, str]]  # shared by every snapshot with the same schema: read only


class FeatureSetFacts(NamedTuple):
    """The fields of a feature-set version an export uses (its stored schema, not the full entity)."""

    set_hash: str
    module_path: str
    git_commit: str
    schema: dict[str, Any]


class ExportLookup:
    """Snapshot and feature-set facts by ref, prefetched a page of audit events at a time."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._snapshots: dict[str, SnapshotFacts | None] = {}
        self._dataset_ids: dict[str, int | None] = {}
        self._features: dict[str, FeatureSetFacts] = {}
        self._feature_names: set[str] = set()
        self._schemas: dict[str, list[dict[str, str]]] = {}

    def prefetch(self, page: list[AuditEntry]) -> None:
        """Load what the page's events name and the caches lack: a few queries for the whole page."""
        names = {ref.partition("@")[0] for entry in page for ref in feature_sets_named(entry)}
        if names - self._feature_names:
            self._load_feature_sets(names - self._feature_names)
        wanted: dict[str, str] = {}
        for entry in page:
            for ref, sha256 in snapshots_named(entry):
                if sha256 or ref not in wanted:
                    wanted[ref] = sha256
        missing = {ref: sha256 for ref, sha256 in wanted.items() if ref not in self._snapshots}
        if len(self._snapshots) + len(missing) > SNAPSHOT_CACHE:  # bounded memory: keep this page's only
            self._snapshots = {ref: self._snapshots[ref] for ref in wanted if ref in self._snapshots}
        if missing:
            self._snapshots.update(self._load(missing))

    def snapshot(self, ref: str) -> SnapshotFacts | None:
        if ref not in self._snapshots:
            self._snapshots.update(self._load({ref: ""}))
        return self._snapshots[ref]

    def feature_set(self, ref: str) -> FeatureSetFacts | None:
        name = ref.partition("@")[0]
        if name not in self._feature_names:
            self._load_feature_sets({name})
        return self._features.get(ref)

    # -- queries ------------------------------------------------------------------------------
    def _load(self, wanted: dict[str, str]) -> dict[str, SnapshotFacts | None]:
        """Snapshots of exact ``dataset@version`` refs (None for any other ref).

        By the sha256 the event recorded when it has one (``sha256 IN``, indexed), else by
        dataset and version (the unique index); a row of another name with the same bytes is
        ignored.
        """
        found: dict[str, SnapshotFacts | None] = dict.fromkeys(wanted)
        pairs = {ref: tuple(ref.split("@", 1)) for ref in wanted if "@" in ref}
        table = Snapshot.__table__.c
        columns = (table.dataset_id, table.version, table.stage, table.sha256, table.rows, table.format,
                   table.fingerprint, table.arrow_schema)
        with self._store.db.session() as session:
            connection = session.connection()
            self._dataset_ids_of(connection, {name for name, _ in pairs.values()})
            names = {row_id: name for name, row_id in self._dataset_ids.items() if row_id is not None}

            def keep(result: Any) -> None:
                rows = driver_rows(result)  # the driver's tuples, without SQLAlchemy's per-row processing
                for dataset_id, version, stage, sha256, count, data_format, fingerprint, arrow_schema in rows:
                    ref = f"{names.get(dataset_id)}@{version}"
                    if ref in found and found[ref] is None:
                        found[ref] = SnapshotFacts(ref, version, stage, sha256, count, data_format, fingerprint,
                                                   self._fields(arrow_schema))

            hashes = sorted({sha256 for sha256 in wanted.values() if sha256})
            for chunk in _chunks(hashes, LOAD_CHUNK):
                keep(connection.execute(select(*columns).where(table.sha256.in_(chunk))))
            by_dataset: dict[int, list[str]] = {}
            for ref, (name, version) in pairs.items():
                dataset_id = self._dataset_ids.get(name)
                if found[ref] is None and dataset_id is not None:
                    by_dataset.setdefault(dataset_id, []).append(version)
            for dataset_id, versions in by_dataset.items():
                for chunk in _chunks(sorted(versions), LOAD_CHUNK):
                    keep(connection.execute(select(*columns).where(table.dataset_id == dataset_id,
                                                                   table.version.in_(chunk))))
        return found

    def _fields(self, arrow_schema: str) -> list[dict[str, str]]:
        """The schema's fields, parsed once per distinct schema (a dataset's versions usually share one).

        The same list object is returned for the same schema, so callers may cache work per schema.
        """
        fields = self._schemas.get(arrow_schema)
        if fields is None:
            if len(self._schemas) >= SCHEMA_CACHE:
                self._schemas.clear()
            fields = self._schemas[arrow_schema] = json.loads(arrow_schema)["fields"]
        return fields

    def _dataset_ids_of(self, connection: Any, names: set[str]) -> None:
        table = Dataset.__table__.c
        for chunk in _chunks(sorted(names - self._dataset_ids.keys()), LOAD_CHUNK):
            self._dataset_ids.update(dict.fromkeys(chunk))
            self._dataset_ids.update({name: row_id for row_id, name in connection.execute(
                select(table.id, table.name).where(table.name.in_(chunk)))})

    def _load_feature_sets(self, names: set[str]) -> None:
        """Every version of these feature sets, in one query (a feature set has a handful of versions)."""
        version, feature_set = FeatureSetVersion.__table__.c, FeatureSetRow.__table__.c
        self._feature_names.update(names)
        with self._store.db.session() as session:
            rows = session.connection().execute(
                select(feature_set.name, version.version, version.set_hash, version.module_path, version.git_commit,
                       version.schema_doc).join_from(FeatureSetVersion.__table__, FeatureSetRow.__table__)
                .where(feature_set.name.in_(sorted(names))))
            for name, number, set_hash, module_path, git_commit, schema_doc in rows:
                self._features[f"{name}@{number}"] = FeatureSetFacts(set_hash, module_path, git_commit,
                                                                     json.loads(schema_doc))


def snapshots_named(entry: AuditEntry) -> list[tuple[str, str]]:
    """The snapshot refs an audit event's RunEvent describes, each with the sha256 it recorded ("" if none)."""
    payload = entry.payload
    if entry.action == "snapshot.add":
        return [(entry.subject, str(payload.get("sha256") or "")), *((str(p), "") for p in payload.get("parents") or [])]
    recorded = payload.get("inputs") or []
    if isinstance(recorded, dict):  # run.failed: {ref: role}
        return [(str(ref), "") for ref in recorded]
    return [(str(item.get("ref")), str(item.get("sha256") or "")) for item in recorded if isinstance(item, dict)]


def feature_sets_named(entry: AuditEntry) -> list[str]:
    """The feature-set versions an audit event's RunEvent describes."""
    payload = entry.payload
    refs = [str(link.get("parent") or "") for link in payload.get("links") or [] if isinstance(link, dict)]
    return [ref for ref in [*refs, str(payload.get("feature_set") or "")] if "@" in ref]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
