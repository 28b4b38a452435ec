"""Feature-set versions in a real store (SQLite and PostgreSQL): register, semver, materialise, parity."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlmodel import select

from lineage.errors import FeatureCodeError, ImmutableVersionError, InvalidInputError, InvalidNameError, SemverError
from lineage.features.materialize import materialize
from lineage.features.parity import parity
from lineage.store import Store
from lineage.tables import Edge

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "sample_data" / "schemas"
V2_0 = (SCHEMAS / "customer_features_2.0.0.json", "sample_data.features.customer_features_2_0")
V2_1 = (SCHEMAS / "customer_features_2.1.0.json", "sample_data.features.customer_features_2_1")
CANDIDATE = (SCHEMAS / "customer_features_3.0.0_candidate.json", "sample_data.features.customer_features_3_0_candidate")
CLEAN = ROOT / "sample_data" / "customers_clean_v1.0.parquet"


@pytest.fixture
def fstore(store: Store) -> Store:
    """A store on each backend holding customers_clean@v1.0 and customer_features 2.0.0."""
    store.snapshots.add(CLEAN, dataset="customers_clean", version="v1.0", stage="processed")
    store.features.register(*V2_0)
    return store


def candidate_schema(version: str) -> dict:
    data = json.loads(CANDIDATE[0].read_text())
    data["version"] = version
    return data


def audit_actions(store: Store) -> list[str]:
    return [e.action for e in store.audit.log()]


def test_first_version_records_schema_code_hashes_and_git_state(fstore: Store) -> None:
    info = fstore.features.get("customer_features@2.0.0")
    assert [f.name for f in info.features] == ["age", "region"]
    assert all(f.code_hash.startswith("sha256:") and "def " in f.source for f in info.features)
    assert info.schema["entity"] == "customer_id" and info.schema["timestamp"] == "reference_date"
    assert info.set_hash.startswith("sha256:")
    assert info.module == "sample_data.features.customer_features_2_0"
    assert len(info.git_commit) == 40 and isinstance(info.git_dirty, bool)
    assert info.previous == "" and info.change_class == ""
    event = [e for e in fstore.audit.log() if e.action == "features.register"][0]
    assert event.subject == "customer_features@2.0.0" and event.payload["set_hash"] == info.set_hash
    assert event.payload["code_hashes"] == {f.name: f.code_hash for f in info.features}


def test_minor_addition_registers_as_minor(fstore: Store) -> None:
    info = fstore.features.register(*V2_1)
    assert info.created and info.previous == "2.0.0" and info.change_class == "minor"
    age_old = fstore.features.get("customer_features@2.0.0").features[0]
    assert info.features[0].code_hash == age_old.code_hash  # reused code, same hash


def test_reregistering_same_version_returns_existing(fstore: Store) -> None:
    again = fstore.features.register(*V2_0)
    assert again.created is False and again.ref == "customer_features@2.0.0"
    assert audit_actions(fstore).count("features.register") == 1


def test_same_version_with_other_content_is_refused(fstore: Store) -> None:
    data = json.loads(V2_0[0].read_text())
    data["features"]["age"]["max"] = 120
    with pytest.raises(ImmutableVersionError, match="customer_features@2.0.0 is already registered with set hash"):
        fstore.features.register(data, V2_0[1])


def test_breaking_candidate_is_refused_with_each_change_and_the_smallest_version(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    events_before = len(fstore.audit.log())
    with pytest.raises(SemverError) as refused:
        fstore.features.register(*CANDIDATE)
    message = str(refused.value)
    assert "customer_features 2.2.0 removes feature 'region' (major): use 3.0.0" in message
    assert "customer_features 2.2.0 changes the code of feature 'age' (major): use 3.0.0" in message
    assert len(fstore.audit.log()) == events_before
    assert [v.version for v in fstore.features.list()] == ["2.0.0", "2.1.0"]


def test_candidate_as_3_0_0_is_accepted(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    info = fstore.features.register(candidate_schema("3.0.0"), CANDIDATE[1])
    assert info.change_class == "major" and info.allow_breaking == ""


def test_allow_breaking_lets_a_small_bump_through_and_audits_the_reason(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    info = fstore.features.register(*CANDIDATE, allow_breaking="hotfix agreed with the model owners")
    assert info.version == "2.2.0" and info.allow_breaking == "hotfix agreed with the model owners"
    event = fstore.audit.log(action="features.register")[-1]
    assert event.payload["allow_breaking"] == "hotfix agreed with the model owners"
    assert {c["kind"] for c in event.payload["changes"]} >= {"removed", "code_changed"}


def test_get_without_version_is_the_highest_semver(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    assert fstore.features.get("customer_features").version == "2.1.0"


def test_diff_json_shape(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    diff = fstore.features.diff("customer_features", "2.0.0", "2.1.0").to_json()
    assert diff["from"] == "2.0.0" and diff["to"] == "2.1.0" and diff["required_bump"] == "minor"
    assert [(c["feature"], c["kind"], c["class"]) for c in diff["changes"]] == [("avg_purchase_value", "added", "minor")]


def test_materialize_is_deterministic_and_linked(fstore: Store) -> None:
    first = materialize(fstore, "customer_features@2.0.0", "customers_clean@v1.0")
    assert first.created and first.stage == "features" and first.parents == ["customers_clean@v1.0"]
    assert first.ref == "customer_features_values@2.0.0-customers_clean-v1.0"
    assert [c["name"] for c in first.schema] == ["customer_id", "reference_date", "age", "region"]
    again = materialize(fstore, "customer_features@2.0.0", "customers_clean@v1.0")
    assert again.created is False and again.sha256 == first.sha256
    other = materialize(fstore, "customer_features@2.0.0", "customers_clean@v1.0", version="rerun")
    assert other.sha256 == first.sha256  # same inputs, same bytes, under another name
    with fstore.db.session() as session:
        links = session.exec(select(Edge).where(Edge.relation == "materialized")).all()
    assert len(links) == 2 and all(link.parent_kind == "feature_set_version" for link in links)
    assert fstore.snapshots.verify(first.ref)[0].source_status == "computed"


def test_materialized_values_follow_the_feature_code(fstore: Store, tmp_path: Path) -> None:
    info = materialize(fstore, "customer_features@2.0.0", "customers_clean@v1.0")
    fstore.snapshots.checkout(info.ref, tmp_path / "f.parquet")
    features = pq.read_table(tmp_path / "f.parquet").to_pandas()
    clean = pq.read_table(CLEAN).to_pandas(date_as_object=False).sort_values("customer_id").reset_index(drop=True)
    expected_age = (clean["reference_date"] - clean["birth_date"]).dt.days // 365
    assert list(features["customer_id"]) == list(clean["customer_id"])
    assert list(features["age"]) == list(expected_age)
    assert list(features["region"].astype(str)) == list(clean["region"].astype(str))


def test_parity_passes_on_the_sample_and_catches_a_divergent_online_path(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    report = parity(fstore, "customer_features@2.1.0", "customers_clean@v1.0", sample=100)
    assert report.ok and report.rows_checked == 100

    def divergent(record: dict) -> dict:  # a hand-written serving port that rounds ages up
        days = (record["reference_date"] - record["birth_date"]).days
        return {"age": -(-days // 365), "region": record["region"],
                "avg_purchase_value": record["purchase_total"] / record["purchase_count"] if record["purchase_count"] else None}

    bad = parity(fstore, "customer_features@2.1.0", "customers_clean@v1.0", sample=100, online=divergent)
    assert not bad.ok
    assert {m.feature for m in bad.mismatches} == {"age"}
    first = bad.mismatches[0]
    assert first.online == first.offline + 1 and isinstance(first.entity, int)


def test_changed_module_code_cannot_materialize_a_registered_version(store: Store, tmp_path: Path) -> None:
    store.snapshots.add(CLEAN, dataset="customers_clean", version="v1.0", stage="processed")
    module = tmp_path / "my_features.py"
    module.write_text(MODULE.format(days="365"))
    store.features.register(SMALL_SCHEMA, str(module))
    module.write_text(MODULE.format(days="365.25"))
    with pytest.raises(FeatureCodeError, match="no longer matches small@1.0.0"):
        materialize(store, "small@1.0.0", "customers_clean@v1.0")


MODULE = '''
import pandas as pd
from lineage.features import FeatureSet

small = FeatureSet("small", entity="customer_id", timestamp="reference_date")


@small.feature(dtype="int")
def age(df: pd.DataFrame) -> pd.Series:
    return ((df["reference_date"] - df["birth_date"]).dt.days // {days}).astype("int64")
'''
SMALL_SCHEMA = {"feature_set": "small", "version": "1.0.0", "features": {"age": "int"}}


def test_features_defined_in_main_are_refused(sqlite_store: Store, tmp_path: Path) -> None:
    script = tmp_path / "notebook_like.py"
    script.write_text(MODULE.format(days="365") + textwrap.dedent(f"""
        from lineage.store import Store
        try:
            Store.open().features.register({SMALL_SCHEMA!r}, feature_set=small)
        except Exception as exc:
            print(type(exc).__name__, exc)
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "FeatureCodeError" in result.stdout and "move the feature set into a module file" in result.stdout
    assert sqlite_store.features.list() == []


def test_release_tags_the_registered_commit_and_refuses_dirty_trees(sqlite_store: Store, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    module = repo / "small_features.py"
    module.write_text(MODULE.format(days="365"))
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "features"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()

    info = sqlite_store.features.register(SMALL_SCHEMA, str(module))
    assert info.git_commit == commit and info.git_dirty is False
    (repo / "scratch.txt").write_text("uncommitted")
    with pytest.raises(InvalidInputError, match="is dirty"):
        sqlite_store.features.release("small@1.0.0")
    (repo / "scratch.txt").unlink()
    released = sqlite_store.features.release("small@1.0.0")
    assert released.released_tag == "small/v1.0.0"
    tagged = subprocess.run([*git, "rev-parse", "small/v1.0.0^{commit}"], capture_output=True, text=True, check=True)
    assert tagged.stdout.strip() == commit
    assert sqlite_store.audit.log(action="features.release")[0].payload["tag"] == "small/v1.0.0"

    module.write_text(MODULE.format(days="365.25"))  # a dirty registration can never be released
    dirty = sqlite_store.features.register({**SMALL_SCHEMA, "version": "2.0.0"}, str(module))
    assert dirty.git_dirty is True
    with pytest.raises(InvalidInputError, match="registered from a dirty work tree"):
        sqlite_store.features.release("small@2.0.0")


def test_historical_retrieval_through_the_store_is_point_in_time(fstore: Store) -> None:
    import pandas as pd

    values = materialize(fstore, "customer_features@2.0.0", "customers_clean@v1.0")
    assert fstore.features.materialized_from(values.ref).ref == "customer_features@2.0.0"
    rows = pd.DataFrame({
        "customer_id": [100001, 100001, 100002],
        "event_time": pd.to_datetime(["2026-01-31", "2026-02-02", "2026-03-01"], utc=True),
    })
    joined = fstore.features.historical(rows, values.ref, event_timestamp="event_time")
    assert joined["age"].isna().tolist() == [True, False, False]  # 2026-01-31 is before the feature time
    assert joined["age"].iloc[1] == 32
    with pytest.raises(InvalidInputError, match="was not materialised from a feature set"):
        fstore.features.historical(rows, "customers_clean@v1.0", event_timestamp="event_time")


def test_a_version_below_the_latest_is_refused_even_with_allow_breaking(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    events_before = len(fstore.audit.log())
    for reason in ("", "backport"):
        with pytest.raises(SemverError, match=r"customer_features 1\.0\.0 is not above the latest 2\.1\.0: "
                                              r"versions must increase, use 3\.0\.0 or higher"):
            fstore.features.register(candidate_schema("1.0.0"), CANDIDATE[1], allow_breaking=reason)
    assert len(fstore.audit.log()) == events_before
    assert [v.version for v in fstore.features.list()] == ["2.0.0", "2.1.0"]


def test_a_new_version_is_compared_with_the_latest(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    data = json.loads(V2_0[0].read_text())
    data["version"] = "3.0.0"  # 2.0.0's content: drops 2.1.0's avg_purchase_value
    info = fstore.features.register(data, V2_0[1])
    assert info.previous == "2.1.0" and info.change_class == "major"


def test_an_empty_version_is_refused_not_read_as_latest(fstore: Store) -> None:
    fstore.features.register(*V2_1)
    with pytest.raises(InvalidNameError, match="version is empty in 'customer_features@'"):
        fstore.features.get("customer_features@")
    with pytest.raises(InvalidNameError, match="version is empty"):
        fstore.features.diff("customer_features", "", "2.1.0")


@pytest.mark.parametrize("sample", [0, -5, True, 2.5])
def test_parity_sample_must_be_a_positive_whole_number(fstore: Store, sample: object) -> None:
    with pytest.raises(InvalidInputError, match="is not a positive number of rows"):
        parity(fstore, "customer_features@2.0.0", "customers_clean@v1.0", sample=sample)  # type: ignore[arg-type]


@pytest.mark.parametrize("rel_tol", [float("nan"), float("inf"), -1e-9])
def test_parity_tolerance_must_be_finite_and_not_negative(fstore: Store, rel_tol: float) -> None:
    from lineage.features.parity import check_parity
    from lineage.snapshot_data import read_table

    schema, feature_set = fstore.features.load_code(fstore.features.get("customer_features@2.0.0"))
    rows = read_table(fstore, fstore.snapshots.get("customers_clean@v1.0"))
    with pytest.raises(InvalidInputError, match="is not a finite number >= 0"):
        check_parity(feature_set, schema, rows, rel_tol=rel_tol)


def test_previous_of_equal_precedence_versions_is_the_earliest_lower_one() -> None:
    # Stores written before versions had to increase may hold 1.1.1 and 1.1.1+rebuild; reads still work.
    from lineage.features.service import _previous_versions

    assert _previous_versions(["1.0.0", "1.1.1", "1.1.1+rebuild", "2.0.0"]) == ["", "1.0.0", "1.0.0", "1.1.1"]
