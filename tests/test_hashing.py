"""Streaming sha256: what hashlib (and sha256sum) say, in one pass, copying while hashing."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import numpy as np
import pytest

from lineage.hashing import CHUNK_SIZE, HashInfo, copy_and_hash, hash_file, hash_stream, sha256_bytes

SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 7]


def payload(size: int) -> bytes:
    return np.random.default_rng(2010).bytes(size)


@pytest.fixture(scope="module")
def largest() -> bytes:
    return payload(max(SIZES))


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size}B")
def test_hash_file_equals_hashlib_for_sizes_around_the_chunk_size(tmp_path: Path, largest: bytes, size: int) -> None:
    data = largest[:size]
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    seen: list[int] = []
    assert hash_file(str(path), seen.append) == (hashlib.sha256(data).hexdigest(), size)
    assert sum(seen) == size
    assert all(0 < amount <= CHUNK_SIZE for amount in seen)
    assert hash_stream(io.BytesIO(data)) == (hashlib.sha256(data).hexdigest(), size)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size}B")
def test_copy_and_hash_writes_identical_bytes_and_reports_progress_summing_to_size(
    tmp_path: Path, largest: bytes, size: int
) -> None:
    data = largest[:size]
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    copy = tmp_path / "copy.bin"
    seen: list[int] = []
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        result = copy_and_hash(reader, writer, seen.append)
    assert result == (hashlib.sha256(data).hexdigest(), size)
    assert copy.read_bytes() == data
    assert sum(seen) == size


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size}B")
def test_extra_digests_see_exactly_the_bytes_of_the_same_pass(tmp_path: Path, largest: bytes, size: int) -> None:
    data = largest[:size]
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    md5, sha1 = hashlib.md5(), hashlib.sha1()
    copy = io.BytesIO()
    with open(source, "rb", buffering=0) as reader:
        assert copy_and_hash(reader, copy, also=[md5, sha1]) == (hashlib.sha256(data).hexdigest(), size)
    assert copy.getvalue() == data
    assert (md5.hexdigest(), sha1.hexdigest()) == (hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest())
    only_hashed = hashlib.md5()
    seen: list[int] = []
    assert hash_file(str(source), seen.append, also=[only_hashed]) == (hashlib.sha256(data).hexdigest(), size)
    assert only_hashed.hexdigest() == hashlib.md5(data).hexdigest() and sum(seen) == size


class RaisingWriter(io.RawIOBase):
    """A destination that fails after accepting some bytes, as a full disk does."""

    def __init__(self, fail_after: int) -> None:
        self.fail_after = fail_after
        self.received = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | memoryview) -> int:
        if self.received + len(data) > self.fail_after:
            raise OSError(28, "No space left on device")
        self.received += len(data)
        return len(data)


class RepeatingSource(io.RawIOBase):
    """``count`` chunks of the same bytes, without holding them all in memory."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk = chunk
        self.left = count

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left == 0:
            return b""
        self.left -= 1
        return self.chunk


@pytest.mark.parametrize("fail_after", [0, CHUNK_SIZE])
def test_failing_destination_propagates_the_error_without_hanging(largest: bytes, fail_after: int) -> None:
    # Many more chunks than the queue between reader and writer holds: a writer that stopped
    # taking chunks after its failure would leave the reader blocked forever.
    source = RepeatingSource(largest[:CHUNK_SIZE], count=20)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            copy_and_hash(source, RaisingWriter(fail_after))
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "copy_and_hash hung on a failing destination"
    assert isinstance(outcome[0], OSError) and "No space left" in str(outcome[0])


class ShortWriter(io.RawIOBase):
    """A raw stream that, as RawIOBase allows, accepts at most ``limit`` bytes per write()."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | memoryview) -> int:
        accepted = bytes(data[: self.limit])
        self.buffer += accepted
        return len(accepted)


def test_copy_and_hash_completes_short_writes_of_raw_streams() -> None:
    data = payload(CHUNK_SIZE + 5000)
    destination = ShortWriter(limit=1_000_003)
    assert copy_and_hash(io.BytesIO(data), destination) == (hashlib.sha256(data).hexdigest(), len(data))
    assert bytes(destination.buffer) == data


def test_failing_source_propagates_the_error() -> None:
    class BrokenSource(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "Input/output error")
            return b"x" * 10

    destination = io.BytesIO()
    with pytest.raises(OSError, match="Input/output error"):
        copy_and_hash(BrokenSource(), destination)
    assert destination.getvalue() == b"x" * 20  # what was read before the failure was still written out


def test_sha256_bytes_and_hash_info_name_their_algorithm() -> None:
    assert sha256_bytes(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert str(HashInfo("sha256", sha256_bytes(b""))) == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
