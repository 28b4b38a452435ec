"""Snapshot lookups for tables and pickers: filter to refs in one light query, fetch rows in batches.

A store holds tens of thousands of snapshots; a page shows 25 of them and a picker needs
only their refs. ``search`` answers with refs alone (no schema, parents or files) and
``get_many`` builds full entities for just the refs asked for, a constant number of
queries per batch instead of one ``get`` per ref.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, tuple_
from sqlmodel import col, select

from lineage.byte_order import byte_order
from lineage.errors import InvalidInputError, NotFoundError
from lineage.naming import parse_ref
from lineage.stored_text import is_storable
from lineage.tables import Dataset, Snapshot

if TYPE_CHECKING:
    from lineage.entities import SnapshotInfo
    from lineage.store import Store

BATCH = 500
"""Refs per IN list: well under every backend's limit on bound parameters."""


def search(store: Store, *, text: str = "", stages: Sequence[str] = (), datasets: Sequence[str] = ()) -> list[str]:
    """Refs of the snapshots matching every filter, in ``store.snapshots.list()`` order.

    ``text`` matches case-insensitively anywhere in the ref or the note, or as a sha256
    prefix, as the dashboard's search box promises. SQLite's ``lower`` folds ASCII letters
    only, so there other letters match case-sensitively. Text no snapshot could hold (a NUL,
    bytes that are not UTF-8) finds nothing.
    """
    if not all(is_storable(value) for value in (text, *stages, *datasets)):
        return []  # nothing stored holds a NUL or a lone surrogate (and PostgreSQL would refuse the query)
    query = select(Dataset.name, Snapshot.version).join(Dataset)
    if stages:
        query = query.where(col(Snapshot.stage).in_(list(stages)))
    if datasets:
        query = query.where(col(Dataset.name).in_(list(datasets)))
    needle = text.strip().lower()
    if needle:
        ref = func.lower(Dataset.name + "@" + Snapshot.version)
        query = query.where(or_(
            ref.contains(needle, autoescape=True),
            func.lower(Snapshot.note).contains(needle, autoescape=True),
            col(Snapshot.sha256).startswith(needle, autoescape=True),
        ))
    query = query.order_by(byte_order(Dataset.name), Snapshot.created_at, Snapshot.id)
    with store.db.session() as session:
        return [f"{name}@{version}" for name, version in session.exec(query)]


def get_many(store: Store, refs: Sequence[str]) -> list[SnapshotInfo]:
    """The snapshots named by exact ``dataset@version`` refs, in the order given (repeats allowed).

    An unknown ref raises NotFoundError naming it; a ref without a version raises
    InvalidInputError (``get`` resolves those one at a time).
    """
    wanted = []
    for ref in refs:
        parsed = parse_ref(ref)
        if parsed.version is None:
            raise InvalidInputError(f"'{ref}' is not dataset@version: give exact refs such as customers_clean@v1.0")
        wanted.append((parsed.name, parsed.version))
    unique = list(dict.fromkeys(wanted))
    found: dict[tuple[str, str], SnapshotInfo] = {}
    with store.db.session() as session:
        for start in range(0, len(unique), BATCH):
            rows = list(session.exec(
                select(Snapshot).join(Dataset).where(tuple_(Dataset.name, Snapshot.version).in_(unique[start:start + BATCH]))
            ))
            found.update({(i.dataset, i.version): i for i in store.snapshots._to_infos(session, rows)})
    missing = [f"{name}@{version}" for name, version in unique if (name, version) not in found]
    if missing:
        raise NotFoundError(f"no snapshot {', '.join(missing[:5])}: see `lineage snapshot list` for what exists")
    return [found[key] for key in wanted]
