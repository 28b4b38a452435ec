"""The audit chain: every write is linked, and any edit made behind the library's back is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from lineage.audit import GENESIS_HASH, canonical_json
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
