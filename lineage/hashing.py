"""Streaming sha256: one read pass, bounded memory, optionally copying while hashing.

The digest is exactly what ``sha256sum`` prints, so an auditor can check any blob
with coreutils. Copying overlaps with hashing on a second thread (both hashlib and
file writes release the GIL), which is how one pass over the bytes costs about
the same as the slower of the two.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

CHUNK_SIZE = 4 * 1024 * 1024  # 4 MiB: large enough for throughput, small enough for memory
_QUEUE_DEPTH = 4  # at most this many chunks in flight between hasher and writer
HASH_ALGORITHM = "sha256"

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just processed."""


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


def hash_file(path: str, progress: ProgressCallback | None = None) -> tuple[str, int]:
    """Return (hex sha256, size) of a local file, read once in chunks."""
    with open(path, "rb", buffering=0) as source:
        return hash_stream(source, progress)


def copy_and_hash(
    source: BinaryIO, destination: BinaryIO, progress: ProgressCallback | None = None
) -> tuple[str, int]:
    """Copy ``source`` into ``destination`` while hashing it; return (hex sha256, size).

    The reading thread hashes each chunk and hands it to a writer thread through
    a bounded queue, so memory stays at a few chunks whatever the file size.
    """
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
    failure: list[BaseException] = []

    def write_chunks() -> None:
        try:
            while (chunk := chunks.get()) is not None:
                _write_all(destination, chunk)
        except BaseException as exc:  # surfaced to the caller below
            failure.append(exc)
            while chunks.get() is not None:  # drain so the reader never blocks forever
                pass

    writer = threading.Thread(target=write_chunks, name="lineage-copy", daemon=True)
    writer.start()
    digest = hashlib.sha256()
    size = 0
    try:
        while chunk := source.read(CHUNK_SIZE):
            chunks.put(chunk)
            digest.update(chunk)
            size += len(chunk)
            if progress:
                progress(len(chunk))
    finally:
        chunks.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return digest.hexdigest(), size


def _write_all(destination: BinaryIO, chunk: bytes) -> None:
    """Write every byte: a raw stream (``open(..., buffering=0)``) may write fewer than asked."""
    view = memoryview(chunk)
    while view:
        written = destination.write(view)
        if written is None or written >= len(view):  # None: a writer that does not count
            return
        view = view[written:]
