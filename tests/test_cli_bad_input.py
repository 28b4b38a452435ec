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


@pytest.mark.parametrize("args", [
    ["trace", "good@1", "--as-of", "{early}"],
    ["impact", "good@1", "--as-of", "{late}"],
    ["snapshot", "list", "--as-of", "{early}"],
    ["snapshot", "list", "--json", "--as-of", "{late}"],
    ["model", "aliases", "churn", "--as-of", "{early}"],
    ["audit", "log", "--since", "{late}"],
    ["export", "openlineage", "--since", "{early}"],
])
def test_time_whose_offset_leaves_the_calendar_is_one_line(home: Path, args: list[str]) -> None:
    """Years 1 and 9999 with an offset are valid ISO 8601 but outside what a datetime holds in UTC."""
    times = {"early": "0001-01-01T00:00:00+01:00", "late": "9999-12-31T23:00:00-05:00"}
    run_refused(home, [a.format(**times) for a in args], "outside the years 1 to 9999 once converted to UTC")


@pytest.mark.parametrize("args", [["init"], ["demo"], ["keys", "init"], ["migrate"], ["snapshot", "list"],
                                  ["snapshot", "list", "--json"], ["audit", "log"], ["gc"]])
def test_lineage_home_that_is_a_file_is_named_by_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               args: list[str]) -> None:
    a_file = tmp_path / "somefile.csv"
    a_file.write_bytes(b"a,b\n1,2\n")
    monkeypatch.setenv("LINEAGE_HOME", str(a_file))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and result.stdout == "", result.output
    message = result.stderr.strip()
    assert message.count("\n") == 0 and message == (
        f"error: LINEAGE_HOME {a_file} is a file, not a store folder: set LINEAGE_HOME to a folder "
        "(`lineage init` creates the store in it)")
    assert a_file.read_bytes() == b"a,b\n1,2\n" and sorted(tmp_path.iterdir()) == [a_file]


@pytest.mark.parametrize("args", [["snapshot", "list"], ["snapshot", "list", "--json"], ["audit", "log"],
                                  ["snapshot", "add", "{data}", "--dataset", "d"], ["init"], ["keys", "init"],
                                  ["gc", "--yes"]])
@pytest.mark.parametrize("value", ["2", "", "maybe"])
def test_read_only_that_is_not_a_boolean_is_refused_by_reads_and_writes(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], value: str) -> None:
    data = write_csv(tmp_path / "d.csv")
    monkeypatch.setenv("LINEAGE_READ_ONLY", value)
    message = run_refused(home, [a.format(data=data) for a in args], f"LINEAGE_READ_ONLY is {value!r}, not a boolean")
    assert "1, true, yes or on" in message and "0, false, no or off" in message
    assert not (home / "keys").exists()


def test_read_only_words_are_the_ones_pydantic_reads() -> None:
    """The quick paths check the words without pydantic: both must accept exactly the same ones."""
    from pydantic import TypeAdapter, ValidationError

    from lineage.env import FALSE_WORDS, TRUE_WORDS

    adapter = TypeAdapter(bool)
    for word in [*TRUE_WORDS, *FALSE_WORDS, *(w.upper() for w in TRUE_WORDS | FALSE_WORDS)]:
        assert adapter.validate_python(word) == (word.lower() in TRUE_WORDS)
    for word in ["2", "", "maybe", " yes", "none", "-1"]:
        with pytest.raises(ValidationError):
            adapter.validate_python(word)


def test_settings_refuse_bad_values_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage.config import Settings
    from lineage.errors import InvalidInputError

    monkeypatch.setenv("LINEAGE_READ_ONLY", "2")
    with pytest.raises(InvalidInputError, match="LINEAGE_READ_ONLY is '2', not a boolean"):
        Settings()
    monkeypatch.setenv("LINEAGE_READ_ONLY", "Yes")
    assert Settings().read_only is True
    a_file = tmp_path / "f"
    a_file.touch()
    with pytest.raises(InvalidInputError, match="is a file, not a store folder"):
        Settings(home=a_file)


def test_migrate_refuses_a_home_without_a_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for home in (tmp_path / "typo", empty):
        monkeypatch.setenv("LINEAGE_HOME", str(home))
        result = CliRunner().invoke(main, ["migrate"])
        assert result.exit_code == 2 and result.stdout == "", result.output
        assert result.stderr.count("\n") == 1 and "`lineage init` creates a store" in result.stderr
    assert not (tmp_path / "typo").exists() and list(empty.iterdir()) == []


@pytest.mark.parametrize("args,expected", [
    (["snapshot", "list", "--bogus"], "error: No such option '--bogus': see main snapshot list --help"),
    (["report", "good@1", "--format", "xml", "-o", "x.xml"],
     "error: Invalid value for '--format': 'xml' is not one of 'json', 'md', 'html', 'pdf': see main report --help"),
    (["report", "good@1"], "error: Missing option '-o' / '--output': see main report --help"),
    (["trace", "good@1", "--json", "--dot"], "error: give --json or --dot, not both: see main trace --help"),
    (["no-such-command"], "error: No such command 'no-such-command': see main --help"),
    (["snapshot", "list", "--as-of"], "error: Option '--as-of' requires an argument: see main snapshot list --help"),
    (["gc", "--grace", "soon"], "error: Invalid value for '--grace': 'soon' is not a valid float: see main gc --help"),
])
def test_usage_errors_are_one_line(home: Path, args: list[str], expected: str) -> None:
    """(CliRunner names the program after the function, ``main``; installed, it is ``lineage``.)"""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr == expected + "\n"


def test_usage_error_of_the_installed_command_names_it(home: Path) -> None:
    env = dict(os.environ, LINEAGE_HOME=str(home))
    done = subprocess.run([sys.executable, "-m", "lineage.cli", "report", "good@1", "--format", "xml", "-o", "x"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: Invalid value for '--format': 'xml' is not one of 'json', 'md', 'html', 'pdf': "
        "see python -m lineage.cli report --help"]


def test_help_and_bare_groups_still_print_help(home: Path) -> None:
    assert CliRunner().invoke(main, ["--help"]).stdout.startswith("Usage: main [OPTIONS] COMMAND [ARGS]...")
    report_help = CliRunner().invoke(main, ["report", "--help"])
    assert report_help.exit_code == 0 and "verify FILE" in report_help.stdout
    bare = CliRunner().invoke(main, ["snapshot"])
    assert "Usage: main snapshot [OPTIONS] COMMAND [ARGS]..." in bare.output and "Commands:" in bare.output


def test_csv_whose_header_is_not_utf8(home: Path, tmp_path: Path) -> None:
    latin = tmp_path / "latin1_header.csv"
    latin.write_bytes(b"r\xe9gion,age\nnord,2\n")
    run_refused(home, ["snapshot", "add", str(latin), "--dataset", "d"],
                f"{latin} is not valid UTF-8 text (the header row holds undecodable bytes): re-encode the CSV as UTF-8")


def test_parquet_folder_with_a_junk_member_names_that_member(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pqdir"
    folder.mkdir()
    write_parquet(folder / "a.parquet", rows=5, seed=1)
    write_parquet(folder / "b.parquet", rows=5, seed=2)
    (folder / "c.parquet").write_bytes(b"junk!")
    message = run_refused(home, ["snapshot", "add", str(folder), "--dataset", "d"], "not a readable Parquet file")
    assert message.startswith(f"error: {folder / 'c.parquet'} is not a readable Parquet file"), message


@pytest.mark.parametrize("args", [["snapshot", "list"], ["snapshot", "list", "--json"], ["snapshot", "add", "{data}",
                                  "--dataset", "d"], ["snapshot", "add", "{data}", "--dataset", "d", "--version", "v1"],
                                  ["model", "list"], ["audit", "verify"], ["audit", "log"], ["init"], ["migrate"],
                                  ["demo"], ["gc", "--yes"]])
def test_database_file_that_is_not_sqlite_is_named_by_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    args: list[str]) -> None:
    import random

    home = tmp_path / "home"
    home.mkdir()
    garbage = random.Random(2010).randbytes(5000)
    (home / "lineage.db").write_bytes(garbage)
    data = write_csv(tmp_path / "d.csv")
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    result = CliRunner().invoke(main, [a.format(data=data) for a in args])
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr == (f"error: {home / 'lineage.db'} is not a SQLite database: point LINEAGE_HOME (or "
                             "LINEAGE_DB_URL) at a Lineage store, or move the file away\n")
    assert (home / "lineage.db").read_bytes() == garbage and sorted(home.iterdir()) == [home / "lineage.db"]


def _damage_table_pages(database: Path, tables: tuple[str, ...]) -> None:
    """Overwrite the root page header of each table: SQLite then reports SQLITE_CORRUPT reading it."""
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        roots = [connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (t,)).fetchone()[0]
                 for t in tables]
    data = bytearray(database.read_bytes())
    for root in roots:
        offset = (root - 1) * page_size
        data[offset:offset + 16] = b"\xff" * 16
    database.write_bytes(bytes(data))


@pytest.mark.parametrize("args", [["snapshot", "list"], ["snapshot", "list", "--json"], ["snapshot", "show", "d@v1"],
                                  ["trace", "d@v1"], ["impact", "d@v1"], ["audit", "verify"],
                                  ["export", "openlineage"], ["snapshot", "add", "{data}", "--dataset", "e"]])
def test_damaged_database_is_one_line_naming_it(home: Path, tmp_path: Path, args: list[str]) -> None:
    """SQLite's "database disk image is malformed" names neither the file nor what to do."""
    assert CliRunner().invoke(main, ["snapshot", "add", str(write_csv(tmp_path / "d.csv")), "--dataset", "d",
                                     "--version", "v1"]).exit_code == 0
    database = home / "lineage.db"
    _damage_table_pages(database, ("snapshot", "dataset", "audit_event", "edge"))
    damaged = database.read_bytes()
    data = write_csv(tmp_path / "e.csv", rows=7)
    result = CliRunner().invoke(main, [a.format(data=data) for a in args])
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr == (f"error: the SQLite database {database} is damaged (database disk image is malformed): "
                             f"restore it from a backup, or look with `sqlite3 {database} 'PRAGMA integrity_check'`\n")
    assert database.read_bytes() == damaged
