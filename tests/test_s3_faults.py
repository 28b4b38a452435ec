"""A team's bucket when it misbehaves or holds more than Lineage put there (moto's real S3 server).

- deletions the bucket refuses (a bucket policy denying them, as a read-only account is
  refused) fail purge and gc with one line, and are never reported or audited as done;
- on a versioned bucket purge erases every version of the erased blobs;
- incomplete multipart uploads under ``tmp/`` are collected by gc;
- storage options the filesystem refuses, ``memory://``, ``..`` and ``s3://`` are one line;
- a store URL spelled with ``//`` or ``/./`` names the same keys.

Metadata lives in SQLite here (blobs in the bucket): what is tested is the object store.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result

from lineage.cli import main
from lineage.errors import InvalidInputError, ReadOnlyError
from lineage.gc import collect
from lineage.objectstore import ObjectStore
from lineage.objectstore_connect import redact_url
from lineage.purge import purge
from lineage.store import Store
from tests.factories import write_parquet
from tests.s3server import S3Bucket

REASON = "erasure request #17"


@pytest.fixture
def bucket_store(s3_env: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """An initialised store: metadata in a SQLite file in the home, blobs in a fresh versioned bucket."""
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_STORE_URL", s3_env.url())
    opened = Store.init()
    yield opened
    opened.close()


@contextlib.contextmanager
def deletes_denied(bucket: S3Bucket, resource: str = "*") -> Iterator[None]:
    """A bucket policy refusing deletions of ``resource`` keys, as S3 refuses an account that may only read."""
    statement = {"Effect": "Deny", "Principal": "*",
                 "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"],
                 "Resource": f"arn:aws:s3:::{bucket.bucket}/{resource}"}
    bucket.client.put_bucket_policy(Bucket=bucket.bucket,
                                    Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    try:
        yield
    finally:
        bucket.client.delete_bucket_policy(Bucket=bucket.bucket)


def key_of(store: Store, digest: str) -> str:
    return store.objects.key_path(digest).split("/", 1)[1]


def versions_of(bucket: S3Bucket, key: str) -> list[str]:
    """Every version and delete marker of exactly ``key``."""
    listed = bucket.client.list_object_versions(Bucket=bucket.bucket, Prefix=key)
    return [v["VersionId"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []) if v["Key"] == key]


def audit_head(store: Store) -> tuple[int, str]:
    head = store.audit.log(newest_first=True, limit=1)[0]
    return head.seq, head.hash


def assert_one_line(result: Result, *expected: str) -> str:
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in result.output, result.output
    assert all(part in message for part in expected), message
    return message


def add(store: Store, data_dir: Path, name: str, seed: int) -> str:
    path = write_parquet(data_dir / f"{name}.parquet", rows=40, seed=seed)
    return store.snapshots.add(path, dataset=name, version="1").sha256


# -- deletions the bucket refuses -------------------------------------------------------------------
def test_a_refused_delete_raises_instead_of_passing_silently(bucket_store: Store, s3_env: S3Bucket) -> None:
    digest = bucket_store.objects.put_bytes(b"orphan").sha256
    with deletes_denied(s3_env), pytest.raises(ReadOnlyError, match="refused to delete .*this account may only read"):
        bucket_store.objects.remove(digest)
    assert bucket_store.objects.exists(digest)


def test_purge_by_an_account_that_may_not_delete_is_refused_before_anything_is_recorded(
        bucket_store: Store, s3_env: S3Bucket, data_dir: Path) -> None:
    digest = add(bucket_store, data_dir, "people", 1)
    before = audit_head(bucket_store)
    with deletes_denied(s3_env):
        result = CliRunner().invoke(main, ["purge", "people@1", "--reason", REASON, "--yes"])
        assert_one_line(result, f"the object store {s3_env.url()} refused to delete", "this account may only read",
                        "use a writer's credentials")
    assert audit_head(bucket_store) == before and bucket_store.snapshots.get("people@1").purged is None
    assert bucket_store.objects.exists(digest)
    assert CliRunner().invoke(main, ["purge", "people@1", "--reason", REASON, "--yes"]).exit_code == 0
    assert versions_of(s3_env, key_of(bucket_store, digest)) == []


def test_a_delete_refused_after_the_tombstone_is_never_reported_as_erased_and_a_rerun_finishes(
        bucket_store: Store, s3_env: S3Bucket, data_dir: Path) -> None:
    """The account may delete in tmp/ (the check passes) but not this blob: the purge stays finishable."""
    digest = add(bucket_store, data_dir, "people", 1)
    with deletes_denied(s3_env, key_of(bucket_store, digest)):
        result = CliRunner().invoke(main, ["purge", "people@1", "--reason", REASON, "--yes"])
        assert_one_line(result, "refused to delete", "people@1 is recorded as purged but 1 of its blob(s) remain",
                        "run the same purge again")
        plan = CliRunner().invoke(main, ["purge", "people@1", "--reason", REASON])
        assert "an interrupted purge left 1 blob(s)" in plan.output
    assert bucket_store.objects.exists(digest) and bucket_store.audit.log(action="snapshot.purge.finish") == []
    finished = purge(bucket_store, "people@1", reason=REASON, yes=True)
    assert finished.erased == (digest,) and not bucket_store.objects.holds(digest)
    assert bucket_store.audit.log(action="snapshot.purge.finish")[0].payload["removed"] == [digest]
    assert bucket_store.audit.verify_chain().ok


def test_gc_by_an_account_that_may_not_delete_is_refused_and_audits_nothing(
        bucket_store: Store, s3_env: S3Bucket) -> None:
    orphan = bucket_store.objects.put_bytes(b"left behind by a crash").sha256
    before = audit_head(bucket_store)
    with deletes_denied(s3_env):
        assert_one_line(CliRunner().invoke(main, ["gc", "--yes", "--grace", "0"]), "refused to delete",
                        "this account may only read")
    assert bucket_store.objects.exists(orphan) and audit_head(bucket_store) == before


def test_gc_refused_part_way_audits_exactly_what_it_removed(bucket_store: Store, s3_env: S3Bucket) -> None:
    first, second = sorted(bucket_store.objects.put_bytes(f"orphan {i}".encode()).sha256 for i in range(2))
    with deletes_denied(s3_env, key_of(bucket_store, second)), pytest.raises(ReadOnlyError, match="refused"):
        collect(bucket_store, remove=True, grace_seconds=0)
    assert not bucket_store.objects.exists(first) and bucket_store.objects.exists(second)
    assert bucket_store.audit.log(action="store.gc")[-1].payload["removed"] == [first]


# -- versions ---------------------------------------------------------------------------------------
def test_purge_erases_every_version_of_its_blobs_and_nothing_that_shares_their_prefix(
        bucket_store: Store, s3_env: S3Bucket, data_dir: Path) -> None:
    digest = add(bucket_store, data_dir, "people", 1)
    kept = add(bucket_store, data_dir, "other", 2)
    key = key_of(bucket_store, digest)
    body = s3_env.client.get_object(Bucket=s3_env.bucket, Key=key)["Body"].read()
    s3_env.client.put_object(Bucket=s3_env.bucket, Key=key, Body=body)  # two writers published it: 2 versions
    s3_env.client.put_object(Bucket=s3_env.bucket, Key=f"{key}.note", Body=b"not a blob, shares its prefix")
    assert len(versions_of(s3_env, key)) == 2
    done = purge(bucket_store, "people@1", reason=REASON, yes=True)
    assert done.erased == (digest,) and versions_of(s3_env, key) == []
    assert versions_of(s3_env, f"{key}.note") != [] and bucket_store.objects.verify(kept) is None
    assert purge(bucket_store, "people@1", reason=REASON).erase == []


def test_purge_erases_bytes_left_only_as_an_old_version(bucket_store: Store, s3_env: S3Bucket, data_dir: Path) -> None:
    """A key deleted without its versions (by hand, or a purge cut short) still holds the bytes: purge erases them."""
    digest = add(bucket_store, data_dir, "people", 1)
    key = key_of(bucket_store, digest)
    s3_env.client.delete_object(Bucket=s3_env.bucket, Key=key)  # a delete marker hides the version
    assert not bucket_store.objects.exists(digest) and bucket_store.objects.holds(digest)
    plan = purge(bucket_store, "people@1", reason=REASON)
    assert [b.sha256 for b in plan.erase] == [digest]
    purge(bucket_store, "people@1", reason=REASON, yes=True)
    assert versions_of(s3_env, key) == []


def test_purge_on_a_bucket_without_versioning_deletes_the_key(
        s3_env: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    plain = f"{s3_env.bucket}-plain"
    s3_env.client.create_bucket(Bucket=plain)
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_STORE_URL", f"s3://{plain}/objects")
    try:
        with Store.init() as store:
            digest = add(store, data_dir, "people", 1)
            assert purge(store, "people@1", reason=REASON, yes=True).erased == (digest,)
            listed = s3_env.client.list_object_versions(Bucket=plain)
            assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
    finally:
        for item in s3_env.client.list_objects_v2(Bucket=plain).get("Contents", []):
            s3_env.client.delete_object(Bucket=plain, Key=item["Key"])
        s3_env.client.delete_bucket(Bucket=plain)


def test_gc_keeps_old_versions_of_orphans_but_erases_every_version_of_a_purged_snapshot(
        bucket_store: Store, s3_env: S3Bucket, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lineage.purge as module

    orphan = bucket_store.objects.put_bytes(b"left behind by a crash").sha256
    purged = add(bucket_store, data_dir, "people", 1)

    def crash(store: Store, digest: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(module, "remove_blob", crash)
    with pytest.raises(OSError):
        purge(bucket_store, "people@1", reason=REASON, yes=True)
    monkeypatch.undo()
    result = collect(bucket_store, remove=True, grace_seconds=0)
    assert sorted(result.unreferenced) == sorted([orphan, purged])
    assert versions_of(s3_env, key_of(bucket_store, purged)) == []
    assert len(versions_of(s3_env, key_of(bucket_store, orphan))) == 2  # the bytes and gc's delete marker


# -- incomplete uploads -----------------------------------------------------------------------------
def start_upload(bucket: S3Bucket, key: str) -> str:
    """A multipart upload with one part, never completed: what a process killed mid-upload leaves."""
    upload = bucket.client.create_multipart_upload(Bucket=bucket.bucket, Key=key)["UploadId"]
    bucket.client.upload_part(Bucket=bucket.bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 1024)
    return upload


def uploads(bucket: S3Bucket) -> list[str]:
    return sorted(u["Key"] for u in bucket.client.list_multipart_uploads(Bucket=bucket.bucket).get("Uploads", []))


def test_gc_aborts_incomplete_uploads_under_tmp_once_past_the_grace_period(
        bucket_store: Store, s3_env: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    start_upload(s3_env, "objects/tmp/killed.part")
    start_upload(s3_env, "elsewhere/tmp/not-ours.part")
    [listed] = s3_env.client.list_multipart_uploads(Bucket=s3_env.bucket, Prefix="objects/")["Uploads"]
    started = listed["Initiated"].timestamp()
    monkeypatch.setattr("lineage.gc.time", SimpleNamespace(time=lambda: started + 60))
    assert collect(bucket_store, remove=True).stale_temporaries == []  # young: the upload may still be running
    assert uploads(s3_env) == ["elsewhere/tmp/not-ours.part", "objects/tmp/killed.part"]
    monkeypatch.setattr("lineage.gc.time", SimpleNamespace(time=lambda: started + 7200))
    path = f"{s3_env.bucket}/objects/tmp/killed.part"
    dry = collect(bucket_store)
    assert dry.stale_temporaries == [path] and dry.incomplete_uploads == [path]
    assert CliRunner().invoke(main, ["gc", "--json"]).exit_code == 0
    result = CliRunner().invoke(main, ["gc", "--yes"])
    assert result.exit_code == 0 and "1 left by interrupted writes" in result.output
    assert uploads(s3_env) == ["elsewhere/tmp/not-ours.part"]
    payload = bucket_store.audit.log(action="store.gc", newest_first=True)[0].payload
    assert (payload["stale_temporaries"], payload["incomplete_uploads"]) == (1, 1)


# -- another store below the root -------------------------------------------------------------------
@pytest.mark.parametrize("where", ["local", "s3"])
def test_gc_ignores_another_stores_blobs_in_a_subfolder(
        where: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if where == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_env")
        outer, inner = f"s3://{bucket.bucket}", bucket.url("objects")
    else:
        outer, inner = str(tmp_path / "blobs"), str(tmp_path / "blobs" / "objects")
    theirs = ObjectStore(inner).put_bytes(b"another store's blob").sha256
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_STORE_URL", outer)
    with Store.init() as store:
        mine = store.objects.put_bytes(b"an orphan of this store").sha256
        assert list(store.objects.iter_keys()) == [mine]
        result = collect(store, remove=True, grace_seconds=0)
        assert result.unreferenced == [mine] and len(result.ignored_foreign) == 1
        assert result.ignored_foreign[0].endswith(f"objects/{theirs[:2]}/{theirs[2:]}")
    assert ObjectStore(inner).verify(theirs) is None


# -- URLs and options -------------------------------------------------------------------------------
def test_a_store_url_with_repeated_slashes_or_dot_segments_names_the_same_keys(s3_env: S3Bucket) -> None:
    digest = ObjectStore(s3_env.url()).put_bytes(b"one key space").sha256
    for spelling in (f"s3://{s3_env.bucket}//objects", f"s3://{s3_env.bucket}/./objects/", f"s3://{s3_env.bucket}/objects//"):
        other = ObjectStore(spelling)
        assert other.url == s3_env.url() and other.exists(digest) and list(other.iter_keys()) == [digest]


BAD_OPTIONS = [{"bogus": 1}, {"client_kwargs": 5}, {"default_block_size": 1}, {"default_block_size": "abc"}]


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_store_options_the_filesystem_refuses_are_one_line_and_write_nothing(
        options: dict[str, object], s3_env: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_STORE_URL", s3_env.url())
    monkeypatch.setenv("LINEAGE_STORE_OPTIONS", json.dumps(options))
    assert_one_line(CliRunner().invoke(main, ["init"]), f"cannot open the object store {s3_env.url()} with "
                    "LINEAGE_STORE_OPTIONS", "fix or unset LINEAGE_STORE_OPTIONS")
    assert not (tmp_path / "home").exists()
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (5 * 2**20))
    with pytest.raises(InvalidInputError, match="fix or unset LINEAGE_STORE_OPTIONS"):
        ObjectStore(s3_env.url(), options).put_file(str(big))
    assert s3_env.client.list_objects_v2(Bucket=s3_env.bucket).get("KeyCount", 0) == 0


def test_store_option_values_named_like_secrets_are_hidden(s3_env: S3Bucket) -> None:
    with pytest.raises(InvalidInputError) as refused:
        ObjectStore(s3_env.url(), {"secret": "hunter2", "default_block_size": 1}).check()
    assert "hunter2" not in str(refused.value) and '"secret": "***"' in str(refused.value)


@pytest.mark.parametrize(("url", "expected"), [
    ("memory://objects", "keeps its bytes in this process's memory only"),
    ("simplecache::memory://objects", "keeps its bytes in this process's memory only"),
    ("s3://bucket/objects/../other", "has a '..' segment"),
    ("s3://", "the object store URL s3:// names no bucket"),
])
def test_store_urls_that_cannot_hold_a_store_are_one_line_and_write_nothing(
        url: str, expected: str, s3_env: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LINEAGE_STORE_URL", url)
    assert_one_line(CliRunner().invoke(main, ["init"]), expected)
    assert not (tmp_path / "home").exists()


def test_redacted_urls_keep_their_scheme_separator() -> None:
    assert redact_url("s3://") == "s3://"
    assert redact_url("s3://bucket/objects") == "s3://bucket/objects"
    assert redact_url("postgresql://alice:s3cret@db/team") == "postgresql://alice:***@db/team"
    assert redact_url("/srv/objects") == "/srv/objects"


def test_a_young_blob_deleted_while_gc_lists_is_skipped(bucket_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A blob another gc or a purge deletes between the listing and its age check is not an error."""
    digest = bucket_store.objects.put_bytes(b"soon gone").sha256
    real = bucket_store.objects.modified_at

    def gone_meanwhile(sha256: str) -> float:
        bucket_store.objects.remove(sha256)
        return real(sha256)

    monkeypatch.setattr(bucket_store.objects, "modified_at", gone_meanwhile)
    assert collect(bucket_store, remove=True, grace_seconds=0).unreferenced == []
    assert not bucket_store.objects.exists(digest)


def test_a_large_upload_leaves_no_version_of_its_temporary(s3_env: S3Bucket, tmp_path: Path) -> None:
    """A noncurrent version of ``tmp/<uuid>.part`` would be a copy of the bytes a purge later erases."""
    from lineage.objectstore import SMALL_BLOB

    source = tmp_path / "big.bin"
    source.write_bytes(b"\1" * (SMALL_BLOB + 1))
    ObjectStore(s3_env.url()).put_file(str(source))
    listed = s3_env.client.list_object_versions(Bucket=s3_env.bucket, Prefix="objects/tmp/")
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
