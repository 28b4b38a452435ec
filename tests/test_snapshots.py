"""Snapshot registration, lookup, verify and checkout on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lineage.errors import (
    AmbiguousRefError,
    DestinationExistsError,
    ImmutableVersionError,
    InvalidInputError,
    NotFoundError,
)
from lineage.store import Store
from tests.blobs import delete_blob, flip_byte
from tests.factories import write_csv, write_parquet


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_registering_parquet_records_hash_size_rows_schema_and_actor(store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "c.parquet", rows=150)
    info = store.snapshots.add(path, dataset="customers", version="v1", stage="raw", note="first")
    assert info.created is True
    assert info.ref == "customers@v1"
    assert info.sha256 == sha256_of(path)
    assert info.hash_algorithm == "sha256"
    assert info.size_bytes == path.stat().st_size
    assert (info.format, info.rows, info.columns) == ("parquet", 150, 6)
    assert [f["name"] for f in info.schema] == ["customer_id", "amount", "region", "name", "signup", "active"]
    assert info.schema[0]["type"] == "int64"
    assert info.fingerprint.startswith("blake3:")
    assert info.created_by == "tester"
    assert info.source_uri == str(path)
    assert store.objects.exists(info.sha256)


def test_reregistering_same_bytes_returns_existing_snapshot(store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "c.parquet")
    first = store.snapshots.add(path, dataset="customers", version="v1")
    again = store.snapshots.add(path, dataset="customers", version="v1")
    assert again.created is False
    assert again.sha256 == first.sha256 and again.created_at == first.created_at
    copy = data_dir / "copy.parquet"
    shutil.copyfile(path, copy)  # new inode, so the hash cache misses: the database answers
    assert store.snapshots.add(copy, dataset="customers").created is False
    assert len(store.snapshots.list()) == 1
    assert [e.action for e in store.audit.log()].count("snapshot.add") == 1


def test_other_bytes_under_taken_version_are_refused_naming_both_hashes(store: Store, data_dir: Path) -> None:
    first = write_parquet(data_dir / "a.parquet", seed=1)
    second = write_parquet(data_dir / "b.parquet", seed=2)
    kept = store.snapshots.add(first, dataset="customers", version="v1")
    events_before = len(store.audit.log())
    with pytest.raises(ImmutableVersionError) as raised:
        store.snapshots.add(second, dataset="customers", version="v1")
    assert kept.sha256 in str(raised.value) and sha256_of(second) in str(raised.value)
    assert not store.objects.exists(sha256_of(second))
    assert len(store.audit.log()) == events_before
    assert store.snapshots.get("customers@v1").sha256 == kept.sha256


def test_automatic_versions_follow_the_utc_date_then_count_up(store: Store, data_dir: Path) -> None:
    a = store.snapshots.add(write_parquet(data_dir / "a.parquet", seed=1), dataset="d")
    b = store.snapshots.add(write_parquet(data_dir / "b.parquet", seed=2), dataset="d")
    c = store.snapshots.add(write_parquet(data_dir / "c.parquet", seed=3), dataset="d")
    base = a.created_at.strftime("%Y_%m_%d")
    assert [a.version, b.version, c.version] == [base, f"{base}.1", f"{base}.2"]


def test_csv_is_registered_with_rows_columns_and_inferred_schema(store: Store, data_dir: Path) -> None:
    path = write_csv(data_dir / "c.csv", rows=42)
    info = store.snapshots.add(path, dataset="raw_csv", version="1")
    assert (info.format, info.rows, info.columns) == ("csv", 42, 5)
    assert {f["name"]: f["type"] for f in info.schema}["amount"] == "double"


def test_parquet_directory_is_one_snapshot_hashed_as_sorted_manifest(store: Store, data_dir: Path) -> None:
    folder = data_dir / "parts"
    (folder / "region=north").mkdir(parents=True)
    write_parquet(folder / "region=north" / "part-1.parquet", rows=10, seed=1)
    write_parquet(folder / "part-0.parquet", rows=20, seed=2)
    (folder / "_SUCCESS").write_text("")
    info = store.snapshots.add(folder, dataset="parts", version="v1")
    assert info.format == "parquet-dir" and info.rows == 30
    manifest = "lineage-manifest-v1\n" + "".join(
        f"{rel}\t{(folder / rel).stat().st_size}\t{sha256_of(folder / rel)}\n"
        for rel in ["part-0.parquet", "region=north/part-1.parquet"]
    )
    assert info.sha256 == hashlib.sha256(manifest.encode()).hexdigest()
    assert [f["path"] for f in info.files] == ["part-0.parquet", "region=north/part-1.parquet"]
    with store.objects.open(info.sha256) as handle:
        assert handle.read().decode() == manifest


def test_parents_and_transform_are_recorded_and_unknown_parent_is_refused(store: Store, data_dir: Path) -> None:
    raw = store.snapshots.add(write_csv(data_dir / "raw.csv"), dataset="raw", version="1")
    clean = store.snapshots.add(write_parquet(data_dir / "clean.parquet"), dataset="clean", version="1",
                                stage="processed", parents=[raw.ref], transform="etl/clean.py:clean")
    assert clean.parents == ["raw@1"] and clean.transform == "etl/clean.py:clean"
    assert store.snapshots.get("clean@1").parents == ["raw@1"]
    with pytest.raises(NotFoundError):
        store.snapshots.add(write_parquet(data_dir / "x.parquet", seed=9), dataset="x", parents=["raw@9"])
    assert store.snapshots.find("x") is None


def test_a_parent_named_several_ways_is_one_parent(store: Store, data_dir: Path) -> None:
    raw = store.snapshots.add(write_csv(data_dir / "raw.csv"), dataset="raw", version="1")
    other = store.snapshots.add(write_csv(data_dir / "other.csv", seed=3), dataset="other", version="1")
    child = store.snapshots.add(write_parquet(data_dir / "c.parquet"), dataset="child", version="1",
                                parents=["raw", other.ref, raw.sha256[:12], " raw@1", "raw@1"])
    assert child.parents == ["raw@1", "other@1"]
    assert store.snapshots.get("child@1").parents == ["raw@1", "other@1"]
    payload = [e for e in store.audit.log() if e.action == "snapshot.add" and e.subject == "child@1"][0].payload
    assert payload["parents"] == ["raw@1", "other@1"]


def test_refs_resolve_by_version_latest_and_sha256_prefix(store: Store, data_dir: Path) -> None:
    first = store.snapshots.add(write_parquet(data_dir / "a.parquet", seed=1), dataset="d", version="1")
    second = store.snapshots.add(write_parquet(data_dir / "b.parquet", seed=2), dataset="d", version="2")
    assert store.snapshots.get("d").version == "2"
    assert store.snapshots.get("d@1").sha256 == first.sha256
    assert store.snapshots.get(second.sha256[:10]).ref == "d@2"
    with pytest.raises(NotFoundError):
        store.snapshots.get("d@3")


def test_sha256_prefix_shared_by_two_snapshots_is_refused_as_ambiguous(store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "a.parquet")
    info = store.snapshots.add(path, dataset="one", version="1")
    store.snapshots.add(path, dataset="two", version="1")
    with pytest.raises(AmbiguousRefError) as raised:
        store.snapshots.get(info.sha256[:12])
    assert "one@1" in str(raised.value) and "two@1" in str(raised.value)
    assert store.snapshots.get("two@1").sha256 == info.sha256


def test_list_filters_by_dataset_and_as_of_time(store: Store, data_dir: Path) -> None:
    a = store.snapshots.add(write_parquet(data_dir / "a.parquet", seed=1), dataset="a", version="1")
    store.snapshots.add(write_parquet(data_dir / "b.parquet", seed=2), dataset="b", version="1")
    assert [s.ref for s in store.snapshots.list()] == ["a@1", "b@1"]
    assert [s.ref for s in store.snapshots.list(dataset="b")] == ["b@1"]
    assert [s.ref for s in store.snapshots.list(as_of=a.created_at)] == ["a@1"]
    with pytest.raises(NotFoundError):
        store.snapshots.list(dataset="nope")
    assert store.snapshots.counts() == {"datasets": 2, "snapshots": 2,
                                        "bytes": sum(s.size_bytes for s in store.snapshots.list())}


def test_verify_passes_then_reports_flipped_byte_and_deleted_blob(store: Store, data_dir: Path) -> None:
    a = store.snapshots.add(write_parquet(data_dir / "a.parquet", seed=1), dataset="a", version="1")
    b = store.snapshots.add(write_parquet(data_dir / "b.parquet", seed=2), dataset="b", version="1")
    assert all(r.ok and r.source_status == "unchanged" for r in store.snapshots.verify())
    flip_byte(store, a.sha256, 100)
    delete_blob(store, b.sha256)
    results = {r.ref: r for r in store.snapshots.verify()}
    assert not results["a@1"].ok and "corrupt" in (results["a@1"].problem or "")
    assert not results["b@1"].ok and "missing" in (results["b@1"].problem or "")


def test_verify_reports_a_changed_source_file(store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "a.parquet", seed=1)
    store.snapshots.add(path, dataset="a", version="1")
    write_parquet(path, seed=2)  # the seed's failure: training data overwritten in place
    [result] = store.snapshots.verify("a@1")
    assert result.ok  # the stored copy is intact...
    assert result.source_status == "changed"  # ...but the source no longer holds those bytes
    path.unlink()
    assert store.snapshots.verify("a@1")[0].source_status == "missing"


def test_no_copy_records_hash_only_and_verify_checks_the_source(store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "a.parquet")
    info = store.snapshots.add(path, dataset="ext", version="1", copy=False)
    assert info.stored is False and not store.objects.exists(info.sha256)
    assert store.snapshots.verify("ext@1")[0].ok
    out = store.snapshots.checkout("ext@1", data_dir / "out.parquet")
    assert sha256_of(out) == info.sha256
    write_parquet(path, seed=5)
    [result] = store.snapshots.verify("ext@1")
    assert not result.ok and result.source_status == "changed"


def test_checkout_restores_exact_bytes_and_refuses_existing_destination(store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "a.parquet")
    info = store.snapshots.add(path, dataset="a", version="1")
    path.unlink()  # the original is gone: the store still has it
    dest = data_dir / "restored.parquet"
    store.snapshots.checkout("a@1", dest)
    assert sha256_of(dest) == info.sha256
    assert pq.read_table(dest).num_rows == info.rows
    with pytest.raises(DestinationExistsError):
        store.snapshots.checkout("a@1", dest)
    dest.write_bytes(b"other")
    store.snapshots.checkout("a@1", dest, force=True)
    assert sha256_of(dest) == info.sha256


def _parts_folder(data_dir: Path) -> Path:
    """A Parquet folder of two members, one in a partition subfolder."""
    folder = data_dir / "parts"
    (folder / "p=1").mkdir(parents=True)
    write_parquet(folder / "p=1" / "a.parquet", seed=1)
    write_parquet(folder / "b.parquet", seed=2)
    return folder


def test_checkout_of_directory_snapshot_restores_every_member(store: Store, data_dir: Path) -> None:
    folder = _parts_folder(data_dir)
    info = store.snapshots.add(folder, dataset="parts", version="1")
    shutil.rmtree(folder)
    out = store.snapshots.checkout("parts@1", data_dir / "restored")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == ["b.parquet", "p=1/a.parquet"]
    assert {f["sha256"] for f in info.files} == {sha256_of(p) for p in out.rglob("*.parquet")}


def test_every_write_has_its_audit_event_and_the_chain_recomputes(store: Store, data_dir: Path) -> None:
    raw = store.snapshots.add(write_csv(data_dir / "r.csv"), dataset="raw", version="1")
    store.snapshots.add(write_parquet(data_dir / "c.parquet"), dataset="clean", version="1", parents=[raw.ref])
    events = store.audit.log()
    assert [(e.action, e.subject) for e in events] == [
        ("store.init", str(store.home)), ("dataset.create", "raw"), ("snapshot.add", "raw@1"),
        ("dataset.create", "clean"), ("snapshot.add", "clean@1"),
    ]
    assert events[-1].payload["parents"] == ["raw@1"] and events[-1].actor == "tester"
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    check = store.audit.verify_chain()
    assert check.ok and check.events == 5 and check.head_hash == events[-1].hash


def test_reopening_the_store_sees_registered_snapshots(store: Store, data_dir: Path) -> None:
    info = store.snapshots.add(write_parquet(data_dir / "a.parquet"), dataset="a", version="1")
    store.close()
    with Store.open() as reopened:
        assert reopened.snapshots.get("a@1").sha256 == info.sha256


def test_bad_files_are_refused_before_anything_is_written(store: Store, data_dir: Path) -> None:
    good = write_parquet(data_dir / "good.parquet")
    truncated = data_dir / "truncated.parquet"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for bad in [truncated]:
        with pytest.raises(InvalidInputError):
            store.snapshots.add(bad, dataset="bad")
    assert store.snapshots.list() == []
    assert list(store.objects.iter_keys()) == []


# -- forced checkout never removes what it cannot give back --------------------------------------
def _cli(store: Store, *args: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from lineage.cli import main

    return CliRunner().invoke(main, list(args), env={"LINEAGE_HOME": str(store.home)})


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_forced_checkout_to_an_empty_dest_or_the_current_directory_is_refused_and_removes_nothing(
    sqlite_store: Store, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqlite_store.snapshots.add(write_parquet(data_dir / "a.parquet"), dataset="a", version="1")
    work = data_dir / "wd" / "sub"
    work.mkdir(parents=True)
    (work / "f.txt").write_text("keep me")
    monkeypatch.chdir(work)
    for dest, problem in [("", "the destination is empty"), ("   ", "the destination is empty"),
                          (".", "is the current directory"), ("..", "is the current directory or one of its parents"),
                          (str(data_dir), "is the current directory or one of its parents")]:
        result = _cli(sqlite_store, "snapshot", "checkout", "a@1", dest, "--force")
        assert result.exit_code == 2, (dest, result.output)
        assert problem in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert work.is_dir() and (work / "f.txt").read_text() == "keep me"
    with pytest.raises(InvalidInputError, match="the destination is empty"):
        sqlite_store.snapshots.checkout("a@1", "")
    assert sorted(p.name for p in work.parent.iterdir()) == ["sub"]  # no temporary left either


def test_forced_checkout_refuses_a_folder_holding_other_files_and_the_store_itself(
    sqlite_store: Store, data_dir: Path,
) -> None:
    sqlite_store.snapshots.add(write_parquet(data_dir / "a.parquet"), dataset="a", version="1")
    unrelated = data_dir / "thesis"
    (unrelated / "chapters").mkdir(parents=True)
    (unrelated / "chapters" / "one.md").write_text("months of work")
    (unrelated / "notes.txt").write_text("more")
    before = _tree(unrelated)
    with pytest.raises(DestinationExistsError, match="holds files the store could not give back .*chapters/one.md.*: "
                                                     "remove it yourself or pick another DEST"):
        sqlite_store.snapshots.checkout("a@1", unrelated, force=True)
    assert _tree(unrelated) == before
    home = sqlite_store.home
    store_files = _tree(home)
    for dest in [home, home / "objects", home / "lineage.db", home.parent]:
        with pytest.raises(DestinationExistsError, match="Lineage store"):
            sqlite_store.snapshots.checkout("a@1", dest, force=True)
    assert _tree(home) == store_files
    empty = data_dir / "empty"
    empty.mkdir()
    out = sqlite_store.snapshots.checkout("a@1", empty, force=True)  # an empty folder loses nothing
    assert out.is_file() and sha256_of(out) == sqlite_store.snapshots.get("a@1").sha256


def test_forced_checkout_replaces_an_earlier_checkout_of_the_same_folder_snapshot(store: Store, data_dir: Path) -> None:
    folder = _parts_folder(data_dir)
    info = store.snapshots.add(folder, dataset="parts", version="1")
    out = store.snapshots.checkout("parts@1", data_dir / "restored")
    (out / "b.parquet").write_bytes(b"edited by hand")  # a checkout edited since, and one member deleted
    (out / "p=1" / "a.parquet").unlink()
    store.snapshots.checkout("parts@1", out, force=True)
    assert {p: hashlib.sha256(b).hexdigest() for p, b in _tree(out).items()} == {
        f["path"]: f["sha256"] for f in info.files}
    (out / "p=1" / "mine.csv").write_text("x\n1\n")  # a file the snapshot does not hold: no longer replaceable
    with pytest.raises(DestinationExistsError, match="p=1/mine.csv"):
        store.snapshots.checkout("parts@1", out, force=True)
    assert (out / "p=1" / "mine.csv").read_text() == "x\n1\n"


def test_forced_checkout_rolls_a_folder_back_to_another_version_of_the_dataset(
    sqlite_store: Store, data_dir: Path,
) -> None:
    v1, v2 = data_dir / "v1", data_dir / "v2"
    v1.mkdir()
    v2.mkdir()
    write_parquet(v1 / "part-0000-aaaa.parquet", seed=1)
    write_parquet(v2 / "part-0000-bbbb.parquet", seed=2)
    sqlite_store.snapshots.add(v1, dataset="folds", version="v1")
    sqlite_store.snapshots.add(v2, dataset="folds", version="v2")
    dest = data_dir / "restored"
    assert _cli(sqlite_store, "snapshot", "checkout", "folds@v2", str(dest)).exit_code == 0
    (dest / "_SUCCESS").write_bytes(b"")  # Spark's empty marker: nothing to lose
    result = _cli(sqlite_store, "snapshot", "checkout", "folds@v1", str(dest), "--force")
    assert result.exit_code == 0, result.output
    assert _tree(dest) == _tree(v1)  # exactly v1: v2's part (the store holds it) and the marker are gone


def test_forced_checkout_still_refuses_a_folder_with_bytes_the_store_cannot_give_back(
    sqlite_store: Store, data_dir: Path,
) -> None:
    folder = _parts_folder(data_dir)
    sqlite_store.snapshots.add(folder, dataset="parts", version="1")
    other = data_dir / "other"
    other.mkdir()
    write_parquet(other / "o.parquet", seed=9)
    sqlite_store.snapshots.add(other, dataset="other", version="1")
    dest = sqlite_store.snapshots.checkout("other@1", data_dir / "dest")
    (dest / "_SUCCESS").write_bytes(b"")
    (dest / "notes.txt").write_text("mine, registered nowhere")
    (dest / "link.parquet").symlink_to(folder / "b.parquet")  # a symlink is never counted as recoverable
    before = _tree(dest)
    with pytest.raises(DestinationExistsError) as raised:
        sqlite_store.snapshots.checkout("parts@1", dest, force=True)
    message = str(raised.value)
    assert "link.parquet" in message and "notes.txt" in message and "remove it yourself or pick another DEST" in message
    assert "_SUCCESS" not in message and "o.parquet" not in message
    assert _tree(dest) == before and (dest / "notes.txt").read_text() == "mine, registered nowhere"


def test_forced_checkout_never_replaces_a_sqlite_database_kept_outside_the_home(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_dir = tmp_path / "dbdir"
    db_dir.mkdir()
    database = db_dir / "meta.db"
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_DB_URL", f"sqlite:///{database}")
    with Store.init() as store:
        v1 = data_dir / "v1"
        v1.mkdir()
        write_parquet(v1 / "part-0000-aaaa.parquet", seed=1)
        store.snapshots.add(v1, dataset="folds", version="v1")
        assert database.is_file()
        side_files = [p for p in db_dir.iterdir() if p != database]  # -wal and -shm while the store is open
        assert side_files
        before = database.read_bytes()
        for dest in [database, db_dir, *side_files]:
            with pytest.raises(DestinationExistsError, match="metadata database.*--force never removes it"):
                store.snapshots.checkout("folds@v1", dest, force=True)
        assert database.read_bytes() == before
        assert store.snapshots.get("folds@v1").ref == "folds@v1"  # the database still answers
    result = _cli_env({"LINEAGE_HOME": str(tmp_path / "home"), "LINEAGE_DB_URL": f"sqlite:///{database}"},
                      "snapshot", "checkout", "folds@v1", str(database), "--force")
    assert result.exit_code == 2 and "metadata database" in result.stderr, result.output
    assert database.is_file()


def _cli_env(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from lineage.cli import main

    return CliRunner().invoke(main, list(args), env=env)


# -- tables whose column names repeat --------------------------------------------------------------
def test_a_table_whose_column_names_repeat_is_refused_before_anything_is_written(store: Store, data_dir: Path) -> None:
    import pyarrow as pa

    csv = data_dir / "dup.csv"
    csv.write_text("a,a,b\n1,2,3\n")
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2]), pa.array([3])], names=["x", "y", "x"])
    single = data_dir / "dup.parquet"
    pq.write_table(table, single)
    folder = data_dir / "dup_dir"
    folder.mkdir()
    pq.write_table(table, folder / "part-0.parquet")
    for path, repeated in [(csv, "'a'"), (single, "'x'"), (folder, "'x'")]:
        with pytest.raises(InvalidInputError, match=f"repeats the column name\\(s\\) {repeated}: give every column"):
            store.snapshots.add(path, dataset="r")
    assert store.snapshots.list() == []
    assert list(store.objects.iter_keys()) == []


# -- sha256 prefixes in capitals -----------------------------------------------------------------
def test_an_uppercase_sha256_prefix_finds_the_snapshot(store: Store, data_dir: Path) -> None:
    from lineage.graph import trace

    info = store.snapshots.add(write_parquet(data_dir / "a.parquet"), dataset="d", version="1")
    upper = info.sha256[:16].upper()
    assert upper != info.sha256[:16]
    assert store.snapshots.get(upper).ref == "d@1"
    assert trace(store, upper).root_node.ref == "d@1"
    child = store.snapshots.add(write_parquet(data_dir / "b.parquet", seed=3), dataset="c", version="1", parents=[upper])
    assert child.parents == ["d@1"]


# -- names in decomposed Unicode -----------------------------------------------------------------
def test_a_dataset_name_in_decomposed_unicode_is_refused_not_a_second_dataset(store: Store, data_dir: Path) -> None:
    import unicodedata

    from lineage.errors import InvalidNameError

    path = write_parquet(data_dir / "a.parquet")
    store.snapshots.add(path, dataset=unicodedata.normalize("NFC", "données"), version="1")
    with pytest.raises(InvalidNameError, match=r"not in composed Unicode form \(NFC\): use the composed"):
        store.snapshots.add(path, dataset=unicodedata.normalize("NFD", "données"), version="2")
    with pytest.raises(InvalidNameError, match="NFC"):
        store.snapshots.add(path, dataset="d", version=unicodedata.normalize("NFD", "é1"))
    assert store.snapshots.dataset_names() == ["données"]


# -- a re-add never drops the lineage it names -------------------------------------------------------
def test_re_adding_the_same_bytes_with_other_parents_or_note_is_refused_and_changes_nothing(
    store: Store, data_dir: Path,
) -> None:
    raw1 = store.snapshots.add(write_csv(data_dir / "r1.csv", seed=1), dataset="raw", version="1")
    raw2 = store.snapshots.add(write_csv(data_dir / "r2.csv", seed=2), dataset="raw", version="2")
    path = write_parquet(data_dir / "c.parquet")
    store.snapshots.add(path, dataset="clean", version="1", parents=[raw1.ref], transform="etl:clean", note="v1 run")
    events = len(store.audit.log())
    for changed in [{"parents": [raw2.ref]}, {"parents": [raw1.ref, raw2.ref]},
                    {"parents": [raw1.ref], "transform": "etl:other"}, {"note": "another run"}]:
        with pytest.raises(ImmutableVersionError, match=r"clean@1 is already registered with (other parents \(raw@1\)|"
                                                        r"another transform \(etl:clean\)|another note \('v1 run'\)): nothing changed; "
                                                        "register the new lineage under a new version"):
            store.snapshots.add(path, dataset="clean", version="1", **changed)  # type: ignore[arg-type]
    for same in [{}, {"parents": [raw1.ref]}, {"parents": ["raw@1", raw1.sha256[:12]], "transform": "etl:clean"},
                 {"note": "v1 run"}]:  # a pipeline re-run: nothing new named
        assert store.snapshots.add(path, dataset="clean", version="1", **same).created is False  # type: ignore[arg-type]
    assert len(store.audit.log()) == events
    assert store.snapshots.get("clean@1").parents == ["raw@1"]


def test_the_cli_re_add_with_another_note_is_refused_even_from_the_hash_cache(sqlite_store: Store, data_dir: Path) -> None:
    path = write_parquet(data_dir / "a.parquet")
    assert _cli(sqlite_store, "snapshot", "add", str(path), "--dataset", "d", "--version", "1", "--note", "first").exit_code == 0
    import os

    os.utime(path, (1_600_000_000, 1_600_000_000))  # old enough for the hash cache: the quick read answers re-adds
    sqlite_store.snapshots.add(path, dataset="d", version="1")
    again = _cli(sqlite_store, "snapshot", "add", str(path), "--dataset", "d", "--version", "1")
    assert again.exit_code == 0 and "already registered as d@1" in again.output
    refused = _cli(sqlite_store, "snapshot", "add", str(path), "--dataset", "d", "--version", "1", "--note", "second")
    assert refused.exit_code == 2 and "d@1 is already registered with another note ('first')" in refused.stderr
    assert sqlite_store.snapshots.get("d@1").note == "first"


def test_an_unchanged_nightly_re_add_with_an_automatic_version_and_a_new_note_is_a_no_op(
        sqlite_store: Store, data_dir: Path) -> None:
    """Without --version a note is commentary on the run, not a claim: unchanged bytes stay one snapshot."""
    import os

    path = write_parquet(data_dir / "nightly.parquet")
    first = _cli(sqlite_store, "snapshot", "add", str(path), "--dataset", "n", "--note", "run 1")
    assert first.exit_code == 0, first.stderr
    os.utime(path, (1_600_000_000, 1_600_000_000))  # the quick read path (hash cache) answers the re-add too
    sqlite_store.snapshots.add(path, dataset="n")
    for note in ("run 2", "run 3"):
        again = _cli(sqlite_store, "snapshot", "add", str(path), "--dataset", "n", "--note", note)
        assert again.exit_code == 0 and "already registered as n@" in again.output, again.stderr
    [only] = sqlite_store.snapshots.list(dataset="n")
    assert only.note == "run 1"
