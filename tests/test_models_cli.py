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
    # Outside any git work tree, so the code reference `model register` records (git commit and dirty flag
    # of the current directory) cannot change between two registrations when someone edits the checkout.
    monkeypatch.chdir(tmp_path)
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
        (["model", "register", "churn@1.3.0", "--artifact", "", "--snapshot", "customers_clean@v1.0"],
         "--artifact is empty"),
        (["model", "register", "churn@1.3.0", "--artifact", "  ", "--snapshot", "customers_clean@v1.0"],
         "--artifact is empty"),
        (["reproduce", "churn@1.2.0", "--rerun", "--workdir", ""], "--workdir is empty"),
        (["model", "register", "churn@1.3.0", "--artifact", "ARTIFACT", "--seed", "9223372036854775808"],
         "seed 9223372036854775808 is out of range"),
        (["model", "register", "churn@1.3.0", "--artifact", "ARTIFACT", "--seed", "4294967296"], "0 to 4294967295"),
        (["model", "register", "churn@1.3.0", "--artifact", "ARTIFACT", "--seed", "-1"], "seed -1 is out of range"),
        (["reproduce", "churn@1.2.0", "--rerun", "--timeout", "-1"], "--timeout -1 is not a positive number"),
        (["reproduce", "churn@1.2.0", "--rerun", "--timeout", "0"], "--timeout 0 is not a positive number"),
        (["reproduce", "churn@1.2.0", "--rerun", "--timeout", "inf"], "--timeout inf is not a positive number"),
        (["reproduce", "churn@1.2.0", "--timeout", "nan"], "--timeout nan is not a positive number"),
        (["model", "register", "churn@1.2.0", "--artifact", "SAME", "--snapshot", "customers_clean@v1.0:train",
          "--seed", "7", "--params", '{"C": 1.0}', "--metrics", '{"auc": 0.7}'],
         "churn@1.2.0 is already registered with seed 2010 (given 7): nothing changed; register a new version"),
        (["model", "register", "churn@1.2.0", "--artifact", "SAME", "--snapshot", "customers_clean@v1.0:validation",
          "--seed", "2010", "--params", '{"C": 1.0}', "--metrics", '{"auc": 0.7}'],
         "already registered with inputs customers_clean@v1.0:train (given customers_clean@v1.0:validation)"),
        (["model", "promote", "churn@1.1.0", "--alias", "1.2.0", "--reason", "x"], "alias '1.2.0' looks like a version"),
        (["model", "promote", "churn@1.1.0", "--alias", "3.0.0-rc.1", "--reason", "x"], "looks like a version"),
    ],
    ids=["unknown-snapshot", "unknown-feature-set", "missing-artifact", "taken-version", "bad-semver", "no-version",
         "bad-params", "params-not-object", "unknown-role", "promote-unknown", "bad-alias", "rollback-unset",
         "show-unknown", "bad-time", "empty-artifact", "blank-artifact", "empty-workdir", "seed-over-bigint",
         "seed-over-numpy", "negative-seed", "negative-timeout", "zero-timeout", "infinite-timeout", "nan-timeout",
         "reregister-other-seed", "reregister-other-role", "alias-named-like-a-version", "alias-like-a-prerelease"],
)
def test_bad_input(home: Path, tmp_path: Path, args: list[str], expected: str) -> None:
    other = tmp_path / "other.bin"
    other.write_bytes(b"other bytes")
    same = tmp_path / "1.2.0.bin"  # the bytes churn@1.2.0 was registered with
    run_refused(home, [{"ARTIFACT": str(other), "SAME": str(same)}.get(a, a) for a in args], expected)


def test_repeated_registration_is_idempotent_and_one_input_named_twice_is_recorded_once(home: Path,
                                                                                      tmp_path: Path) -> None:
    again = ["model", "register", "churn@1.2.0", "--artifact", str(tmp_path / "1.2.0.bin"),
             "--snapshot", "customers_clean@v1.0:train", "--seed", "2010", "--params", '{"C": 1.0}',
             "--metrics", '{"auc": 0.7}']
    result = invoke(*again)
    assert result.exit_code == 0 and result.output.startswith("already registered as churn@1.2.0"), result.output
    model = tmp_path / "1.3.0.bin"
    model.write_bytes(b"three")
    result = invoke("model", "register", "churn@1.3.0", "--artifact", str(model), "--snapshot", "customers_clean@v1.0",
                    "--snapshot", "customers_clean", "--snapshot", "customers_clean@v1.0:train", "--json")
    assert result.exit_code == 0, result.output
    assert [(i["ref"], i["role"]) for i in json.loads(result.output)["inputs"]] == [("customers_clean@v1.0", "train")]


def test_rollback_with_no_earlier_holder(home: Path) -> None:
    assert invoke("model", "promote", "churn@1.1.0", "--alias", "production", "--reason", "first").exit_code == 0
    run_refused(home, ["model", "rollback", "churn", "--alias", "production", "--reason", "x"], "no other holder")
