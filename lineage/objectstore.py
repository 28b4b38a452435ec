"""Content-addressed blob storage over fsspec (invariant 1).

A blob's key is the sha256 of its bytes, laid out as ``ab/cdef…`` under the store
root. Bytes are streamed to a temporary object while being hashed (one read pass,
a few chunks of memory), then published under their key without ever replacing an
existing key.

On a local disk the temporary file is flushed and fsynced, then hard-linked to its
key: atomic, and it fails if the key exists.

In a bucket (S3 and other fsspec object stores) there is no rename, and the key is
only known once the last byte is hashed. So the bytes are uploaded to a temporary key
(``<root>/tmp/<uuid>.part``, a multipart upload that becomes visible only when it
completes) while they are hashed; publishing is a server-side copy to the final key,
skipped when that key already exists; the temporary key is then deleted. A blob of at
most ``SMALL_BLOB`` bytes skips the temporary key: it is hashed in memory and put once. A copy is
atomic on S3 (the key appears whole or not at all), so a crash at any point leaves
at worst a temporary object or an unreferenced blob, both collectable by
``lineage gc``, and never a partial blob under a digest. The one rewrite left is two
writers publishing the same new digest at the same moment: both copies carry the
bytes that hash to the key, so its content never changes (with bucket versioning,
such a key holds two identical versions). Staging to a local temporary file and
uploading after would read the data twice and need local disk as large as the file;
this way the client reads once and the bucket copies.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from lineage.errors import NotFoundError, StoreUnavailableError
from lineage.hashing import Hasher, ProgressCallback, copy_and_hash, hash_stream, sha256_bytes
from lineage.objectstore_cleanup import StoreCleanup
from lineage.objectstore_connect import (
    BUCKET_PROTOCOLS,
    OPTION_ERRORS,
    connect,
    normalise_url,
    options_error,
    protocol_of,
    reaching,
)

_DIGEST_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{62}")
"""A blob's key below the store root; anything else there is not this store's blob."""


@dataclass(frozen=True)
class PutResult:
    """What storing one blob did."""

    sha256: str
    size: int
    created: bool  # False when the key already existed (deduplicated)


@dataclass
class StagedBlob:
    """Bytes hashed and held back (a temporary file or object, or memory when small), not yet under their key."""

    store: ObjectStore
    tmp_path: str
    sha256: str
    size: int
    data: bytes | None = None  # a small blob for a bucket, kept in memory: no temporary object

    def publish(self) -> bool:
        """Make the blob visible under its key; False when the key already existed."""
        if self.data is not None:
            return self.store._publish_small(self.data, self.sha256)
        return self.store._publish(self.tmp_path, self.sha256)


SMALL_BLOB = 4 * 2**20
"""Outside the local disk, a blob up to this size is hashed in memory and put once under its key:
two requests (exists, put) instead of four (upload, exists, copy, delete) for the many small
files (manifests, CSVs) a store holds."""


class ObjectStore(StoreCleanup):
    """Blobs keyed by sha256 on any fsspec filesystem (local folder by default)."""

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.url = normalise_url(url)  # one key space however the URL is spelled (s3://b//p is s3://b/p)
        self.options = dict(options or {})
        self._fs: Any = None
        self._root = ""

    def _connect(self) -> None:
        """Open the filesystem on first use, so commands that never touch blobs skip fsspec."""
        self._fs, self._root = connect(self.url, self.options)

    def check(self) -> None:
        """Fail now (StoreUnavailableError) when the store cannot be opened or its bucket reached."""
        if self._plain_local_root() is None:
            _ = self.fs

    def _reaching(self) -> contextlib.AbstractContextManager[None]:
        return reaching(self.url, self.fs)

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
        with self._reaching():
            return bool(self.fs.exists(self.key_path(sha256)))

    def require_stored(self, sha256s: Sequence[str]) -> None:
        """StoreUnavailableError unless every blob is stored: called under the write lock before rows point at them.

        Why: a registration whose bytes were already stored (an orphan left by a crash, older
        than gc's grace period) only finds them; a ``lineage gc`` that listed them as
        unreferenced deletes them under the same write lock. Checking under the lock means
        the row is written only when the bytes are still there.
        """
        for sha256 in sha256s:
            if not self.exists(sha256):
                raise StoreUnavailableError(
                    f"the stored bytes {sha256[:12]} this registration found in the object store were removed "
                    "meanwhile (a `lineage gc` or `lineage purge` running at the same time): nothing was registered; "
                    "run it again"
                )

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
        if not self.is_local:
            with self._stage_remote(source, progress, also) as staged:
                yield staged
            return
        tmp_dir = f"{self.root}/tmp"
        os.makedirs(tmp_dir, exist_ok=True)
        tmp_path = f"{tmp_dir}/{uuid.uuid4().hex}.part"
        try:
            with open(tmp_path, "wb", buffering=0) as tmp:
                sha256, size = copy_and_hash(source, tmp, progress, writeback=True, also=also)
                os.fsync(tmp.fileno())
            yield StagedBlob(self, tmp_path, sha256, size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)

    @contextlib.contextmanager
    def _stage_remote(self, source: BinaryIO, progress: ProgressCallback | None,
                      also: Sequence[Hasher] = ()) -> Iterator[StagedBlob]:
        """Upload to a temporary key while hashing; the key is deleted whatever happens next.

        A small source is read into memory instead and staged there (see ``SMALL_BLOB``).
        """
        head = _read_up_to(source, SMALL_BLOB + 1)
        if len(head) <= SMALL_BLOB:
            if progress:
                progress(len(head))
            for hasher in also:
                hasher.update(head)
            yield StagedBlob(self, "", sha256_bytes(head), len(head), data=head)
            return
        tmp_path = f"{self.root}/tmp/{uuid.uuid4().hex}.part"
        uploaded = False
        try:
            handle = self._open_for_upload(tmp_path)
            try:
                sha256, size = copy_and_hash(_Prefixed(head, source), _StorageWriter(handle, self), progress,
                                             also=also)
                with self._reaching():
                    handle.close()  # completes the upload: the temporary object now exists whole
            except BaseException as exc:
                _abandon(handle)
                if not isinstance(exc, StoreUnavailableError):  # some filesystems show bytes as they arrive
                    self._remove_quietly(tmp_path)
                raise
            uploaded = True
            yield StagedBlob(self, tmp_path, sha256, size)
        finally:
            if uploaded:
                self._remove_quietly(tmp_path)

    def _open_for_upload(self, tmp_path: str) -> Any:
        """A writable handle on a temporary key; storage options the filesystem refuses are one line.

        Why: s3fs checks options such as ``default_block_size`` only here, once a large file
        is being registered, and raises a bare ValueError or TypeError.
        """
        try:
            with self._reaching():
                return self.fs.open(tmp_path, "wb")  # parts of the filesystem's block size (s3fs: 50 MiB)
        except OPTION_ERRORS as exc:
            if not self.options:
                raise
            raise options_error(self.url, self.options, exc) from None

    def _remove_quietly(self, path: str) -> None:
        """Best-effort delete of a temporary object: one left behind is collected by ``lineage gc``.

        Every version goes: in a versioned bucket a noncurrent version of the temporary
        would keep a copy of the bytes a later purge erases from the blob's key.
        """
        with contextlib.suppress(Exception):
            self._delete(path, every_version=True)

    def _publish_small(self, data: bytes, sha256: str) -> bool:
        final = self.key_path(sha256)
        with self._reaching():
            if self.fs.exists(final):
                return False
            self.fs.pipe_file(final, data)  # one PUT: the key appears whole or not at all
        return True

    def _publish(self, tmp_path: str, sha256: str) -> bool:
        final = self.key_path(sha256)
        try:
            if self.is_local:
                os.makedirs(os.path.dirname(final), exist_ok=True)
                try:
                    os.link(tmp_path, final)  # atomic and never replaces an existing key
                except FileExistsError:
                    return False
                _fsync_dir(os.path.dirname(final))
                return True
            with self._reaching():
                if self.fs.exists(final):
                    return False
                if protocol_of(self.url) not in BUCKET_PROTOCOLS:  # buckets have no folders to make
                    self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
                self.fs.copy(tmp_path, final)  # server-side on S3; the key appears whole or not at all
            return True
        except FileNotFoundError:
            raise StoreUnavailableError(
                f"the temporary copy {tmp_path} was deleted before it was stored under its key (a `lineage gc` "
                "with a grace period shorter than this registration?): nothing was registered; run it again"
            ) from None

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
            with self._reaching():
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
            with self.open(sha256) as handle, self._reaching():
                actual, _ = hash_stream(handle, progress)
        except NotFoundError:
            return f"blob {sha256[:12]} is missing from the object store"
        if actual != sha256:
            return f"blob {sha256[:12]} is corrupt: its bytes now hash to {actual}"
        return None

    def copy_to(self, sha256: str, destination: BinaryIO, progress: ProgressCallback | None = None, *,
                writeback: bool = False) -> str:
        """Stream a blob into ``destination``; return the sha256 of what was written.

        A local blob is opened unbuffered, so that into an unbuffered local file the
        kernel copies it and the digest is taken from the bytes read back (``kernel_copy``).
        ``writeback``: the caller will fsync ``destination``, so start its disk writes early.
        """
        with self._open_unbuffered(sha256) if self.is_local else self.open(sha256) as handle:
            actual, _ = copy_and_hash(handle, destination, progress, writeback=writeback)
        return actual

    @contextlib.contextmanager
    def _open_unbuffered(self, sha256: str) -> Iterator[BinaryIO]:
        """A local blob as a raw file; NotFoundError, worded as ``open``'s, if it is missing."""
        try:
            handle = open(self.key_path(sha256), "rb", buffering=0)  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            with self.open(sha256) as missing:  # raises NotFoundError with the store's wording
                yield missing
            return
        with handle:
            yield handle

    def iter_keys(self) -> Iterator[str]:
        """Every stored digest (used by garbage collection and audits)."""
        yield from self.scan()[0]

    def scan(self) -> tuple[list[str], list[str]]:
        """The stored digests, and the foreign objects below the root (neither a blob nor a temporary).

        Only ``<root>/<2 hex>/<62 hex>`` is a blob. Why: a root may also hold another
        store's objects in a subfolder (a store at ``s3://b`` next to one at ``s3://b/objects``),
        whose keys end in ``ab/cdef…`` too; taking them for blobs would make gc delete them.
        """
        digests: list[str] = []
        foreign: list[str] = []
        prefix = f"{self.root}/"
        for path in self._find():
            relative = path[len(prefix):] if path.startswith(prefix) else path
            if _DIGEST_KEY.fullmatch(relative):
                digests.append(relative.replace("/", "", 1))
            elif not relative.startswith("tmp/"):
                foreign.append(path)
        return digests, foreign

    def _find(self, under: str = "") -> list[str]:
        """Every object path below the root (or below ``under`` in it); nothing when there is none yet."""
        folder = f"{self.root}/{under}" if under else self.root
        with self._reaching():
            try:
                return list(self.fs.find(folder))
            except FileNotFoundError:
                return []

    def modified_at(self, sha256: str) -> float:
        """When the blob was last written (POSIX seconds), for garbage collection's grace period."""
        return self._modified(self.key_path(sha256))

    def _modified(self, path: str) -> float:
        with self._reaching():
            info = self.fs.info(path)
        moment = info.get("mtime") or info.get("LastModified") or info.get("created") or 0
        return moment.timestamp() if hasattr(moment, "timestamp") else float(moment)

def _read_up_to(source: BinaryIO, limit: int) -> bytes:
    """At most ``limit`` bytes from ``source``: fewer only at its end."""
    buffer = bytearray(limit)
    view = memoryview(buffer)
    filled = 0
    read_into = getattr(source, "readinto", None)
    while filled < limit:
        if read_into is not None:
            got = read_into(view[filled:]) or 0
        else:
            chunk = source.read(limit - filled)
            got = len(chunk)
            view[filled:filled + got] = chunk
        if not got:
            break
        filled += got
    view.release()
    del buffer[filled:]
    return bytes(buffer)


class _Prefixed:
    """Bytes already read from ``source`` (to size it), then the rest of it: one read pass still."""

    def __init__(self, prefix: bytes, source: BinaryIO) -> None:
        self._prefix: bytes | None = prefix
        self._offset = 0
        self._source = source

    def readinto(self, buffer: bytearray | memoryview) -> int:
        if self._prefix is not None:
            taken = self._prefix[self._offset:self._offset + len(buffer)]
            buffer[:len(taken)] = taken
            self._offset += len(taken)
            if self._offset >= len(self._prefix):
                self._prefix = None  # released: memory stays at a few chunks
            if taken:
                return len(taken)
        read_into = getattr(self._source, "readinto", None)
        if read_into is not None:
            return read_into(buffer) or 0
        chunk = self._source.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)


class _StorageWriter:
    """A writable object store file whose failures say which store could not be reached."""

    def __init__(self, handle: Any, store: ObjectStore) -> None:
        self._handle = handle
        self._store = store

    def write(self, data: bytes | memoryview) -> int | None:
        with self._store._reaching():
            return self._handle.write(data)


def _abandon(handle: Any) -> None:
    """Give up an upload without making its bytes visible (aborts an S3 multipart upload)."""
    with contextlib.suppress(Exception):
        handle.discard()
    with contextlib.suppress(AttributeError, TypeError):
        handle.closed = True  # closing would complete the upload of what was written so far


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
