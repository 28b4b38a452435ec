"""The batched reads behind the dashboard return exactly what the per-item reads return (SQLite and PostgreSQL).

Each batched read (feature-set list and get_many, model summaries, current alias holders,
staleness, snapshot search and get_many) is compared with the per-version / per-model path
it replaced, on a store with every shape they must handle (tests/_rich_store.py), and the
number of SQL statements it runs is shown not to grow with the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lineage import views
from lineage.errors import InvalidInputError, NotFoundError
from lineage.features.semver import SemVer
from lineage.models.staleness import source_change
from lineage.store import Store
from tests._rich_store import CODE, ENVIRONMENT, build
from tests.factories import write_parquet
from tests.test_graph import counted  # the statement counter the graph's no-N+1 test uses


@pytest.fixture
def rich(store: Store, tmp_path: Path) -> Store:
    return build(store, tmp_path / "rich")


# -- the per-item paths the batched reads replaced ------------------------------------------------
def per_model_holders(store: Store, alias: str) -> list[dict[str, Any]]:
    """The Overview's old "in production" table: one aliases() and one get() per model."""
    rows = []
    for name in sorted({m.model for m in store.models.list()}):
        held = store.models.aliases(name)["current"].get(alias)
        if held:
            rows.append({"model": name, **held, "feature_set": store.models.get(f"{name}@{held['version']}").feature_set})
    return rows


def per_model_staleness(store: Store) -> list[dict[str, Any]]:
    """The old staleness walk: every model entity, every feature-set version, one snapshot get per input."""
    versions_by_set: dict[str, list[Any]] = {}
    for info in store.features.list():
        versions_by_set.setdefault(info.feature_set, []).append(info)
    warnings = []
    for model in sorted(store.models.list(), key=lambda m: m.created_at, reverse=True):
        if model.feature_set:
            name, _, version = model.feature_set.partition("@")
            used = store.features.get(model.feature_set)
            newer = [v for v in versions_by_set[name] if SemVer.parse(v.version) > SemVer.parse(version)]
            if newer:
                latest = max(newer, key=lambda v: SemVer.parse(v.version))
                new_codes = {f.name: f.code_hash for f in latest.features}
                changed = [f.name for f in used.features if new_codes.get(f.name) != f.code_hash
                           or latest.schema["features"].get(f.name) != used.schema["features"].get(f.name)]
                if changed:
                    names = ", ".join(f"'{c}'" for c in changed)
                    warnings.append({
                        "model": model.ref, "aliases": model.aliases, "kind": "feature_code_changed",
                        "feature_set": model.feature_set, "newer": latest.ref, "features": changed,
                        "detail": f"trained on {model.feature_set}; {latest.ref} changes {names}: retrain before "
                                  "serving the new features"})
        if model.aliases:
            for item in model.inputs:
                snapshot = store.snapshots.get(item.ref)
                problem = source_change(store, snapshot)
                if problem is not None:
                    warnings.append({
                        "model": model.ref, "aliases": model.aliases, "kind": "training_source_changed",
                        "snapshot": snapshot.ref, "source": snapshot.source_uri,
                        "detail": f"{model.ref} ({', '.join(model.aliases)}) was trained on {snapshot.ref}, whose "
                                  f"source {problem}; the stored snapshot still holds the exact bytes"})
    return warnings


def filter_in_python(snapshots: list[Any], *, text: str = "", stages: list[str] | None = None,
                     datasets: list[str] | None = None) -> list[Any]:
    """The Snapshots page's old filter: every snapshot loaded, then matched in Python."""
    needle = text.strip().lower()
    return [
        s for s in snapshots
        if (not stages or s.stage in stages) and (not datasets or s.dataset in datasets)
        and (not needle or needle in s.ref.lower() or needle in s.note.lower() or s.sha256.startswith(needle))
    ]


# -- feature sets ---------------------------------------------------------------------------------
def test_feature_list_refs_and_get_many_match_reading_each_version(rich: Store) -> None:
    listed = rich.features.list()
    assert [i.ref for i in listed] == ["customer_features@2.0.0", "customer_features@2.1.0", "small@1.0.0",
                                       "small@1.1.0", "small@1.1.1", "small@1.1.2", "small@2.0.0"]
    assert listed == [rich.features.get(i.ref) for i in listed]
    assert {i.ref: i.previous for i in listed}["small@2.0.0"] == "1.1.2"
    assert rich.features.list("small") == [i for i in listed if i.feature_set == "small"]
    assert rich.features.refs() == [i.ref for i in listed]
    wanted = ["small@1.1.2", "customer_features@2.0.0", "small@2.0.0"]
    assert rich.features.get_many(wanted) == {ref: rich.features.get(ref) for ref in wanted}
    assert rich.features.get_many([]) == {}
    with pytest.raises(NotFoundError, match="small@9.9.9"):
        rich.features.get_many(["small@9.9.9"])


# -- models and aliases ---------------------------------------------------------------------------
def test_model_aliases_summaries_and_holders_match_reading_each_model(rich: Store) -> None:
    listed = rich.models.list()
    for name in {m.model for m in listed}:
        current = rich.models.aliases(name)["current"]
        for info in (m for m in listed if m.model == name):
            expected = sorted(alias for alias, held in current.items() if held["version"] == info.version)
            assert info.aliases == expected, info.ref
            assert rich.models.get(info.ref).aliases == expected
    assert {m.ref: m.aliases for m in listed if m.aliases} == {
        "churn@1.0.0": ["production"], "churn@1.10.0": ["staging"], "basket@0.1.0": ["staging"],
        "basket@0.2.0": ["production"], "upsell@1.0.0": ["canary", "production"]}
    assert rich.models.refs() == [m.ref for m in listed]
    assert [m.ref for m in listed][:3] == ["basket@0.1.0", "basket@0.2.0", "basket@0.3.0"]
    assert [m.ref for m in listed if m.model == "churn"] == ["churn@1.0.0", "churn@1.1.0", "churn@1.10.0"]
    summaries = rich.models.summaries()
    assert [(s.ref, s.feature_set, s.aliases, s.seed, s.metrics, s.artifact_sha256, s.created_at, s.created_by)
            for s in summaries] == [
        (m.ref, m.feature_set, m.aliases, m.seed, m.metrics, m.artifact["sha256"], m.created_at, m.created_by)
        for m in listed]
    assert rich.models.alias_holders() == {
        rich.models.version_id(m.ref): m.aliases for m in listed if m.aliases}
    for alias in ("production", "staging", "canary", "nobody"):
        assert rich.models.holders(alias) == per_model_holders(rich, alias), alias
    churn = next(h for h in rich.models.holders("production") if h["model"] == "churn")
    first_promotion = rich.models.aliases("churn")["history"][2]  # the rollback to 1.0.0 started this period
    assert (churn["version"], churn["since"], churn["reason"]) == ("1.0.0", first_promotion.at, "broke")


def test_staleness_matches_the_per_model_path(rich: Store) -> None:
    warnings = rich.models.staleness()
    assert warnings == per_model_staleness(rich)
    assert {(w["kind"], w["model"]) for w in warnings} == {
        ("feature_code_changed", "basket@0.1.0"), ("feature_code_changed", "basket@0.2.0"),
        ("feature_code_changed", "basket@0.3.0"), ("feature_code_changed", "upsell@1.0.0"),
        ("training_source_changed", "upsell@1.0.0")}
    assert rich.models.staleness(rich.models.summaries()) == warnings


def test_source_change_reads_bytes_only_when_stat_and_the_hash_cache_cannot_answer(
        rich: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from lineage import hashing

    reads: list[str] = []
    real_hash_file = hashing.hash_file
    monkeypatch.setattr(hashing, "hash_file", lambda path, *a: reads.append(path) or real_hash_file(path, *a))
    info = rich.snapshots.get("Orders_RAW@v1")
    source = Path(info.source_uri)
    stamp = source.stat().st_mtime - 60
    os.utime(source, (stamp, stamp))  # older than the hash cache's racy window
    assert source_change(rich, info) is None and reads == [str(source)]  # hashed once, then cached
    assert source_change(rich, info) is None and reads == [str(source)]  # a stat and the cache: no read
    data = bytearray(source.read_bytes())
    data[-10] ^= 0xFF  # same size, other bytes: only hashing can tell
    source.write_bytes(bytes(data))
    assert "now holds other bytes (sha256" in (source_change(rich, info) or "") and len(reads) == 2
    source.write_bytes(b"short")
    assert source_change(rich, info) == f"{source} now holds other bytes (5 bytes, recorded {info.size_bytes:,})"
    source.unlink()
    assert source_change(rich, info) == f"{source} no longer exists"
    assert len(reads) == 2


# -- snapshots ------------------------------------------------------------------------------------
FILTERS = [
    {}, {"text": "orders_raw"}, {"text": "ORDERS"}, {"text": "%"}, {"text": "_d"}, {"text": "100%"},
    {"text": "100%_"}, {"text": "percent_sign"}, {"text": "@v1"}, {"text": "  clean  "}, {"stages": ["online"]},
    {"stages": ["processed", "raw"], "datasets": ["clean", "pct%_data"]}, {"datasets": ["Orders_RAW"], "text": "100"},
    {"text": "no such thing"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_snapshot_search_matches_filtering_the_full_list(rich: Store, filters: dict[str, Any]) -> None:
    expected = [s.ref for s in filter_in_python(rich.snapshots.list(), **filters)]
    assert rich.snapshots.search(**filters) == expected


def test_snapshot_search_by_sha256_prefix_and_get_many(rich: Store) -> None:
    everything = rich.snapshots.list()
    target = everything[3]
    assert rich.snapshots.search(text=target.sha256[:10]) == [target.ref]
    assert rich.snapshots.search(text=target.sha256[:10].upper()) == [target.ref]
    refs = [s.ref for s in everything]
    assert rich.snapshots.get_many(refs) == everything
    assert rich.snapshots.get_many([refs[2], refs[0], refs[2]]) == [everything[2], everything[0], everything[2]]
    assert rich.snapshots.get_many([]) == []
    with pytest.raises(NotFoundError, match="nope@v1"):
        rich.snapshots.get_many([refs[0], "nope@v1"])
    with pytest.raises(InvalidInputError, match="not dataset@version"):
        rich.snapshots.get_many(["Orders_RAW"])
    assert rich.snapshots.dataset_names() == sorted({s.dataset for s in everything})
    latest_online = rich.snapshots.list(newest_first=True, stage="online", limit=1)
    assert [s.ref for s in latest_online] == ["online_log@2026_02"]


# -- views and cost -------------------------------------------------------------------------------
def test_overview_warnings_check_a_bounded_set_of_sources_and_say_which(rich: Store) -> None:
    Path(rich.snapshots.get("online_log@2026_02").source_uri).unlink()  # the third newest
    Path(rich.snapshots.get("Orders_RAW@v1").source_uri).unlink()  # old: outside the checked window
    health = views.warnings(rich, newest=3)
    lines = health["lines"]
    assert "upsell@1.0.0 is stale: trained on small@1.1.0" in lines[0]
    assert any(line.startswith("upsell@1.0.0 (canary, production) was trained on source_copy@v1") for line in lines)
    assert any(line.startswith("source of online_log@2026_02 changed:") and "no longer exists" in line
               for line in lines)
    assert not any("Orders_RAW@v1 changed" in line for line in lines)
    assert health["note"].startswith("Source files checked: the inputs of models holding an alias and the 3 newest "
                                     f"of {len(rich.snapshots.list())} snapshots.")
    assert len(views.warnings(rich, limit=2)["lines"]) == 2
    assert "Showing 2 of" in views.warnings(rich, limit=2)["note"]


def test_drift_defaults_name_the_first_production_model_and_the_latest_online_log(rich: Store) -> None:
    holder = rich.models.holders("production")[0]
    reference = rich.drift.resolve_reference(f"{holder['model']}@{holder['version']}").ref
    assert views.drift_defaults(rich) == (reference, "online_log@2026_02")


def test_audit_head_moves_with_every_write_and_only_then(rich: Store) -> None:
    head = rich.audit.head()
    assert head == (rich.audit.log()[-1].seq, rich.audit.log()[-1].hash)
    rich.models.summaries()
    rich.snapshots.search(text="clean")
    assert rich.audit.head() == head
    rich.models.promote("basket@1.0.0", alias="production", reason="moved")
    assert rich.audit.head()[0] == head[0] + 1


def test_dashboard_reads_run_a_constant_number_of_statements(rich: Store, tmp_path: Path) -> None:
    reads = {
        "staleness": rich.models.staleness, "summaries": rich.models.summaries, "model list": rich.models.list,
        "holders": lambda: rich.models.holders("production"), "feature list": rich.features.list,
        "overview": lambda: views.overview(rich), "registry": lambda: views.model_registry(rich),
        "snapshot search": lambda: rich.snapshots.search(text="v"),
    }

    def statements() -> dict[str, int]:
        counts = {}
        for name, read in reads.items():
            with counted(rich) as seen:
                read()
            counts[name] = len(seen)
        return counts

    before = statements()
    for index in range(4):  # more models, aliases, feature-set versions and snapshots
        artifact = tmp_path / f"more{index}.bin"
        artifact.write_bytes(b"more %d" % index)
        ref = f"more_{index}@1.0.{index}"
        rich.models.register(ref, artifact=artifact, inputs=["clean@v1:train", "Orders_RAW@v2:features"],
                             feature_set="small@1.0.0", code=CODE, environment=ENVIRONMENT)
        rich.models.promote(ref, alias="production", reason="more")
        rich.snapshots.add(write_parquet(tmp_path / f"more{index}.parquet", rows=10, seed=index),
                           dataset=f"more_{index}", version="v1", note="more")
    assert statements() == before
