"""`lineage features …` end to end, and every bad input: one line, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lineage.cli import main
from tests.test_cli_bad_input import run_refused, store_state

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "sample_data" / "schemas"
M20 = "sample_data.features.customer_features_2_0"
M21 = "sample_data.features.customer_features_2_1"
CLEAN = ROOT / "sample_data" / "customers_clean_v1.0.parquet"

GOOD_MODULE = '''
import pandas as pd
from lineage.features import FeatureSet

small = FeatureSet("small", entity="customer_id")


@small.feature(dtype="int")
def age(df: pd.DataFrame) -> pd.Series:
    return (df["reference_date"] - df["birth_date"]).dt.days // 365
'''


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite store with customers_clean@v1.0 and customer_features 2.0.0."""
    path = tmp_path / "home"
    monkeypatch.setenv("LINEAGE_HOME", str(path))
    monkeypatch.chdir(ROOT)
    assert invoke("init").exit_code == 0
    assert invoke("snapshot", "add", str(CLEAN), "--dataset", "customers_clean", "--version", "v1.0",
                  "--stage", "processed").exit_code == 0
    result = invoke("features", "register", str(SCHEMAS / "customer_features_2.0.0.json"), "--module", M20)
    assert result.exit_code == 0, result.output
    return path


def schema_file(tmp_path: Path, text: str, name: str = "schema.json") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def module_file(tmp_path: Path, text: str, name: str = "small_features.py") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


SMALL = {"feature_set": "small", "version": "1.0.0", "features": {"age": "int"}}


# -- happy paths ------------------------------------------------------------------------------
def test_register_list_show_diff_materialize_validate_parity(home: Path, tmp_path: Path) -> None:
    registered = invoke("features", "register", str(SCHEMAS / "customer_features_2.1.0.json"), "--module", M21, "--json")
    assert registered.exit_code == 0, registered.output
    info = json.loads(registered.output)
    assert info["ref"] == "customer_features@2.1.0" and info["change_class"] == "minor" and info["created"] is True

    listed = json.loads(invoke("features", "list", "--json").output)
    assert [v["ref"] for v in listed] == ["customer_features@2.0.0", "customer_features@2.1.0"]
    shown = json.loads(invoke("features", "show", "customer_features", "--json").output)
    assert shown["version"] == "2.1.0" and [f["name"] for f in shown["features"]] == ["age", "region", "avg_purchase_value"]

    diff = json.loads(invoke("features", "diff", "customer_features", "2.0.0", "2.1.0", "--json").output)
    assert set(diff) == {"from", "to", "required_bump", "changes"}
    assert diff["required_bump"] == "minor"
    assert set(diff["changes"][0]) >= {"feature", "kind", "class", "detail"}

    made = invoke("features", "materialize", "customer_features@2.1.0", "--snapshot", "customers_clean@v1.0", "--json")
    assert made.exit_code == 0, made.output
    snapshot = json.loads(made.output)
    assert snapshot["stage"] == "features" and snapshot["parents"] == ["customers_clean@v1.0"]

    out = tmp_path / "features.parquet"
    assert invoke("snapshot", "checkout", snapshot["ref"], str(out)).exit_code == 0
    valid = invoke("features", "validate", "customer_features@2.1.0", str(out), "--json")
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.output)["ok"] is True

    same = invoke("features", "parity", "customer_features@2.1.0", "--snapshot", "customers_clean@v1.0", "--json")
    assert same.exit_code == 0 and json.loads(same.output)["ok"] is True


def test_refused_bump_names_each_change_and_exit_2(home: Path) -> None:
    assert invoke("features", "register", str(SCHEMAS / "customer_features_2.1.0.json"), "--module", M21).exit_code == 0
    message = run_refused(
        home, ["features", "register", str(SCHEMAS / "customer_features_3.0.0_candidate.json"),
               "--module", "sample_data.features.customer_features_3_0_candidate"],
        "customer_features 2.2.0 removes feature 'region' (major): use 3.0.0",
    )
    assert "changes the code of feature 'age' (major)" in message


def test_allow_breaking_registers_and_shows_the_reason(home: Path) -> None:
    assert invoke("features", "register", str(SCHEMAS / "customer_features_2.1.0.json"), "--module", M21).exit_code == 0
    result = invoke("features", "register", str(SCHEMAS / "customer_features_3.0.0_candidate.json"),
                    "--module", "sample_data.features.customer_features_3_0_candidate",
                    "--allow-breaking", "agreed with model owners")
    assert result.exit_code == 0, result.output
    assert "breaking change allowed: agreed with model owners" in result.output


def test_validate_reports_violations_with_exit_1(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"customer_id": [1, 2, 3], "reference_date": pa.array([0, 0, 0], pa.timestamp("us", "UTC")),
                             "age": [30, 7, 200], "region": ["north", "mars", "south"]}), bad)
    result = invoke("features", "validate", "customer_features@2.0.0", str(bad))
    assert result.exit_code == 1
    assert "mars" in result.output and "age" in result.output
    assert "Traceback" not in result.output


def test_validate_file_missing_a_feature_column_is_a_finding_not_a_crash(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "missing.parquet"
    pq.write_table(pa.table({"customer_id": [1], "reference_date": pa.array([0], pa.timestamp("us", "UTC")), "age": [30]}), bad)
    before = store_state(home)
    result = invoke("features", "validate", "customer_features@2.0.0", str(bad), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert any(v["feature"] == "region" and v["reason"] == "missing_column" for v in report["violations"])
    assert store_state(home) == before


@pytest.mark.parametrize(("data", "detail"), [
    (b"r\xe9gion,age\nnord,2\n", "the header row holds undecodable bytes"),  # used to be a UnicodeDecodeError traceback
    (b"age,region\n30,nord\xe9\n", "column 'region' holds undecodable bytes"),  # used to be a wrong_type finding
], ids=["header", "values"])
def test_validate_refuses_a_csv_that_is_not_utf8_as_registration_does(home: Path, tmp_path: Path, data: bytes,
                                                                       detail: str) -> None:
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(data)
    run_refused(home, ["features", "validate", "customer_features@2.0.0", str(latin)],
                f"{latin} is not valid UTF-8 text ({detail}): re-encode the CSV as UTF-8")


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"feature_set": "small", "version": "1.0.0", "features": {', "is not valid JSON"),
        ('{"feature_set": "small", "version": "1.0.0"}', "has no 'features'"),
        ('{"feature_set": "small", "version": "1.0.0", "features": {"age": "integer"}}', "unknown dtype 'integer'"),
        ('{"feature_set": "small", "version": "2.1", "features": {"age": "int"}}', "'2.1' is not strict semver"),
        ('{"feature_set": "small", "version": "v2.1.0", "features": {"age": "int"}}', "'v2.1.0' is not strict semver"),
        ('{"feature_set": "small", "version": "1.0.0", "features": {"my-age": "int"}}', "is not a Python identifier"),
        ('{"feature_set": "small", "version": "1.0.0", "features": {"age": "int", "age": "float"}}', "names 'age' twice"),
        ('[1, 2]', "not an object"),
        ('{"feature_set": "a/b", "version": "1.0.0", "features": {"age": "int"}}', "path separator"),
    ],
    ids=["malformed", "no-features", "unknown-dtype", "short-version", "v-prefix", "not-identifier",
         "duplicate", "array", "bad-set-name"],
)
def test_bad_schema_files(home: Path, tmp_path: Path, text: str, expected: str) -> None:
    module = module_file(tmp_path, GOOD_MODULE)
    run_refused(home, ["features", "register", schema_file(tmp_path, text), "--module", module], expected)


def test_missing_schema_file(home: Path, tmp_path: Path) -> None:
    run_refused(home, ["features", "register", str(tmp_path / "nope.json"), "--module", M20], "does not exist")


def test_schema_feature_without_code(home: Path, tmp_path: Path) -> None:
    schema = schema_file(tmp_path, json.dumps({**SMALL, "features": {"age": "int", "income": "float"}}))
    run_refused(home, ["features", "register", schema, "--module", module_file(tmp_path, GOOD_MODULE)],
                "schema feature 'income' has no code")


def test_code_without_schema_entry(home: Path, tmp_path: Path) -> None:
    module = module_file(tmp_path, GOOD_MODULE + '''

@small.feature(dtype="float")
def income(df):
    return df["purchase_total"]
''')
    run_refused(home, ["features", "register", schema_file(tmp_path, json.dumps(SMALL)), "--module", module],
                "feature 'income' of 'small' has no schema entry")


def test_dtype_disagreement_between_code_and_schema(home: Path, tmp_path: Path) -> None:
    schema = schema_file(tmp_path, json.dumps({**SMALL, "features": {"age": "float"}}))
    run_refused(home, ["features", "register", schema, "--module", module_file(tmp_path, GOOD_MODULE)],
                "is int in the code but float in the schema")


def test_module_with_import_error_shows_its_line(home: Path, tmp_path: Path) -> None:
    module = module_file(tmp_path, "import numpy\nimport no_such_package_here\n")
    message = run_refused(home, ["features", "register", schema_file(tmp_path, json.dumps(SMALL)), "--module", module],
                          "No module named 'no_such_package_here'")
    assert ":2" in message  # the failing line


def test_module_with_syntax_error_shows_its_line(home: Path, tmp_path: Path) -> None:
    module = module_file(tmp_path, "x = 1\ndef broken(:\n    pass\n")
    message = run_refused(home, ["features", "register", schema_file(tmp_path, json.dumps(SMALL)), "--module", module],
                          "syntax error")
    assert ":2" in message


def test_unknown_dotted_module(home: Path, tmp_path: Path) -> None:
    run_refused(home, ["features", "register", schema_file(tmp_path, json.dumps(SMALL)), "--module", "no.such.module"],
                "cannot be imported")


def test_module_without_the_feature_set(home: Path, tmp_path: Path) -> None:
    schema = schema_file(tmp_path, json.dumps({**SMALL, "feature_set": "other"}))
    run_refused(home, ["features", "register", schema, "--module", module_file(tmp_path, GOOD_MODULE)],
                "has no feature set 'other' (it defines: small)")


def test_diff_naming_a_missing_version(home: Path) -> None:
    run_refused(home, ["features", "diff", "customer_features", "2.0.0", "9.9.9"], "has no version 9.9.9")


def test_show_unknown_feature_set(home: Path) -> None:
    run_refused(home, ["features", "show", "nope"], "no feature set 'nope'")


def test_materialize_unknown_snapshot(home: Path) -> None:
    run_refused(home, ["features", "materialize", "customer_features@2.0.0", "--snapshot", "nope@v1"], "nope")


def test_validate_missing_file(home: Path, tmp_path: Path) -> None:
    run_refused(home, ["features", "validate", "customer_features@2.0.0", str(tmp_path / "no.parquet")], "does not exist")


def test_register_while_read_only(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    run_refused(home, ["features", "register", str(SCHEMAS / "customer_features_2.1.0.json"), "--module", M21],
                "read-only")


def test_release_outside_git_is_refused(home: Path, tmp_path: Path) -> None:
    module = module_file(tmp_path, GOOD_MODULE)
    assert invoke("features", "register", schema_file(tmp_path, json.dumps(SMALL)), "--module", module).exit_code == 0
    run_refused(home, ["features", "release", "small@1.0.0"], "not registered from a git work tree")


# -- versions must increase -------------------------------------------------------------------
def edited_schema(tmp_path: Path, source: str, version: str) -> str:
    """A shipped schema file with its version edited, as a user would to dodge the bump check."""
    data = json.loads((SCHEMAS / source).read_text())
    data["version"] = version
    return schema_file(tmp_path, json.dumps(data), f"{source}-{version}.json")


@pytest.mark.parametrize(
    ("source", "module", "version"),
    [
        ("customer_features_3.0.0_candidate.json", "sample_data.features.customer_features_3_0_candidate", "1.0.0"),
        ("customer_features_2.0.0.json", M20, "2.0.5"),
        ("customer_features_2.1.0.json", M21, "2.1.0+rebuild"),
    ],
    ids=["below-the-first", "between-registered", "equal-precedence"],
)
def test_a_version_not_above_the_latest_is_refused_naming_the_latest(
    home: Path, tmp_path: Path, source: str, module: str, version: str
) -> None:
    assert invoke("features", "register", str(SCHEMAS / "customer_features_2.1.0.json"), "--module", M21).exit_code == 0
    schema = edited_schema(tmp_path, source, version)
    smallest = "2.1.1" if version.startswith("2.1.0") else "3.0.0"
    message = run_refused(
        home, ["features", "register", schema, "--module", module],
        f"customer_features {version} is not above the latest 2.1.0: versions must increase, use {smallest} or higher",
    )
    assert "--allow-breaking" not in message
    # the escape hatch for small bumps does not reorder versions
    run_refused(home, ["features", "register", schema, "--module", module, "--allow-breaking", "backport"],
                "is not above the latest 2.1.0")


def test_reregistering_an_older_version_unchanged_stays_idempotent(home: Path) -> None:
    assert invoke("features", "register", str(SCHEMAS / "customer_features_2.1.0.json"), "--module", M21).exit_code == 0
    before = store_state(home)
    again = invoke("features", "register", str(SCHEMAS / "customer_features_2.0.0.json"), "--module", M20)
    assert again.exit_code == 0, again.output
    assert again.output.startswith("already registered as customer_features@2.0.0")
    assert store_state(home) == before


# -- an empty version is bad input, never "the latest" --------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["features", "show", "customer_features@"],
        ["features", "diff", "customer_features", "", "2.0.0"],
        ["features", "diff", "customer_features", "2.0.0", ""],
        ["features", "release", "customer_features@"],
        ["features", "materialize", "customer_features@", "--snapshot", "customers_clean@v1.0"],
        ["features", "validate", "customer_features@", str(CLEAN)],
        ["features", "parity", "customer_features@", "--snapshot", "customers_clean@v1.0"],
    ],
    ids=["show", "diff-from", "diff-to", "release", "materialize", "validate", "parity"],
)
def test_an_empty_version_is_refused(home: Path, args: list[str]) -> None:
    run_refused(home, args, "version is empty in 'customer_features@'")


# -- numeric options ---------------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["0", "-5"])
def test_parity_sample_must_be_positive(home: Path, sample: str) -> None:
    run_refused(home, ["features", "parity", "customer_features@2.0.0", "--snapshot", "customers_clean@v1.0",
                       "--sample", sample], f"sample size {sample} is not a positive number of rows")


def test_validate_limit_must_not_be_negative(home: Path) -> None:
    run_refused(home, ["features", "validate", "customer_features@2.0.0", str(CLEAN), "--limit", "-1"],
                "limit -1 is not a whole number >= 0")
