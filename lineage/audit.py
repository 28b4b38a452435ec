"""The append-only, hash-chained audit log (invariant 4).

``hash = sha256(prev_hash || canonical_json(event))``, where the event is its seq,
UTC time, actor, action, subject and payload. Appending happens inside the caller's
write transaction, which already holds the head lock, so the chain never forks and
no row exists without the event that records it (invariant 3).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from lineage.audit_hash import GENESIS_HASH, canonical_json, event_hash, format_time  # noqa: F401 - re-exported
from lineage.stored_text import ACTOR_LIMIT, SUBJECT_LIMIT, check_text
from lineage.tables import AuditEvent, AuditHead, utcnow


def append_event(
    session: Session, *, actor: str, action: str, subject: str, payload: dict[str, Any]
) -> AuditEvent:
    """Append one event to the chain inside the caller's (write) transaction.

    A subject longer than its column (a store home or a DVC repository deep in the file
    system) is shortened in the middle: PostgreSQL would refuse it, SQLite would keep it,
    and the subject is a label: what it names in full belongs in the payload.
    """
    # The last line of defence (callers check their inputs before any work): a refusal
    # here rolls the caller's transaction back, so nothing is written on either backend.
    check_text(actor, what="actor (LINEAGE_USER)", limit=ACTOR_LIMIT)
    subject = fitted_subject(check_text(subject, what=f"the subject of {action}"))
    head = session.get(AuditHead, 1)
    if head is None:  # a store created before the head row existed cannot happen; be explicit
        raise RuntimeError("audit_head row is missing: the store was not initialised by `lineage init`")
    at = utcnow()
    payload_text = check_text(canonical_json(payload), what=f"the details of {action}")
    seq = head.seq + 1
    digest = event_hash(
        prev_hash=head.hash, seq=seq, at=at, actor=actor, action=action, subject=subject, payload=payload_text
    )
    event = AuditEvent(
        seq=seq, at=at, actor=actor, action=action, subject=subject,
        payload=payload_text, prev_hash=head.hash, hash=digest,
    )
    session.add(event)
    head.seq = seq
    head.hash = digest
    session.add(head)
    session.flush()
    return event


SUBJECT_MAX = SUBJECT_LIMIT  # audit_event.subject, one definition in lineage.stored_text


def fitted_subject(subject: str) -> str:
    """``subject`` within ``SUBJECT_MAX`` characters, its start and end kept around an ellipsis."""
    if len(subject) <= SUBJECT_MAX:
        return subject
    keep = SUBJECT_MAX - 1
    return f"{subject[:keep // 2]}…{subject[-(keep - keep // 2):]}"


@dataclass(frozen=True)
class ChainCheck:
    """Result of recomputing the chain: ok, the head, and the first broken link if any."""

    ok: bool
    events: int
    head_hash: str
    first_broken_seq: int | None = None
    problem: str | None = None


_json_string = json.encoder.encode_basestring  # what canonical_json writes for a str (ensure_ascii=False)


def _spliced_hash(event: Any) -> str:
    """``event_hash`` without parsing and re-serialising the payload.

    The stored payload is already canonical JSON (``append_event`` writes it so), so the
    canonical body can be assembled around it: keys in sorted order, strings encoded the
    way ``canonical_json`` encodes them (a 200k-event chain verifies in a few seconds).
    ``verify_chain`` falls back to ``event_hash`` when the two differ, so every event that
    ``event_hash`` accepts is still accepted; a match here means the stored hash covers
    exactly the stored fields.
    """
    body = (f'{{"action":{_json_string(event.action)},"actor":{_json_string(event.actor)},'
            f'"at":"{event.at.isoformat(timespec="microseconds")}Z","payload":{event.payload},"seq":{int(event.seq)},'
            f'"subject":{_json_string(event.subject)}}}')
    return hashlib.sha256((event.prev_hash + body).encode("utf-8")).hexdigest()


def verify_chain(events: Iterable[Any], head: AuditHead | None = None) -> ChainCheck:
    """Recompute every hash in seq order and name the first event that does not fit.

    Catches an edited field (hash mismatch), a deleted or inserted row (seq gap or
    prev_hash mismatch), swapped rows, and a truncated tail (head disagrees). ``events``
    are AuditEvent rows or any objects with the same attributes (plain result rows).
    """
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    for event in events:
        count += 1
        if event.seq != expected_seq:
            return ChainCheck(False, count, prev_hash, event.seq,
                              f"event {event.seq} follows event {expected_seq - 1}: an event is missing or was inserted")
        if event.prev_hash != prev_hash:
            return ChainCheck(False, count, prev_hash, event.seq,
                              f"event {event.seq} does not link to the event before it: events were removed, inserted or reordered")
        if _spliced_hash(event) != event.hash and event_hash(
            prev_hash=event.prev_hash, seq=event.seq, at=event.at, actor=event.actor,
            action=event.action, subject=event.subject, payload=event.payload,
        ) != event.hash:
            return ChainCheck(False, count, prev_hash, event.seq,
                              f"event {event.seq} ({event.action} {event.subject}) was altered: its content no longer matches its hash")
        prev_hash = event.hash
        expected_seq += 1
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        return ChainCheck(False, count, prev_hash, expected_seq,
                          f"the chain ends at event {expected_seq - 1} but the head records event {head.seq}: events were deleted from the end")
    return ChainCheck(True, count, prev_hash)


def load_chain(session: Session) -> tuple[list[AuditEvent], AuditHead | None]:
    """Every event in seq order and the head row."""
    events = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)))
    return events, session.get(AuditHead, 1)
