"""Bad input never crashes and never writes: one line naming the problem and the fix, exit 2."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lineage.cli import main
from tests.factories import write_csv, write_parquet


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised SQLite store with one registered snapshot."""
    path = tmp_path / "home"
    monkeypatch.setenv("LINEAGE_HOME", str(path))
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    good = write_parquet(tmp_path / "good.parquet")
    assert CliRunner().invoke(main, ["snapshot", "add", str(good), "--dataset", "good", "--version", "1"]).exit_code == 0
    return path


def store_state(home: Path) -> tuple[list[tuple], list[str]]:
    """Every row of every table plus every file under the store home except the database itself."""
    with sqlite3.connect(home / "lineage.db") as connection:
        rows = []
        for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
            rows.extend((table, *row) for row in connection.execute(f'SELECT * FROM "{table}"'))
    files = sorted(
        str(p.relative_to(home)) for p in home.rglob("*")
        if p.is_file() and not p.name.startswith("lineage.db") and "cache" not in p.parts
    )
    return rows, files


def run_refused(home: Path, args: list[str], expected: str, code: int = 2) -> str:
    before = store_state(home)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.stderr.strip()
    assert message.count("\n") == 0, message  # one line
    assert message.startswith("error: ") and expected in message, message
    assert "Traceback" not in result.output
    assert store_state(home) == before
    return message


def test_missing_path(home: Path, tmp_path: Path) -> None:
    run_refused(home, ["snapshot", "add", str(tmp_path / "nope.parquet"), "--dataset", "d"], "does not exist")


def test_directory_without_parquet_files(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    run_refused(home, ["snapshot", "add", str(folder), "--dataset", "d"], "holds no .parquet files")


def test_empty_file(home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    run_refused(home, ["snapshot", "add", str(empty), "--dataset", "d"], "is empty")


def test_truncated_parquet(home: Path, tmp_path: Path) -> None:
    good = write_parquet(tmp_path / "full.parquet", seed=3)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[:-50])
    run_refused(home, ["snapshot", "add", str(truncated), "--dataset", "d"], "not a readable Parquet file")


def test_random_bytes_named_parquet(home: Path, tmp_path: Path) -> None:
    random_file = tmp_path / "random.parquet"
    random_file.write_bytes(os.urandom(4096))
    run_refused(home, ["snapshot", "add", str(random_file), "--dataset", "d"], "not a readable Parquet file")


def test_csv_with_ragged_row(home: Path, tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,c\n1,2,3\n4,5\n")
    run_refused(home, ["snapshot", "add", str(ragged), "--dataset", "d"], "not a valid CSV file")


def test_csv_with_undecodable_bytes(home: Path, tmp_path: Path) -> None:
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("name,city\nJosé,Málaga\n".encode("latin-1"))
    run_refused(home, ["snapshot", "add", str(latin), "--dataset", "d"], "not valid UTF-8")


def test_file_that_is_neither_parquet_nor_csv(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"PK\x03\x04 not a table we read")
    run_refused(home, ["snapshot", "add", str(other), "--dataset", "d"], "neither Parquet nor CSV")


BAD_NAMES = {
    "slash": ("a/b", "path separator"),
    "backslash": ("a\\b", "path separator"),
    "dotdot": ("a..b", "'..'"),
    "nul": ("a\x00b", "control character"),
    "escape": ("a\x1bb", "control character"),
    "newline": ("a\nb", "control character"),
    "leading space": (" a", "leading or trailing spaces"),
    "trailing space": ("a ", "leading or trailing spaces"),
    "too long": ("x" * 129, "at most 128"),
}


@pytest.mark.parametrize("option", ["--dataset", "--version"])
@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_unsafe_dataset_or_version_names(home: Path, tmp_path: Path, option: str, case: str) -> None:
    name, expected = BAD_NAMES[case]
    data = write_csv(tmp_path / "d.csv")
    args = ["snapshot", "add", str(data), "--dataset", "d", option, name]
    if option == "--dataset":
        args = ["snapshot", "add", str(data), "--dataset", name]
    run_refused(home, args, expected)


def test_unknown_parent(home: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv")
    run_refused(home, ["snapshot", "add", str(data), "--dataset", "d", "--parent", "ghost@1"], "no snapshot ghost@1")


def test_unknown_stage(home: Path, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv")
    run_refused(home, ["snapshot", "add", str(data), "--dataset", "d", "--stage", "gold"], "unknown stage 'gold'")


def test_taken_version_with_other_bytes(home: Path, tmp_path: Path) -> None:
    other = write_parquet(tmp_path / "other.parquet", seed=99)
    run_refused(home, ["snapshot", "add", str(other), "--dataset", "good", "--version", "1"], "already holds sha256")


@pytest.mark.parametrize("args", [
    ["snapshot", "add", "{data}", "--dataset", "d"],
    ["init"],
    ["demo"],
])
def test_any_write_while_read_only(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    data = write_csv(tmp_path / "d.csv")
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    run_refused(home, [a.format(data=data) for a in args], "read-only")
    # reads still work for auditors
    assert CliRunner().invoke(main, ["snapshot", "list", "--json"]).exit_code == 0


@pytest.mark.parametrize("url,expected", [
    ("postgresql+psycopg://127.0.0.1:1/nowhere", "cannot reach the metadata database postgresql+psycopg://127.0.0.1:1/nowhere"),
    ("sqlite:////nonexistent-dir/sub/lineage.db", "no Lineage store in sqlite:////nonexistent-dir/sub/lineage.db"),
    ("not a url", "is not a database URL"),
])
def test_unreachable_database_url(home: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str) -> None:
    monkeypatch.setenv("LINEAGE_DB_URL", url)
    run_refused(home, ["snapshot", "list"], expected)


def test_checkout_onto_existing_file_without_force(home: Path, tmp_path: Path) -> None:
    existing = tmp_path / "existing.parquet"
    existing.write_bytes(b"keep me")
    run_refused(home, ["snapshot", "checkout", "good@1", str(existing)], "already exists")
    assert existing.read_bytes() == b"keep me"


def test_uninitialised_store_says_to_run_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "never"))
    result = CliRunner().invoke(main, ["snapshot", "list"])
    assert result.exit_code == 2 and "run `lineage init`" in result.stderr
    assert not (tmp_path / "never").exists()


def test_verify_needs_exactly_one_target(home: Path) -> None:
    run_refused(home, ["snapshot", "verify"], "exactly one of")
    run_refused(home, ["snapshot", "verify", "good@1", "--all"], "exactly one of")


def test_malformed_as_of_time(home: Path) -> None:
    run_refused(home, ["snapshot", "list", "--as-of", "yesterday"], "not an ISO 8601 time")


def test_bad_input_through_the_real_command_prints_no_traceback(home: Path, tmp_path: Path) -> None:
    random_file = tmp_path / "random.parquet"
    random_file.write_bytes(os.urandom(1000))
    env = dict(os.environ, LINEAGE_HOME=str(home))
    for args in (["snapshot", "add", str(random_file), "--dataset", "d"], ["snapshot", "show", "ghost@1"]):
        done = subprocess.run([sys.executable, "-m", "lineage.cli", *args], capture_output=True, text=True, env=env)
        assert done.returncode == 2
        assert done.stdout == "" and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
