"""Content-addressed blob storage over fsspec (invariant 1).

A blob's key is the sha256 of its bytes, laid out as ``ab/cdef…`` under the store
root. Bytes are streamed to a temporary file while being hashed, flushed, fsynced
and then published under their key without ever replacing an existing key: on a
local disk by a hard link (atomic, fails if the key exists), elsewhere by a single
put that is skipped when the key is already present.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from lineage.errors import NotFoundError, StoreUnavailableError
from lineage.hashing import Hasher, ProgressCallback, copy_and_hash, hash_stream


@dataclass(frozen=True)
class PutResult:
    """What storing one blob did."""

    sha256: str
    size: int
    created: bool  # False when the key already existed (deduplicated)


@dataclass
class StagedBlob:
    """Bytes hashed into a temporary file, not yet visible under their key."""

    store: ObjectStore
    tmp_path: str
    sha256: str
    size: int

    def publish(self) -> bool:
        """Make the blob visible under its key; False when the key already existed."""
        return self.store._publish(self.tmp_path, self.sha256)


class ObjectStore:
    """Blobs keyed by sha256 on any fsspec filesystem (local folder by default)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._fs: Any = None
        self._root = ""

    def _connect(self) -> None:
        """Open the filesystem on first use, so commands that never touch blobs skip fsspec."""
        import fsspec

        try:
            self._fs, root = fsspec.core.url_to_fs(self.url)
        except (ImportError, ValueError, OSError) as exc:
            raise StoreUnavailableError(
                f"cannot open object store '{self.url}' ({exc}): check LINEAGE_STORE_URL"
            ) from None
        self._root = root.rstrip("/")

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._connect()
        return self._fs

    def _plain_local_root(self) -> str | None:
        """The root of a plain absolute local path (the default store), known without fsspec.

        It is what fsspec's local filesystem makes of such a path; staging, publishing and
        ``exists`` then use the os module directly, so ``add`` does not import fsspec.
        """
        url = self.url
        if url.startswith("/") and not url.startswith("//") and "://" not in url and "::" not in url:
            return url.rstrip("/") or None
        return None

    @property
    def root(self) -> str:
        if self._fs is None:
            local = self._plain_local_root()
            if local is not None:
                return local
            self._connect()
        return self._root

    @property
    def is_local(self) -> bool:
        if self._fs is None and self._plain_local_root() is not None:
            return True
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        return "file" in protocols or "local" in protocols

    # -- layout -------------------------------------------------------------------------
    def key_path(self, sha256: str) -> str:
        """Where the blob with this digest lives."""
        return f"{self.root}/{sha256[:2]}/{sha256[2:]}"

    def uri(self, sha256: str) -> str:
        """A URI users can pass to other tools."""
        path = self.key_path(sha256)
        return path if self.is_local else self.fs.unstrip_protocol(path)

    def exists(self, sha256: str) -> bool:
        if self.is_local:
            return os.path.exists(self.key_path(sha256))
        return self.fs.exists(self.key_path(sha256))

    # -- writing --------------------------------------------------------------------------
    @contextlib.contextmanager
    def stage(
        self, source: BinaryIO, progress: ProgressCallback | None = None, *, also: Sequence[Hasher] = ()
    ) -> Iterator[StagedBlob]:
        """Copy ``source`` to a temporary file while hashing it; publish it or it is discarded.

        Staging lets the caller check the data (parse it, compare hashes) before
        anything becomes visible in the store: a refused input leaves nothing behind.
        ``also``: more hash objects fed the same bytes in the same pass (DVC's md5).
        """
        tmp_dir = f"{self.root}/tmp" if self.is_local else tempfile.gettempdir()
        os.makedirs(tmp_dir, exist_ok=True)
        tmp_path = f"{tmp_dir}/{uuid.uuid4().hex}.part"
        try:
            with open(tmp_path, "wb", buffering=0) as tmp:
                sha256, size = copy_and_hash(source, tmp, progress, writeback=self.is_local, also=also)
                if self.is_local:
                    os.fsync(tmp.fileno())
            yield StagedBlob(self, tmp_path, sha256, size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)

    def _publish(self, tmp_path: str, sha256: str) -> bool:
        final = self.key_path(sha256)
        if self.is_local:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            try:
                os.link(tmp_path, final)  # atomic and never replaces an existing key
            except FileExistsError:
                return False
            _fsync_dir(os.path.dirname(final))
            return True
        if self.fs.exists(final):
            return False
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        self.fs.put_file(tmp_path, final)
        return True

    def put_file(self, path: str, progress: ProgressCallback | None = None) -> PutResult:
        """Store a local file's bytes in one read pass."""
        with open(path, "rb", buffering=0) as source, self.stage(source, progress) as staged:
            return PutResult(staged.sha256, staged.size, staged.publish())

    def put_bytes(self, data: bytes) -> PutResult:
        """Store a small in-memory value (a manifest, for example)."""
        import io

        with self.stage(io.BytesIO(data)) as staged:
            return PutResult(staged.sha256, staged.size, staged.publish())

    # -- reading --------------------------------------------------------------------------
    @contextlib.contextmanager
    def open(self, sha256: str) -> Iterator[BinaryIO]:
        """Open a blob for reading; NotFoundError if it is missing."""
        try:
            handle = self.fs.open(self.key_path(sha256), "rb")
        except FileNotFoundError:
            raise NotFoundError(
                f"blob {sha256} is missing from the object store {self.url}: "
                "restore it from a backup or re-register the data"
            ) from None
        with handle:
            yield handle

    def verify(self, sha256: str, progress: ProgressCallback | None = None) -> str | None:
        """Re-hash a blob; return a problem description, or None when it is intact."""
        try:
            with self.open(sha256) as handle:
                actual, _ = hash_stream(handle, progress)
        except NotFoundError:
            return f"blob {sha256[:12]} is missing from the object store"
        if actual != sha256:
            return f"blob {sha256[:12]} is corrupt: its bytes now hash to {actual}"
        return None

    def copy_to(self, sha256: str, destination: BinaryIO, progress: ProgressCallback | None = None) -> str:
        """Stream a blob into ``destination``; return the sha256 of what was written."""
        with self.open(sha256) as handle:
            actual, _ = copy_and_hash(handle, destination, progress)
        return actual

    def iter_keys(self) -> Iterator[str]:
        """Every stored digest (used by garbage collection and audits)."""
        if not self.fs.exists(self.root):
            return
        for path in self.fs.find(self.root):
            parts = path.rstrip("/").split("/")
            if len(parts) >= 2 and len(parts[-2]) == 2:
                digest = parts[-2] + parts[-1]
                if len(digest) == 64:
                    yield digest

    def remove_tmp(self) -> None:
        """Delete leftovers of interrupted writes (they are never referenced)."""
        if self.is_local:
            shutil.rmtree(f"{self.root}/tmp", ignore_errors=True)


def _fsync_dir(path: str) -> None:
    """Make a new directory entry durable (the rename/link itself), where the OS allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
