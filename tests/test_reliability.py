"""Crash and concurrency: a killed registration leaves a consistent store; writers never lose work."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlmodel import select

from lineage.gc import collect
from lineage.objectstore import SMALL_BLOB
from lineage.store import Store
from lineage.tables import AuditEvent, Snapshot
from tests.factories import write_csv, write_parquet
from tests.s3server import S3Bucket

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "lineage.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def assert_consistent(store: Store) -> None:
    """No row without its blob, no row without its audit event, chain intact, verify passes."""
    with store.db.session() as session:
        rows = list(session.exec(select(Snapshot)))
        added = {e.subject for e in session.exec(select(AuditEvent).where(AuditEvent.action == "snapshot.add"))}
    for row in rows:
        assert store.objects.exists(row.sha256), f"row {row.version} points at a missing blob"
    assert {s.ref for s in store.snapshots.list()} == added
    assert store.audit.verify_chain().ok
    assert all(result.ok for result in store.snapshots.verify())


def _kill_registrations(env: dict[str, str], data: Path, trials: int) -> None:
    """Register ``data`` ``trials`` times, killing each first attempt at a random moment.

    The store the environment names is checked after every kill, and the rerun must succeed.
    """
    started = time.monotonic()
    assert _cli(env, "snapshot", "add", str(data), "--dataset", "warmup", "--version", "0").wait() == 0
    full = time.monotonic() - started
    rng = random.Random(2010)
    for trial in range(trials):
        args = ["snapshot", "add", str(data), "--dataset", f"d{trial % 4}", "--version", str(trial)]
        process = _cli(env, *args)
        time.sleep(rng.uniform(0.3 * full, 1.05 * full))
        process.send_signal(signal.SIGKILL)
        process.wait()
        with Store.open() as store:
            assert_consistent(store)
        rerun = _cli(env, *args)
        assert rerun.wait() == 0, rerun.stderr.read().decode() if rerun.stderr else ""
    with Store.open() as store:
        assert_consistent(store)
        assert len(store.snapshots.list()) == trials + 1


def test_snapshot_add_killed_at_random_moments_leaves_a_consistent_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    Store.init().close()
    data = write_parquet(tmp_path / "big.parquet", rows=150_000)  # a few MB: hashing takes a while
    _kill_registrations(dict(os.environ, LINEAGE_USER="killer"), data, trials=20)


def test_snapshot_add_killed_while_uploading_to_a_bucket_leaves_a_consistent_team_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str, s3_env: S3Bucket,
) -> None:
    """PostgreSQL + S3: a kill mid-upload, mid-copy or before the row leaves no row without its blob."""
    for key, value in {"LINEAGE_HOME": str(tmp_path / "home"), "LINEAGE_DB_URL": pg_url,
                       "LINEAGE_STORE_URL": s3_env.url()}.items():
        monkeypatch.setenv(key, value)
    Store.init().close()
    data = write_parquet(tmp_path / "big.parquet", rows=250_000)  # over SMALL_BLOB: via a temporary key
    assert data.stat().st_size > SMALL_BLOB
    _kill_registrations(dict(os.environ, LINEAGE_USER="killer"), data, trials=4)
    with Store.open() as store:  # what the kills left behind is collectable, and collecting it breaks nothing
        collect(store, remove=True, grace_seconds=0)
        assert store.objects.fs.find(f"{store.objects.root}/tmp") == []
        assert set(store.objects.iter_keys()) == {s.sha256 for s in store.snapshots.list()}
        assert_consistent(store)


WORKER = textwrap.dedent("""
    import sys
    from lineage.store import Store
    worker, folder = int(sys.argv[1]), sys.argv[2]
    with Store.open() as store:
        for i in range(25):
            store.snapshots.add(f"{folder}/w{worker}_{i}.csv", dataset="shared")
""")


def _register_concurrently(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for worker in range(4):
        for i in range(25):
            write_csv(folder / f"w{worker}_{i}.csv", rows=20, seed=worker * 100 + i)
    processes = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(worker), str(folder)], env=env, cwd=ROOT,
                         stderr=subprocess.PIPE)
        for worker in range(4)
    ]
    failures = [p.stderr.read().decode() for p in processes if p.wait() != 0 and p.stderr]
    assert failures == []


def _assert_hundred(store: Store) -> None:
    snapshots = store.snapshots.list()
    assert len(snapshots) == 100
    assert len({s.version for s in snapshots}) == 100  # automatic versions never collided
    assert len(store.audit.log(action="snapshot.add")) == 100
    check = store.audit.verify_chain()
    assert check.ok and check.events == 102  # init + dataset.create + 100 adds


def test_four_processes_register_into_one_sqlite_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = dict(os.environ, LINEAGE_HOME=str(home))
    Store.init(home).close()
    _register_concurrently(tmp_path, env)
    with Store.open(home) as store:
        _assert_hundred(store)


def test_four_processes_register_into_one_postgresql_store(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "home"
    env = dict(os.environ, LINEAGE_HOME=str(home), LINEAGE_DB_URL=pg_url)
    Store.init(home, db_url=pg_url).close()
    _register_concurrently(tmp_path, env)
    with Store.open(home, db_url=pg_url) as store:
        _assert_hundred(store)


def test_verify_exits_1_on_a_flipped_byte_or_deleted_blob(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = dict(os.environ, LINEAGE_HOME=str(home))
    with Store.init(home) as store:
        a = store.snapshots.add(write_csv(tmp_path / "a.csv", seed=1), dataset="a", version="1")
        b = store.snapshots.add(write_csv(tmp_path / "b.csv", seed=2), dataset="b", version="1")
        blob_a, blob_b = Path(store.objects.key_path(a.sha256)), Path(store.objects.key_path(b.sha256))

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lineage.cli", "snapshot", "verify", "--all"],
                              env=env, cwd=ROOT, capture_output=True, text=True)

    assert verify().returncode == 0
    data = bytearray(blob_a.read_bytes())
    data[5] ^= 0x01
    blob_a.write_bytes(bytes(data))
    flipped = verify()
    assert flipped.returncode == 1 and "corrupt" in flipped.stdout and "a@1" in flipped.stdout
    blob_a.write_bytes(bytes(data[:5]) + bytes([data[5] ^ 0x01]) + bytes(data[6:]))
    blob_b.unlink()
    deleted = verify()
    assert deleted.returncode == 1 and "missing" in deleted.stdout and "b@1" in deleted.stdout
