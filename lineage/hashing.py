"""Streaming sha256: one read pass, bounded memory, optionally copying while hashing.

The digest is exactly what ``sha256sum`` prints, so an auditor can check any blob
with coreutils. Copying overlaps with hashing on a second thread (both hashlib and
file writes release the GIL), which is how one pass over the bytes costs about
the same as the slower of the two. The chunks travel in a small pool of reused
buffers (no allocation, no page faults per chunk), and a copy that will be fsynced
asks the kernel to start writing it to disk as it goes, so the final fsync waits
for the last few megabytes instead of the whole file. Between two local files the
kernel copies and the bytes are hashed as read back from the copy (``kernel_copy``).

Digests other tools need (DVC's md5) ride on the same pass: the second thread
feeds them the chunks the first one hashes with sha256, so two digests of one
file cost one read and about the time of the slower hash, on two cores.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024  # 1 MiB: large enough for throughput, small enough for memory
_QUEUE_DEPTH = 4  # at most this many chunks in flight between hasher and writer
_BUFFERS = _QUEUE_DEPTH + 2  # the pool: chunks in flight, the one being read and hashed, one spare
WRITEBACK_STEP = 16 * 1024 * 1024
"""With ``writeback``, ask the kernel to start writing every this many copied bytes to disk."""
HASH_ALGORITHM = "sha256"

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just processed."""


class Hasher(Protocol):
    """What ``copy_and_hash`` needs of an extra hash object (any ``hashlib`` object)."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


@dataclass(frozen=True)
class HashInfo:
    """A digest together with the algorithm that made it, so the algorithm can change later."""

    algorithm: str
    value: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of an in-memory value."""
    return hashlib.sha256(data).hexdigest()


def hash_stream(source: BinaryIO, progress: ProgressCallback | None = None) -> tuple[str, int]:
    """Return (hex sha256, size) of everything readable from ``source``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
        if progress:
            progress(len(chunk))
    return digest.hexdigest(), size


def hash_file(
    path: str, progress: ProgressCallback | None = None, *, also: Sequence[Hasher] = ()
) -> tuple[str, int]:
    """Return (hex sha256, size) of a local file, read once in chunks.

    ``also``: more hash objects (``hashlib.md5()``...) fed the same bytes on a second thread.
    """
    with open(path, "rb", buffering=0) as source:
        if also:
            return copy_and_hash(source, None, progress, also=also)
        return hash_stream(source, progress)


def copy_and_hash(
    source: BinaryIO, destination: BinaryIO | None, progress: ProgressCallback | None = None, *,
    writeback: bool = False, also: Sequence[Hasher] = (),
) -> tuple[str, int]:
    """Copy ``source`` into ``destination`` while hashing it; return (hex sha256, size).

    The reading thread hashes each chunk and hands it to a writer thread through
    a bounded pool of buffers, so memory stays at a few chunks whatever the file size.
    The digest is of exactly the bytes written. ``writeback=True`` (a local file that
    the caller will fsync) starts the disk writes while copying, where the OS allows it.
    ``also`` are more hash objects the writer thread updates with each chunk after
    writing it (hashlib releases the GIL, so they run beside the sha256 on another
    core); ``destination=None`` only hashes. Between two local files the kernel does
    the copy and the bytes hashed are read back from the destination (``kernel_copy``).
    """
    flusher = _Writeback.for_file(destination) if writeback and destination is not None else None
    if destination is not None:
        from lineage.kernel_copy import KernelCopy

        kernel = KernelCopy.start(source, destination, flusher.written if flusher is not None else None)
        if kernel is not None:  # the kernel copies; this thread hashes the copy right behind it
            try:
                digest, size = copy_and_hash(kernel.reader(), None, progress, also=also)
                copied = kernel.join()
            finally:
                kernel.close()
            if size != copied:
                raise OSError(f"copied {copied} bytes but read back {size}")
            return digest, size
    if destination is None and not also:  # nothing to hand to a second thread
        return _hash_into_buffer(source, progress)
    free: queue.Queue[bytearray] = queue.Queue()
    for _ in range(_BUFFERS):
        free.put(bytearray(CHUNK_SIZE))
    filled: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
    failure: list[BaseException] = []

    def write_chunks() -> None:
        try:
            while (item := filled.get()) is not None:
                buffer, length = item
                view = memoryview(buffer)[:length]
                if destination is not None:
                    _write_all(destination, view)
                for hasher in also:
                    hasher.update(view)
                view.release()
                free.put(buffer)
                if flusher is not None:
                    flusher.written(length)
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)
            while (item := filled.get()) is not None:  # hand buffers back so the reader never blocks
                free.put(item[0])

    writer = threading.Thread(target=write_chunks, name="lineage-copy", daemon=True)
    writer.start()
    digest = hashlib.sha256()
    size = 0
    read_into = _reader(source)
    try:
        while True:
            buffer = free.get()
            length = read_into(buffer)
            if not length:
                break
            filled.put((buffer, length))
            digest.update(memoryview(buffer)[:length])  # the writer only reads the buffer too
            size += length
            if progress:
                progress(length)
            if failure:
                break
    finally:
        filled.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return digest.hexdigest(), size


def _hash_into_buffer(source: BinaryIO, progress: ProgressCallback | None) -> tuple[str, int]:
    """(hex sha256, size) of ``source`` read into one reused buffer, on the calling thread."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(CHUNK_SIZE)
    read_into = _reader(source)
    while length := read_into(buffer):
        digest.update(memoryview(buffer)[:length])
        size += length
        if progress:
            progress(length)
    return digest.hexdigest(), size


def _reader(source: BinaryIO) -> Callable[[bytearray], int]:
    """``readinto`` for the source (0 at the end), falling back to ``read`` for objects without it."""
    readinto = getattr(source, "readinto", None)
    use_read = readinto is None

    def read_copy(buffer: bytearray) -> int:
        chunk = source.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def read(buffer: bytearray) -> int:
        nonlocal use_read
        if not use_read:
            try:
                return readinto(buffer) or 0  # type: ignore[misc]
            except NotImplementedError:  # a RawIOBase that implements read() only
                use_read = True
        return read_copy(buffer)

    return read


class _Writeback:
    """Starts the disk writes of a file being copied (Linux ``sync_file_range``), a hint only.

    Durability still comes from the caller's fsync; this only makes the dirty pages
    go to disk while the copy runs instead of all at once in that fsync.
    """

    _SYNC_FILE_RANGE_WRITE = 2
    _function: Any = None

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._written = 0
        self._started = 0

    @classmethod
    def for_file(cls, destination: BinaryIO) -> _Writeback | None:
        try:
            fd = destination.fileno()
        except (AttributeError, OSError, ValueError):
            return None
        return cls(fd) if cls._load() is not None else None

    @classmethod
    def _load(cls) -> Any:
        if cls._function is None:
            cls._function = False
            if hasattr(os, "sched_getaffinity"):  # Linux
                try:
                    import ctypes

                    function = ctypes.CDLL(None, use_errno=True).sync_file_range
                    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
                    function.restype = ctypes.c_int
                    cls._function = function
                except (ImportError, OSError, AttributeError):
                    pass
        return cls._function or None

    def written(self, length: int) -> None:
        self._written += length
        if self._written - self._started >= WRITEBACK_STEP:
            self._function(self._fd, self._started, self._written - self._started, self._SYNC_FILE_RANGE_WRITE)
            self._started = self._written


def _write_all(destination: BinaryIO, chunk: bytes | memoryview) -> None:
    """Write every byte: a raw stream (``open(..., buffering=0)``) may write fewer than asked."""
    view = memoryview(chunk)
    while view:
        written = destination.write(view)
        if written is None or written >= len(view):  # None: a writer that does not count
            return
        view = view[written:]
