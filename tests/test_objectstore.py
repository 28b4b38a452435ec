"""The content-addressed object store (invariant 1), on a local folder and on fsspec's memory filesystem."""

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
from lineage.objectstore import ObjectStore

RNG_SEED = 2010


def payload(size: int, seed: int = RNG_SEED) -> bytes:
    return np.random.default_rng(seed).bytes(size)


def _clear_memory_filesystem() -> None:
    memory = fsspec.filesystem("memory")
    memory.store.clear()
    memory.pseudo_dirs.clear()
    memory.pseudo_dirs.append("")


@pytest.fixture(params=["local", "memory"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield ObjectStore(str(tmp_path / "objects"))
        return
    _clear_memory_filesystem()
    try:
        yield ObjectStore("memory://lineage-objects")
    finally:
        _clear_memory_filesystem()


@pytest.fixture
def local_objects(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "objects"))


def read_blob(objects: ObjectStore, sha256: str) -> bytes:
    with objects.open(sha256) as handle:
        return handle.read()


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
    stored_object = objects.fs.store.get(key) if not objects.is_local else None
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
    else:
        assert objects.fs.store.get(key) is stored_object  # the very same file object, not a new put
    assert list(objects.iter_keys()) == [first.sha256]


def test_existing_key_with_other_bytes_is_not_replaced(local_objects: ObjectStore) -> None:
    """Publishing never overwrites: even a (corrupt) existing key keeps its bytes and is reported."""
    data = b"original"
    sha = hashlib.sha256(data).hexdigest()
    key = Path(local_objects.key_path(sha))
    key.parent.mkdir(parents=True)
    key.write_bytes(b"tampered")
    assert local_objects.put_bytes(data).created is False
    assert key.read_bytes() == b"tampered"
    assert local_objects.verify(sha) is not None


# -- staging -------------------------------------------------------------------------------------

def test_staged_blob_that_is_not_published_leaves_no_key_and_no_tmp_file(objects: ObjectStore) -> None:
    data = payload(2 * CHUNK_SIZE + 1)
    with objects.stage(io.BytesIO(data)) as staged:
        assert staged.sha256 == hashlib.sha256(data).hexdigest() and staged.size == len(data)
        assert os.path.getsize(staged.tmp_path) == len(data)
        tmp_path = staged.tmp_path
    assert not os.path.exists(tmp_path)
    assert not objects.exists(staged.sha256)
    assert list(objects.iter_keys()) == []
    if objects.is_local:
        assert os.listdir(f"{objects.root}/tmp") == []


def test_staged_blob_is_discarded_when_the_caller_refuses_the_input(objects: ObjectStore) -> None:
    with pytest.raises(ValueError, match="refused"), objects.stage(io.BytesIO(b"not a table")) as staged:
        tmp_path = staged.tmp_path
        raise ValueError("refused")
    assert not os.path.exists(tmp_path)
    assert not objects.exists(hashlib.sha256(b"not a table").hexdigest())


def test_published_blob_leaves_no_tmp_file(local_objects: ObjectStore) -> None:
    with local_objects.stage(io.BytesIO(b"abc")) as staged:
        assert staged.publish() is True
        assert staged.publish() is False
    assert os.listdir(f"{local_objects.root}/tmp") == []
    assert os.stat(local_objects.key_path(staged.sha256)).st_nlink == 1


def test_staging_a_64_mib_file_keeps_memory_bounded(local_objects: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    block = payload(CHUNK_SIZE)
    with open(source, "wb") as handle:
        for index in range(64 * 1024 * 1024 // CHUNK_SIZE):
            handle.write(index.to_bytes(8, "little") + block[8:])
    expected, size = hash_file(str(source))
    assert size == 64 * 1024 * 1024
    tracemalloc.start()
    try:
        result = local_objects.put_file(str(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.sha256 == expected
    assert peak < 32 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"


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
    else:
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
    if objects.is_local:
        leftover = Path(objects.root) / "tmp" / "interrupted.part"
        leftover.write_bytes(b"half a blob")
    some_key = next(iter(stored))
    objects.fs.pipe_file(f"{objects.root}/{some_key[:2]}/.DS_Store", b"stray")  # not a digest
    assert sorted(objects.iter_keys()) == sorted(stored)


def test_uri_of_a_blob_opens_its_bytes(objects: ObjectStore) -> None:
    sha = objects.put_bytes(b"x").sha256
    uri = objects.uri(sha)
    if objects.is_local:
        assert Path(uri).read_bytes() == b"x"
    else:
        assert uri.startswith("memory://") and uri.endswith(sha[2:])
        with fsspec.open(uri, "rb") as handle:
            assert handle.read() == b"x"
