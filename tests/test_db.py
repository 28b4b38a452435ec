"""The metadata database: migrations match the models, pragmas hold, schema checks guide the user."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from lineage import tables  # noqa: F401 - registers the tables
from lineage.db import SCHEMA_HEAD
from lineage.errors import SchemaVersionError
from lineage.migrations.runner import script_head
from lineage.store import Store


def test_schema_head_constant_matches_the_newest_migration() -> None:
    assert script_head() == SCHEMA_HEAD


def test_migrated_database_matches_the_table_models(store: Store) -> None:
    with store.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_busy_timeout(sqlite_store: Store) -> None:
    with sqlite_store.db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 30_000


def test_init_is_idempotent_and_does_not_repeat_its_audit_event(store: Store) -> None:
    Store.init().close()
    assert [e.action for e in store.audit.log()] == ["store.init"]


def test_store_at_an_older_schema_revision_asks_for_migrate(sqlite_store: Store) -> None:
    path = sqlite_store.db.sqlite_path()
    assert path is not None
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0004'")
    with pytest.raises(SchemaVersionError, match="lineage migrate"):
        Store.open()


def test_empty_database_file_asks_for_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    sqlite3.connect(home / "lineage.db").close()
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    with pytest.raises(SchemaVersionError, match="lineage init"):
        Store.open()


def test_database_file_that_is_not_sqlite_is_named_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver says only "file is not a database"; the user needs the file and a way out, and no write."""
    from lineage.errors import StoreUnavailableError

    home = tmp_path / "home"
    home.mkdir()
    garbage = b"not a database " * 400
    (home / "lineage.db").write_bytes(garbage)
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    expected = (f"{home / 'lineage.db'} is not a SQLite database: point LINEAGE_HOME (or LINEAGE_DB_URL) "
                "at a Lineage store, or move the file away")
    for attempt in (Store.open, Store.init):
        with pytest.raises(StoreUnavailableError) as refused:
            attempt()
        assert str(refused.value) == expected
    from sqlalchemy import text

    from lineage.db import Database

    with pytest.raises(StoreUnavailableError) as refused, Database(f"sqlite:///{home / 'lineage.db'}").session() as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    assert str(refused.value) == expected
    assert (home / "lineage.db").read_bytes() == garbage and sorted(home.iterdir()) == [home / "lineage.db"]


def _set_revision(store: Store, revision: str) -> None:
    with store.db.engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{revision}'")


def _back_at_0004(store: Store) -> None:
    """Undo revision 0005, so a migration has something to do."""
    _set_revision(store, "0004")
    with store.db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE snapshot_digest")
        connection.exec_driver_sql("DROP TABLE snapshot_tombstone")


def test_store_made_by_a_newer_release_says_to_upgrade_lineage_not_to_migrate(store: Store) -> None:
    """Migrating cannot help a store whose revision this release has no script for."""
    _set_revision(store, "0099")
    for attempt in (Store.open, Store.init):
        with pytest.raises(SchemaVersionError, match="a newer Lineage made it, so upgrade Lineage") as caught:
            attempt()
        assert "lineage migrate" not in str(caught.value)
    _set_revision(store, SCHEMA_HEAD)
    assert [e.action for e in store.audit.log()] == ["store.init"]


def test_init_refuses_a_database_that_holds_tables_of_its_own(backend_env: dict[str, str]) -> None:
    """One line naming the database, nothing created, exit 2: not a traceback about a duplicate table."""
    from sqlalchemy import create_engine, inspect

    from lineage.db import make_engine
    from lineage.env import default_db_url
    from lineage.errors import StoreUnavailableError

    url = backend_env.get("LINEAGE_DB_URL")
    if url is None:
        Path(backend_env["LINEAGE_HOME"]).mkdir(parents=True)
        url = default_db_url(Path(backend_env["LINEAGE_HOME"]))
    engine = make_engine(url) if "postgresql" in url else create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE dataset (id INTEGER PRIMARY KEY, foo TEXT)")
    with pytest.raises(StoreUnavailableError, match="already holds tables Lineage did not create") as caught:
        Store.init()
    assert caught.value.exit_code == 2
    assert inspect(engine).get_table_names() == ["dataset"]
    engine.dispose()


def test_schema_creation_and_its_audit_event_commit_together(backend_env: dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A store must never exist without its store.init event: if the event fails, so does the schema."""
    from sqlalchemy import inspect

    import lineage.audit

    def failing(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the event could not be written")

    with monkeypatch.context() as patched:
        patched.setattr(lineage.audit, "append_event", failing)
        with pytest.raises(RuntimeError, match="could not be written"):
            Store.init()
    from lineage.db import Database
    from lineage.env import default_db_url

    database = Database(backend_env.get("LINEAGE_DB_URL") or default_db_url(Path(backend_env["LINEAGE_HOME"])))
    assert database.current_revision() is None
    assert "alembic_version" not in inspect(database.engine).get_table_names()
    database.dispose()
    with Store.init() as opened:
        assert [e.action for e in opened.audit.log()] == ["store.init"]


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@/db?host=127.0.0.1&password=s3cretpw",
    "postgresql+psycopg://postgres@127.0.0.1/db?PassWord=s3cretpw&sslmode=bogus",
    "postgresql+psycopg://postgres:s3cretpw@127.0.0.1/db",
    "postgresql+psycopg://postgres:s3cretpw@127.0.0.1:54x2/db",
    "postgresql+psycopg://postgres:s3c@retpw@127.0.0.1/db",
])
def test_a_database_password_is_never_printed(url: str) -> None:
    from lineage.db import redact

    shown = redact(url)
    assert "s3cretpw" not in shown and "retpw" not in shown and "***" in shown


def test_a_url_that_does_not_parse_is_refused_without_its_password(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from lineage.errors import StoreUnavailableError

    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_DB_URL", "postgresql+psycopg://postgres:s3cretpw@127.0.0.1:54x2/db")
    with pytest.raises(StoreUnavailableError, match="is not a database URL") as caught:
        Store.init()
    assert "s3cretpw" not in str(caught.value)


def test_a_value_postgresql_refuses_is_one_line_and_nothing_written(pg_url: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The last net under the library's own checks: PostgreSQL refuses what SQLite stores (here a NUL)."""
    from sqlmodel import select

    from lineage.errors import InvalidInputError
    from lineage.tables import Dataset

    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_DB_URL", pg_url)
    with Store.init() as store:
        refused = r"refused a value \(PostgreSQL text fields cannot contain NUL"
        with pytest.raises(InvalidInputError, match=refused), store.db.session(write=True) as session:
            session.add(Dataset(name="a\x00b", created_by="tester"))
            session.flush()
        with store.db.session() as session:
            assert session.exec(select(Dataset)).all() == []


@pytest.mark.parametrize("command", ["init", "migrate"])
def test_concurrent_inits_or_migrations_make_one_schema_change_and_one_event(
        backend_env: dict[str, str], command: str) -> None:
    """Losers wait for the winner and find the schema made: no traceback, no lock error, no second event."""
    import os
    import subprocess
    import sys

    if command == "migrate":
        with Store.init() as opened:
            _back_at_0004(opened)
    racers = [subprocess.Popen([sys.executable, "-m", "lineage.cli", command], env=dict(os.environ),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(racer.wait(timeout=120), racer.stderr.read()) for racer in racers]
    assert [code for code, _ in results] == [0, 0, 0], results
    with Store.open() as opened:
        actions = [e.action for e in opened.audit.log()]
        assert opened.audit.verify_chain().ok
    assert actions == (["store.init"] if command == "init" else ["store.init", "store.migrate"])


def test_migrate_waits_for_a_writer_of_the_previous_release_instead_of_deadlocking(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers lock the audit head, then the tables they insert into; migrate must take them in that order too.

    Its DDL locked ``snapshot`` (a foreign key of a new table) before it asked for the head, so a
    writer holding the head and then inserting into ``snapshot`` deadlocked with it.
    """
    import threading
    import time

    import psycopg

    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_DB_URL", pg_url)
    with Store.init() as opened:
        _back_at_0004(opened)
    outcome: dict[str, object] = {}

    def migrate() -> None:
        try:
            Store.init().close()
            outcome["migrate"] = "ok"
        except Exception as exc:  # noqa: BLE001 - the test reports it
            outcome["migrate"] = repr(exc)

    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as writer:
        writer.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")  # a writer of the previous release
        migration = threading.Thread(target=migrate)
        migration.start()
        time.sleep(1.5)  # migrate is now waiting for the head (or, before the fix, holds snapshot's lock)
        try:
            writer.execute("LOCK TABLE snapshot IN ROW EXCLUSIVE MODE")  # what its INSERT INTO snapshot takes
            writer.commit()
            outcome["writer"] = "ok"
        except psycopg.errors.DeadlockDetected as exc:
            outcome["writer"] = repr(exc)
        migration.join(timeout=60)
    assert outcome == {"writer": "ok", "migrate": "ok"}
    with Store.open() as opened:
        assert [e.action for e in opened.audit.log()] == ["store.init", "store.migrate"]
