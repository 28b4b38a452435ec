"""Deleting from the object store: blobs, their versions in a bucket, and what interrupted writes left.

Why a module of its own: only ``lineage gc`` and ``lineage purge`` delete, and on a bucket
deleting is more than ``rm``. s3fs's ``rm`` is a bulk delete that drops per-key refusals,
so each key is deleted with a request that fails loudly; a versioned bucket keeps old
versions a purge must erase too; and a killed upload leaves a multipart upload that no
listing of objects shows. ``ObjectStore`` inherits these methods (``StoreCleanup``).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lineage.errors import ReadOnlyError, StoreUnavailableError
from lineage.objectstore_connect import redact_url

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class PendingUpload:
    """A multipart upload to a temporary key that was started and never completed nor aborted."""

    path: str  # bucket/prefix/tmp/<uuid>.part
    upload_id: str
    initiated: float  # POSIX seconds


class StoreCleanup:
    """The deleting half of ``ObjectStore`` (a mixin: it uses the store's filesystem, root and keys)."""

    url: str
    fs: Any
    root: str
    is_local: bool
    key_path: Callable[[str], str]
    exists: Callable[[str], bool]
    _reaching: Callable[[], contextlib.AbstractContextManager[None]]
    _find: Callable[..., list[str]]
    _modified: Callable[[str], float]

    def remove(self, sha256: str, *, every_version: bool = False) -> None:
        """Delete one blob (gc and purge only: nothing referenced is ever removed); gone already is fine.

        ``every_version``: in a versioned bucket also delete the key's noncurrent versions
        and delete markers, so erased bytes cannot be restored from the bucket (purge).
        Raises ReadOnlyError when the store refuses the deletion.
        """
        self._delete(self.key_path(sha256), every_version=every_version)

    def _delete(self, path: str, *, every_version: bool = False) -> None:
        """One key, one request that fails loudly: s3fs's ``rm`` is a bulk delete that drops refusals."""
        with self._reaching(), self._refusal(path):
            if not self._is_s3:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm_file(path)
                return
            bucket, key = path.split("/", 1)
            answer = self.fs.call_s3("delete_object", Bucket=bucket, Key=key)
            self.fs.invalidate_cache(path)
            if every_version and answer.get("VersionId"):  # only a versioning bucket answers with one
                for version in self._versions(bucket, key):
                    self.fs.call_s3("delete_object", Bucket=bucket, Key=key, VersionId=version)

    def _versions(self, bucket: str, key: str) -> list[str]:
        """Every version id and delete marker id of exactly ``key`` (not of keys that merely start with it)."""
        found: list[str] = []
        markers: dict[str, str] = {}
        while True:
            page = self.fs.call_s3("list_object_versions", Bucket=bucket, Prefix=key, **markers)
            found += [entry["VersionId"] for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
                      if entry["Key"] == key]
            if not page.get("IsTruncated"):
                return found
            markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}

    def holds(self, sha256: str) -> bool:
        """Whether any bytes of this blob remain: its key, or a noncurrent version of it in a bucket.

        Why: a purge erases every version; one interrupted between deleting the key and its
        old versions (or a blob deleted by hand) leaves bytes that ``exists`` does not see.
        An account that may not list versions is answered from the key alone.
        """
        if self.exists(sha256):
            return True
        if not self._is_s3:
            return False
        bucket, key = self.key_path(sha256).split("/", 1)
        try:
            with self._reaching():
                page = self.fs.call_s3("list_object_versions", Bucket=bucket, Prefix=key, MaxKeys=10)
        except (PermissionError, StoreUnavailableError):
            return False
        return any(entry["Key"] == key for entry in page.get("Versions", []))

    def check_deletable(self, sha256s: Sequence[str] = ()) -> None:
        """ReadOnlyError now, before anything is recorded, when this account may not delete from the store.

        Why: purge records its tombstone before it deletes; an account that can only read
        must be refused before that, not after. A bucket is asked to delete a key that does
        not exist under ``tmp/`` (no bytes are touched; a delete marker a versioning bucket
        makes for it is deleted again); a local folder is checked for write permission.
        """
        if self._is_s3:
            probe = f"{self.root}/tmp/{uuid.uuid4().hex}.delete-check"
            bucket, key = probe.split("/", 1)
            with self._reaching(), self._refusal(probe, what="even a key that does not exist under tmp/"):
                answer = self.fs.call_s3("delete_object", Bucket=bucket, Key=key)
                if answer.get("VersionId"):
                    self.fs.call_s3("delete_object", Bucket=bucket, Key=key, VersionId=answer["VersionId"])
        elif self.is_local:
            for sha256 in sha256s:
                folder = os.path.dirname(self.key_path(sha256))
                if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
                    raise self._refused(self.key_path(sha256), PermissionError("permission denied"))

    @contextlib.contextmanager
    def _refusal(self, path: str, *, what: str = "") -> Iterator[None]:
        """A refused deletion as ReadOnlyError naming the store and what to do."""
        try:
            yield
        except PermissionError as exc:
            raise self._refused(path, exc, what=what) from None

    def _refused(self, path: str, exc: BaseException, *, what: str = "") -> ReadOnlyError:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ReadOnlyError(
            f"the object store {redact_url(self.url)} refused to delete {what or path} ({detail}): this account may "
            "only read; use a writer's credentials (s3:DeleteObject, s3:DeleteObjectVersion and s3:ListBucketVersions "
            "on a versioned bucket)"
        )

    @property
    def _is_s3(self) -> bool:
        """An S3 bucket through s3fs, where deletion and versions are asked of the bucket itself."""
        return not self.is_local and hasattr(self.fs, "call_s3")

    # -- temporaries ------------------------------------------------------------------------
    def stale_temporaries(self, older_than: float) -> list[str]:
        """Temporary objects of interrupted writes last touched before ``older_than`` (POSIX seconds).

        Young ones may belong to a registration running right now and are left alone.
        """
        stale = []
        for path in self._find("tmp"):
            with contextlib.suppress(FileNotFoundError):  # finished (or was collected) since the listing
                if self._modified(path) < older_than:
                    stale.append(path)
        return sorted(stale)

    def remove_temporaries(self, paths: list[str]) -> None:
        """Delete temporary objects listed by ``stale_temporaries`` (already gone is fine)."""
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                self._delete(path, every_version=True)

    def stale_uploads(self, older_than: float) -> list[PendingUpload]:
        """Multipart uploads to ``tmp/`` started before ``older_than`` and never completed (S3 only).

        Why: an upload killed mid-way leaves its parts in the bucket, billed and invisible
        to a listing of objects; only the bucket's list of uploads shows them. An account
        that may not list uploads (an auditor's dry run) sees none: it could not abort
        them, and the bucket's lifecycle rule still does.
        """
        if not self._is_s3:
            return []
        bucket, _, prefix = f"{self.root}/tmp/".partition("/")
        found: list[PendingUpload] = []
        markers: dict[str, str] = {}
        with self._reaching(), contextlib.suppress(PermissionError):
            while True:
                page = self.fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix, **markers)
                found += [PendingUpload(f"{bucket}/{item['Key']}", item["UploadId"], _seconds(item["Initiated"]))
                          for item in page.get("Uploads", [])]
                if not page.get("IsTruncated"):
                    break
                markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}
        return sorted((u for u in found if u.initiated < older_than), key=lambda u: (u.path, u.upload_id))

    def abort_uploads(self, uploads: Sequence[PendingUpload]) -> None:
        """Abort uploads listed by ``stale_uploads``, freeing their parts (already gone is fine)."""
        for upload in uploads:
            bucket, key = upload.path.split("/", 1)
            with contextlib.suppress(FileNotFoundError), self._reaching(), self._refusal(upload.path):
                self.fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload.upload_id)


def _seconds(moment: datetime | float) -> float:
    """POSIX seconds of a timestamp a bucket listing returns."""
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)

