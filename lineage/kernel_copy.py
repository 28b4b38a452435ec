"""Copying a local file inside the kernel and hashing the copy as it lands.

Why: ``copy_file_range`` — what ``cp`` uses, and close to what Python's own
``shutil.copyfile`` does with ``sendfile`` — copies page cache to page cache with no
buffers in user space. Where fresh memory is dear, as on VMs that hand freed pages
back to their host (free page reporting), it is far cheaper than ``read``/``write``
in 1 MiB pieces: a 1 GiB registration took 0.58–0.68x the time; where memory is
warm the two cost the same (docs/benchmarks.md, section 1). A registration must also
hash the bytes, so one thread copies in the kernel while the caller's thread reads
the *destination* right behind it and hashes what it reads. The digest is therefore
of exactly the bytes stored, as with the user-space copy.

It applies only between two unbuffered regular files (``open(..., buffering=0)``), the
destination opened by path, still empty of what this call writes (at offset 0) and
readable again by that path (it is read back through a second descriptor), and only
when the kernel accepts the first call; anything else (another filesystem type, an old
kernel, a pipe, a remote or in-memory file) returns ``None`` before a byte is written,
and the caller copies through user space as before.

The copier stays at most ``LEAD`` bytes ahead of the hasher, so the bytes read back are
still in the page cache even for files larger than memory. On a network filesystem
(NFS, SMB) the read-back fetches the file again from the server; the default store is
a local folder, where it is a page-cache read.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
from typing import Any

STEP = 8 * 1024 * 1024
"""Bytes per ``copy_file_range`` call: the hasher follows the copy in steps of this size.

8 MiB, the top of the 1–8 MiB chunk range the store's design sets; the hasher still
reads 1 MiB at a time (``hashing.CHUNK_SIZE``), so memory does not depend on it."""
LEAD = 4 * STEP
"""How far the copy may run ahead of the hashing before it waits (32 MiB of page cache)."""
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF, errno.EPERM,
                errno.ETXTBSY, errno.EISDIR, errno.ENOENT, errno.ENOTDIR, errno.EACCES}
"""Answers that mean "not this way" (the kernel cannot copy between these files, or the
destination cannot be opened again by its path): the caller copies through user space."""


class KernelCopy:
    """Copies ``source`` to ``destination`` with ``copy_file_range`` on its own thread.

    ``reader()`` gives a file-like object for ``copy_and_hash`` that reads the
    destination up to what has been copied so far, waiting for more until the copy ends.
    """

    def __init__(self, source_fd: int, destination_fd: int, read_fd: int, first: int, on_copied: Any = None) -> None:
        self._source = source_fd
        self._destination = destination_fd
        self._read_fd = read_fd  # the destination again, opened for reading
        self._on_copied = on_copied  # called with each step's byte count (the writeback hint)
        self._copied = first
        self._consumed = 0  # bytes the hasher has read back
        self._done = False
        self._stop = False
        self._failure: BaseException | None = None
        self._changed = threading.Condition()
        if on_copied is not None:
            on_copied(first)
        self._thread = threading.Thread(target=self._run, name="lineage-kernel-copy", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, source: Any, destination: Any, on_copied: Any = None) -> KernelCopy | None:
        """Start copying, or None when the kernel cannot copy between these two objects (nothing written)."""
        if not (hasattr(os, "copy_file_range") and isinstance(source, io.FileIO) and isinstance(destination, io.FileIO)):
            return None
        if not isinstance(destination.name, str):  # opened from a descriptor: no path to read it back by
            return None
        source_fd, destination_fd = source.fileno(), destination.fileno()
        if not (stat.S_ISREG(os.fstat(source_fd).st_mode) and stat.S_ISREG(os.fstat(destination_fd).st_mode)):
            return None
        if os.lseek(destination_fd, 0, os.SEEK_CUR) != 0:  # the read-back starts at 0: keep it simple
            return None
        read_fd = -1
        try:
            read_fd = os.open(destination.name, os.O_RDONLY | os.O_CLOEXEC)
            if not os.path.samestat(os.fstat(read_fd), os.fstat(destination_fd)):
                raise OSError(errno.ENOENT, "the destination path no longer names the file being written")
            first = os.copy_file_range(source_fd, destination_fd, STEP)
            if first == 0:  # an empty file, or one the kernel reports as empty (procfs): read it instead
                os.close(read_fd)
                return None
            return cls(source_fd, destination_fd, read_fd, first, on_copied)
        except OSError as exc:
            if read_fd >= 0:
                os.close(read_fd)
            if exc.errno in _UNSUPPORTED:
                return None
            raise
        except BaseException:
            if read_fd >= 0:
                os.close(read_fd)
            raise

    def _run(self) -> None:
        try:
            while True:
                with self._changed:
                    while not self._stop and self._copied - self._consumed >= LEAD:
                        self._changed.wait()  # let the hasher catch up: its bytes stay in the page cache
                    if self._stop:
                        break
                copied = os.copy_file_range(self._source, self._destination, STEP)
                if copied == 0:
                    break
                with self._changed:
                    self._copied += copied
                    self._changed.notify_all()
                if self._on_copied is not None:
                    self._on_copied(copied)
        except BaseException as exc:  # surfaced to the reading thread
            self._failure = exc
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def copied_beyond(self, position: int) -> int:
        """Record that ``position`` bytes were read back; bytes copied, once more than that or at the end."""
        with self._changed:
            self._consumed = position
            self._changed.notify_all()
            while self._copied <= position and not self._done:
                self._changed.wait()
            if self._failure is not None:
                raise self._failure
            return self._copied

    def reader(self) -> _CopiedBytes:
        return _CopiedBytes(self)

    def join(self) -> int:
        """Wait for the copy to end; the number of bytes copied."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._copied

    def close(self) -> None:
        """Stop copying (after the current step) and release the reading descriptor; safe to call twice."""
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        self._thread.join()
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1


class _CopiedBytes:
    """``readinto`` over the destination file, never past what the kernel has copied."""

    def __init__(self, copy: KernelCopy) -> None:
        self._copy = copy
        self._position = 0

    def readinto(self, buffer: bytearray) -> int:
        limit = self._copy.copied_beyond(self._position)
        if limit <= self._position:
            return 0
        view = memoryview(buffer)[: min(len(buffer), limit - self._position)]
        read = os.preadv(self._copy._read_fd, [view], self._position)
        if read == 0:
            raise OSError(errno.EIO, "the copied bytes could not be read back")
        self._position += read
        return read
