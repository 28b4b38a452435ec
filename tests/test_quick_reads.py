"""``lineage snapshot list`` on a SQLite store without SQLAlchemy: same table as the full path, or no answer."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lineage.cli import _print_added, _print_snapshot_table
from lineage.quick_reads import snapshot_lines, sqlite_database
from lineage.store import Store
from tests.factories import write_parquet

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "store_v0001"


def table(snapshots: object) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        _print_snapshot_table(snapshots)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.fixture
def filled(sqlite_store: Store, data_dir: Path) -> tuple[Store, datetime]:
    """Three datasets, out of name order, with a moment between two registrations."""
    store = sqlite_store
    store.snapshots.add(write_parquet(data_dir / "b1.parquet", rows=10, seed=1), dataset="beta", version="v1")
    store.snapshots.add(write_parquet(data_dir / "a1.parquet", rows=20, seed=2), dataset="alpha", version="v1",
                        stage="processed", parents=["beta@v1"])
    middle = datetime.now(UTC)
    store.snapshots.add(write_parquet(data_dir / "b2.parquet", rows=30, seed=3), dataset="beta", version="v2")
    store.snapshots.add(write_parquet(data_dir / "c1.parquet", rows=40, seed=4), dataset="gamma", version="2026_01")
    return store, middle


def test_quick_table_equals_the_full_table_for_every_filter(filled: tuple[Store, datetime]) -> None:
    store, middle = filled
    for dataset, as_of in [(None, None), ("beta", None), (None, middle), ("beta", middle), ("alpha", None)]:
        quick = snapshot_lines(dataset, as_of)
        assert quick is not None
        full = store.snapshots.list(dataset=dataset, as_of=as_of)
        assert table(quick) == table(full) and len(quick) == len(full) > 0, (dataset, as_of)
    assert [line.ref for line in snapshot_lines()] == ["alpha@v1", "beta@v1", "beta@v2", "gamma@2026_01"]


def test_no_quick_answer_where_the_full_path_must_speak(filled: tuple[Store, datetime], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert snapshot_lines("no_such_dataset") is None  # the full path words the refusal
    assert snapshot_lines("Bad Name!") is None
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "nowhere"))
    assert sqlite_database() is None and snapshot_lines() is None  # no store: "run lineage init"
    old = tmp_path / "old"
    shutil.copytree(FIXTURE, old)
    monkeypatch.setenv("LINEAGE_HOME", str(old))
    assert sqlite_database() == old / "lineage.db" and snapshot_lines() is None  # schema 0001: "run lineage migrate"
    monkeypatch.setenv("LINEAGE_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert sqlite_database() is None  # not SQLite: never touched here


def test_cli_list_imports_no_sqlalchemy_and_prints_the_table(filled: tuple[Store, datetime]) -> None:
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('loaded:', 'sqlalchemy' in sys.modules, file=sys.stderr))\n"
        "from lineage.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    store, _ = filled
    done = subprocess.run([sys.executable, "-c", probe, "snapshot", "list", "--dataset", "beta"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "loaded: False" in done.stderr
    assert done.stdout == table(store.snapshots.list(dataset="beta"))
    refused = subprocess.run([sys.executable, "-c", probe, "snapshot", "list", "--dataset", "nope"],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "no dataset named 'nope'" in refused.stderr
    assert "loaded: True" in refused.stderr  # the refusal came from the full path


def added_line(info: object) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        _print_added(info)
    return out.getvalue()


def test_unchanged_re_add_answers_like_the_full_path(sqlite_store: Store, data_dir: Path) -> None:
    from lineage.quick_reads import already_registered
    from tests.test_registration_fastpath import old_file

    store = sqlite_store
    path = old_file(write_parquet(data_dir / "p.parquet", rows=50))
    first = store.snapshots.add(path, dataset="events", version="v1")  # hashed now, so cached
    quick = already_registered(str(path), "events", "v1", "raw")
    full = store.snapshots.add(path, dataset="events", version="v1")
    assert quick is not None and not full.created and added_line(quick) == added_line(full)
    assert already_registered(str(path), "events", None, "processed") == quick  # no version: the latest with these bytes
    assert already_registered(str(path), "events", "v2", "raw") is None  # a new version: a registration
    assert already_registered(str(path), "other", None, "raw") is None
    assert already_registered(str(path), "events", "v1", "staging") is None  # the full path refuses the stage
    assert already_registered(str(path), "Bad Name", "v1", "raw") is None
    assert already_registered(str(data_dir), "events", "v1", "raw") is None  # directories: full path
    changed = write_parquet(data_dir / "p.parquet", rows=51)  # new bytes, new inode/mtime: cache miss
    assert already_registered(str(changed), "events", "v1", "raw") is None
    assert first.sha256 == quick.sha256


def test_re_add_through_the_cli_skips_sqlalchemy_and_never_bypasses_refusals(
        sqlite_store: Store, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_registration_fastpath import old_file

    path = old_file(write_parquet(data_dir / "p.parquet", rows=50))
    sqlite_store.snapshots.add(path, dataset="events", version="v1")
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('loaded:', 'sqlalchemy' in sys.modules, file=sys.stderr))\n"
        "from lineage.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    args = ["snapshot", "add", str(path), "--dataset", "events", "--version", "v1"]
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("already registered as events@v1  sha256 ")
    assert "loaded: False" in done.stderr
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    refused = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "read-only" in refused.stderr and "loaded: True" in refused.stderr
