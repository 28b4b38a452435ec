"""Short read-only commands on a SQLite store, answered with the stdlib ``sqlite3`` module.

Why: importing SQLAlchemy and SQLModel costs about a second of CPU on these machines,
several times what ``dvc --version`` takes to start, and ``lineage snapshot list`` on a
laptop store needs neither. A quick read applies only when it gives exactly the answer
of the full path: a SQLite store (the default URL, or a plain ``sqlite:///PATH``) whose
file exists and whose schema is at ``SCHEMA_HEAD``. Otherwise it returns ``None`` and the
caller opens the ``Store`` as usual, which also produces every error message, so the
two paths never disagree on refusals. ``tests/test_quick_reads.py`` runs both on the
same stores and compares what they print.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from lineage.env import DEFAULT_HOME, absolute_home, default_db_url, from_environment
from lineage.schema_head import SCHEMA_HEAD

SQLITE_PREFIX = "sqlite:///"
BUSY_TIMEOUT_S = 60.0  # as lineage.db: concurrent writers make readers wait, never fail


class SnapshotLine(NamedTuple):
    """What ``lineage snapshot list`` prints for one snapshot."""

    ref: str
    stage: str
    rows: int
    size_bytes: int
    sha256: str
    created_at: datetime  # aware UTC
    created_by: str


def sqlite_database() -> Path | None:
    """The store's SQLite file when the settings point at one that exists, else ``None``."""
    settings = from_environment(("home", "db_url"))
    home = absolute_home(settings.get("home") or DEFAULT_HOME)
    url = settings.get("db_url") or default_db_url(home)
    if not url.startswith(SQLITE_PREFIX) or "?" in url:
        return None
    path = Path(url.removeprefix(SQLITE_PREFIX))
    return path if path.name and path.is_file() else None


@contextmanager
def _reader(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read connection to a store at the expected schema, or ``None`` (use the full path)."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        ready = False
        with suppress(sqlite3.Error):
            connection.execute("BEGIN")  # one consistent read for the version check and the query
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            ready = row is not None and row[0] == SCHEMA_HEAD
        yield connection if ready else None
    finally:
        connection.close()


def snapshot_lines(dataset: str | None = None, as_of: datetime | None = None) -> list[SnapshotLine] | None:
    """``snapshot list`` rows in the service's order (dataset, registration time), or ``None``.

    ``None`` means "ask the full path": not a SQLite store at the expected schema, or a
    dataset filter naming no dataset (the full path words that refusal).
    """
    path = sqlite_database()
    if path is None:
        return None
    with _reader(path) as connection:
        if connection is None:
            return None
        where, params = [], []
        if dataset is not None:
            if connection.execute("SELECT 1 FROM dataset WHERE name = ?", (dataset,)).fetchone() is None:
                return None
            where.append("d.name = ?")
            params.append(dataset)
        if as_of is not None:
            where.append("s.created_at <= ?")  # stored as naive UTC text with microseconds
            params.append(as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = connection.execute(
            "SELECT d.name || '@' || s.version, s.stage, s.rows, s.size_bytes, s.sha256, s.created_at, s.created_by "
            f"FROM snapshot s JOIN dataset d ON d.id = s.dataset_id{clause} ORDER BY d.name, s.created_at, s.id",
            params,
        ).fetchall()
    return [SnapshotLine(ref, stage, count, size, sha256, datetime.fromisoformat(at).replace(tzinfo=UTC), by)
            for ref, stage, count, size, sha256, at, by in rows]
