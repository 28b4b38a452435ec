"""`lineage gc` removes only unreferenced blobs, keeps young ones, and is audited (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.errors import InvalidInputError
from lineage.gc import DEFAULT_GRACE_SECONDS, collect
from lineage.store import Store
from tests.blobs import backdate
from tests.factories import write_csv, write_parquet


def _orphan_and_young(store: Store, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Two unreferenced blobs: one older than gc's grace period, one within it.

    A local blob is backdated (its mtime). A bucket stamps LastModified itself, to the
    second: the young blob is written a second later, and gc's clock is set between the
    two ages so that exactly one is past the grace period.
    """
    orphan = store.objects.put_bytes(b"left behind by a crash").sha256
    if store.objects.is_local:
        young = store.objects.put_bytes(b"a registration in flight").sha256
        backdate(store, orphan, 7200)
        return orphan, young
    born = store.objects.modified_at(orphan)
    while time.time() < born + 1.01:
        time.sleep(0.05)
    young = store.objects.put_bytes(b"a registration in flight").sha256
    young_born = store.objects.modified_at(young)
    assert young_born > born
    now = young_born + DEFAULT_GRACE_SECONDS - (young_born - born) / 2
    monkeypatch.setattr("lineage.gc.time", SimpleNamespace(time=lambda: now))
    return orphan, young


def test_gc_removes_orphans_only_and_keeps_everything_reachable(store: Store, data_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = data_dir / "parts"
    folder.mkdir()
    write_parquet(folder / "a.parquet", seed=1)
    write_parquet(folder / "b.parquet", seed=2)
    store.snapshots.add(folder, dataset="dir", version="1")
    store.snapshots.add(write_csv(data_dir / "c.csv"), dataset="csv", version="1")
    artifact = data_dir / "model.bin"
    artifact.write_bytes(b"model bytes")
    store.models.register("m@1.0.0", artifact=artifact, inputs=["csv@1"])
    orphan, young = _orphan_and_young(store, monkeypatch)

    dry = collect(store)
    assert dry.unreferenced == [orphan] and dry.kept_young == [young] and store.objects.exists(orphan)
    done = collect(store, remove=True)
    assert done.unreferenced == [orphan]
    assert not store.objects.exists(orphan) and store.objects.exists(young)
    assert all(r.ok for r in store.snapshots.verify())
    assert store.objects.verify(store.models.get("m@1.0.0").artifact["sha256"]) is None
    assert store.audit.log(action="store.gc")[0].payload["removed"] == [orphan]
    assert store.audit.verify_chain().ok


def test_gc_cli_dry_run_by_default(sqlite_store: Store) -> None:
    orphan = sqlite_store.objects.put_bytes(b"orphan").sha256
    backdate(sqlite_store, orphan, 7200)
    result = CliRunner().invoke(main, ["gc"])
    assert result.exit_code == 0 and "would remove (pass --yes) 1" in result.output
    assert sqlite_store.objects.exists(orphan)
    assert CliRunner().invoke(main, ["gc", "--yes"]).exit_code == 0
    assert not sqlite_store.objects.exists(orphan)


def test_gc_cli_lists_the_temporaries_and_says_what_it_leaves_alone(sqlite_store: Store) -> None:
    """The dry run shows what --yes would delete, and that foreign objects below the root are left alone."""
    root = Path(sqlite_store.objects.root)
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    leftover = root / "tmp" / "0123abcd.part"
    leftover.write_bytes(b"half an upload")
    (root / "other-store" / "ab").mkdir(parents=True)
    (root / "other-store" / "ab" / ("c" * 62)).write_bytes(b"not ours")
    result = CliRunner().invoke(main, ["gc", "--grace", "0"])
    assert result.exit_code == 0, result.output
    assert f"  {leftover}\n" in result.output
    assert "left alone 1 object(s) below the store root that are not its blobs" in result.output
    assert leftover.exists()


def test_gc_refused_when_read_only(sqlite_store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    result = CliRunner().invoke(main, ["gc", "--yes"])
    assert result.exit_code == 2 and "read-only" in result.stderr


def test_gc_removes_temporary_objects_left_by_interrupted_writes(store: Store, data_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed upload leaves ``tmp/…part`` (in the bucket or on disk): collected once past the grace period."""
    store.snapshots.add(write_csv(data_dir / "c.csv"), dataset="csv", version="1")
    leftover = f"{store.objects.root}/tmp/0123abcd.part"
    store.objects.fs.pipe_file(leftover, b"half an upload")
    assert collect(store, remove=True).stale_temporaries == []  # young: its upload may still be running
    assert store.objects.fs.exists(leftover)
    later = time.time() + DEFAULT_GRACE_SECONDS + 60
    monkeypatch.setattr("lineage.gc.time", SimpleNamespace(time=lambda: later))
    dry = collect(store)
    assert dry.stale_temporaries == [leftover] and dry.unreferenced == [] and store.objects.fs.exists(leftover)
    collect(store, remove=True)
    assert not store.objects.fs.exists(leftover)
    assert all(r.ok for r in store.snapshots.verify())
    assert store.audit.log(action="store.gc", newest_first=True)[0].payload["stale_temporaries"] == 1
    assert store.audit.verify_chain().ok


@pytest.mark.parametrize("grace", ["-1", "nan", "inf", "-inf"])
def test_gc_grace_must_be_a_finite_number_of_seconds(sqlite_store: Store, grace: str) -> None:
    """A negative or NaN grace would delete the blob of a registration in flight; an infinite one nothing, ever."""
    in_flight = sqlite_store.objects.put_bytes(b"a registration in flight").sha256
    events = len(sqlite_store.audit.log())
    result = CliRunner().invoke(main, ["gc", "--yes", "--grace", grace])
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr.count("\n") == 1 and "is not a number of seconds >= 0" in result.stderr
    assert sqlite_store.objects.exists(in_flight) and len(sqlite_store.audit.log()) == events
    with pytest.raises(InvalidInputError, match="--grace"):
        collect(sqlite_store, remove=True, grace_seconds=float(grace))
    assert CliRunner().invoke(main, ["gc", "--grace", "0"]).exit_code == 0


def _gc_racing_the_next_publish(store: Store, monkeypatch: pytest.MonkeyPatch, where: str) -> list[list[str]]:
    """Make gc list the store just before the next publish and delete right after it.

    That is the interleaving that lost blobs: gc found an old orphan unreferenced, a
    registration of the same bytes found the blob stored (nothing to upload), and gc
    deleted it before the registration's rows were written.
    """
    import importlib

    from lineage.gc import _blob_sets, _remove, _unreferenced

    module_name, class_name, method = where.rsplit(".", 2)
    owner = getattr(importlib.import_module(module_name), class_name)
    original = getattr(owner, method)
    deleted: list[list[str]] = []

    def racing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        keep, _ = _blob_sets(store)
        old, _ = _unreferenced(store, store.objects.scan()[0], keep, time.time() - 3600)
        result = original(self, *args, **kwargs)
        deleted.append(_remove(store, old, [], [], 3600.0))
        return result

    monkeypatch.setattr(owner, method, racing)
    return deleted


def _old_orphan(store: Store, path: Path) -> str:
    digest = store.objects.put_file(str(path)).sha256
    backdate(store, digest, 7200)
    return digest


def test_a_registration_whose_stored_bytes_gc_removed_meanwhile_writes_nothing(
        sqlite_store: Store, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The row is written only if its bytes are still there, checked under the lock gc deletes under."""
    from lineage.errors import StoreUnavailableError

    path = write_csv(data_dir / "again.csv")
    orphan = _old_orphan(sqlite_store, path)
    deleted = _gc_racing_the_next_publish(sqlite_store, monkeypatch, "lineage.staging.Registration.publish")
    with pytest.raises(StoreUnavailableError, match=f"stored bytes {orphan[:12]} .* removed meanwhile"):
        sqlite_store.snapshots.add(path, dataset="d", version="1")
    assert deleted == [[orphan]]
    assert sqlite_store.snapshots.list() == []
    assert [e.action for e in sqlite_store.audit.log()] == ["store.init", "store.gc"]
    monkeypatch.undo()
    assert sqlite_store.snapshots.add(path, dataset="d", version="1").created  # run again: stored anew
    assert sqlite_store.objects.exists(orphan)


def test_the_quick_path_of_snapshot_add_also_checks_its_bytes_under_the_lock(
        tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    path = write_csv(data_dir / "again.csv")
    with Store.open() as opened:
        orphan = _old_orphan(opened, path)
        deleted = _gc_racing_the_next_publish(opened, monkeypatch, "lineage.staging.Registration.publish")
        result = CliRunner().invoke(main, ["snapshot", "add", str(path), "--dataset", "d", "--version", "1"])
        assert result.exit_code == 2 and "removed meanwhile" in result.stderr and "Traceback" not in result.output
        assert deleted == [[orphan]] and opened.snapshots.list() == []


def test_a_model_whose_stored_artifact_gc_removed_meanwhile_is_not_registered(
        sqlite_store: Store, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage.errors import StoreUnavailableError

    sqlite_store.snapshots.add(write_csv(data_dir / "train.csv"), dataset="train", version="1")
    artifact = data_dir / "model.bin"
    artifact.write_bytes(b"weights left behind by a refused registration")
    orphan = _old_orphan(sqlite_store, artifact)
    deleted = _gc_racing_the_next_publish(sqlite_store, monkeypatch, "lineage.objectstore.StagedBlob.publish")
    with pytest.raises(StoreUnavailableError, match="removed meanwhile"):
        sqlite_store.models.register("m@1.0.0", artifact=artifact, inputs=["train@1"])
    assert deleted == [[orphan]] and sqlite_store.models.list() == []


def test_a_temporary_that_finishes_while_gc_lists_is_skipped(sqlite_store: Store,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """gc listed tmp/ and then stat'ed each file: one a registration had just published crashed it."""
    tmp = Path(sqlite_store.objects.root) / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "gone.part").write_bytes(b"x")
    original = sqlite_store.objects._find

    def listing_then_finish(under: str = "") -> list[str]:
        found = original(under)
        (tmp / "gone.part").unlink(missing_ok=True)
        return found

    monkeypatch.setattr(sqlite_store.objects, "_find", listing_then_finish)
    assert collect(sqlite_store, remove=True, grace_seconds=0).stale_temporaries == []


def test_a_registration_whose_temporary_gc_deleted_is_one_line(sqlite_store: Store, data_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """With --grace 0 gc may delete the temporary copy of a registration in flight: say so, write nothing."""
    from lineage.errors import StoreUnavailableError
    from lineage.objectstore import StagedBlob

    original = StagedBlob.publish

    def collected_first(self: StagedBlob) -> bool:
        collect(sqlite_store, remove=True, grace_seconds=0)
        return original(self)

    monkeypatch.setattr(StagedBlob, "publish", collected_first)
    with pytest.raises(StoreUnavailableError, match="temporary copy .* was deleted before it was stored"):
        sqlite_store.snapshots.add(write_csv(data_dir / "new.csv"), dataset="d", version="1")
    assert sqlite_store.snapshots.list() == []


def _another_writer_can_start(store: Store) -> bool:
    """Whether a second writer could take the write lock right now (it never waits)."""
    import sqlite3

    path = store.db.sqlite_path()
    if path is not None:
        connection = sqlite3.connect(path, timeout=0.05, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        finally:
            connection.close()
        return True
    import psycopg

    with psycopg.connect(store.db.url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        try:
            connection.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE NOWAIT")
        except psycopg.errors.LockNotAvailable:
            return False
        return True


def test_gc_reads_the_references_and_deletes_holding_the_write_lock(store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite the write session began only at its first statement (the audit event, after the deletes)."""
    import lineage.gc

    orphan = store.objects.put_bytes(b"left behind by a crash").sha256
    original = lineage.gc._blob_sets
    free: list[bool] = []

    def probing(opened: Store) -> tuple[set[str], set[str]]:
        free.append(_another_writer_can_start(store))
        return original(opened)

    monkeypatch.setattr(lineage.gc, "_blob_sets", probing)
    assert collect(store, remove=True, grace_seconds=0).unreferenced == [orphan]
    assert free == [True, False]  # listing without the lock, the re-read and the deletes under it
    assert _another_writer_can_start(store)


def test_a_new_version_of_a_folder_asks_the_bucket_only_about_blobs_no_record_keeps(
        pg_url: str, s3_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Under the write lock, one query replaces a HEAD request per reused member (29 of 30 here)."""
    from lineage.objectstore import ObjectStore

    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_DB_URL", pg_url)
    monkeypatch.setenv("LINEAGE_STORE_URL", s3_env.url())
    folder = tmp_path / "parts"
    folder.mkdir()
    for index in range(30):
        write_parquet(folder / f"p{index:02}.parquet", rows=20, seed=index)
    asked: list[list[str]] = []
    original = ObjectStore.require_stored

    def counting(self: ObjectStore, sha256s):  # type: ignore[no-untyped-def]
        asked.append(list(sha256s))
        return original(self, sha256s)

    monkeypatch.setattr(ObjectStore, "require_stored", counting)
    with Store.init() as opened:
        opened.snapshots.add(folder, dataset="parts", version="1")
        write_parquet(folder / "p00.parquet", rows=21, seed=99)
        opened.snapshots.add(folder, dataset="parts", version="2")
        assert asked == [[], []]  # the second found 29 blobs stored, all kept by parts@1
        assert all(r.ok for r in opened.snapshots.verify())
