"""An S3-compatible endpoint for the tests: moto's server in its own process on a loopback port.

These machines reach no cloud, so the team deployment's object store (``s3://bucket/prefix``
through s3fs) is tested against moto's S3 server, started once per session as a real HTTP
server in a subprocess (it uses the second core, as a real endpoint would). Each test gets
its own versioned bucket, emptied and deleted afterwards, so tests never see each other's
objects. Registered from ``tests/conftest.py`` (``pytest_plugins``).

Under pytest-xdist every worker starts its own server. The server binds port 0 and the
port is read back from its log, so two workers can never be handed the same port (a port
probed free and bound later can be taken in between, and the other worker's server would
then answer). ``dead_port`` is a port that refuses connections for as long as a test holds it.

- ``s3_endpoint``: the server's URL (session).
- ``dead_port()``: a loopback port nothing listens on, held (bound, never listening) until the block exits.
- ``s3_env``: a fresh bucket and the ``AWS_*`` variables that point s3fs at the server, set
  for this test (and inherited by the subprocesses it starts); ``bucket`` and ``client`` for checks.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 60.0
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "LINEAGE_STORE_OPTIONS")


@dataclass(frozen=True)
class S3Bucket:
    endpoint: str
    bucket: str
    client: Any  # a boto3 S3 client for direct checks (object versions, raw bytes)
    env: dict[str, str]

    def url(self, prefix: str = "objects") -> str:
        return f"s3://{self.bucket}/{prefix}"


@contextlib.contextmanager
def dead_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound by this process, never listening, so no
    other process (another xdist worker's server included) can take it while the block runs."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


RUNNING = re.compile(rb"Running on http://127\.0\.0\.1:(\d+)")  # werkzeug's line, once the socket is bound


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a loopback port the kernel picks (port 0), for the whole session."""
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        port = None
        while port is None or not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto's S3 server did not start: {Path(log).read_text()[-2000:]}")
            time.sleep(0.1)
            if port is None and (found := RUNNING.search(log.read_bytes())):
                port = int(found[1])
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def aws_env(endpoint: str, home: Path) -> dict[str, str]:
    """The standard AWS variables that point any S3 client at ``endpoint`` (and at no profile files)."""
    return {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint,
            "AWS_CONFIG_FILE": str(home / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials")}


@pytest.fixture
def s3_env(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Bucket]:
    """A fresh versioned bucket on the test server, with the AWS variables set for this test."""
    import boto3

    env = aws_env(s3_endpoint, tmp_path)
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"lineage-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    try:
        yield S3Bucket(s3_endpoint, bucket, client, env)
    finally:
        _delete_bucket(client, bucket)


def _delete_bucket(client: Any, bucket: str) -> None:
    """Remove every version and delete marker, then the bucket (the server's memory is freed)."""
    while True:  # list again after each batch: a listing does not page reliably while it is being deleted
        listed = client.list_object_versions(Bucket=bucket)
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])][:1000]
        if not doomed:
            break
        client.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=bucket)
