"""Damage stored blobs the way a disk, an operator or an attacker would, on any object store.

Tests of verify, reproduce and gc run on the local disk and on S3 (the ``postgresql-s3``
backend); these helpers reach the bytes through the store's own filesystem, so the same
test damages a file in ``objects/`` or an object in the bucket.
"""

from __future__ import annotations

import os
import time

from lineage.store import Store


def flip_byte(store: Store, sha256: str, offset: int | None = None) -> None:
    """Invert one byte of a stored blob (the middle one by default); its key no longer matches."""
    objects = store.objects
    key = objects.key_path(sha256)
    if objects.is_local:
        os.chmod(key, 0o644)
    data = bytearray(objects.fs.cat_file(key))
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0xFF
    objects.fs.pipe_file(key, bytes(data))


def delete_blob(store: Store, sha256: str) -> None:
    objects = store.objects
    objects.fs.rm(objects.key_path(sha256))


def backdate(store: Store, sha256: str, seconds: float) -> None:
    """Make a local blob look ``seconds`` old (its mtime), for gc's grace period."""
    assert store.objects.is_local, "S3 sets LastModified itself: see tests/test_gc.py for buckets"
    past = time.time() - seconds
    os.utime(store.objects.key_path(sha256), (past, past))
