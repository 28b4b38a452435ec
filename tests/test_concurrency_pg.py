"""Eight writers on one team store (PostgreSQL + S3): nothing lost, and the audit chain stays one line.

Every write transaction takes the ``audit_head`` row lock before its first statement
(lineage/db.py), so appends are serialised and each event links to the one before it.
Here 8 processes, each with its own Store on the same schema and bucket, register 50
snapshots each at the same time, including the same bytes from every process (so the
same blob is published concurrently), and the chain is then checked link by link.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlmodel import col, select

from lineage.store import Store
from lineage.tables import AuditEvent, AuditHead
from tests._team_writer import register_many
from tests.factories import write_csv
from tests.s3server import S3Bucket

WRITERS = 8
PER_WRITER = 50
pytestmark = pytest.mark.slow


def test_eight_processes_register_400_snapshots_and_the_audit_chain_stays_linear(
    pg_url: str, s3_env: S3Bucket, tmp_path: Path,
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    write_csv(folder / "common.csv", rows=20, seed=1)
    for worker in range(WRITERS):
        for i in range(PER_WRITER - 1):
            write_csv(folder / f"w{worker}_{i}.csv", rows=20, seed=1000 + worker * 100 + i)
    home = tmp_path / "home"
    Store.init(home, db_url=pg_url, store_url=s3_env.url()).close()

    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(WRITERS, timeout=240)  # all connected, then all register at once
    writers = [spawn.Process(target=register_many,
                             args=(w, PER_WRITER, str(folder), str(home), pg_url, s3_env.url(), start))
               for w in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(300)
    assert [p.exitcode for p in writers] == [0] * WRITERS  # a failed writer printed its traceback above

    with Store.open(home, db_url=pg_url, store_url=s3_env.url()) as store:
        snapshots = store.snapshots.list()
        assert len(snapshots) == WRITERS * PER_WRITER
        shared = [s for s in snapshots if s.dataset == "shared"]
        assert len({s.version for s in shared}) == len(shared) == WRITERS * (PER_WRITER - 1)  # no version collided
        common = [s for s in snapshots if s.dataset == "common"]
        assert sorted(s.version for s in common) == [f"w{w}" for w in range(WRITERS)]
        assert len({s.sha256 for s in common}) == 1  # one blob, published by eight writers at once
        assert {s.sha256 for s in snapshots} <= set(store.objects.iter_keys())
        assert store.objects.fs.find(f"{store.objects.root}/tmp") == []

        with store.db.session() as session:
            events = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))
            head = session.get(AuditHead, 1)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:], strict=False))
        assert head is not None and (head.seq, head.hash) == (events[-1].seq, events[-1].hash)
        adds = [e for e in events if e.action == "snapshot.add"]
        assert len(adds) == WRITERS * PER_WRITER
        assert {e.actor for e in adds} == {f"writer{w}" for w in range(WRITERS)}
        assert store.audit.verify_chain().ok
