"""The one clock of the store, without the database layer.

``lineage.tables`` uses it for column defaults and ``lineage.quick_add`` for the rows it
writes with ``sqlite3``: both must stamp times the same way (invariant 6).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:  # columns use plain DateTime: naive UTC by design
    """The one clock of the store: naive UTC with microseconds (invariant 6)."""
    return datetime.now(UTC).replace(tzinfo=None)
