"""One shared store for a team: metadata on PostgreSQL, blobs in an S3 bucket, through the real command.

The store-level suites already run on this deployment (``backend_env``'s ``postgresql-s3``);
these tests drive ``python -m lineage.cli`` as a team member would, and check that a wrong
database or object store URL is one line naming which, exit 2, with nothing written.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_URL
from tests.factories import write_parquet
from tests.s3server import S3Bucket, dead_port

ROOT = Path(__file__).resolve().parents[1]


def lineage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineage.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def team_env(pg_url: str, s3_env: S3Bucket, tmp_path: Path) -> dict[str, str]:
    """A team member's environment: the shared database and bucket, and a home of their own."""
    return dict(os.environ, LINEAGE_HOME=str(tmp_path / "home"), LINEAGE_DB_URL=pg_url,
                LINEAGE_STORE_URL=s3_env.url(), LINEAGE_USER="alice")


def bucket_keys(bucket: S3Bucket) -> list[str]:
    listed = bucket.client.list_objects_v2(Bucket=bucket.bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def schema_tables(pg_url: str) -> list[str]:
    """The tables in the test's own PostgreSQL schema (its URL pins the search_path)."""
    assert PG_URL
    schema = pg_url.rsplit("search_path%3D", 1)[1]
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as connection:
        rows = connection.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                                  "ORDER BY table_name", (schema,)).fetchall()
    return [name for (name,) in rows]


def row_counts(pg_url: str) -> dict[str, int]:
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
                for table in schema_tables(pg_url)}


def assert_one_line_refusal(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    message = done.stderr.strip()
    assert "Traceback" not in done.stderr and len(message.splitlines()) == 1, message
    assert message.startswith("error: ") and all(part in message for part in expected), message
    return message


def test_a_team_registers_checks_out_verifies_and_audits_through_the_cli(
    team_env: dict[str, str], s3_env: S3Bucket, pg_url: str, tmp_path: Path,
) -> None:
    assert lineage(team_env, "init").returncode == 0
    data = write_parquet(tmp_path / "customers.parquet", rows=500)
    added = lineage(team_env, "snapshot", "add", str(data), "--dataset", "customers", "--version", "v1", "--json")
    assert added.returncode == 0, added.stderr
    info = json.loads(added.stdout)
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert info["sha256"] == digest
    # the bytes live in the bucket under their digest, nowhere on this machine, and no temporary is left
    assert bucket_keys(s3_env) == [f"objects/{digest[:2]}/{digest[2:]}"]
    assert not (tmp_path / "home" / "objects").exists()

    bob = dict(team_env, LINEAGE_HOME=str(tmp_path / "bob-home"), LINEAGE_USER="bob")  # another laptop
    listed = json.loads(lineage(bob, "snapshot", "list", "--json").stdout)
    assert [(s["ref"], s["created_by"]) for s in listed] == [("customers@v1", "alice")]
    out = tmp_path / "bob.parquet"
    assert lineage(bob, "snapshot", "checkout", "customers@v1", str(out)).returncode == 0
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
    assert lineage(bob, "snapshot", "verify", "--all").returncode == 0
    audited = lineage(dict(bob, LINEAGE_READ_ONLY="1"), "audit", "verify", "--json")
    assert audited.returncode == 0 and json.loads(audited.stdout)["ok"] is True

    # an auditor's dashboard account cannot write, whatever it tries
    refused = lineage(dict(bob, LINEAGE_READ_ONLY="1"), "snapshot", "add", str(data), "--dataset", "other")
    assert_one_line_refusal(refused, "read-only")

    key = f"objects/{digest[:2]}/{digest[2:]}"
    damaged = bytearray(s3_env.client.get_object(Bucket=s3_env.bucket, Key=key)["Body"].read())
    damaged[len(damaged) // 2] ^= 0xFF
    s3_env.client.put_object(Bucket=s3_env.bucket, Key=key, Body=bytes(damaged))
    broken = lineage(bob, "audit", "verify")
    assert broken.returncode == 1 and "customers@v1" in broken.stdout and "corrupt" in broken.stdout
    last = json.loads(lineage(bob, "audit", "log", "--json").stdout)[-1]  # a writable verify is audited
    assert (last["actor"], last["action"], last["payload"]["ok"]) == ("bob", "store.verify", False)


def test_unreachable_database_names_the_database_with_its_password_hidden(
    team_env: dict[str, str], s3_env: S3Bucket, tmp_path: Path,
) -> None:
    with dead_port() as port:
        env = dict(team_env, LINEAGE_DB_URL=f"postgresql+psycopg://alice:s3cret@127.0.0.1:{port}/team")
        for args in (["init"], ["snapshot", "list"]):
            message = assert_one_line_refusal(lineage(env, *args), "cannot reach the metadata database",
                                              "postgresql+psycopg://alice:***@127.0.0.1")
            assert "s3cret" not in message and "object store" not in message
    assert not (tmp_path / "home").exists()
    assert bucket_keys(s3_env) == []


def test_unreachable_object_store_endpoint_names_the_object_store_and_writes_nothing(
    team_env: dict[str, str], s3_env: S3Bucket, pg_url: str, tmp_path: Path,
) -> None:
    with dead_port() as port:
        dead = f"http://127.0.0.1:{port}"
        env = dict(team_env, AWS_ENDPOINT_URL=dead, AWS_MAX_ATTEMPTS="1")  # no retries: the test stays quick
        message = assert_one_line_refusal(lineage(env, "init"), f"cannot use the object store {s3_env.url()}",
                                          f"endpoint {dead}")
    assert "metadata database" not in message
    assert not (tmp_path / "home").exists()
    assert schema_tables(pg_url) == []


def test_missing_bucket_names_the_bucket_and_writes_nothing(
    team_env: dict[str, str], s3_env: S3Bucket, pg_url: str, tmp_path: Path,
) -> None:
    env = dict(team_env, LINEAGE_STORE_URL="s3://no-such-lineage-bucket/objects")
    assert_one_line_refusal(lineage(env, "init"), "object store s3://no-such-lineage-bucket/objects",
                            "has no bucket 'no-such-lineage-bucket'")
    assert not (tmp_path / "home").exists()
    assert schema_tables(pg_url) == []


def test_object_store_lost_after_init_refuses_a_registration_without_writing(
    team_env: dict[str, str], s3_env: S3Bucket, pg_url: str, tmp_path: Path,
) -> None:
    assert lineage(team_env, "init").returncode == 0
    data = write_parquet(tmp_path / "d.parquet")
    before = row_counts(pg_url)
    with dead_port() as port:
        env = dict(team_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_MAX_ATTEMPTS="1")
        assert_one_line_refusal(lineage(env, "snapshot", "add", str(data), "--dataset", "d"), "object store")
    gone = dict(team_env, LINEAGE_STORE_URL="s3://no-such-lineage-bucket/objects")
    assert_one_line_refusal(lineage(gone, "snapshot", "add", str(data), "--dataset", "d"), "has no bucket")
    assert row_counts(pg_url) == before
    assert bucket_keys(s3_env) == []
    assert lineage(team_env, "snapshot", "list", "--json").stdout.strip() == "[]"


def test_malformed_store_options_are_refused_before_anything_is_written(
    team_env: dict[str, str], pg_url: str, tmp_path: Path,
) -> None:
    env = dict(team_env, LINEAGE_STORE_OPTIONS="{endpoint_url: nope}")
    assert_one_line_refusal(lineage(env, "init"), "LINEAGE_STORE_OPTIONS is not JSON")
    assert not (tmp_path / "home").exists()
    assert schema_tables(pg_url) == []


def test_store_options_reach_the_filesystem(team_env: dict[str, str], s3_env: S3Bucket, tmp_path: Path) -> None:
    """Settings the AWS variables cannot carry go in LINEAGE_STORE_OPTIONS (here: the endpoint itself)."""
    env = {k: v for k, v in team_env.items() if k != "AWS_ENDPOINT_URL"}
    env["LINEAGE_STORE_OPTIONS"] = json.dumps({"endpoint_url": s3_env.endpoint})
    assert lineage(env, "init").returncode == 0
    data = write_parquet(tmp_path / "d.parquet")
    assert lineage(env, "snapshot", "add", str(data), "--dataset", "d", "--version", "1").returncode == 0
    assert len(bucket_keys(s3_env)) == 1


@pytest.fixture
def reader_url(pg_url: str) -> Iterator[str]:
    """``pg_url`` for a new role, given read access by ``grant_reader`` (as docs/deploy.md says)."""
    assert PG_URL
    role = f"lineage_reader_{uuid.uuid4().hex[:12]}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield pg_url.replace("postgresql+psycopg://postgres@", f"postgresql+psycopg://{role}@", 1)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP OWNED BY "{role}"')
            connection.execute(f'DROP ROLE "{role}"')


def grant_reader(pg_url: str, reader: str) -> None:
    schema = pg_url.rsplit("search_path%3D", 1)[1]
    role = reader.split("://", 1)[1].split("@", 1)[0]
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        connection.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        connection.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')


def test_an_auditor_dashboard_account_with_a_read_only_database_role_reads_and_verifies(
    team_env: dict[str, str], pg_url: str, reader_url: str, tmp_path: Path,
) -> None:
    assert lineage(team_env, "init").returncode == 0
    data = write_parquet(tmp_path / "d.parquet")
    assert lineage(team_env, "snapshot", "add", str(data), "--dataset", "d", "--version", "1").returncode == 0
    grant_reader(pg_url, reader_url)
    before = row_counts(pg_url)
    auditor = dict(team_env, LINEAGE_DB_URL=reader_url, LINEAGE_READ_ONLY="1", LINEAGE_HOME=str(tmp_path / "audit"))
    assert [s["ref"] for s in json.loads(lineage(auditor, "snapshot", "list", "--json").stdout)] == ["d@1"]
    verified = lineage(auditor, "audit", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["blob_count"] == 1
    assert lineage(auditor, "snapshot", "verify", "--all").returncode == 0
    assert lineage(auditor, "trace", "d@1", "--json").returncode == 0
    # without LINEAGE_READ_ONLY the database itself refuses, still as one line
    writer_attempt = dict(auditor, LINEAGE_READ_ONLY="0")
    other = write_parquet(tmp_path / "other.parquet", seed=7)
    message = assert_one_line_refusal(lineage(writer_attempt, "snapshot", "add", str(other), "--dataset", "e"),
                                      "the metadata database", "refused a write", "permission denied")
    assert "postgres@" not in message
    assert row_counts(pg_url) == before
