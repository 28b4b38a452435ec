"""Shared fixtures: a real store in a tmp dir, on SQLite and (when configured) PostgreSQL.

Each PostgreSQL test gets its own schema (search_path), so runs never see each
other's rows. Tests that need PostgreSQL skip only when LINEAGE_TEST_PG_URL is unset.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # sample_data and app modules import from the checkout

from lineage.store import Store  # noqa: E402

pytest_plugins = ["tests.browser", "tests.s3server"]  # Streamlit and Chromium; an S3-compatible server
PG_URL = os.environ.get("LINEAGE_TEST_PG_URL")
PG_SKIP_REASON = "LINEAGE_TEST_PG_URL is not set (PostgreSQL tests need it; .ci/run sets it)"
LINEAGE_ENV = ("LINEAGE_HOME", "LINEAGE_DB_URL", "LINEAGE_STORE_URL", "LINEAGE_STORE_OPTIONS", "LINEAGE_USER",
               "LINEAGE_READ_ONLY")


@pytest.fixture(autouse=True)
def _clean_lineage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own store settings."""
    for name in LINEAGE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINEAGE_USER", "tester")


def pg_schema_url(schema: str) -> str:
    """The test database URL with its search_path pinned to one schema."""
    assert PG_URL
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql-s3"])
def backend_env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a store in tmp_path, in each of the two deployments.

    ``sqlite``: one laptop, the database and the blobs in the store home.
    ``postgresql-s3``: a team, metadata on PostgreSQL (a fresh schema) and blobs in an
    S3 bucket (moto's server, a fresh versioned bucket), as docs/deploy.md describes.
    """
    env = {"LINEAGE_HOME": str(tmp_path / "home")}
    if request.param == "postgresql-s3":
        env["LINEAGE_DB_URL"] = request.getfixturevalue("pg_url")
        env["LINEAGE_STORE_URL"] = request.getfixturevalue("s3_env").url()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def store(backend_env: dict[str, str]) -> Iterator[Store]:
    """An initialised, empty store on each backend."""
    opened = Store.init()
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """An initialised store on SQLite only (for tests about files, not databases)."""
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    opened = Store.init()
    yield opened
    opened.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder
