"""Copying in the kernel and hashing the copy: same bytes, same digests, and a fallback for everything else."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import lineage.kernel_copy as kernel_copy
from lineage.hashing import CHUNK_SIZE, copy_and_hash
from lineage.kernel_copy import LEAD, STEP, KernelCopy
from lineage.objectstore import ObjectStore


def payload(size: int) -> bytes:
    return np.random.default_rng(2010).bytes(size)


def write_source(tmp_path: Path, size: int) -> tuple[bytes, Path]:
    """A file of ``size`` seeded random bytes: (its bytes, its path)."""
    data = payload(size)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    return data, source


def failing_second_call() -> Callable[..., int]:
    """``copy_file_range`` that works once (the call that starts the copy), then fails as a disk would."""
    real = os.copy_file_range
    calls = [0]

    def copy_file_range(*args: int) -> int:
        calls[0] += 1
        if calls[0] == 2:
            raise OSError(5, "Input/output error")
        return real(*args)

    return copy_file_range


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, for each copy_and_hash between two objects, whether the kernel took the copy."""
    calls: list[bool] = []
    real = KernelCopy.start.__func__  # type: ignore[attr-defined]

    def spy(cls: type[KernelCopy], *args: object, **kwargs: object) -> KernelCopy | None:
        copy = real(cls, *args, **kwargs)
        calls.append(copy is not None)
        return copy

    monkeypatch.setattr(KernelCopy, "start", classmethod(spy))
    return calls


def test_a_file_of_several_steps_is_copied_by_the_kernel_and_hashed_from_the_copy(
    tmp_path: Path, started: list[bool]
) -> None:
    data, source = write_source(tmp_path, 2 * STEP + 12_345)
    copy = tmp_path / "copy.bin"
    seen: list[int] = []
    md5 = hashlib.md5()
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        result = copy_and_hash(reader, writer, seen.append, writeback=True, also=[md5])
    assert started == [True]
    assert result == (hashlib.sha256(data).hexdigest(), len(data))
    assert copy.read_bytes() == data
    assert md5.hexdigest() == hashlib.md5(data).hexdigest()
    assert sum(seen) == len(data) and all(0 < amount <= CHUNK_SIZE for amount in seen)


def test_the_copy_starts_at_the_source_position_as_a_read_would(tmp_path: Path, started: list[bool]) -> None:
    data, source = write_source(tmp_path, 3 * CHUNK_SIZE)
    copy = tmp_path / "copy.bin"
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        reader.seek(1000)
        result = copy_and_hash(reader, writer)
    assert started == [True]
    assert result == (hashlib.sha256(data[1000:]).hexdigest(), len(data) - 1000)
    assert copy.read_bytes() == data[1000:]


def test_an_empty_file_is_read_instead_and_hashes_like_sha256sum(tmp_path: Path, started: list[bool]) -> None:
    source, copy = tmp_path / "empty.bin", tmp_path / "copy.bin"
    source.write_bytes(b"")
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        assert copy_and_hash(reader, writer) == (hashlib.sha256(b"").hexdigest(), 0)
    assert started == [False]
    assert copy.read_bytes() == b""


def test_buffered_in_memory_and_descriptor_only_objects_are_copied_through_user_space(
    tmp_path: Path, started: list[bool]
) -> None:
    data, source = write_source(tmp_path, CHUNK_SIZE + 3)
    digest = (hashlib.sha256(data).hexdigest(), len(data))
    with open(source, "rb") as buffered, open(tmp_path / "a.bin", "wb") as out:  # buffered objects
        assert copy_and_hash(buffered, out) == digest
    memory = io.BytesIO()
    with open(source, "rb", buffering=0) as reader:  # an in-memory destination
        assert copy_and_hash(reader, memory) == digest
    descriptor = os.open(tmp_path / "b.bin", os.O_WRONLY | os.O_CREAT)
    with open(source, "rb", buffering=0) as reader, open(descriptor, "wb", buffering=0) as out:  # no path
        assert copy_and_hash(reader, out) == digest
    read_end, write_end = os.pipe()  # a pipe: not a regular file
    with open(write_end, "wb", buffering=0) as pipe_in:
        pipe_in.write(data[:1000])
    with open(read_end, "rb", buffering=0) as pipe_out, open(tmp_path / "c.bin", "wb", buffering=0) as out:
        assert copy_and_hash(pipe_out, out) == (hashlib.sha256(data[:1000]).hexdigest(), 1000)
    assert started == [False, False, False, False]
    assert memory.getvalue() == data
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes() == data
    assert (tmp_path / "c.bin").read_bytes() == data[:1000]


def test_a_kernel_that_refuses_the_copy_falls_back_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[bool]
) -> None:
    """EXDEV is what copy_file_range answers between filesystems it cannot copy across."""
    data, source = write_source(tmp_path, CHUNK_SIZE * 2 + 1)
    copy = tmp_path / "copy.bin"

    def refuse(*_args: object) -> int:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(kernel_copy.os, "copy_file_range", refuse)
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        assert copy_and_hash(reader, writer) == (hashlib.sha256(data).hexdigest(), len(data))
    assert started == [False]
    assert copy.read_bytes() == data


def test_a_copy_that_fails_midway_raises_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[bool]
) -> None:
    data, source = write_source(tmp_path, 3 * STEP)
    copy = tmp_path / "copy.bin"
    monkeypatch.setattr(kernel_copy.os, "copy_file_range", failing_second_call())
    with (open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer,
          pytest.raises(OSError, match="Input/output error")):
        copy_and_hash(reader, writer)
    assert started == [True]


def test_staging_a_local_blob_goes_through_the_kernel_and_stores_the_exact_bytes(
    tmp_path: Path, started: list[bool]
) -> None:
    data, source = write_source(tmp_path, STEP + 99)
    objects = ObjectStore(str(tmp_path / "objects"), {})
    with open(source, "rb", buffering=0) as handle, objects.stage(handle) as staged:
        staged.publish()
    assert started == [True]
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    with objects.open(staged.sha256) as stored:
        assert stored.read() == data
    assert objects.verify(staged.sha256) is None
    assert list((tmp_path / "objects" / "tmp").iterdir()) == []


def write_big_parquet(path: Path) -> Path:
    """A Parquet file larger than one copy step (random floats hardly compress)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = np.random.default_rng(2010).standard_normal(STEP // 8 + 50_000)
    pq.write_table(pa.table({"x": values}), path, compression="none")
    assert path.stat().st_size > STEP
    return path


def test_checkout_copies_through_the_kernel_and_refuses_a_corrupt_blob(tmp_path: Path, started: list[bool]) -> None:
    from lineage.errors import IntegrityError
    from lineage.store import Store

    store = Store.init(tmp_path / "home")
    source = write_big_parquet(tmp_path / "big.parquet")
    info = store.snapshots.add(source, dataset="big", version="1")
    restored = store.snapshots.checkout("big@1", tmp_path / "restored.parquet")
    assert restored.read_bytes() == source.read_bytes()
    assert started == [True, True]  # registration, then checkout
    blob = Path(store.objects.key_path(info.sha256))
    blob.chmod(0o644)
    with open(blob, "r+b") as handle:  # one flipped byte, far past the first copy step
        handle.seek(STEP + 10)
        byte = handle.read(1)
        handle.seek(STEP + 10)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IntegrityError, match="hash to"):
        store.snapshots.checkout("big@1", tmp_path / "second.parquet")
    assert started[-1] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.parquet", "home", "restored.parquet"]
    store.close()


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_the_digest_is_of_the_bytes_in_the_destination_not_of_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[bool]
) -> None:
    """Whatever lands in the destination is what gets hashed: a byte changed there after each step shows."""
    data, source = write_source(tmp_path, 2 * STEP + 5)
    copy = tmp_path / "copy.bin"
    real = os.copy_file_range

    def copy_then_scribble(source_fd: int, destination_fd: int, count: int) -> int:
        copied = real(source_fd, destination_fd, count)
        if copied:
            end = os.lseek(destination_fd, 0, os.SEEK_CUR)
            os.pwrite(destination_fd, b"\x00" if data[end - 1] else b"\x01", end - 1)
        return copied

    monkeypatch.setattr(kernel_copy.os, "copy_file_range", copy_then_scribble)
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        digest, size = copy_and_hash(reader, writer)
    assert started == [True]
    stored = copy.read_bytes()
    assert stored != data and size == len(data)
    assert digest == hashlib.sha256(stored).hexdigest() != hashlib.sha256(data).hexdigest()


def test_short_slow_copies_are_followed_to_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[bool]
) -> None:
    """The kernel may copy less than asked; the hasher then waits for each next piece."""
    data, source = write_source(tmp_path, 3 * CHUNK_SIZE + 17)
    copy = tmp_path / "copy.bin"
    real = os.copy_file_range

    def short(source_fd: int, destination_fd: int, count: int) -> int:
        time.sleep(0.0005)
        return real(source_fd, destination_fd, min(count, 100_000))

    monkeypatch.setattr(kernel_copy.os, "copy_file_range", short)
    md5 = hashlib.md5()
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        assert copy_and_hash(reader, writer, also=[md5]) == (hashlib.sha256(data).hexdigest(), len(data))
    assert started == [True]
    assert copy.read_bytes() == data and md5.hexdigest() == hashlib.md5(data).hexdigest()


def test_the_copy_waits_for_a_slow_hasher_instead_of_running_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[bool]
) -> None:
    """At most LEAD bytes ahead: what is read back is still in the page cache, whatever the file size."""
    data, source = write_source(tmp_path, 2 * LEAD + 3 * STEP)
    copy = tmp_path / "copy.bin"
    hashed = [0]
    leads: list[int] = []
    real = os.copy_file_range

    def measured(source_fd: int, destination_fd: int, count: int) -> int:
        leads.append(os.fstat(destination_fd).st_size - hashed[0])
        return real(source_fd, destination_fd, count)

    def slow_progress(amount: int) -> None:
        hashed[0] += amount
        time.sleep(0.002)

    monkeypatch.setattr(kernel_copy.os, "copy_file_range", measured)
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        assert copy_and_hash(reader, writer, slow_progress) == (hashlib.sha256(data).hexdigest(), len(data))
    assert started == [True]
    assert len(leads) > 2 * LEAD // STEP
    assert max(leads) < LEAD + CHUNK_SIZE


def test_a_destination_already_written_to_is_copied_through_user_space(tmp_path: Path, started: list[bool]) -> None:
    data, source = write_source(tmp_path, STEP + 1)
    copy = tmp_path / "copy.bin"
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        writer.write(b"header")
        assert copy_and_hash(reader, writer) == (hashlib.sha256(data).hexdigest(), len(data))
    assert started == [False]
    assert copy.read_bytes() == b"header" + data


def test_a_destination_that_cannot_be_reopened_is_copied_through_user_space(
    tmp_path: Path, started: list[bool]
) -> None:
    data, source = write_source(tmp_path, CHUNK_SIZE)
    copy = tmp_path / "copy.bin"
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        copy.unlink()  # still open, but its path is gone
        assert copy_and_hash(reader, writer) == (hashlib.sha256(data).hexdigest(), len(data))
    assert started == [False]


class Boom(Exception):
    pass


class FailingHasher:
    def update(self, data: bytes | memoryview, /) -> None:
        raise Boom("extra hasher failed")

    def hexdigest(self) -> str:
        return ""


def interrupt(_amount: int) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("failure", ["copier", "extra hasher", "interrupt", "none"])
def test_no_descriptor_or_thread_outlives_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[bool], failure: str
) -> None:
    data, source = write_source(tmp_path, 3 * STEP)
    copy = tmp_path / "copy.bin"
    if failure == "copier":
        monkeypatch.setattr(kernel_copy.os, "copy_file_range", failing_second_call())
    also = [FailingHasher()] if failure == "extra hasher" else []
    progress = interrupt if failure == "interrupt" else None
    expected: dict[str, type[BaseException]] = {"copier": OSError, "extra hasher": Boom, "interrupt": KeyboardInterrupt}
    threads, descriptors = threading.active_count(), open_descriptors()
    with open(source, "rb", buffering=0) as reader, open(copy, "wb", buffering=0) as writer:
        if failure == "none":
            assert copy_and_hash(reader, writer, progress, also=also)[1] == len(data)
        else:
            with pytest.raises(expected[failure]):
                copy_and_hash(reader, writer, progress, also=also)
        assert open_descriptors() == descriptors + 2  # the two files of this test, nothing more
    assert started == [True]
    assert threading.active_count() == threads
    assert open_descriptors() == descriptors
