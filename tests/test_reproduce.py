"""`lineage reproduce`: checks, verdicts, the first divergence, re-runs and the audited verdict.

Fast tests use the `store` fixture (SQLite and PostgreSQL) with model versions registered
directly; re-runs of the real demo model use the shared trained store (_trained_store.py);
a tiny committed training script in a throw-away git repository covers the clean-tree
(`git archive`) path without scikit-learn.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.errors import InvalidInputError
from lineage.models.reproduce import Check, decide, last_reproduce, reproduce
from lineage.store import Store
from tests import _trained_store
from tests.blobs import delete_blob, flip_byte

trained_home = _trained_store.trained_home  # the shared trained store (fixtures)
trained = _trained_store.trained

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
FEATURES_21 = "customer_features_values@2.1.0-customers_clean-v1.0"
REPORT_KEYS = {"ref", "verdict", "summary", "purged_inputs", "first_divergence", "checks", "environment_diff", "rerun",
               "at"}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.fixture
def mstore(store: Store, tmp_path: Path) -> Store:
    """churn@1.2.0 registered (fake artifact) on the demo snapshot, features 2.1.0 and its materialisation,
    with the code recorded as this checkout's HEAD and real dirty flag."""
    store.snapshots.add(SAMPLE / "customers_clean_v1.0.parquet", dataset="customers_clean", version="v1.0",
                        stage="processed")
    info = store.features.register(SAMPLE / "schemas" / "customer_features_2.1.0.json",
                                   "sample_data.features.customer_features_2_1")
    store.features.materialize(info.ref, "customers_clean@v1.0")
    register(store, tmp_path, "churn@1.2.0")
    return store


def register(store: Store, tmp_path: Path, ref: str, *, code: dict | None = None, **extra: object) -> object:
    artifact = tmp_path / f"{ref}.bin"
    artifact.write_bytes(ref.encode())
    head = git(ROOT, "rev-parse", "HEAD")
    dirty = bool(git(ROOT, "status", "--porcelain"))
    options: dict = {"inputs": ["customers_clean@v1.0:train", f"{FEATURES_21}:features"],
                     "feature_set": "customer_features@2.1.0", "seed": 2010, "metrics": {"auc": 0.8}}
    options.update(extra)
    return store.models.register(
        ref, artifact=artifact,
        code=code or {"git_commit": head, "git_dirty": dirty, "workdir": str(ROOT),
                      "entrypoint": "python sample_data/train.py --version 1.2.0 --feature-set customer_features@2.1.0"},
        **options,
    )


def failing(report: object, name: str) -> list[str]:
    return [c.detail for c in report.checks if c.name == name and not c.ok]  # type: ignore[attr-defined]


# -- verdicts without a re-run ---------------------------------------------------------------
def test_intact_model_is_inputs_verified_and_the_verdict_is_audited(mstore: Store) -> None:
    assert last_reproduce(mstore, "churn@1.2.0") is None
    report = reproduce(mstore, "churn@1.2.0")
    document = report.to_json()
    assert set(document) == REPORT_KEYS
    assert document["verdict"] == "inputs-verified" and document["first_divergence"] is None
    assert document["rerun"] is None
    assert [c["name"] for c in document["checks"]] == ["data", "data", "features", "code", "artifact", "environment"]
    assert all(c["ok"] for c in document["checks"])
    assert all(set(c) == {"name", "ok", "detail"} for c in document["checks"])
    [event] = mstore.audit.log(action="model.reproduce", subject="churn@1.2.0")
    assert event.payload["verdict"] == "inputs-verified" and event.payload["rerun"] is False
    last = last_reproduce(mstore, "churn@1.2.0")
    assert last is not None and last["verdict"] == "inputs-verified" and last["actor"] == "tester"
    assert last["at"].endswith("Z") and last["at"] >= document["at"]  # the event is written after the checks
    assert mstore.audit.verify_chain().ok


def test_a_flipped_byte_in_an_input_blob_is_data_and_names_the_blob(mstore: Store) -> None:
    clean = mstore.snapshots.get("customers_clean@v1.0")
    flip_byte(mstore, clean.sha256)
    report = reproduce(mstore, "churn@1.2.0", rerun=True)  # the re-run is skipped: it could not read the bytes
    assert report.verdict == "not-reproducible" and report.first_divergence == "data"
    [detail] = failing(report, "data")
    assert detail.startswith(f"customers_clean@v1.0 (train, sha256 {clean.sha256})")
    assert f"blob {clean.sha256[:12]} is corrupt" in detail
    assert report.rerun is not None and report.rerun["status"] == "skipped"
    assert last_reproduce(mstore, "churn@1.2.0")["first_divergence"] == "data"  # type: ignore[index]


def test_missing_features_blob_exits_1_naming_the_blob(mstore: Store) -> None:
    features = mstore.snapshots.get(FEATURES_21)
    delete_blob(mstore, features.sha256)
    result = CliRunner().invoke(main, ["reproduce", "churn@1.2.0"])
    assert result.exit_code == 1, result.output
    assert "churn@1.2.0: not-reproducible" in result.output
    assert f"first divergence: data: {FEATURES_21} (features, sha256 {features.sha256})" in result.output
    assert f"blob {features.sha256[:12]} is missing from the object store" in result.output
    as_json = CliRunner().invoke(main, ["reproduce", "churn@1.2.0", "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.output)["first_divergence"] == "data"


def test_unknown_ref_exits_2_with_one_line(mstore: Store) -> None:
    result = CliRunner().invoke(main, ["reproduce", "churn@7.0.0"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: churn has no version or alias '7.0.0' (versions: 1.2.0)"
    assert mstore.audit.log(action="model.reproduce") == []


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan")])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused_before_any_check(mstore: Store, tmp_path: Path,
                                                                                     timeout: float) -> None:
    workdir = tmp_path / "kept"
    with pytest.raises(InvalidInputError, match="is not a positive number of seconds"):
        reproduce(mstore, "churn@1.2.0", rerun=True, workdir=workdir, timeout=timeout)
    assert mstore.audit.log(action="model.reproduce") == [] and not workdir.exists()


def test_changed_feature_code_is_features(mstore: Store, tmp_path: Path) -> None:
    module = tmp_path / "small_features.py"
    module.write_text(SMALL_MODULE.format(body='(df["reference_date"] - df["birth_date"]).dt.days // 365'))
    mstore.features.register({"feature_set": "small", "version": "1.0.0", "features": {"age": "int"}}, str(module))
    register(mstore, tmp_path, "small_model@1.0.0", feature_set="small@1.0.0")
    assert reproduce(mstore, "small_model@1.0.0").verdict == "inputs-verified"
    module.write_text(SMALL_MODULE.format(body='(df["reference_date"] - df["birth_date"]).dt.days // 366'))
    report = reproduce(mstore, "small_model@1.0.0")
    assert report.verdict == "not-reproducible" and report.first_divergence == "features"
    assert "the code of feature 'age'" in failing(report, "features")[0]


SMALL_MODULE = '''
import pandas as pd
from lineage.features import FeatureSet

small = FeatureSet("small", entity="customer_id")


@small.feature(dtype="int")
def age(df: pd.DataFrame) -> pd.Series:
    return {body}
'''


def test_a_commit_missing_from_the_repository_is_code(mstore: Store, tmp_path: Path) -> None:
    register(mstore, tmp_path, "churn@1.3.0", code={"git_commit": "0" * 40, "git_dirty": False, "workdir": str(ROOT),
                                                    "entrypoint": "python sample_data/train.py"})
    report = reproduce(mstore, "churn@1.3.0")
    assert (report.verdict, report.first_divergence) == ("not-reproducible", "code")
    assert f"commit {'0' * 12} is not in the repository at {ROOT}" in failing(report, "code")[0]


def test_no_entrypoint_is_code(mstore: Store, tmp_path: Path) -> None:
    head = git(ROOT, "rev-parse", "HEAD")
    register(mstore, tmp_path, "churn@1.4.0", code={"git_commit": head, "git_dirty": False, "workdir": str(ROOT),
                                                    "entrypoint": ""})
    report = reproduce(mstore, "churn@1.4.0")
    assert report.first_divergence == "code" and "no entrypoint was recorded" in failing(report, "code")[0]


def test_a_missing_artifact_blob_is_artifact(mstore: Store) -> None:
    info = mstore.models.get("churn@1.2.0")
    delete_blob(mstore, info.artifact["sha256"])
    report = reproduce(mstore, "churn@1.2.0")
    assert (report.verdict, report.first_divergence) == ("not-reproducible", "artifact")
    assert info.artifact["sha256"][:12] in failing(report, "artifact")[0]


def test_a_read_only_store_reproduces_without_recording(mstore: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    with Store.open() as read_only:
        assert reproduce(read_only, "churn@1.2.0").verdict == "inputs-verified"
    assert mstore.audit.log(action="model.reproduce") == []


# -- the verdict rules (pure) -----------------------------------------------------------------
OK = [Check("data", True, ""), Check("features", True, ""), Check("code", True, ""), Check("artifact", True, ""),
      Check("environment", True, "")]


def replaced(name: str, ok: bool) -> list[Check]:
    return [Check(c.name, ok, c.detail) if c.name == name else c for c in OK]


def test_decide_names_the_first_failing_point_in_order() -> None:
    both = [Check(c.name, c.name not in ("features", "code"), "") for c in OK]
    assert decide(both, None) == ("not-reproducible", "features")
    assert decide(replaced("data", False), {"status": "ran", "artifact_match": True}) == ("not-reproducible", "data")
    assert decide(OK, None) == ("inputs-verified", None)


def test_decide_environment_only_matters_when_the_rerun_diverges() -> None:
    env_differs = replaced("environment", False)
    assert decide(env_differs, None) == ("inputs-verified", None)
    assert decide(env_differs, {"status": "ran", "artifact_match": True}) == ("reproducible", None)
    assert decide(env_differs, {"status": "ran", "artifact_match": False, "metrics_match": True}) == ("metrics-match", None)
    diverged = {"status": "ran", "artifact_match": False, "metrics_match": False}
    assert decide(env_differs, diverged) == ("not-reproducible", "environment")
    assert decide(OK, diverged) == ("not-reproducible", "training")
    assert decide(OK, {"status": "failed", "artifact_match": False, "metrics_match": False}) == (
        "not-reproducible", "training")


# -- re-runs -----------------------------------------------------------------------------------
def test_demo_model_reproduces_bit_for_bit_with_rerun(trained: Store) -> None:
    info = trained.models.get("churn@1.2.0")
    result = CliRunner().invoke(main, ["reproduce", "churn@1.2.0", "--rerun", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    run = report["rerun"]
    assert report["verdict"] == "reproducible", (report["checks"], run["reason"], run["stderr"][-2000:])
    assert report["first_divergence"] is None
    assert run["status"] == "ran" and run["artifact_match"] and run["metrics_match"] and run["inputs_match"]
    assert run["artifact_sha256"] == {"recorded": info.artifact["sha256"], "rerun": info.artifact["sha256"]}
    assert run["seed"] == {"recorded": 2010, "rerun": 2010}
    # the work tree was dirty or clean when the model was trained: the code came from the matching source
    expected = ("work-tree-copy", "unverified (recorded from a dirty tree)") if info.code["git_dirty"] else (
        "git-archive", f"verified (commit {info.code['git_commit'][:12]})")
    assert (run["code_source"], run["code"]) == expected
    last = last_reproduce(trained, "churn@1.2.0")
    assert last is not None and last["verdict"] == "reproducible" and last["rerun"] is True
    assert last["at"] >= report["at"]


def test_a_recorded_seed_other_than_the_one_that_trained_the_artifact_is_training(trained: Store, tmp_path: Path) -> None:
    """churn@9.9.9 claims seed 2011 for churn@1.2.0's run: the re-run trains with 2011 and cannot match."""
    source = trained.models.get("churn@1.2.0")
    artifact = tmp_path / "claimed.pkl"
    artifact.write_bytes(b"not what seed 2011 produces")
    trained.models.register(
        "churn@9.9.9", artifact=artifact, inputs={i.ref: i.role for i in source.inputs},
        feature_set=source.feature_set, seed=2011, params=source.params, metrics=source.metrics,
        code=source.code, environment=source.environment,
    )
    report = reproduce(trained, "churn@9.9.9", rerun=True)
    run = report.rerun
    assert run is not None and run["status"] == "ran", (run and run["stderr"][-2000:])
    assert run["seed"] == {"recorded": 2011, "rerun": 2011}  # the recorded seed reached the script
    assert run["metrics_match"] is False  # a different split: not merely other pickle bytes
    assert (report.verdict, report.first_divergence) == ("not-reproducible", "training")
    assert "training is nondeterministic" in report.divergence_detail()


TINY_SCRIPT = '''
import hashlib
import sys

from lineage.store import Store

store = Store.open()
with store.runs.track(model="tiny", version=sys.argv[1], seed=7) as run:
    data = run.input("customers_clean@v1.0", role="train").read_bytes()
    digest = hashlib.sha256(data + str(run.seed).encode()).hexdigest()
    run.log_metrics(score=int(digest[:6], 16) / 0xFFFFFF)
    artifact = run.output_dir() / "model.txt"
    artifact.write_text(digest)
    run.set_artifact(artifact)
'''


def make_tiny(store: Store, tmp_path: Path) -> Path:
    """A git repo with TINY_SCRIPT committed, and tiny@1.0.0 registered as that script would register it.

    (Registered in-process with what store.runs.track records, to spare an interpreter start-up;
    the demo model's test covers the recording itself.)
    """
    import hashlib

    clean = store.snapshots.add(SAMPLE / "customers_clean_v1.0.parquet", dataset="customers_clean", version="v1.0",
                                stage="processed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "train_tiny.py").write_text(TINY_SCRIPT)
    git(repo, "add", "train_tiny.py")
    git(repo, "commit", "-q", "-m", "tiny")
    digest = hashlib.sha256((SAMPLE / "customers_clean_v1.0.parquet").read_bytes() + b"7").hexdigest()
    artifact = tmp_path / "model.txt"
    artifact.write_text(digest)
    store.models.register(
        "tiny@1.0.0", artifact=artifact, inputs={clean.ref: "train"}, seed=7,
        metrics={"score": int(digest[:6], 16) / 0xFFFFFF},
        code={"git_commit": git(repo, "rev-parse", "HEAD"), "git_dirty": False, "workdir": str(repo),
              "entrypoint": "python train_tiny.py 1.0.0"},
    )
    return repo


def test_a_model_trained_from_a_clean_commit_is_rebuilt_from_git_archive(store: Store, tmp_path: Path) -> None:
    tiny = make_tiny(store, tmp_path)
    (tiny / "train_tiny.py").write_text(TINY_SCRIPT.replace("data + ", "data[::-1] + "))  # dirty now: not used
    keep = tmp_path / "kept"
    result = CliRunner().invoke(main, ["reproduce", "tiny@1.0.0", "--rerun", "--workdir", str(keep)])
    assert result.exit_code == 0, result.output
    commit = store.models.get("tiny@1.0.0").code["git_commit"]
    assert result.output.startswith("tiny@1.0.0: reproducible\n")
    assert f"code: git-archive, verified (commit {commit[:12]})" in result.output
    assert "artifact: identical" in result.output and f"kept in {keep}" in result.output
    assert (keep / "code" / "train_tiny.py").read_text() == TINY_SCRIPT  # the committed file, not the edit
    last = last_reproduce(store, "tiny@1.0.0")
    assert last is not None and (last["verdict"], last["rerun"]) == ("reproducible", True)

    refused = CliRunner().invoke(main, ["reproduce", "tiny@1.0.0", "--rerun", "--workdir", str(keep)])
    assert refused.exit_code == 2 and "is not an empty folder" in refused.output


def test_lost_history_is_code_and_the_current_files_are_run_unverified(sqlite_store: Store, tmp_path: Path) -> None:
    repo = make_tiny(sqlite_store, tmp_path)
    (repo / "train_tiny.py").write_text(TINY_SCRIPT.replace("data + ", "data[::-1] + "))
    shutil.rmtree(repo / ".git")  # the history is gone: the commit cannot be found
    git(repo, "init", "-q")
    report = reproduce(sqlite_store, "tiny@1.0.0", rerun=True)
    assert (report.verdict, report.first_divergence) == ("not-reproducible", "code")
    run = report.rerun
    assert run is not None and run["status"] == "ran", run and run["stderr"]
    assert (run["code_source"], run["code"]) == ("work-tree-copy", "unverified (recorded from a dirty tree)")
    assert run["artifact_match"] is False  # the current file reverses the data: other bytes
