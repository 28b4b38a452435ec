"""Engine, sessions and schema version checks: the only place that talks to the driver.

SQLite gets WAL, foreign keys, a busy timeout and ``BEGIN IMMEDIATE`` for writes, so
concurrent writers queue instead of failing with "database is locked". Every write
transaction first takes the audit head lock (``BEGIN IMMEDIATE`` on SQLite, a row
lock on PostgreSQL), which serialises the audit chain append (invariant 4).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, ProgrammingError
from sqlmodel import Session

from lineage.errors import (
    InvalidInputError,
    LineageError,
    ReadOnlyError,
    SchemaVersionError,
    StoreMissingError,
    StoreUnavailableError,
    damaged_sqlite,
    is_damaged_sqlite,
)
from lineage.schema_head import SCHEMA_HEAD

BUSY_TIMEOUT_MS = 60_000


def redact(url: str) -> str:
    """A database URL safe to print: the password hidden wherever it is given.

    libpq also takes ``?password=…`` in the query, and a URL that does not parse must not
    be echoed as typed either, since its password is still in it.
    """
    netloc = url.partition("://")[2].partition("/")[0]
    try:
        if netloc.count("@") > 1:  # an unescaped @ in the password: the parser would cut it in two
            raise ValueError(url)
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - sqlalchemy raises ArgumentError and others
        return _PASSWORD_IN_QUERY.sub(r"\1***", _PASSWORD_IN_USERINFO.sub(r"\1:***@", url))
    return _PASSWORD_IN_QUERY.sub(r"\1***", parsed.render_as_string(hide_password=True))


_PASSWORD_IN_USERINFO = re.compile(r"(://[^/@:]*):[^/]*@")  # greedy: up to the netloc's last @
_PASSWORD_IN_QUERY = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def make_engine(url: str) -> Engine:
    """Create an engine with the pragmas and begin behaviour this store relies on."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - sqlalchemy raises ArgumentError and others
        raise StoreUnavailableError(
            f"LINEAGE_DB_URL '{redact(url)}' is not a database URL: use sqlite:///PATH or postgresql+psycopg://HOST/DB"
        ) from None
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        _configure_sqlite(engine)
    else:
        try:
            engine = create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5})
        except Exception as exc:  # noqa: BLE001 - a missing driver or bad option
            raise StoreUnavailableError(
                f"cannot use LINEAGE_DB_URL {redact(url)} ({exc}): check the URL and installed drivers"
            ) from None
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "handle_error")
    def _on_error(context) -> None:  # type: ignore[no-untyped-def]
        # Every statement of every caller (sessions, graph walks, bulk reads) passes here,
        # so a damaged file is one line wherever it is first noticed.
        if is_damaged_sqlite(context.original_exception):
            raise damaged_sqlite(engine.url.database or "")

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # Writers take the write lock up front: a deferred transaction that upgrades
        # from read to write fails at once with "database is locked" instead of waiting.
        if connection.get_execution_options().get("lineage_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


class Database:
    """The metadata database of one store."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = self.engine.execution_options(lineage_write=True)

    def sqlite_path(self) -> Path | None:
        """The database file, when the store is on SQLite."""
        if not self.is_sqlite:
            return None
        database = self.engine.url.database
        return Path(database) if database and database != ":memory:" else None

    # -- sessions -----------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any error, translate driver errors.

        A write session is refused on a read-only store and holds the audit head
        lock from its first statement to its commit.
        """
        if write and self.read_only:
            raise ReadOnlyError(
                "this store is read-only (LINEAGE_READ_ONLY is set): unset it to make changes"
            )
        engine = self._write_engine if write else self.engine
        try:
            with Session(engine, expire_on_commit=False) as session:
                try:
                    if write:
                        self._lock_audit_head(session)
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        except LineageError:
            raise
        except OperationalError as exc:
            raise self._unavailable(exc) from None
        except DBAPIError as exc:
            if self._is_not_a_database(exc) or is_damaged_sqlite(exc):
                raise self._unavailable(exc) from None
            if _is_missing_table(exc):
                raise self._not_initialised() from None
            if _is_permission_denied(exc):
                raise self._refused(exc) from None
            if isinstance(exc, DataError):  # the last net under the library's own checks of what users give
                raise InvalidInputError(
                    f"the metadata database refused a value ({_first_line(exc)}): nothing was written; "
                    "shorten or correct the value named"
                ) from None
            raise

    def _unavailable(self, exc: Exception) -> StoreUnavailableError:
        if self.is_sqlite and is_damaged_sqlite(exc):  # e.g. found at commit, which no statement event sees
            return damaged_sqlite(str(self.sqlite_path() or ""))
        if self._is_not_a_database(exc):
            return self._not_a_database()
        if _is_missing_table(exc):
            return self._not_initialised()
        return StoreUnavailableError(
            f"cannot reach the metadata database {redact(self.url)} ({_first_line(exc)}): "
            "check LINEAGE_DB_URL and that the server is running"
        )

    def _is_not_a_database(self, exc: Exception) -> bool:
        """SQLite found a file at the store's path whose header is not SQLite's (SQLITE_NOTADB)."""
        return self.is_sqlite and "is not a database" in str(getattr(exc, "orig", exc)).lower()

    def _not_a_database(self) -> StoreUnavailableError:
        """Why: the driver's own "file is not a database" names neither the file nor a way out."""
        shown = self.sqlite_path() or redact(self.url)
        return StoreUnavailableError(
            f"{shown} is not a SQLite database: point LINEAGE_HOME (or LINEAGE_DB_URL) at a Lineage store, "
            "or move the file away"
        )

    def _refused(self, exc: Exception) -> ReadOnlyError:
        return ReadOnlyError(
            f"the metadata database {redact(self.url)} refused a write ({_first_line(exc)}): "
            "this account may only read; use a writer's LINEAGE_DB_URL"
        )

    def _not_initialised(self) -> StoreMissingError:
        return StoreMissingError(
            f"no Lineage store in {redact(self.url)}: run `lineage init` to create it"
        )

    # -- schema -------------------------------------------------------------------------
    def current_revision(self) -> str | None:
        """The Alembic revision the database is at, or None for an empty database."""
        try:
            with self.engine.connect() as connection:
                row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        except OperationalError as exc:
            if _is_missing_table(exc):
                return None
            raise self._unavailable(exc) from None
        except ProgrammingError as exc:
            if _is_missing_table(exc):
                return None
            raise
        except DBAPIError as exc:  # SQLite's "file is not a database" is neither of the above
            if self._is_not_a_database(exc):
                raise self._not_a_database() from None
            raise
        return row[0] if row else None

    def check_schema(self) -> None:
        """Refuse to work on a database that is missing or at another schema version."""
        path = self.sqlite_path()
        if path is not None and not path.exists():  # connecting would create an empty file
            raise self._not_initialised()
        revision = self.current_revision()
        if revision is None:
            raise self._not_initialised()
        if revision != SCHEMA_HEAD:
            self._refuse_unknown_revision(revision)
            raise SchemaVersionError(
                f"the store's schema is at revision {revision}, this release expects {SCHEMA_HEAD}: "
                "run `lineage migrate` to upgrade it"
            )

    def _refuse_unknown_revision(self, revision: str) -> None:
        """A revision this release has no script for was made by a newer release: migrating cannot help."""
        from lineage.migrations.runner import known_revisions

        if revision not in known_revisions():
            raise SchemaVersionError(
                f"the store's schema is at revision {revision}, which this release does not know (it expects "
                f"{SCHEMA_HEAD}): a newer Lineage made it, so upgrade Lineage to the release the rest of the team "
                "runs (or the database belongs to another application: point LINEAGE_DB_URL at Lineage's own)"
            )

    def upgrade(self, record: Callable[[Session, str | None], None] | None = None) -> str | None:
        """Create or upgrade the schema to the head revision; return the revision it was at.

        ``record(session, before)`` runs in the same transaction as the DDL (both backends
        have transactional DDL), so a schema change and its audit event commit together or
        not at all. When another process created the schema first, this one records nothing.
        """
        if self.read_only:
            raise ReadOnlyError(
                "this store is read-only (LINEAGE_READ_ONLY is set): unset it to create or upgrade it"
            )
        before = self.current_revision()
        if before == SCHEMA_HEAD:
            return before
        if before is not None:
            self._refuse_unknown_revision(before)
        from lineage.migrations.runner import upgrade_to_head

        try:
            # The write engine: on SQLite BEGIN IMMEDIATE, so a second init waits for the first
            # instead of failing on a lock upgrade; on PostgreSQL an advisory lock does the same.
            with self._write_engine.begin() as connection:
                if not self.is_sqlite:
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})")
                before = _revision_in(connection)  # again, under the lock: another init may have run
                if before == SCHEMA_HEAD:
                    return before
                if before is not None and not self.is_sqlite:
                    # Writers lock the audit head first and then the tables they insert into; the
                    # DDL locks tables, so taking the head after it would deadlock with them.
                    connection.exec_driver_sql("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
                upgrade_to_head(connection)
                if record is not None:
                    with Session(bind=connection) as session:  # joins the DDL's transaction
                        self._lock_audit_head(session)
                        record(session, before)
                        session.flush()
        except OperationalError as exc:
            if _is_existing_table(exc):
                return self._created_meanwhile(exc, before)
            raise self._unavailable(exc) from None
        except DBAPIError as exc:
            if _is_existing_table(exc):
                return self._created_meanwhile(exc, before)
            if self._is_not_a_database(exc):
                raise self._not_a_database() from None
            if _is_permission_denied(exc):
                raise self._refused(exc) from None
            raise
        return before

    def _created_meanwhile(self, exc: Exception, before: str | None) -> str:
        """A table the upgrade creates exists: another ``init`` won the race, or the database is someone else's."""
        if self.current_revision() == SCHEMA_HEAD:
            return SCHEMA_HEAD
        raise StoreUnavailableError(
            f"the database {redact(self.url)} already holds tables Lineage did not create ({_first_line(exc)}): "
            "point LINEAGE_DB_URL at an empty database or at a Lineage store"
        )

    def _lock_audit_head(self, session: Session) -> None:
        """Serialise writers from this moment on, before the caller reads anything.

        PostgreSQL: the audit head's row lock. SQLite: the file's write lock, taken by the
        ``BEGIN IMMEDIATE`` that opening the session's connection issues; without this the
        session began only at its first statement, and a caller that read through other
        sessions or deleted blobs first (gc) did so without the lock.
        """
        if self.is_sqlite:
            session.connection()
        else:
            session.exec(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))  # type: ignore[call-overload]

    def dispose(self) -> None:
        self.engine.dispose()


def driver_rows(result: CursorResult[Any]) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them, without SQLAlchemy's per-row processing.

    Why: for big reads a ``Row`` per row costs more than the query. Fetching from the
    driver's cursor bypasses SQLAlchemy's error translation, so a damaged SQLite file is
    translated here into the same one line as everywhere else.
    """
    try:
        return result.cursor.fetchall()
    except Exception as exc:
        if is_damaged_sqlite(exc):
            raise damaged_sqlite(result.context.engine.url.database or "") from None
        raise
    finally:
        result.close()


def _first_line(exc: Exception) -> str:
    """The driver's own message, first line only (psycopg adds context lines)."""
    text = str(getattr(exc, "orig", exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_permission_denied(exc: Exception) -> bool:
    """PostgreSQL refused a statement to this role (a read-only account, for example)."""
    return "permission denied" in str(getattr(exc, "orig", exc)).lower()


_UPGRADE_LOCK = 7_356_230_001
"""PostgreSQL advisory lock id held while the schema is created or upgraded (any constant, used only here)."""


def _revision_in(connection: Connection) -> str | None:
    """The Alembic revision as this transaction sees it; None when there is no schema yet.

    Asks the catalogue first: on PostgreSQL a failed SELECT would abort the transaction.
    """
    from sqlalchemy import inspect

    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _is_existing_table(exc: Exception) -> bool:
    message = str(getattr(exc, "orig", exc)).lower()
    return "already exists" in message and ("table" in message or "relation" in message)


def _is_missing_table(exc: Exception) -> bool:
    message = str(getattr(exc, "orig", exc)).lower()
    return "no such table" in message or ("relation" in message and "does not exist" in message)
