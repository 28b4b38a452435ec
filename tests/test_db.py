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
        connection.execute("UPDATE alembic_version SET version_num = '0000'")
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
