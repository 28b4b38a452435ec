"""Model versions, training runs, aliases and staleness in a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from lineage.errors import ImmutableVersionError, InvalidInputError, NotFoundError, SemverError
from lineage.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SCHEMAS = SAMPLE / "schemas"
FEATURES_21 = "customer_features_values@2.1.0-customers_clean-v1.0"
FEATURES_20 = "customer_features_values@2.0.0-customers_clean-v1.0"


@pytest.fixture
def mstore(store: Store) -> Store:
    """Snapshots, customer_features 2.0.0 and 2.1.0, and both materialisations (no models)."""
    store.snapshots.add(SAMPLE / "customers_clean_v1.0.parquet", dataset="customers_clean", version="v1.0",
                        stage="processed")
    for schema, module in (("customer_features_2.0.0.json", "sample_data.features.customer_features_2_0"),
                           ("customer_features_2.1.0.json", "sample_data.features.customer_features_2_1")):
        info = store.features.register(SCHEMAS / schema, module)
        store.features.materialize(info.ref, "customers_clean@v1.0")
    return store


def artifact(tmp_path: Path, content: bytes, name: str = "model.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def register(store: Store, tmp_path: Path, version: str, *, content: bytes | None = None, fs: str = "2.1.0",
             features: str = FEATURES_21) -> object:
    return store.models.register(
        f"churn@{version}", artifact=artifact(tmp_path, content or version.encode(), f"m{version}.bin"),
        inputs=["customers_clean@v1.0:train", f"{features}:features"], feature_set=f"customer_features@{fs}",
        seed=2010, params={"C": 1.0}, metrics={"auc": 0.8},
        code={"git_commit": "abc", "git_dirty": False, "entrypoint": "python train.py", "workdir": "/x"},
    )


def test_register_records_the_linkage_record_and_everything_else(mstore: Store, tmp_path: Path) -> None:
    info = register(mstore, tmp_path, "1.2.0")
    record = info.to_json()
    clean = mstore.snapshots.get("customers_clean@v1.0")
    assert {k: record[k] for k in ("model_version", "data_snapshot_id", "data_hash", "feature_set_version")} == {
        "model_version": "1.2.0", "data_snapshot_id": "customers_clean@v1.0", "data_hash": clean.sha256,
        "feature_set_version": "2.1.0"}
    assert [(i["ref"], i["role"]) for i in record["inputs"]] == [("customers_clean@v1.0", "train"), (FEATURES_21, "features")]
    assert record["artifact"]["sha256"] == __import__("hashlib").sha256(b"1.2.0").hexdigest()
    assert record["seed"] == 2010 and record["params"] == {"C": 1.0} and record["metrics"] == {"auc": 0.8}
    assert "packages" in record["environment"] and "python" in record["environment"]
    assert mstore.objects.exists(record["artifact"]["sha256"])
    event = mstore.audit.log(action="model.register")[0]
    assert event.subject == "churn@1.2.0" and event.payload["data_hash"] == clean.sha256


def test_same_artifact_returns_existing_and_other_bytes_are_refused_without_writing(mstore: Store, tmp_path: Path) -> None:
    first = register(mstore, tmp_path, "1.2.0")
    again = register(mstore, tmp_path, "1.2.0")
    assert again.created is False and again.artifact == first.artifact
    other = artifact(tmp_path, b"different bytes", "other.bin")
    with pytest.raises(ImmutableVersionError, match="churn@1.2.0 already holds artifact sha256"):
        mstore.models.register("churn@1.2.0", artifact=other)
    digest = __import__("hashlib").sha256(b"different bytes").hexdigest()
    assert not mstore.objects.exists(digest)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"inputs": ["nope@v1:train"]}, NotFoundError, "nope"),
        ({"feature_set": "customer_features@9.9.9"}, NotFoundError, "has no version 9.9.9"),
        ({"inputs": ["customers_clean@v1.0:training"]}, InvalidInputError, "unknown role 'training'"),
        ({"artifact": "/no/such/file.pkl"}, InvalidInputError, "does not exist"),
    ],
    ids=["unknown-snapshot", "unknown-feature-set", "unknown-role", "missing-artifact"],
)
def test_bad_registrations_write_nothing(mstore: Store, tmp_path: Path, kwargs: dict, error: type, match: str) -> None:
    events = len(mstore.audit.log())
    arguments = {"artifact": artifact(tmp_path, b"x"), **kwargs}
    with pytest.raises(error, match=match):
        mstore.models.register("churn@1.0.0", **arguments)
    assert mstore.models.list() == [] and len(mstore.audit.log()) == events


def test_model_versions_are_strict_semver(mstore: Store, tmp_path: Path) -> None:
    with pytest.raises(SemverError):
        mstore.models.register("churn@v1", artifact=artifact(tmp_path, b"x"))


def test_tracked_run_registers_with_seeds_params_metrics_and_immutable_inputs(mstore: Store, tmp_path: Path) -> None:
    with mstore.runs.track(model="churn", version="2.0.0", seed=2010) as run:
        path = run.input("customers_clean@v1.0", role="train")
        assert path.read_bytes() == (SAMPLE / "customers_clean_v1.0.parquet").read_bytes()
        extra = run.input(artifact(tmp_path, (SAMPLE / "customers_clean_v1.0.parquet").read_bytes(), "copy.parquet"),
                          dataset="copied", version="v1", role="validation")
        run.use_feature_set("customer_features@2.1.0")
        draws = (random.random(), float(np.random.random()))
        run.log_params(C=0.5)
        run.log_metrics(auc=0.75)
        run.set_artifact(artifact(tmp_path, b"trained", "trained.bin"))
    random.seed(2010)
    np.random.seed(2010)
    assert draws == (random.random(), float(np.random.random()))  # the run seeded both generators
    info = run.model_version
    assert info is not None and info.ref == "churn@2.0.0" and extra.exists() is False  # workdir cleaned
    assert {i.ref: i.role for i in info.inputs} == {"customers_clean@v1.0": "train", "copied@v1": "validation"}
    assert info.params == {"C": 0.5} and info.metrics == {"auc": 0.75} and info.seed == 2010
    assert info.environment["seeds"]["numpy"] == 2010 and info.run_id == run.run_id


def test_failed_run_registers_nothing_and_is_audited(mstore: Store) -> None:
    with pytest.raises(ZeroDivisionError), mstore.runs.track(model="churn", version="3.0.0", seed=7) as run:
        run.input("customers_clean@v1.0")
        _ = 1 / 0
    assert mstore.models.list() == []
    failed = mstore.audit.log(action="run.failed")
    assert len(failed) == 1 and failed[0].subject == "churn@3.0.0"
    assert "ZeroDivisionError" in failed[0].payload["error"] and failed[0].payload["run_id"] == run.run_id


def test_promote_rollback_and_alias_history_as_of(mstore: Store, tmp_path: Path) -> None:
    register(mstore, tmp_path, "1.1.0", fs="2.0.0", features=FEATURES_20)
    register(mstore, tmp_path, "1.2.0")
    with pytest.raises(InvalidInputError, match="never been set"):
        mstore.models.rollback("churn", alias="production", reason="x")
    mstore.models.promote("churn@1.1.0", alias="production", reason="first")
    with pytest.raises(InvalidInputError, match="no other holder"):
        mstore.models.rollback("churn", alias="production", reason="x")
    between = datetime.now(UTC)
    mstore.models.promote("churn@1.2.0", alias="production", reason="better")
    assert mstore.models.get("churn@production").version == "1.2.0"
    result = mstore.models.rollback("churn", alias="production", reason="serving broke")
    assert (result["from_version"], result["to_version"]) == ("1.2.0", "1.1.0")
    assert result["feature_set_switch"] == {"from": "customer_features@2.1.0", "to": "customer_features@2.0.0"}
    aliases = mstore.models.aliases("churn")
    assert aliases["current"]["production"]["version"] == "1.1.0"
    assert [(m.action, m.version) for m in aliases["history"]] == [("promote", "1.1.0"), ("promote", "1.2.0"), ("rollback", "1.1.0")]
    past = mstore.models.aliases("churn", as_of=between)
    assert past["current"]["production"]["version"] == "1.1.0" and len(past["history"]) == 1
    assert [e.action for e in mstore.audit.log() if e.action.startswith("model.")][-3:] == [
        "model.promote", "model.promote", "model.rollback"]
    assert mstore.audit.log(action="model.rollback")[0].payload["reason"] == "serving broke"


def test_promote_needs_a_reason_and_a_known_version(mstore: Store, tmp_path: Path) -> None:
    register(mstore, tmp_path, "1.2.0")
    with pytest.raises(InvalidInputError, match="needs a reason"):
        mstore.models.promote("churn@1.2.0", alias="production", reason=" ")
    with pytest.raises(NotFoundError, match="9.9.9"):
        mstore.models.promote("churn@9.9.9", alias="production", reason="x")
    assert mstore.models.aliases("churn")["history"] == []


def test_model_trained_on_old_feature_code_is_stale_and_registration_names_it(mstore: Store, tmp_path: Path) -> None:
    register(mstore, tmp_path, "1.2.0")
    mstore.models.promote("churn@1.2.0", alias="production", reason="live")
    assert mstore.models.staleness() == []
    candidate = json.loads((SCHEMAS / "customer_features_3.0.0_candidate.json").read_text())
    candidate["version"] = "3.0.0"
    info = mstore.features.register(candidate, "sample_data.features.customer_features_3_0_candidate")
    assert info.affected == ["churn@1.2.0 (production) was trained on customer_features@2.1.0 and uses 'age', 'region'"]
    warnings = mstore.models.staleness()
    assert [(w["model"], w["kind"], w["features"]) for w in warnings] == [
        ("churn@1.2.0", "feature_code_changed", ["age", "region"])]


def test_aliased_model_whose_training_source_changed_on_disk_is_stale(mstore: Store, tmp_path: Path) -> None:
    source = tmp_path / "train.parquet"
    source.write_bytes((SAMPLE / "customers_clean_v1.0.parquet").read_bytes())
    mstore.snapshots.add(source, dataset="train_copy", version="v1", stage="processed")
    mstore.models.register("churn@1.0.0", artifact=artifact(tmp_path, b"m"), inputs=["train_copy@v1:train"])
    assert mstore.models.staleness() == []  # not aliased: not checked
    mstore.models.promote("churn@1.0.0", alias="production", reason="live")
    assert mstore.models.staleness() == []
    source.write_bytes(b"overwritten")
    warnings = mstore.models.staleness()
    assert len(warnings) == 1 and warnings[0]["kind"] == "training_source_changed"
    assert "train_copy@v1" in warnings[0]["detail"] and "other bytes" in warnings[0]["detail"]


def blob_of(content: bytes) -> str:
    return __import__("hashlib").sha256(content).hexdigest()


def test_one_snapshot_named_several_ways_under_one_role_is_one_input(mstore: Store, tmp_path: Path) -> None:
    clean = mstore.snapshots.get("customers_clean@v1.0")
    info = mstore.models.register(
        "churn@1.0.0", artifact=artifact(tmp_path, b"m"),
        inputs=["customers_clean@v1.0", "customers_clean", f"{clean.sha256[:12]}:train", "customers_clean@v1.0:features"],
    )
    assert [(i.ref, i.role) for i in info.inputs] == [("customers_clean@v1.0", "train"), ("customers_clean@v1.0", "features")]
    assert mstore.audit.log(action="model.register")[0].payload["inputs"] == [i.to_json() for i in info.inputs]


@pytest.mark.parametrize("seed", [2**63, 2**32, -1, True], ids=["over-bigint", "over-numpy", "negative", "bool"])
def test_a_seed_a_tracked_run_cannot_set_writes_nothing(mstore: Store, tmp_path: Path, seed: int) -> None:
    events = len(mstore.audit.log())
    with pytest.raises(InvalidInputError, match="from 0 to 4294967295"):
        mstore.models.register("churn@1.0.0", artifact=artifact(tmp_path, b"unseeded"), seed=seed)
    with pytest.raises(InvalidInputError, match="from 0 to 4294967295"), \
            mstore.runs.track(model="churn", version="1.0.0", seed=seed) as run:
        run.set_artifact(artifact(tmp_path, b"unseeded"))
    assert not mstore.objects.exists(blob_of(b"unseeded"))
    assert mstore.models.list() == [] and len(mstore.audit.log()) == events  # no row, no run.failed either


def test_a_reproduction_retrains_an_older_run_whose_seed_is_above_the_new_range(
        mstore: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeds above 2**32-1 were accepted before the range check: `reproduce --rerun` of such a run must still train."""
    import json

    from lineage.models.runs import REPRODUCE_OUT

    out = tmp_path / "reproduction"
    monkeypatch.setenv(REPRODUCE_OUT, str(out))
    with mstore.runs.track(model="churn", version="1.0.0", seed=2**40) as run:
        run.set_artifact(artifact(tmp_path, b"legacy"))
    assert json.loads((out / "result.json").read_text())["seed"] == 2**40
    assert mstore.models.list() == []  # a reproduction registers nothing


def test_an_empty_path_is_refused_not_read_as_the_current_directory(mstore: Store, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    artifact(tmp_path, b"would be stored")
    events = len(mstore.audit.log())
    for empty in ("", "   "):
        with pytest.raises(InvalidInputError, match="artifact is empty"):
            mstore.models.register("churn@1.0.0", artifact=empty)
    with mstore.runs.track(model="churn", version="1.0.0", seed=1) as run:
        with pytest.raises(InvalidInputError, match="input is empty"):
            run.input("", dataset="here")
        with pytest.raises(InvalidInputError, match="artifact is empty"):
            run.set_artifact(" ")
        run.set_artifact(artifact(tmp_path, b"tracked"))
    assert [i.ref for i in mstore.models.list()] == ["churn@1.0.0"] and mstore.snapshots.find("here") is None
    assert not mstore.objects.exists(blob_of(b"would be stored"))
    assert len(mstore.audit.log()) == events + 1  # the tracked run's model.register only


CODE = {"git_commit": "abc", "git_dirty": False, "entrypoint": "python train.py", "workdir": "/x"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": 7}, "seed 2010 (given 7)"),
        ({"seed": None}, "seed 2010 (given none)"),
        ({"params": {"C": 0.5}}, 'params {"C":1.0} (given {"C":0.5})'),
        ({"metrics": {"auc": 0.8, "f1": 0.5}}, 'metrics {"auc":0.8} (given {"auc":0.8,"f1":0.5})'),
        ({"inputs": ["customers_clean@v1.0:train"]},
         f"inputs customers_clean@v1.0:train, {FEATURES_21}:features (given customers_clean@v1.0:train)"),
        ({"inputs": ["customers_clean@v1.0:validation", f"{FEATURES_21}:features"]}, "(given customers_clean@v1.0:validation"),
        ({"feature_set": "customer_features@2.0.0"}, "feature set customer_features@2.1.0 (given customer_features@2.0.0)"),
        ({"feature_set": None}, "feature set customer_features@2.1.0 (given none)"),
        ({"code": {**CODE, "git_commit": "def"}}, "git commit abc (given def)"),
        ({"code": {**CODE, "entrypoint": "python other.py"}}, "entrypoint 'python train.py' (given 'python other.py')"),
    ],
    ids=["seed", "no-seed", "params", "metrics", "fewer-inputs", "other-role", "feature-set", "no-feature-set",
         "commit", "entrypoint"],
)
def test_reregistering_a_version_with_other_metadata_is_refused_and_writes_nothing(
        mstore: Store, tmp_path: Path, change: dict, message: str) -> None:
    register(mstore, tmp_path, "1.2.0")
    events = len(mstore.audit.log())
    arguments: dict = {"artifact": tmp_path / "m1.2.0.bin", "inputs": ["customers_clean@v1.0:train", f"{FEATURES_21}:features"],
                       "feature_set": "customer_features@2.1.0", "seed": 2010, "params": {"C": 1.0},
                       "metrics": {"auc": 0.8}, "code": CODE, **change}
    with pytest.raises(ImmutableVersionError) as refused:
        mstore.models.register("churn@1.2.0", **arguments)
    assert str(refused.value).startswith("churn@1.2.0 is already registered with ") and message in str(refused.value)
    assert str(refused.value).endswith(": nothing changed; register a new version")
    assert len(mstore.audit.log()) == events and mstore.models.get("churn@1.2.0").seed == 2010


def test_reregistration_ignores_the_git_dirty_flag(mstore: Store, tmp_path: Path) -> None:
    """An untracked output written into the work tree (a report) makes a re-run 'dirty': same commit, same run."""
    first = register(mstore, tmp_path, "1.2.0")
    again = mstore.models.register(
        "churn@1.2.0", artifact=tmp_path / "m1.2.0.bin", inputs=["customers_clean@v1.0:train", f"{FEATURES_21}:features"],
        feature_set="customer_features@2.1.0", seed=2010, params={"C": 1.0}, metrics={"auc": 0.8},
        code={**CODE, "git_dirty": True})
    assert again.ref == first.ref and again.code["git_dirty"] is False


def test_identical_reregistration_ignores_environment_run_id_note_and_workdir(mstore: Store, tmp_path: Path) -> None:
    first = register(mstore, tmp_path, "1.2.0")
    events = len(mstore.audit.log())
    again = mstore.models.register(
        "churn@1.2.0", artifact=tmp_path / "m1.2.0.bin", inputs={f"{FEATURES_21}": "features", "customers_clean": "train"},
        feature_set="customer_features@2.1.0", seed=2010, params={"C": 1.0}, metrics={"auc": 0.8},
        code={**CODE, "workdir": "/elsewhere"}, environment={"python": "other"}, run_id="another", note="again",
    )
    assert again.created is False and again.to_json() == {**first.to_json(), "created": False}  # type: ignore[attr-defined]
    assert len(mstore.audit.log()) == events


def test_a_tracked_run_repeated_identically_returns_the_existing_version(mstore: Store, tmp_path: Path) -> None:
    def train(seed: int) -> object:
        with mstore.runs.track(model="churn", version="2.0.0", seed=seed) as run:
            run.input("customers_clean@v1.0", role="train")
            run.log_params(C=0.5)
            run.set_artifact(artifact(tmp_path, b"deterministic", "trained.bin"))
        return run.model_version

    first = train(2010)
    assert train(2010).created is False and first.created is True  # type: ignore[attr-defined]
    with pytest.raises(ImmutableVersionError, match="with seed 2010 \\(given 2011\\)"):
        train(2011)
    assert len(mstore.audit.log(action="model.register")) == 1


@pytest.mark.parametrize("alias", ["1.2.0", "1.1.0", "2.0.0-rc.1+build.5"])
def test_an_alias_named_like_a_version_is_refused(mstore: Store, tmp_path: Path, alias: str) -> None:
    register(mstore, tmp_path, "1.1.0", fs="2.0.0", features=FEATURES_20)
    register(mstore, tmp_path, "1.2.0")
    events = len(mstore.audit.log())
    with pytest.raises(InvalidInputError, match=re.escape(f"alias '{alias}' looks like a version")):
        mstore.models.promote("churn@1.1.0", alias=alias, reason="x")
    assert mstore.models.aliases("churn")["history"] == [] and len(mstore.audit.log()) == events
    assert mstore.models.get("churn@1.2.0").version == "1.2.0"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"model": None, "version": "1.0.0"}, "model must be a name such as 'churn', not None"),
    ({"model": "churn", "version": None}, "version must be a semantic version such as '1.0.0', not None"),
    ({"model": "churn", "version": 1}, "version must be a semantic version such as '1.0.0', not 1"),
], ids=["model-none", "version-none", "version-int"])
def test_a_tracked_run_without_a_model_or_version_string_writes_nothing(
        mstore: Store, tmp_path: Path, kwargs: dict, match: str) -> None:
    """str(None) made a valid-looking name: a model literally called "None" was registered."""
    events = len(mstore.audit.log())
    with pytest.raises(InvalidInputError, match=re.escape(match)), mstore.runs.track(**kwargs, seed=1) as run:
        run.set_artifact(artifact(tmp_path, b"nameless"))
    assert mstore.models.list() == [] and len(mstore.audit.log()) == events
    assert not mstore.objects.exists(blob_of(b"nameless"))


def test_any_integer_type_is_a_seed_and_is_recorded_as_a_plain_int(mstore: Store, tmp_path: Path) -> None:
    with mstore.runs.track(model="churn", version="1.0.0", seed=np.int64(3)) as run:
        assert type(run.seed) is int and run.seed == 3
        run.set_artifact(artifact(tmp_path, b"numpy seeded"))
    assert run.model_version is not None and run.model_version.seed == 3
    with pytest.raises(InvalidInputError, match="seed np.float64"), \
            mstore.runs.track(model="churn", version="1.0.1", seed=np.float64(3.0)):
        pass


@pytest.mark.parametrize(("call", "match"), [
    (lambda run, _: run.log_params(when=datetime.now()), "param 'when' cannot be stored as JSON"),
    (lambda run, _: run.log_metrics(auc=float("nan")), "metric 'auc' cannot be stored as JSON"),
    (lambda run, tmp: run.set_artifact(tmp / "nope.pkl"), "nope.pkl does not exist"),
], ids=["params-datetime", "metrics-nan", "missing-artifact"])
def test_a_value_registration_would_refuse_is_refused_inside_the_block_and_audited(
        mstore: Store, tmp_path: Path, call: object, match: str) -> None:
    """These were accepted at call time and refused after the block, with no run.failed event."""
    with pytest.raises(InvalidInputError, match=match), mstore.runs.track(model="churn", version="1.0.0", seed=1) as run:
        run.set_artifact(artifact(tmp_path, b"good model"))
        run.log_params(C=0.5)
        with pytest.raises(InvalidInputError, match=match):
            call(run, tmp_path)  # type: ignore[operator]
        assert run.params == {"C": 0.5} and run.metrics == {}  # a refused call keeps nothing
        call(run, tmp_path)  # type: ignore[operator]  # uncaught now: the run ends with it
    assert mstore.models.list() == [] and not mstore.objects.exists(blob_of(b"good model"))
    failed = mstore.audit.log(action="run.failed")
    assert len(failed) == 1 and failed[0].payload["run_id"] == run.run_id and "InvalidInputError" in failed[0].payload["error"]


def test_a_registration_refused_when_the_run_ends_is_audited_as_a_failed_run(mstore: Store, tmp_path: Path) -> None:
    register(mstore, tmp_path, "1.0.0")
    with pytest.raises(ImmutableVersionError, match="churn@1.0.0 already holds"), \
            mstore.runs.track(model="churn", version="1.0.0", seed=1) as run:
        run.set_artifact(artifact(tmp_path, b"other bytes"))
    with pytest.raises(InvalidInputError, match="the run set no artifact"), \
            mstore.runs.track(model="churn", version="1.0.1", seed=1) as unfinished:
        pass
    failed = mstore.audit.log(action="run.failed")
    assert {f.payload["run_id"] for f in failed} == {run.run_id, unfinished.run_id}
    assert [i.ref for i in mstore.models.list()] == ["churn@1.0.0"] and not mstore.objects.exists(blob_of(b"other bytes"))


def test_inputs_registered_from_paths_stay_registered_when_the_run_fails_and_are_named(
        mstore: Store, tmp_path: Path) -> None:
    """Snapshots are immutable and audited: a failed run keeps them, and its run.failed event lists them."""
    copy = artifact(tmp_path, (SAMPLE / "customers_clean_v1.0.parquet").read_bytes(), "copy.parquet")
    with pytest.raises(ZeroDivisionError), mstore.runs.track(model="churn", version="1.0.0", seed=1) as run:
        run.input("customers_clean@v1.0")
        run.input(copy, dataset="copied", version="v1", role="validation")
        _ = 1 / 0
    payload = mstore.audit.log(action="run.failed")[0].payload
    assert payload["inputs"] == {"customers_clean@v1.0": "train", "copied@v1": "validation"}
    assert payload["registered_inputs"] == ["copied@v1"] and mstore.snapshots.get("copied@v1").ref == "copied@v1"
