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
from lineage.errors import damaged_sqlite, is_damaged_sqlite
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


class KnownSnapshot(NamedTuple):
    """A snapshot ``snapshot add`` would return unchanged (what its one-line answer prints)."""

    ref: str
    sha256: str
    rows: int
    columns: int
    size_bytes: int
    created: bool = False


def store_home() -> Path:
    """The home as ``Settings`` reads it: unset is ``.lineage``, set but empty is the current directory."""
    return absolute_home(from_environment(("home",)).get("home", DEFAULT_HOME))


def database_url() -> str:
    """``LINEAGE_DB_URL`` as ``Settings.resolved_db_url`` gives it."""
    return from_environment(("db_url",)).get("db_url") or default_db_url(store_home())


def sqlite_database() -> Path | None:
    """The store's SQLite file when the settings point at one that exists, else ``None``.

    A URL with a query or a percent-escape is left to the full path, which lets SQLAlchemy
    decode it: read literally, it could name another file.
    """
    url = database_url()
    if not url.startswith(SQLITE_PREFIX) or "?" in url or "%" in url:
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
        try:
            yield connection if ready else None
        except sqlite3.DatabaseError as exc:
            if is_damaged_sqlite(exc):
                raise damaged_sqlite(str(path)) from None
            raise
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


def already_registered(path: str, dataset: str, version: str | None, stage: str,
                       note: str = "") -> KnownSnapshot | None:
    """What re-adding an unchanged, registered file returns, without opening the full store.

    Applies when the file's sha256 is in the hash cache (same device, inode, size and
    mtime as when it was hashed) and those bytes already are ``dataset@version`` (or,
    with no version, a snapshot of ``dataset``): then ``snapshot add`` writes nothing and
    returns that snapshot. Anything else — a directory, parents to resolve, a read-only
    store, a name or stage the full path would refuse, other bytes under a taken
    version, a ``note`` other than the recorded one under an explicit version (the full
    path refuses to drop it) — returns ``None`` for the full path to handle and word.
    """
    from lineage.errors import LineageError
    from lineage.hashcache import HashCache
    from lineage.naming import STAGES, validate_name
    from lineage.tabular import detect_format

    database = sqlite_database()
    if database is None or stage not in STAGES or from_environment(("read_only",)):
        return None
    source = Path(path).expanduser().absolute()
    try:
        validate_name(dataset, what="dataset name")
        if version is not None:
            validate_name(version, what="version")
        if not source.is_file() or source.stat().st_size == 0:
            return None
        detect_format(source)  # what the full path refuses, it refuses itself
    except (LineageError, OSError):
        return None
    query = ("SELECT d.name || '@' || s.version, s.sha256, s.rows, s.column_count, s.size_bytes, s.note "
             "FROM snapshot s JOIN dataset d ON d.id = s.dataset_id WHERE d.name = ? ")
    with _reader(database) as connection:
        if connection is None:
            return None  # not a store at this schema (or not SQLite at all): the hash cache stays untouched
        sha256 = HashCache(store_home() / "cache" / "hashes.db").get(source)
        if sha256 is None:
            return None
        if version is not None:
            row = connection.execute(query + "AND s.version = ?", (dataset, version)).fetchone()
        else:
            row = connection.execute(query + "AND s.sha256 = ? ORDER BY s.id DESC LIMIT 1", (dataset, sha256)).fetchone()
    if row is None or row[1] != sha256 or (note and version is not None and note != row[5]):
        return None
    return KnownSnapshot(*row[:5])
