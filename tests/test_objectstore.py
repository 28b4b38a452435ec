"""The content-addressed object store (invariant 1): on a local folder, fsspec's memory filesystem and S3.

S3 is moto's server in its own process (tests/s3server.py), reached through s3fs with the
standard AWS variables, each test in its own versioned bucket.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import fsspec
import numpy as np
import pytest

from lineage.errors import NotFoundError
from lineage.hashing import CHUNK_SIZE, hash_file
from lineage.objectstore import SMALL_BLOB, ObjectStore
from tests.s3server import S3Bucket

RNG_SEED = 2010


def payload(size: int, seed: int = RNG_SEED) -> bytes:
    return np.random.default_rng(seed).bytes(size)


def _clear_memory_filesystem() -> None:
    memory = fsspec.filesystem("memory")
    memory.store.clear()
    memory.pseudo_dirs.clear()
    memory.pseudo_dirs.append("")


@pytest.fixture(params=["local", "memory", "s3"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield ObjectStore(str(tmp_path / "objects"))
        return
    if request.param == "s3":
        bucket: S3Bucket = request.getfixturevalue("s3_env")
        yield ObjectStore(bucket.url())
        return
    _clear_memory_filesystem()
    try:
        yield memory_objects()
    finally:
        _clear_memory_filesystem()


def memory_objects() -> ObjectStore:
    """A store on fsspec's memory filesystem: the generic (neither local nor bucket) code paths.

    ``memory://`` is refused as a store URL (its bytes die with the process), so the
    filesystem is handed to the store directly, as ``connect`` would have.
    """
    objects = ObjectStore("memory://lineage-objects")
    objects._fs, objects._root = fsspec.filesystem("memory"), "/lineage-objects"
    return objects


@pytest.fixture
def local_objects(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "objects"))


@pytest.fixture
def s3_objects(s3_env: S3Bucket) -> ObjectStore:
    return ObjectStore(s3_env.url())


def read_blob(objects: ObjectStore, sha256: str) -> bytes:
    with objects.open(sha256) as handle:
        return handle.read()


def temporary_exists(objects: ObjectStore, path: str) -> bool:
    return os.path.exists(path) if objects.is_local else objects.fs.exists(path)


def temporaries(objects: ObjectStore) -> list[str]:
    return objects.fs.find(f"{objects.root}/tmp")


# -- keys ---------------------------------------------------------------------------------------

def test_put_file_key_is_the_sha256_of_the_bytes(objects: ObjectStore, tmp_path: Path) -> None:
    data = payload(CHUNK_SIZE + 12345)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    result = objects.put_file(str(source))
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data) and result.created is True
    assert objects.exists(result.sha256)
    assert read_blob(objects, result.sha256) == data
    assert objects.key_path(result.sha256).endswith(f"/{result.sha256[:2]}/{result.sha256[2:]}")


def test_put_bytes_key_is_the_sha256_of_the_bytes(objects: ObjectStore) -> None:
    for data in (b"", b"lineage-manifest-v1\n", payload(1000)):
        result = objects.put_bytes(data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.size == len(data)
        assert read_blob(objects, result.sha256) == data


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="coreutils sha256sum is not installed")
def test_blob_key_is_what_sha256sum_prints_for_source_and_stored_blob(local_objects: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(payload(300_000))
    result = local_objects.put_file(str(source))
    for path in (source, Path(local_objects.key_path(result.sha256))):
        printed = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True).stdout
        assert printed.split()[0] == result.sha256
    bytes_result = local_objects.put_bytes(b"manifest text\n")
    printed = subprocess.run(["sha256sum"], input=b"manifest text\n", check=True, capture_output=True).stdout
    assert printed.split()[0].decode() == bytes_result.sha256


# -- never rewritten -------------------------------------------------------------------------------

def test_storing_the_same_bytes_again_is_deduplicated_without_rewriting(objects: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(payload(5000))
    first = objects.put_file(str(source))
    key = objects.key_path(first.sha256)
    before = objects.fs.info(key)
    stored_object = objects.fs.store.get(key) if objects.url.startswith("memory://") else None
    stat_before = os.stat(key) if objects.is_local else None

    copy = tmp_path / "copy.bin"
    shutil.copyfile(source, copy)
    again = objects.put_file(str(copy))
    also = objects.put_bytes(source.read_bytes())

    assert first.created is True
    assert (again.sha256, again.created) == (first.sha256, False)
    assert (also.sha256, also.created) == (first.sha256, False)
    assert objects.fs.info(key)["size"] == before["size"]
    if objects.is_local:
        stat_after = os.stat(key)
        assert (stat_after.st_ino, stat_after.st_mtime_ns, stat_after.st_nlink) == (
            stat_before.st_ino, stat_before.st_mtime_ns, 1,
        )
    elif stored_object is not None:
        assert objects.fs.store.get(key) is stored_object  # the very same file object, not a new put
    else:  # S3: the bucket is versioned, so a rewrite would have added a version
        assert objects.fs.info(key)["ETag"] == before["ETag"]
        bucket, name = key.split("/", 1)
        versions = objects.fs.call_s3("list_object_versions", Bucket=bucket, Prefix=name)["Versions"]
        assert [v["Key"] for v in versions] == [name]
    assert list(objects.iter_keys()) == [first.sha256]
    assert temporaries(objects) == []


def test_existing_key_with_other_bytes_is_not_replaced(objects: ObjectStore) -> None:
    """Publishing never overwrites: even a (corrupt) existing key keeps its bytes and is reported."""
    data = b"original"
    sha = hashlib.sha256(data).hexdigest()
    key = objects.key_path(sha)
    objects.fs.makedirs(objects.fs._parent(key), exist_ok=True)
    objects.fs.pipe_file(key, b"tampered")
    assert objects.put_bytes(data).created is False
    assert objects.fs.cat_file(key) == b"tampered"
    assert objects.verify(sha) is not None


# -- staging -------------------------------------------------------------------------------------

def test_staged_blob_that_is_not_published_leaves_no_key_and_no_tmp_file(objects: ObjectStore) -> None:
    data = payload(SMALL_BLOB + 2 * CHUNK_SIZE + 1)  # large: staged in a temporary file or object
    with objects.stage(io.BytesIO(data)) as staged:
        assert staged.sha256 == hashlib.sha256(data).hexdigest() and staged.size == len(data)
        size = os.path.getsize(staged.tmp_path) if objects.is_local else objects.fs.size(staged.tmp_path)
        assert size == len(data)
        assert not objects.exists(staged.sha256)  # staged bytes are not yet a blob
        tmp_path = staged.tmp_path
    assert not temporary_exists(objects, tmp_path)
    assert not objects.exists(staged.sha256)
    assert list(objects.iter_keys()) == []
    assert temporaries(objects) == []


@pytest.mark.parametrize("size", [11, SMALL_BLOB + 1])
def test_staged_blob_is_discarded_when_the_caller_refuses_the_input(objects: ObjectStore, size: int) -> None:
    data = payload(size)
    with pytest.raises(ValueError, match="refused"), objects.stage(io.BytesIO(data)) as staged:
        raise ValueError("refused")
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert temporaries(objects) == []
    assert not objects.exists(staged.sha256)


def test_a_small_blob_for_a_bucket_is_staged_in_memory_and_put_once(objects: ObjectStore) -> None:
    """Up to SMALL_BLOB, nothing is written until publish, which is one put under the key."""
    data = payload(SMALL_BLOB)
    with objects.stage(io.BytesIO(data)) as staged:
        if not objects.is_local:
            assert staged.data == data and temporaries(objects) == []
        assert staged.publish() is True
        assert staged.publish() is False
    assert read_blob(objects, staged.sha256) == data
    assert temporaries(objects) == []


@pytest.mark.parametrize("size", [3, SMALL_BLOB + 1])
def test_published_blob_leaves_no_tmp_file(objects: ObjectStore, size: int) -> None:
    data = payload(size)
    with objects.stage(io.BytesIO(data)) as staged:
        assert staged.publish() is True
        assert staged.publish() is False
    assert temporaries(objects) == []
    assert read_blob(objects, staged.sha256) == data
    if objects.is_local:
        assert os.stat(objects.key_path(staged.sha256)).st_nlink == 1


def _big_file(tmp_path: Path) -> tuple[Path, str]:
    source = tmp_path / "big.bin"
    block = payload(CHUNK_SIZE)
    with open(source, "wb") as handle:
        for index in range(64 * 1024 * 1024 // CHUNK_SIZE):
            handle.write(index.to_bytes(8, "little") + block[8:])
    expected, size = hash_file(str(source))
    assert size == 64 * 1024 * 1024
    return source, expected


def _peak_memory_of_put(objects: ObjectStore, source: Path) -> tuple[str, int]:
    tracemalloc.start()
    try:
        result = objects.put_file(str(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result.sha256, peak


def test_staging_a_64_mib_file_keeps_memory_bounded(local_objects: ObjectStore, tmp_path: Path) -> None:
    source, expected = _big_file(tmp_path)
    sha256, peak = _peak_memory_of_put(local_objects, source)
    assert sha256 == expected
    assert peak < 32 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"


def test_uploading_a_64_mib_file_to_s3_keeps_memory_bounded_by_the_part_size(s3_env: S3Bucket, tmp_path: Path) -> None:
    """The bytes go up in 8 MiB parts of a multipart upload while they are hashed: memory is a few parts.

    (s3fs's buffer, the part being sent and the HTTP body each hold about one part.)
    """
    part = 8 * 2**20
    objects = ObjectStore(s3_env.url(), {"default_block_size": part})
    objects.put_bytes(b"warm-up: the client's first request loads its service model")
    source, expected = _big_file(tmp_path)
    sha256, peak = _peak_memory_of_put(objects, source)
    assert sha256 == expected
    assert peak < 5 * part, f"peak traced memory {peak / 2**20:.1f} MiB for a 64 MiB file in 8 MiB parts"
    assert objects.verify(sha256) is None
    head = s3_env.client.head_object(Bucket=s3_env.bucket, Key=objects.key_path(sha256).split("/", 1)[1])
    assert head["ContentLength"] == 64 * 1024 * 1024


# -- reading and checking ----------------------------------------------------------------------------

def test_verify_accepts_an_intact_blob(objects: ObjectStore) -> None:
    result = objects.put_bytes(payload(4096))
    assert objects.verify(result.sha256) is None


def test_verify_detects_a_flipped_byte(objects: ObjectStore) -> None:
    data = payload(70_000)
    result = objects.put_bytes(data)
    damaged = bytearray(data)
    damaged[40_000] ^= 0x01
    key = objects.key_path(result.sha256)
    if objects.is_local:
        with open(key, "r+b") as handle:
            handle.seek(40_000)
            handle.write(bytes([damaged[40_000]]))
    else:  # a bucket has no in-place edit: whoever tampers rewrites the object
        objects.fs.pipe_file(key, bytes(damaged))
    problem = objects.verify(result.sha256)
    assert problem is not None and "corrupt" in problem
    assert hashlib.sha256(bytes(damaged)).hexdigest() in problem


def test_verify_detects_a_deleted_blob(objects: ObjectStore) -> None:
    result = objects.put_bytes(b"soon gone")
    objects.fs.rm(objects.key_path(result.sha256))
    problem = objects.verify(result.sha256)
    assert problem is not None and "missing" in problem
    with pytest.raises(NotFoundError, match=result.sha256):
        read_blob(objects, result.sha256)


def test_copy_to_writes_the_blob_and_returns_its_sha256(objects: ObjectStore) -> None:
    data = payload(CHUNK_SIZE * 2 + 3)
    result = objects.put_bytes(data)
    destination = io.BytesIO()
    assert objects.copy_to(result.sha256, destination) == result.sha256
    assert destination.getvalue() == data


def test_copy_to_returns_the_sha256_of_what_was_actually_written(objects: ObjectStore) -> None:
    result = objects.put_bytes(b"good bytes")
    objects.fs.pipe_file(objects.key_path(result.sha256), b"bad bytes!")
    destination = io.BytesIO()
    actual = objects.copy_to(result.sha256, destination)
    assert actual == hashlib.sha256(b"bad bytes!").hexdigest() != result.sha256


def test_iter_keys_lists_every_stored_key_and_nothing_else(objects: ObjectStore) -> None:
    assert list(objects.iter_keys()) == []
    stored = {objects.put_bytes(f"blob {i}".encode()).sha256 for i in range(5)}
    objects.fs.pipe_file(f"{objects.root}/tmp/interrupted.part", b"half a blob")
    some_key = next(iter(stored))
    objects.fs.pipe_file(f"{objects.root}/{some_key[:2]}/.DS_Store", b"stray")  # not a digest
    assert sorted(objects.iter_keys()) == sorted(stored)


def test_iter_keys_ignores_another_stores_blobs_in_a_subfolder(objects: ObjectStore) -> None:
    """Only ``<root>/<2 hex>/<62 hex>`` is a blob: a nested store's keys also end in ``ab/cdef…``."""
    mine = objects.put_bytes(b"mine").sha256
    theirs = hashlib.sha256(b"theirs").hexdigest()
    nested = f"{objects.root}/objects/{theirs[:2]}/{theirs[2:]}"
    objects.fs.makedirs(objects.fs._parent(nested), exist_ok=True)
    objects.fs.pipe_file(nested, b"theirs")
    assert list(objects.iter_keys()) == [mine]
    assert objects.scan() == ([mine], [nested])


def test_uri_of_a_blob_opens_its_bytes(objects: ObjectStore) -> None:
    sha = objects.put_bytes(b"x").sha256
    uri = objects.uri(sha)
    if objects.is_local:
        assert Path(uri).read_bytes() == b"x"
    else:
        assert uri.startswith(f"{objects.url.split('://')[0]}://") and uri.endswith(sha[2:])
        with fsspec.open(uri, "rb") as handle:
            assert handle.read() == b"x"
