"""``store.audit``: read the audit log and verify its hash chain."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from lineage.audit import ChainCheck, verify_chain
from lineage.db import driver_rows
from lineage.entities import AuditEntry
from lineage.stored_text import is_storable
from lineage.tables import AuditEvent, AuditHead

CHAIN_BATCH = 10_000

if TYPE_CHECKING:
    from lineage.store import Store


class AuditService:
    """Events are written by the services in their own transactions; this only reads."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def log(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        subject: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[AuditEntry]:
        """Events matching every given filter, in chain order (or newest first).

        A filter no event could match (a NUL, bytes that are not UTF-8) finds nothing,
        without asking the database (PostgreSQL would refuse the query).
        """
        if not all(is_storable(value) for value in (actor, action, subject) if value is not None):
            return []
        query = select(AuditEvent)
        if since is not None:
            query = query.where(AuditEvent.at >= _naive(since))
        if until is not None:
            query = query.where(AuditEvent.at <= _naive(until))
        if actor is not None:
            query = query.where(AuditEvent.actor == actor)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        if subject is not None:
            query = query.where(AuditEvent.subject == subject)
        query = query.order_by(col(AuditEvent.seq).desc() if newest_first else col(AuditEvent.seq))
        if limit is not None:
            query = query.limit(limit)
        with self._store.db.session() as session:
            return [
                AuditEntry(seq=e.seq, at=e.at.replace(tzinfo=UTC), actor=e.actor, action=e.action,
                           subject=e.subject, payload=json.loads(e.payload), prev_hash=e.prev_hash, hash=e.hash)
                for e in session.exec(query)
            ]

    def seq_span(self, *, since: datetime | None = None) -> tuple[int, int]:
        """The first and last seq of the events at or after ``since`` (all events without it); (0, -1) if none."""
        table = AuditEvent.__table__
        query = sa_select(func.min(table.c.seq), func.max(table.c.seq))
        if since is not None:
            query = query.where(table.c.at >= _naive(since))
        with self._store.db.session() as session:
            first, last = session.connection().execute(query).one()
        return (0, -1) if first is None else (int(first), int(last))

    def pages(
        self, *, since: datetime | None = None, actions: Sequence[str] | None = None, size: int = CHAIN_BATCH,
        first: int = 1, last: int | None = None,
    ) -> Iterator[list[AuditEntry]]:
        """Events in chain order (only ``actions``; seq from ``first`` to ``last``), pages of up to ``size``.

        Keyset pages (``seq > last``, the primary key): each page is one short query in its
        own read transaction, so memory stays flat and no transaction is held while the
        caller works on a page. The action filter is applied to the rows, not in SQL, where
        it would make the database walk the action index and sort every page again.
        """
        table = AuditEvent.__table__
        query = sa_select(table.c.seq, table.c.at, table.c.actor, table.c.action, table.c.subject,
                          table.c.payload, table.c.prev_hash, table.c.hash).order_by(table.c.seq).limit(size)
        if since is not None:
            query = query.where(table.c.at >= _naive(since))
        if last is not None:
            query = query.where(table.c.seq <= last)
        wanted = None if actions is None else frozenset(actions)  # filtered here: the primary key walk stays
        done = first - 1
        while True:
            with self._store.db.session() as session:
                # the driver's tuples: SQLAlchemy's per-row processing would cost more than the rest
                rows = driver_rows(session.connection().execute(query.where(table.c.seq > done)))
            if not rows:
                return
            page = [AuditEntry(seq=seq, at=_utc(at), actor=actor, action=action, subject=subject,
                               payload=_payload(payload), prev_hash=prev_hash, hash=digest)
                    for seq, at, actor, action, subject, payload, prev_hash, digest in rows
                    if wanted is None or action in wanted]
            if page:
                yield page
            done = rows[-1][0]

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest event: one primary-key read.

        Every write appends an event in its own transaction, so the head changes exactly
        when the store's content does: the dashboard keys its caches on it.
        """
        with self._store.db.session() as session:
            head = session.get(AuditHead, 1)
            return (head.seq, head.hash) if head is not None else (0, "")

    def verify_chain(self) -> ChainCheck:
        """Recompute every event's hash and link; name the first broken one.

        Events stream as plain rows in batches (not ORM objects, which cost more than the
        hashing), so memory stays flat however long the chain is. The head is read first and
        the events up to it after: on PostgreSQL (read committed) each statement sees the
        commits made before it, so reading the events first let a write in between make the
        head look newer than the chain ("events were deleted"). Events beyond the head are
        checked last (``_beyond_head``).
        """
        table = AuditEvent.__table__
        with self._store.db.session() as session:
            head = session.get(AuditHead, 1)
            upto = head.seq if head is not None else 0
            events = session.connection().execution_options(yield_per=CHAIN_BATCH).execute(
                sa_select(table).where(table.c.seq <= upto).order_by(table.c.seq))
            check = verify_chain(events, head)
            return self._beyond_head(session, check, upto) if check.ok else check

    @staticmethod
    def _beyond_head(session: Any, check: ChainCheck, upto: int) -> ChainCheck:
        """The check, or a broken one when an event lies beyond every head written so far.

        Every write moves the head in the transaction that adds its event, so an event
        past the head is either a write committed while verifying (the head has moved
        past it too) or a row inserted by hand. The newest seq is read before the head
        again: read in that order, a concurrent commit can only make the head larger.
        """
        table = AuditEvent.__table__
        newest = session.connection().execute(sa_select(func.max(table.c.seq))).scalar() or 0
        if newest <= upto:
            return check
        head_now = session.connection().execute(sa_select(AuditHead.__table__.c.seq)).scalar() or 0
        if head_now >= newest:
            return check
        return ChainCheck(ok=False, events=check.events, head_hash=check.head_hash, first_broken_seq=head_now + 1,
                          problem=f"event {newest} lies beyond the head (event {head_now}): events were inserted "
                                  "at the end without moving the head")


def _utc(value: datetime | str) -> datetime:
    """A stored time as aware UTC: PostgreSQL's driver gives a naive datetime, SQLite's the stored text."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _payload(text: str) -> Any:
    """A stored payload, parsed by orjson (a quarter of the standard parser's time on a long log).

    Payloads are written by the standard encoder, which also writes NaN and integers beyond
    64 bits; orjson refuses those, and the standard parser then reads them as before.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
