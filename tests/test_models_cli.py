"""`lineage model …` end to end and its bad input: one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lineage.cli import main
from tests.test_cli_bad_input import run_refused

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "sample_data" / "customers_clean_v1.0.parquet"


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("LINEAGE_HOME", str(path))
    assert invoke("init").exit_code == 0
    assert invoke("snapshot", "add", str(CLEAN), "--dataset", "customers_clean", "--version", "v1.0",
                  "--stage", "processed").exit_code == 0
    for version, content in (("1.1.0", b"one"), ("1.2.0", b"two")):
        model = tmp_path / f"{version}.bin"
        model.write_bytes(content)
        result = invoke("model", "register", f"churn@{version}", "--artifact", str(model),
                        "--snapshot", "customers_clean@v1.0:train", "--seed", "2010",
                        "--params", '{"C": 1.0}', "--metrics", '{"auc": 0.7}')
        assert result.exit_code == 0, result.output
    return path


def test_register_show_list_promote_rollback_aliases(home: Path) -> None:
    shown = json.loads(invoke("model", "show", "churn@1.2.0", "--json").output)
    for key in ("model_version", "data_snapshot_id", "data_hash", "feature_set_version"):
        assert key in shown
    assert shown["data_snapshot_id"] == "customers_clean@v1.0" and shown["seed"] == 2010
    assert [m["ref"] for m in json.loads(invoke("model", "list", "--json").output)] == ["churn@1.1.0", "churn@1.2.0"]
    assert invoke("model", "promote", "churn@1.1.0", "--alias", "production", "--reason", "first").exit_code == 0
    promoted = invoke("model", "promote", "churn@1.2.0", "--alias", "production", "--reason", "better")
    assert promoted.exit_code == 0 and "(was 1.1.0)" in promoted.output
    rolled = invoke("model", "rollback", "churn", "--alias", "production", "--reason", "broke", "--json")
    assert rolled.exit_code == 0, rolled.output
    assert json.loads(rolled.output)["to"] == "1.1.0"
    aliases = json.loads(invoke("model", "aliases", "churn", "--json").output)
    assert aliases["current"]["production"]["version"] == "1.1.0"
    assert [h["action"] for h in aliases["history"]] == ["promote", "promote", "rollback"]
    early = json.loads(invoke("model", "aliases", "churn", "--as-of", "2000-01-01T00:00:00Z", "--json").output)
    assert early["current"] == {} and early["history"] == []
    assert json.loads(invoke("model", "show", "churn@production", "--json").output)["version"] == "1.1.0"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["model", "register", "churn@1.3.0", "--artifact", "ARTIFACT", "--snapshot", "nope@v1"], "nope"),
        (["model", "register", "churn@1.3.0", "--artifact", "ARTIFACT", "--feature-set", "fs@1.0.0"], "no feature set 'fs'"),
        (["model", "register", "churn@1.3.0", "--artifact", "/no/such.bin"], "does not exist"),
        (["model", "register", "churn@1.2.0", "--artifact", "ARTIFACT"], "already holds artifact sha256"),
        (["model", "register", "churn@1.3", "--artifact", "ARTIFACT"], "not strict semver"),
        (["model", "register", "churn", "--artifact", "ARTIFACT"], "has no version"),
        (["model", "register", "churn@1.3.0", "--artifact", "ARTIFACT", "--params", "{oops"], "--params is not valid JSON"),
        (["model", "register", "churn@1.3.0", "--artifact", "ARTIFACT", "--metrics", "[1]"], "must be a JSON object"),
        (["model", "register", "churn@1.3.0", "--artifact", "ARTIFACT", "--snapshot", "customers_clean@v1.0:training"],
         "unknown role 'training'"),
        (["model", "promote", "churn@9.9.9", "--alias", "production", "--reason", "x"], "9.9.9"),
        (["model", "promote", "churn@1.2.0", "--alias", "a/b", "--reason", "x"], "path separator"),
        (["model", "rollback", "churn", "--alias", "production", "--reason", "x"], "never been set"),
        (["model", "show", "nope"], "no model 'nope'"),
        (["model", "aliases", "churn", "--as-of", "yesterday"], "--as-of"),
    ],
    ids=["unknown-snapshot", "unknown-feature-set", "missing-artifact", "taken-version", "bad-semver", "no-version",
         "bad-params", "params-not-object", "unknown-role", "promote-unknown", "bad-alias", "rollback-unset",
         "show-unknown", "bad-time"],
)
def test_bad_input(home: Path, tmp_path: Path, args: list[str], expected: str) -> None:
    other = tmp_path / "other.bin"
    other.write_bytes(b"other bytes")
    run_refused(home, [str(other) if a == "ARTIFACT" else a for a in args], expected)


def test_rollback_with_no_earlier_holder(home: Path) -> None:
    assert invoke("model", "promote", "churn@1.1.0", "--alias", "production", "--reason", "first").exit_code == 0
    run_refused(home, ["model", "rollback", "churn", "--alias", "production", "--reason", "x"], "no other holder")
