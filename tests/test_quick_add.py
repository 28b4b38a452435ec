"""``snapshot add`` through stdlib sqlite3 (``lineage/quick_add.py``) writes exactly what the full path writes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from lineage.errors import ImmutableVersionError
from lineage.progress import NO_PROGRESS
from lineage.quick_add import quick_add
from lineage.store import Store
from tests.factories import write_csv, write_parquet

OLD = 1_600_000_000  # an mtime far in the past: the hash cache keeps such files ("racy" ones it does not)
TIMES = {"created_at", "at"}
CHAINED = {"hash", "prev_hash"}


def _home(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / name))
    return Store.init()


def _rows(store: Store) -> dict[str, list[dict[str, object]]]:
    """Every row of the tables a registration writes, without its times and chain hashes (they differ by clock)."""
    connection = sqlite3.connect(store.db.sqlite_path())
    connection.row_factory = sqlite3.Row
    try:
        tables = {}
        for table, order in [("dataset", "id"), ("snapshot", "id"), ("snapshot_file", "snapshot_id, path"),
                             ("edge", "id"), ("audit_event", "seq")]:
            rows = connection.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()  # noqa: S608 - fixed names
            tables[table] = [{k: r[k] for k in r.keys() if k not in TIMES | CHAINED} for r in rows]  # noqa: SIM118 - a Row iterates values
        return tables
    finally:
        connection.close()


def _same(document: dict[str, object], *, folder_free: bool = False) -> dict[str, object]:
    """An answer without its time (and, across two data folders, with the source's file name only)."""
    kept = {k: v for k, v in document.items() if k != "created_at"}
    if folder_free:
        kept["source_uri"] = Path(str(kept["source_uri"])).name
    return kept


class Input(NamedTuple):
    path: Path
    dataset: str
    version: str | None
    stage: str = "raw"
    note: str = ""
    parents: tuple[str, ...] = ()
    transform: str = ""
    copy: bool = True


def _inputs(data: Path) -> list[Input]:
    """Every kind of input: new and existing datasets, auto versions, parents with and without a transform, --no-copy."""
    folder, other = data / "parts", data / "parts2"
    (folder / "a").mkdir(parents=True)
    other.mkdir()
    write_parquet(folder / "b.parquet", rows=30, seed=5)
    write_parquet(folder / "a" / "x.parquet", rows=20, seed=6)
    write_parquet(other / "p.parquet", rows=25, seed=9)
    return [
        Input(write_parquet(data / "one.parquet", rows=50, seed=1), "customers", None),
        Input(write_parquet(data / "two.parquet", rows=60, seed=2), "customers", None, note="second today"),
        Input(write_csv(data / "three.csv", rows=40, seed=3), "customers_csv", "v1", "processed", "note: é ✓ <b>"),
        Input(folder, "parts", "2026_01", "features"),
        Input(write_parquet(data / "four.parquet", rows=70, seed=4), "customers", "v9", "online"),
        Input(write_parquet(data / "five.parquet", rows=80, seed=7), "derived", "v1", "processed",
              parents=("customers_csv@v1", "parts@2026_01", "customers_csv@v1"), transform="git:abc123 clean.py"),
        Input(write_parquet(data / "six.parquet", rows=90, seed=8), "derived", "v2", "features", parents=("derived@v1",)),
        Input(write_parquet(data / "seven.parquet", rows=15, seed=10), "outside", "v1", copy=False),
        Input(other, "outside_dir", "v1", copy=False, transform="unused without parents"),
    ]


def test_quick_path_writes_the_rows_and_answers_of_the_full_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full = _home(tmp_path, "full", monkeypatch)
    full_answers = [full.snapshots.add(i.path, dataset=i.dataset, version=i.version, stage=i.stage, note=i.note,
                                       parents=i.parents, transform=i.transform, copy=i.copy).to_json()
                    for i in _inputs(_data(tmp_path, "data_full"))]
    quick = _home(tmp_path, "quick", monkeypatch)
    quick_answers = []
    for i in _inputs(_data(tmp_path, "data_quick")):
        added = quick_add(str(i.path), i.dataset, i.version, i.stage, i.note, i.transform, NO_PROGRESS,
                          parents=i.parents, copy=i.copy)
        assert added is not None, i
        quick_answers.append(added.to_json())
    for answer in quick_answers:  # what the quick path registered, the full path reads back the same
        assert _same(quick.snapshots.get(str(answer["ref"])).to_json()) == _same({**answer, "created": False})
    assert [_same(a, folder_free=True) for a in quick_answers] == [_same(a, folder_free=True) for a in full_answers]
    quick_rows, full_rows = _rows(quick), _rows(full)
    for rows in (quick_rows, full_rows):
        for row in rows["snapshot"]:
            row["source_uri"] = Path(str(row["source_uri"])).name
        for event in rows["audit_event"]:
            if event["action"] == "store.init":
                event["subject"] = "(the store home)"
            payload = json.loads(str(event["payload"]))
            if "source_uri" in payload:
                payload["source_uri"] = Path(payload["source_uri"]).name
            event["payload"] = payload
    assert quick_rows == full_rows
    assert [e["action"] for e in quick_rows["audit_event"]].count("snapshot.add") == 9
    assert len(quick_rows["edge"]) == 3 and sum(not row["stored"] for row in quick_rows["snapshot"]) == 2
    check = quick.audit.verify_chain()
    assert check.ok and check.events == len(quick_rows["audit_event"]), check
    results = quick.snapshots.verify()  # every blob (the folder's manifest and members too) re-hashes
    assert len(results) == 9 and all(result.ok for result in results), results


def _data(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def test_quick_path_steps_aside_where_the_full_path_must_decide(sqlite_store: Store, data_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = sqlite_store
    file = write_parquet(data_dir / "f.parquet", rows=10)
    before = _rows(store)
    for variable, value in [("LINEAGE_READ_ONLY", "1"), ("LINEAGE_STORE_URL", str(data_dir / "elsewhere")),
                            ("LINEAGE_STORE_OPTIONS", "{}"), ("LINEAGE_DB_URL", "sqlite:///" + str(data_dir / "none.db"))]:
        with monkeypatch.context() as patch:
            patch.setenv(variable, value)
            assert quick_add(str(file), "d", "v1", "raw", "", "", NO_PROGRESS) is None, variable
    for dataset, version, stage in [("a/b", None, "raw"), ("d", "v@1", "raw"), (" d", None, "raw"), ("d", None, "nope")]:
        assert quick_add(str(file), dataset, version, stage, "", "", NO_PROGRESS) is None
    store.snapshots.add(write_parquet(data_dir / "p.parquet", rows=3), dataset="parent", version="v1")
    before = _rows(store)
    for parent in ["parent", "parent@v2", " parent@v1", "no_such@v1", store.snapshots.get("parent@v1").sha256[:12]]:
        assert quick_add(str(file), "d", "v1", "raw", "", "", NO_PROGRESS, parents=[parent]) is None, parent
    (data_dir / "empty").mkdir()
    for path in [data_dir / "missing.parquet", data_dir / "empty"]:  # no such file; a folder without Parquet files
        assert quick_add(str(path), "d", None, "raw", "", "", NO_PROGRESS) is None
    assert _rows(store) == before and not list((store.home / "objects").glob("**/*.part"))

    assert quick_add(str(file), "d", "v1", "raw", "", "", NO_PROGRESS) is not None
    os.utime(file, (OLD, OLD))
    copy = write_parquet(data_dir / "g.parquet", rows=10)  # the same bytes at a new path: not in the hash cache
    after_first = _rows(store)
    assert quick_add(str(copy), "d", None, "raw", "", "", NO_PROGRESS) is None  # registered already: full path answers
    assert quick_add(str(copy), "d", "v1", "raw", "", "", NO_PROGRESS) is None
    assert quick_add(str(file), "d", "v2", "raw", "", "", NO_PROGRESS) is not None  # its stat changed: new entry
    assert quick_add(str(file), "d", "v3", "raw", "", "", NO_PROGRESS) is None  # now a hash-cache hit
    assert len(_rows(store)["snapshot"]) == len(after_first["snapshot"]) + 1
    assert not list((store.home / "objects").glob("**/*.part"))  # nothing staged was left behind


def test_other_bytes_under_a_taken_version_are_refused_as_the_full_path_refuses(sqlite_store: Store, data_dir: Path) -> None:
    store = sqlite_store
    store.snapshots.add(write_parquet(data_dir / "a.parquet", rows=10, seed=1), dataset="d", version="v1")
    other = write_parquet(data_dir / "b.parquet", rows=10, seed=2)
    os.utime(other, (OLD, OLD))  # old enough for the hash cache to keep its digest
    before, blobs = _rows(store), sorted((store.home / "objects").rglob("*"))
    with pytest.raises(ImmutableVersionError) as quick_error:
        quick_add(str(other), "d", "v1", "raw", "", "", NO_PROGRESS)
    assert _rows(store) == before and sorted((store.home / "objects").rglob("*")) == blobs
    with pytest.raises(ImmutableVersionError) as full_error:
        store.snapshots.add(other, dataset="d", version="v1")
    assert str(quick_error.value) == str(full_error.value)
    assert store.hash_cache.get(other) is not None  # hashed, never registered: the retry still runs here
    retried = quick_add(str(other), "d", "v2", "raw", "", "", NO_PROGRESS)
    assert retried is not None and retried.created and retried.ref == "d@v2"


def test_a_failure_inside_the_transaction_writes_no_row(sqlite_store: Store, data_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = sqlite_store
    import lineage.quick_add as module

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(module, "_append_event", broken)
    with pytest.raises(OSError, match="disk gone"):
        quick_add(str(write_parquet(data_dir / "a.parquet")), "d", "v1", "raw", "", "", NO_PROGRESS)
    rows = _rows(store)
    assert rows["snapshot"] == [] and rows["dataset"] == [] and store.audit.verify_chain().ok


def test_the_cli_registers_without_loading_the_orm(sqlite_store: Store, data_dir: Path) -> None:
    file = write_parquet(data_dir / "a.parquet", rows=25)
    probe = (
        "import sys, json; from lineage.cli import main\n"
        "try:\n    main(['snapshot', 'add', sys.argv[1], '--dataset', 'cli', '--json'])\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        "print(json.dumps({'code': code, 'orm': [m for m in ('sqlalchemy', 'sqlmodel', 'pydantic') if m in sys.modules]}),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(file)], capture_output=True, text=True, check=False,
                          env={**os.environ, "LINEAGE_HOME": str(sqlite_store.home)})
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"code": 0, "orm": []}, done.stderr
    answer = json.loads(done.stdout)
    assert answer["created"] is True and answer["rows"] == 25
    assert sqlite_store.snapshots.get(answer["ref"]).sha256 == answer["sha256"]


def test_quick_and_full_writers_in_parallel_keep_one_chain(sqlite_store: Store, data_dir: Path) -> None:
    """Four processes, two on each path (a parent named by its dataset takes the full path), at once: every row
    lands and the chain stays one line."""
    files = [write_parquet(data_dir / f"p{i}.parquet", rows=10 + i, seed=i) for i in range(16)]
    script = (
        "import sys\nfrom lineage.cli import main\n"
        "for path in sys.argv[2:]:\n"
        "    try:\n        main(['snapshot', 'add', path, '--dataset', 'par', *(['--parent', 'seed'] if sys.argv[1] == 'full' else [])])\n"
        "    except SystemExit as exit:\n        assert exit.code == 0, exit.code\n"
    )
    sqlite_store.snapshots.add(write_parquet(data_dir / "seed.parquet", rows=5), dataset="seed", version="v1")
    env = {**os.environ, "LINEAGE_HOME": str(sqlite_store.home)}
    workers = [subprocess.Popen([sys.executable, "-c", script, "full" if i % 2 else "quick", *map(str, files[i::4])],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(4)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stderr.read() if worker.stderr else ""
    refs = [s.ref for s in sqlite_store.snapshots.list(dataset="par")]
    assert len(refs) == 16 and len(set(refs)) == 16
    check = sqlite_store.audit.verify_chain()
    assert check.ok and check.events == 1 + 2 + 1 + 16, check  # init; seed dataset + add; par dataset; 16 adds


def test_a_locked_database_is_one_clear_error_as_on_the_full_path(sqlite_store: Store, data_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import lineage.quick_add as module
    from lineage.errors import StoreUnavailableError

    monkeypatch.setattr(module, "BUSY_TIMEOUT_S", 0.3)
    holder = sqlite3.connect(sqlite_store.db.sqlite_path(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock for longer than the wait
    try:
        with pytest.raises(StoreUnavailableError) as error:
            quick_add(str(write_parquet(data_dir / "a.parquet")), "d", "v1", "raw", "", "", NO_PROGRESS)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert str(error.value) == (f"cannot reach the metadata database sqlite:///{sqlite_store.db.sqlite_path()} "
                                "(database is locked): check LINEAGE_DB_URL and that the server is running")
    assert _rows(sqlite_store)["snapshot"] == []


def test_the_store_is_found_where_the_settings_find_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage.config import Settings
    from lineage.quick_reads import database_url, sqlite_database, store_home

    monkeypatch.chdir(tmp_path)
    for value in (None, "", "elsewhere", "~/x"):
        if value is None:
            monkeypatch.delenv("LINEAGE_HOME", raising=False)
        else:
            monkeypatch.setenv("LINEAGE_HOME", value)
        assert store_home() == Settings().home and database_url() == Settings().resolved_db_url, value
    (tmp_path / "my db.db").touch()
    (tmp_path / "my%20db.db").touch()
    monkeypatch.setenv("LINEAGE_DB_URL", f"sqlite:///{tmp_path}/my%20db.db")  # SQLAlchemy opens "my db.db"
    assert sqlite_database() is None


def test_the_check_is_repeated_under_the_lock(sqlite_store: Store, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer may register between the first check and the lock: the second check sees it."""
    import lineage.quick_add as module

    real = module._is_new
    calls: list[bool] = []

    def first_check_misses(*args: object) -> bool:
        calls.append(True)
        return True if len(calls) == 1 else real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_is_new", first_check_misses)
    file = write_parquet(data_dir / "a.parquet", rows=10, seed=1)
    sqlite_store.snapshots.add(write_parquet(data_dir / "same.parquet", rows=10, seed=1), dataset="d", version="v1")
    before = _rows(sqlite_store)
    assert quick_add(str(file), "d", "v1", "raw", "", "", NO_PROGRESS) is None  # same bytes: the full path answers
    calls.clear()
    assert quick_add(str(file), "d", None, "raw", "", "", NO_PROGRESS) is None
    calls.clear()
    with pytest.raises(ImmutableVersionError):
        quick_add(str(write_parquet(data_dir / "b.parquet", rows=10, seed=2)), "d", "v1", "raw", "", "", NO_PROGRESS)
    assert _rows(sqlite_store) == before and len(calls) == 2


def test_repeated_columns_decomposed_names_and_empty_paths_are_refused_on_both_paths(
    sqlite_store: Store, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import unicodedata

    import pyarrow as pa
    import pyarrow.parquet as pq

    from lineage.errors import InvalidInputError, InvalidNameError

    store = sqlite_store
    csv = data_dir / "dup.csv"
    csv.write_text("a,a\n1,2\n")
    folder = data_dir / "dup_dir"
    folder.mkdir()
    pq.write_table(pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", "x"]), folder / "p.parquet")
    before, blobs = _rows(store), sorted(p for p in (store.home / "objects").rglob("*") if p.is_file())
    for path in (csv, folder):
        with pytest.raises(InvalidInputError, match="repeats the column name") as quick_error:
            quick_add(str(path), "r", None, "raw", "", "", NO_PROGRESS)
        with pytest.raises(InvalidInputError, match="repeats the column name") as full_error:
            store.snapshots.add(path, dataset="r")
        assert str(quick_error.value) == str(full_error.value)
    file = write_parquet(data_dir / "f.parquet", rows=10)
    decomposed = unicodedata.normalize("NFD", "données")
    for dataset, version in [(decomposed, None), ("d", decomposed)]:
        assert quick_add(str(file), dataset, version, "raw", "", "", NO_PROGRESS) is None  # the full path refuses
        with pytest.raises(InvalidNameError, match="NFC"):
            store.snapshots.add(file, dataset=dataset, version=version)
    monkeypatch.chdir(data_dir)  # a folder holding Parquet files, which an empty path used to register
    for empty in ("", "  "):  # an unset shell variable, say
        assert quick_add(empty, "d", None, "raw", "", "", NO_PROGRESS) is None
        with pytest.raises(InvalidInputError, match="the path to register is empty"):
            store.snapshots.add(empty, dataset="d")
    assert _rows(store) == before and sorted(p for p in (store.home / "objects").rglob("*") if p.is_file()) == blobs


def test_a_junk_member_of_a_parquet_folder_is_named_alike_on_both_paths(sqlite_store: Store, data_dir: Path) -> None:
    from lineage.errors import InvalidInputError

    store = sqlite_store
    folder = data_dir / "pqdir"
    folder.mkdir()
    write_parquet(folder / "a.parquet", rows=10, seed=1)
    write_parquet(folder / "b.parquet", rows=10, seed=2)
    (folder / "c.parquet").write_bytes(b"junk!")  # 5 bytes: no Parquet footer
    before, blobs = _rows(store), sorted(p for p in (store.home / "objects").rglob("*") if p.is_file())
    with pytest.raises(InvalidInputError) as quick_error:
        quick_add(str(folder), "d", None, "raw", "", "", NO_PROGRESS)
    with pytest.raises(InvalidInputError) as full_error:
        store.snapshots.add(folder, dataset="d")
    assert str(quick_error.value) == str(full_error.value)
    assert str(full_error.value).startswith(f"{folder / 'c.parquet'} is not a readable Parquet file ("), full_error.value
    assert _rows(store) == before and sorted(p for p in (store.home / "objects").rglob("*") if p.is_file()) == blobs
