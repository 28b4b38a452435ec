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
from typing import TYPE_CHECKING, Any

from lineage.features.semver import SemVer

if TYPE_CHECKING:
    from lineage.entities import FeatureSetVersionInfo, ModelVersionInfo, SnapshotInfo
    from lineage.store import Store


def changed_features(old: FeatureSetVersionInfo, new: FeatureSetVersionInfo) -> list[str]:
    """Features of ``old`` whose code or schema entry differs in ``new`` (or that ``new`` dropped)."""
    new_codes = {f.name: f.code_hash for f in new.features}
    changed = []
    for feature in old.features:
        same_code = new_codes.get(feature.name) == feature.code_hash
        same_schema = new.schema["features"].get(feature.name) == old.schema["features"].get(feature.name)
        if not (same_code and same_schema):
            changed.append(feature.name)
    return changed


def stale_models(store: Store) -> list[dict[str, Any]]:
    """Every staleness warning, newest model versions first."""
    models = store.models.list()
    versions_by_set: dict[str, list[FeatureSetVersionInfo]] = {}
    for info in store.features.list():
        versions_by_set.setdefault(info.feature_set, []).append(info)
    warnings: list[dict[str, Any]] = []
    for model in sorted(models, key=lambda m: m.created_at, reverse=True):
        warnings.extend(_feature_warnings(model, versions_by_set))
        if model.aliases:
            warnings.extend(_source_warnings(store, model))
    return warnings + purge_warnings(store)


def purge_warnings(store: Store) -> list[dict[str, Any]]:
    """Model versions built (directly or through derived data) from a snapshot whose bytes were purged.

    One impact walk per purged snapshot, not one trace per model: purges are rare.
    """
    from lineage.graph import impact
    from lineage.tombstones import purged_snapshots

    with store.db.session() as session:
        purged = purged_snapshots(session)
    warnings = []
    for ref, tombstone in purged:
        for node in impact(store, ref).nodes:
            if node.kind == "model_version":
                warnings.append({
                    "model": node.ref, "aliases": list(node.aliases), "kind": "input_purged", "snapshot": ref,
                    "detail": f"built from {ref}, whose bytes were {tombstone.describe()}: "
                              "not-reproducible: input purged",
                })
    return warnings


def _feature_warnings(model: ModelVersionInfo, versions_by_set: dict[str, list[FeatureSetVersionInfo]]) -> list[dict[str, Any]]:
    if not model.feature_set:
        return []
    name, _, version = model.feature_set.partition("@")
    versions = versions_by_set.get(name, [])
    used = next((v for v in versions if v.version == version), None)
    newer = [v for v in versions if SemVer.parse(v.version) > SemVer.parse(version)]
    if used is None or not newer:
        return []
    latest = max(newer, key=lambda v: SemVer.parse(v.version))
    changed = changed_features(used, latest)
    if not changed:
        return []
    names = ", ".join(f"'{c}'" for c in changed)
    return [{
        "model": model.ref, "aliases": model.aliases, "kind": "feature_code_changed",
        "feature_set": model.feature_set, "newer": latest.ref, "features": changed,
        "detail": f"trained on {model.feature_set}; {latest.ref} changes {names}: retrain before serving the new features",
    }]


def _source_warnings(store: Store, model: ModelVersionInfo) -> list[dict[str, Any]]:
    warnings = []
    for item in model.inputs:
        snapshot = store.snapshots.get(item.ref)
        if snapshot.purged is not None:
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


def source_change(store: Store, snapshot: SnapshotInfo) -> str | None:
    """How a local source path differs from the recorded bytes, or None (hash cache first: cheap)."""
    from lineage.hashing import hash_file

    if snapshot.format == "parquet-dir" or "://" in snapshot.source_uri or snapshot.source_uri.startswith("lineage:"):
        return None
    path = Path(snapshot.source_uri)
    if not path.is_absolute():
        return None
    if not path.exists():
        return f"{path} no longer exists"
    digest = store.hash_cache.get(path)
    if digest is None:
        try:
            digest, _ = hash_file(str(path))
        except OSError as exc:
            return f"{path} cannot be read ({exc.strerror})"
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
