"""Profiles and drift reports through the store (SQLite and PostgreSQL) and `lineage profile|drift`."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.errors import InvalidInputError, NotFoundError
from lineage.store import Store
from tests.test_cli_bad_input import run_refused

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
VALUES_21 = "customer_features_values@2.1.0-customers_clean-v1.0"
VALUES_20 = "customer_features_values@2.0.0-customers_clean-v1.0"
ONLINE = "customer_features_online@2026_03"


def _populate(store: Store, tmp_path: Path) -> Store:
    store.snapshots.add(SAMPLE / "customers_clean_v1.0.parquet", dataset="customers_clean", version="v1.0",
                        stage="processed")
    for schema, module in (("customer_features_2.0.0.json", "sample_data.features.customer_features_2_0"),
                           ("customer_features_2.1.0.json", "sample_data.features.customer_features_2_1")):
        info = store.features.register(SAMPLE / "schemas" / schema, module)
        store.features.materialize(info.ref, "customers_clean@v1.0")
    store.snapshots.add(SAMPLE / "customer_features_online_2026_03.parquet", dataset="customer_features_online",
                        version="2026_03", stage="online")
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"model")
    store.models.register("churn@1.2.0", artifact=artifact, inputs=["customers_clean@v1.0:train", f"{VALUES_21}:features"],
                          feature_set="customer_features@2.1.0")
    store.models.promote("churn@1.2.0", alias="production", reason="live")
    return store


@pytest.fixture
def dstore(store: Store, tmp_path: Path) -> Store:
    return _populate(store, tmp_path)


def test_profile_is_computed_once_and_stored(dstore: Store) -> None:
    first = dstore.drift.profile(ONLINE)
    assert set(first) == {"customer_id", "served_at", "age", "region", "avg_purchase_value"}
    age = first["age"].to_json()
    assert age["count"] == 2000 and age["nulls"] == 12 and set(age["quantiles"]) >= {"p01", "p50", "p99"}
    again = dstore.drift.profile(ONLINE)
    assert again["age"].to_json() == age
    assert len(dstore.audit.log(action="snapshot.profile")) == 1


def test_profile_without_save_computes_but_stores_nothing_then_reads_the_stored_one(dstore: Store) -> None:
    """The dashboard only looks: ``save=False`` must not append audit events, yet still reuse a stored profile."""
    events = len(dstore.audit.log())
    unsaved = dstore.drift.profile(ONLINE, save=False)
    assert len(dstore.audit.log()) == events
    stored = dstore.drift.profile(ONLINE)
    assert len(dstore.audit.log(action="snapshot.profile")) == 1
    assert {k: v.to_json() for k, v in unsaved.items()} == {k: v.to_json() for k, v in stored.items()}
    assert dstore.drift.profile(ONLINE, save=False)["age"].to_json() == stored["age"].to_json()


def test_drift_from_the_production_alias_finds_the_training_features_and_saves_the_report(dstore: Store) -> None:
    report = dstore.drift.compare("churn@production", ONLINE, feature_set="customer_features@2.1.0")
    document = report.to_json()
    assert document["reference"] == VALUES_21 and document["current"] == ONLINE
    by_name = {f["name"]: f for f in document["features"]}
    assert set(by_name) == {"age", "region", "avg_purchase_value"}
    assert by_name["region"]["drifted"] and by_name["region"]["new_categories"] == ["north_east"]
    assert by_name["avg_purchase_value"]["drifted"] and not by_name["age"]["drifted"]
    assert document["overall"]["drifted"] is True
    for key in ("name", "kind", "test", "statistic", "p_value", "threshold", "drifted", "psi", "js",
                "wasserstein_norm", "ks", "null_rate_ref", "null_rate_cur", "new_categories", "missing_categories"):
        assert key in by_name["age"]
    saved = dstore.drift.latest_reports()
    assert [(r["reference"], r["current"], r["drifted"]) for r in saved] == [(VALUES_21, ONLINE, True)]
    assert dstore.drift.get_report(saved[0]["id"]).to_json()["overall"] == document["overall"]
    event = dstore.audit.log(action="drift.report")[0]
    assert event.payload["feature_set"] == "customer_features@2.1.0"
    assert set(event.payload["drifted_features"]) == {"region", "avg_purchase_value"}


def test_identical_snapshots_do_not_drift(dstore: Store) -> None:
    report = dstore.drift.compare(VALUES_21, VALUES_21, save=False)
    assert report.to_json()["overall"]["drifted"] is False
    assert all(f["statistic"] == 0 for f in report.to_json()["features"])
    assert dstore.drift.latest_reports() == []


def test_different_feature_sets_need_an_explicit_feature_list(dstore: Store) -> None:
    with pytest.raises(InvalidInputError, match="pass an explicit feature list"):
        dstore.drift.compare(VALUES_20, VALUES_21)
    report = dstore.drift.compare(VALUES_20, VALUES_21, features=["age", "region"], save=False)
    assert [f["name"] for f in report.to_json()["features"]] == ["age", "region"]


def test_unknown_reference_is_not_found(dstore: Store) -> None:
    with pytest.raises(NotFoundError):
        dstore.drift.compare("nope@v1", ONLINE)


# -- CLI -------------------------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("LINEAGE_HOME", str(path))
    with Store.init() as opened:
        _populate(opened, tmp_path)
    return path


def test_cli_drift_gates_a_pipeline(home: Path) -> None:
    result = CliRunner().invoke(main, ["drift", "--reference", "churn@production", "--current", ONLINE,
                                       "--feature-set", "customer_features@2.1.0", "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["overall"]["drifted"] is True
    calm = CliRunner().invoke(main, ["drift", "--reference", VALUES_21, "--current", VALUES_21, "--no-save"])
    assert calm.exit_code == 0 and "no drift" in calm.output
    one = CliRunner().invoke(main, ["drift", "--reference", "churn@production", "--current", ONLINE,
                                    "--features", "age,region", "--drift-share", "0.9", "--fail-on-any", "--no-save"])
    assert one.exit_code == 1  # region drifts: under the share, but --fail-on-any


def test_cli_profile(home: Path) -> None:
    result = CliRunner().invoke(main, ["profile", ONLINE, "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["region"]["kind"] == "categorical"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["drift", "--reference", "nope@v1", "--current", ONLINE], "neither a snapshot nor a model"),
        (["drift", "--reference", VALUES_20, "--current", VALUES_21], "explicit feature list"),
        (["drift", "--reference", VALUES_21, "--current", ONLINE, "--features", "shoe_size"], "shoe_size"),
        (["drift", "--reference", VALUES_21, "--current", ONLINE, "--drift-share", "2"], "drift_share"),
        (["profile", "nope@v1"], "nope"),
    ],
    ids=["unknown-ref", "different-sets", "missing-feature", "bad-share", "profile-unknown"],
)
def test_cli_bad_input(home: Path, args: list[str], expected: str) -> None:
    run_refused(home, args, expected)


def test_cli_empty_reference_is_refused(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"age": pa.array([], pa.int64())}), empty)
    assert CliRunner().invoke(main, ["snapshot", "add", str(empty), "--dataset", "empty", "--version", "v1"]).exit_code == 0
    run_refused(home, ["drift", "--reference", "empty@v1", "--current", ONLINE, "--features", "age"], "has no rows")


def test_streaming_drift_reads_stored_blobs_and_agrees_with_exact(dstore: Store) -> None:
    exact = dstore.drift.compare("churn@production", ONLINE, feature_set="customer_features@2.1.0", save=False)
    streamed = dstore.drift.compare("churn@production", ONLINE, feature_set="customer_features@2.1.0", save=False,
                                    streaming=True)
    assert streamed.to_json()["overall"]["drifted"] == exact.to_json()["overall"]["drifted"]
    verdicts = {f["name"]: f["drifted"] for f in streamed.to_json()["features"]}
    assert verdicts == {f["name"]: f["drifted"] for f in exact.to_json()["features"]}


def test_a_stored_parquet_snapshot_is_compared_from_its_blob_column_by_column(dstore: Store, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Not loaded whole first: the whole table and the file's bytes held at once doubled peak memory."""
    import lineage.snapshot_data

    def no_whole_table(*args: object, **kwargs: object) -> None:
        raise AssertionError("read the whole table of a stored Parquet snapshot")

    read_table = lineage.snapshot_data.read_table
    with monkeypatch.context() as patch:  # the previous way: both tables whole, as the reference result
        patch.setattr(type(dstore.drift), "_data", lambda service, snapshot: read_table(dstore, snapshot))
        expected = dstore.drift.compare(VALUES_21, ONLINE, save=False).to_json()
    online = dstore.snapshots.get(ONLINE)
    if not dstore.objects.is_local:  # a bucket: no local file to read columns from, the table is read whole
        assert isinstance(dstore.drift._data(online), pa.Table)
        assert dstore.drift.compare(VALUES_21, ONLINE, save=False).to_json() == expected
        return
    monkeypatch.setattr(lineage.snapshot_data, "read_table", no_whole_table)
    assert dstore.drift.compare(VALUES_21, ONLINE, save=False).to_json() == expected
    assert dstore.drift._data(online) == dstore.objects.key_path(online.sha256)


def test_a_stored_parquet_snapshot_is_profiled_from_its_blob(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import lineage.drift
    import lineage.snapshot_data

    store.snapshots.add(SAMPLE / "customer_features_online_2026_03.parquet", dataset="customer_features_online",
                        version="2026_03", stage="online")
    whole = lineage.drift.profile_table(lineage.snapshot_data.read_table(store, store.snapshots.get(ONLINE)))
    if store.objects.is_local:
        monkeypatch.setattr(lineage.snapshot_data, "read_table", lambda *a, **k: pytest.fail("read the whole table"))
    profiles = store.drift.profile(ONLINE)
    assert {name: p.to_json() for name, p in profiles.items()} == {name: p.to_json() for name, p in whole.items()}
