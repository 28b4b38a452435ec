"""Which model versions no longer match what they were built from.

Two failures the seed names: feature logic that changed without retraining (a newer
version of the model's feature set has other code for a feature the model uses), and
training data overwritten on disk (an aliased model's input snapshot's source path no
longer holds the recorded bytes). Both are warnings: the stored snapshots still hold
the exact bytes, so the model stays reproducible, but serving or retraining may not.
A third is not: a model built from a snapshot whose bytes were purged (``lineage purge``)
is no longer reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lineage.features.semver import SemVer

if TYPE_CHECKING:
    from lineage.entities import FeatureSetVersionInfo, ModelSummary, SnapshotInfo
    from lineage.store import Store


class SourceRecord(NamedTuple):
    """What ``source_change`` needs of a snapshot (a ``SnapshotInfo`` has all of it too)."""

    ref: str
    format: str
    source_uri: str
    size_bytes: int
    sha256: str


def stale_models(store: Store, models: list[ModelSummary] | None = None) -> list[dict[str, Any]]:
    """Every staleness warning, newest model versions first.

    A constant number of light queries however many models exist: model summaries (with
    their feature-set refs and aliases), feature-set version refs, then only the feature-set
    versions a comparison needs, and the input snapshots of the models holding an alias
    (the only ones whose sources are checked on disk).
    """
    models = store.models.summaries() if models is None else models
    inputs = _aliased_inputs(store, [m.id for m in models if m.aliases])
    latest = _latest_versions(store.features.refs())
    newer = {m.feature_set: latest[_set_of(m.feature_set)] for m in models if _is_behind(m.feature_set, latest)}
    specs = _feature_specs(store, {*newer, *newer.values()})
    changes = {used: _changed(specs[used], specs[newest]) for used, newest in newer.items()}
    purged = _purged(store)
    warnings: list[dict[str, Any]] = []
    for model in sorted(models, key=lambda m: m.created_at, reverse=True):
        if model.feature_set in newer:
            warnings.extend(_feature_warning(model, newer[model.feature_set], changes[model.feature_set]))
        if model.aliases:
            warnings.extend(_source_warnings(store, model, inputs.get(model.id, []), {ref for ref, _ in purged}))
    return warnings + purge_warnings(store, purged)


def purge_warnings(store: Store, purged: list[tuple[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Model versions built (directly or through derived data) from a snapshot whose bytes were purged.

    One impact walk per purged snapshot, not one trace per model: purges are rare.
    """
    from lineage.graph import impact

    warnings = []
    for ref, tombstone in _purged(store) if purged is None else purged:
        for node in impact(store, ref).nodes:
            if node.kind == "model_version":
                warnings.append({
                    "model": node.ref, "aliases": list(node.aliases), "kind": "input_purged", "snapshot": ref,
                    "detail": f"built from {ref}, whose bytes were {tombstone.describe()}: "
                              "not-reproducible: input purged",
                })
    return warnings


def _purged(store: Store) -> list[tuple[str, Any]]:
    """(ref, tombstone) of every snapshot whose bytes were purged: one query."""
    from lineage.tombstones import purged_snapshots

    with store.db.session() as session:
        return purged_snapshots(session)


class _Spec(NamedTuple):
    """What decides a feature change: each feature's code hash (in position order) and schema entry."""

    code_hashes: dict[str, str]
    schema: dict[str, Any]


def _changed(old: _Spec, new: _Spec) -> list[str]:
    """``changed_features`` on specs: features of ``old`` whose code or schema entry differs in ``new``."""
    return [name for name, code_hash in old.code_hashes.items()
            if new.code_hashes.get(name) != code_hash or new.schema.get(name) != old.schema.get(name)]


def _feature_specs(store: Store, refs: set[str]) -> dict[str, _Spec]:
    """The specs of these feature-set versions in two queries (code hashes without the source text)."""
    import json

    from sqlmodel import col, select

    from lineage.tables import FeatureCodeRow, FeatureSetRow, FeatureSetVersion

    wanted = {tuple(ref.split("@", 1)) for ref in refs}
    with store.db.session() as session:
        versions = {
            row_id: (f"{name}@{version}", json.loads(schema_doc)["features"])
            for row_id, name, version, schema_doc in session.exec(
                select(FeatureSetVersion.id, FeatureSetRow.name, FeatureSetVersion.version, FeatureSetVersion.schema_doc)
                .join(FeatureSetRow).where(col(FeatureSetRow.name).in_({name for name, _ in wanted}))
            ) if (name, version) in wanted
        }
        hashes: dict[int, dict[str, str]] = {row_id: {} for row_id in versions}
        for row_id, name, code_hash in session.exec(
            select(FeatureCodeRow.version_id, FeatureCodeRow.name, FeatureCodeRow.code_hash)
            .where(col(FeatureCodeRow.version_id).in_(list(versions)))
            .order_by(col(FeatureCodeRow.version_id), col(FeatureCodeRow.position))
        ):
            hashes[row_id][name] = code_hash
    return {ref: _Spec(hashes[row_id], schema) for row_id, (ref, schema) in versions.items()}


def _set_of(ref: str) -> str:
    return ref.partition("@")[0]


def _latest_versions(refs: list[str]) -> dict[str, str]:
    """Feature-set name → the ref of its highest version (the first registered among equal ones)."""
    latest: dict[str, str] = {}
    for ref in refs:
        name, _, version = ref.partition("@")
        held = latest.get(name)
        if held is None or SemVer.parse(version) > SemVer.parse(held.partition("@")[2]):
            latest[name] = ref
    return latest


def _is_behind(feature_set: str, latest: dict[str, str]) -> bool:
    """The model's feature-set version exists and a higher version of its set does too."""
    newest = latest.get(_set_of(feature_set)) if feature_set else None
    return newest is not None and SemVer.parse(newest.partition("@")[2]) > SemVer.parse(feature_set.partition("@")[2])


def _aliased_inputs(store: Store, aliased: list[int]) -> dict[int, list[SourceRecord]]:
    """model_version id → its input snapshots (what ``source_change`` needs), for these versions only."""
    from sqlmodel import col, select

    from lineage import edges
    from lineage.models.service import MODEL_VERSION
    from lineage.tables import Dataset, Edge, Snapshot

    inputs: dict[int, list[SourceRecord]] = {}
    with store.db.session() as session:
        for start in range(0, len(aliased), 500):
            for child_id, dataset, version, data_format, source_uri, size, sha256 in session.exec(
                select(Edge.child_id, Dataset.name, Snapshot.version, Snapshot.format, Snapshot.source_uri,
                       Snapshot.size_bytes, Snapshot.sha256)
                .join(Snapshot, col(Snapshot.id) == Edge.parent_id).join(Dataset, col(Dataset.id) == Snapshot.dataset_id)
                .where(Edge.child_kind == MODEL_VERSION, Edge.parent_kind == edges.SNAPSHOT,
                       col(Edge.child_id).in_(aliased[start:start + 500]))
                .order_by(col(Edge.id))
            ):
                inputs.setdefault(child_id, []).append(
                    SourceRecord(f"{dataset}@{version}", data_format, source_uri, size, sha256))
    return inputs


def _feature_warning(model: ModelSummary, newer: str, changed: list[str]) -> list[dict[str, Any]]:
    if not changed:
        return []
    names = ", ".join(f"'{c}'" for c in changed)
    return [{
        "model": model.ref, "aliases": model.aliases, "kind": "feature_code_changed",
        "feature_set": model.feature_set, "newer": newer, "features": changed,
        "detail": f"trained on {model.feature_set}; {newer} changes {names}: retrain before serving the new features",
    }]


def _source_warnings(store: Store, model: ModelSummary, inputs: list[SourceRecord],
                     purged: set[str]) -> list[dict[str, Any]]:
    warnings = []
    for snapshot in inputs:
        if snapshot.ref in purged:
            continue  # reported by purge_warnings: there are no stored bytes to compare the source with
        problem = source_change(store, snapshot)
        if problem is not None:
            warnings.append({
                "model": model.ref, "aliases": model.aliases, "kind": "training_source_changed",
                "snapshot": snapshot.ref, "source": snapshot.source_uri,
                "detail": f"{model.ref} ({', '.join(model.aliases)}) was trained on {snapshot.ref}, whose source "
                          f"{problem}; the stored snapshot still holds the exact bytes",
            })
    return warnings


def source_change(store: Store, snapshot: SourceRecord | SnapshotInfo) -> str | None:
    """How a local source path differs from the recorded bytes, or None.

    Cheapest evidence first: a missing file, then a size that differs from the recorded
    one (a single file's snapshot records its own size), then the hash cache's
    (device, inode, size, mtime) entry; only a file that passes those and is not in the
    cache is hashed, and its digest is cached so the next check is a ``stat``.
    """
    from lineage.hashing import hash_file

    if snapshot.format == "parquet-dir" or "://" in snapshot.source_uri or snapshot.source_uri.startswith("lineage:"):
        return None
    path = Path(snapshot.source_uri)
    if not path.is_absolute():
        return None
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return f"{path} no longer exists"
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    if stat.st_size != snapshot.size_bytes:
        return f"{path} now holds other bytes ({stat.st_size:,} bytes, recorded {snapshot.size_bytes:,})"
    digest = store.hash_cache.get(path)
    if digest is None:
        try:
            digest, _ = hash_file(str(path))
        except OSError as exc:
            return f"{path} cannot be read ({exc.strerror})"
        store.hash_cache.put(path, digest, stat)
    if digest != snapshot.sha256:
        return f"{path} now holds other bytes (sha256 {digest[:12]}…, recorded {snapshot.sha256[:12]}…)"
    return None


def affected_by_new_version(store: Store, previous: FeatureSetVersionInfo, changed: list[str]) -> list[str]:
    """Aliased model versions trained on ``previous`` (or older) that use a changed feature."""
    if not changed:
        return []
    lines = []
    for model in store.models.list():
        if not model.aliases or not model.feature_set.startswith(f"{previous.feature_set}@"):
            continue
        used = store.features.get(model.feature_set)
        hit = [f.name for f in used.features if f.name in changed]
        if hit:
            names = ", ".join(f"'{h}'" for h in hit)
            lines.append(f"{model.ref} ({', '.join(model.aliases)}) was trained on {model.feature_set} and uses {names}")
    return lines
