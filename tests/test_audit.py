"""The audit chain: every write is linked, and any edit made behind the library's back is named."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from lineage.audit import GENESIS_HASH, _spliced_hash, canonical_json, event_hash
from lineage.store import Store
from tests.factories import write_csv


@pytest.fixture
def busy_store(store: Store, data_dir: Path) -> Store:
    for i in range(4):
        store.snapshots.add(write_csv(data_dir / f"{i}.csv", seed=i), dataset=f"d{i}", version="1")
    return store  # 1 init + 4 × (dataset.create + snapshot.add) = 9 events


def _sql(store: Store, statement: str) -> None:
    with store.db.engine.begin() as connection:
        connection.execute(text(statement))


def test_chain_starts_at_genesis_and_links_every_event(busy_store: Store) -> None:
    events = busy_store.audit.log()
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.seq for e in events] == list(range(1, 10))
    check = busy_store.audit.verify_chain()
    assert check.ok and check.events == 9 and check.head_hash == events[-1].hash


def test_edited_payload_is_named(busy_store: Store) -> None:
    _sql(busy_store, "UPDATE audit_event SET payload = '{\"sha256\":\"forged\"}' WHERE seq = 5")
    check = busy_store.audit.verify_chain()
    assert not check.ok and check.first_broken_seq == 5 and "altered" in (check.problem or "")


def test_edited_actor_is_named(busy_store: Store) -> None:
    _sql(busy_store, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 3")
    assert busy_store.audit.verify_chain().first_broken_seq == 3


def test_deleted_event_is_named(busy_store: Store) -> None:
    _sql(busy_store, "DELETE FROM audit_event WHERE seq = 4")
    check = busy_store.audit.verify_chain()
    assert not check.ok and check.first_broken_seq == 5


def test_deleted_tail_is_caught_by_the_head(busy_store: Store) -> None:
    _sql(busy_store, "DELETE FROM audit_event WHERE seq = 9")
    check = busy_store.audit.verify_chain()
    assert not check.ok and "deleted from the end" in (check.problem or "")


def test_event_inserted_beyond_the_head_is_named(busy_store: Store) -> None:
    """The chain is checked up to the head read first; a row past every head ever written is still caught."""
    _sql(busy_store, f"INSERT INTO audit_event (seq, at, actor, action, subject, payload, prev_hash, hash) "
                     f"VALUES (10, '2026-01-01 00:00:00', 'x', 'snapshot.add', 'x@1', '{{}}', '{'1' * 64}', '{'2' * 64}')")
    check = busy_store.audit.verify_chain()
    assert not check.ok and check.first_broken_seq == 10 and "beyond the head" in (check.problem or "")


def test_verify_during_concurrent_writes_never_reports_a_broken_chain(busy_store: Store, data_dir: Path) -> None:
    """On PostgreSQL a write committed between reading the events and the head looked like a deleted tail."""
    import threading

    stop = threading.Event()
    failures: list[str] = []

    def write() -> None:
        index = 0
        while not stop.is_set():
            index += 1
            busy_store.snapshots.add(write_csv(data_dir / f"w{index}.csv", rows=5, seed=100 + index),
                                     dataset="w", version=str(index))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(60):
            check = busy_store.audit.verify_chain()
            if not check.ok:
                failures.append(check.problem or "")
    finally:
        stop.set()
        writer.join(timeout=60)
    assert failures == []
    assert busy_store.audit.verify_chain().ok


def test_swapped_events_are_named(busy_store: Store) -> None:
    _sql(busy_store, "UPDATE audit_event SET seq = 100 WHERE seq = 6")
    _sql(busy_store, "UPDATE audit_event SET seq = 6 WHERE seq = 7")
    _sql(busy_store, "UPDATE audit_event SET seq = 7 WHERE seq = 100")
    check = busy_store.audit.verify_chain()
    assert not check.ok and check.first_broken_seq == 6


def test_inserted_event_is_named(busy_store: Store) -> None:
    last = busy_store.audit.log()[-1]
    _sql(busy_store, "UPDATE audit_event SET seq = seq + 1 WHERE seq >= 9")
    _sql(busy_store, f"INSERT INTO audit_event (seq, at, actor, action, subject, payload, prev_hash, hash) "
                     f"VALUES (9, '2026-01-01 00:00:00', 'x', 'snapshot.add', 'x@1', '{{}}', '{'1' * 64}', '{'2' * 64}')")
    check = busy_store.audit.verify_chain()
    assert not check.ok and check.first_broken_seq == 9
    assert last.seq == 9


def test_canonical_json_is_key_order_independent() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1}) == '{"a":[1,"é"],"b":1}'


def test_audit_log_filters_by_actor_action_and_subject(busy_store: Store) -> None:
    assert [e.subject for e in busy_store.audit.log(action="snapshot.add")] == ["d0@1", "d1@1", "d2@1", "d3@1"]
    assert busy_store.audit.log(subject="d2@1")[0].payload["rows"] == 200
    assert busy_store.audit.log(actor="nobody") == []
    assert len(busy_store.audit.log(limit=2, newest_first=True)) == 2


# -- `lineage audit verify`: the chain and the bytes, from the command line ----------------------
def _cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from click.testing import CliRunner

    from lineage.cli import main
    from tests.factories import write_parquet

    home = tmp_path / "clihome"
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    for index in range(3):
        path = write_parquet(tmp_path / f"d{index}.parquet", rows=50, seed=index)
        assert runner.invoke(main, ["snapshot", "add", str(path), "--dataset", "d", "--version", f"v{index}"]).exit_code == 0
    return home


def test_cli_audit_verify_passes_records_itself_and_prints_the_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from lineage.cli import main
    from lineage.integrity import last_verification

    _cli_home(tmp_path, monkeypatch)
    result = CliRunner().invoke(main, ["audit", "verify", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and len(report["head_hash"]) == 64 and report["blob_count"] == 3
    with Store.open() as opened:
        last = last_verification(opened)
        assert last is not None and last["ok"] is True and last["blob_count"] == 3
        assert opened.audit.verify_chain().ok  # the recorded check extends the chain correctly


def test_cli_audit_verify_names_an_event_edited_through_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from click.testing import CliRunner

    from lineage.cli import main

    home = _cli_home(tmp_path, monkeypatch)
    with sqlite3.connect(home / "lineage.db") as connection:
        connection.execute("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3")
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at event 3" in result.output


def test_cli_audit_verify_rehashes_blobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from lineage.cli import main

    home = _cli_home(tmp_path, monkeypatch)
    with Store.open() as opened:
        blob = Path(opened.objects.key_path(opened.snapshots.get("d@v1").sha256))
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[10] ^= 1
    blob.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1 and "audit chain intact" in result.output
    assert "snapshot d@v1" in result.output
    assert CliRunner().invoke(main, ["audit", "verify", "--chain-only"]).exit_code == 0
    assert home.exists()


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(1, 10**9), at=st.datetimes(min_value=datetime(1970, 1, 1)), actor=st.text(), action=st.text(),
    subject=st.text(), prev=st.text("0123456789abcdef", min_size=64, max_size=64),
    payload=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                         | st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=8),
)
def test_fast_chain_hash_equals_event_hash(seq: int, at: datetime, actor: str, action: str, subject: str,
                                           prev: str, payload: object) -> None:
    event = SimpleNamespace(seq=seq, at=at, actor=actor, action=action, subject=subject,
                            payload=canonical_json(payload), prev_hash=prev)
    assert _spliced_hash(event) == event_hash(prev_hash=prev, seq=seq, at=at, actor=actor, action=action,
                                              subject=subject, payload=event.payload)


def test_a_store_home_longer_than_the_subject_column_is_shortened_in_the_middle(
        backend_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL refused the store.init event of a deep home (VARCHAR(512)) and left a store without one."""
    from lineage.audit import SUBJECT_MAX

    home = tmp_path.joinpath(*["h" * 200] * 3, "home")
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    if "LINEAGE_DB_URL" not in backend_env:  # SQLite opens no path this long: the database lives elsewhere
        monkeypatch.setenv("LINEAGE_DB_URL", f"sqlite:///{tmp_path / 'lineage.db'}")
    with Store.init() as opened:
        (event,) = opened.audit.log()
        assert event.action == "store.init" and len(event.subject) == SUBJECT_MAX
        assert event.subject.startswith(str(tmp_path)[:100]) and event.subject.endswith("hhh/home")
        assert opened.audit.verify_chain().ok
