"""The machine-local digest cache: a hint keyed by (device, inode, size, mtime_ns), never a wrong answer."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from lineage.hashcache import RACY_WINDOW_NS, HashCache

AN_HOUR_NS = 3600 * 10**9


@pytest.fixture
def cache(tmp_path: Path) -> HashCache:
    return HashCache(tmp_path / "home" / "cache" / "hashes.db")


def write_old_file(path: Path, data: bytes, age_ns: int = AN_HOUR_NS) -> os.stat_result:
    """Write a file whose mtime is well in the past (as files users register usually are)."""
    path.write_bytes(data)
    past = time.time_ns() - age_ns
    os.utime(path, ns=(past, past))
    return path.stat()


def stored_rows(cache: HashCache) -> int:
    if not cache.path.exists():
        return 0
    with sqlite3.connect(cache.path) as connection:
        return connection.execute("SELECT count(*) FROM file_hash").fetchone()[0]


def test_cache_hits_after_put_for_the_unchanged_file(cache: HashCache, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    stat = write_old_file(path, b"content")
    digest = hashlib.sha256(b"content").hexdigest()
    assert cache.get(path) is None
    cache.put(path, digest, stat)
    assert cache.get(path) == digest
    assert HashCache(cache.path).get(path) == digest  # persisted, not held in memory


def test_cache_misses_after_the_file_is_modified(cache: HashCache, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    stat = write_old_file(path, b"content")
    cache.put(path, hashlib.sha256(b"content").hexdigest(), stat)
    write_old_file(path, b"changed and longer", age_ns=AN_HOUR_NS // 2)
    assert path.stat().st_ino == stat.st_ino
    assert cache.get(path) is None


def test_cache_misses_after_same_size_rewrite_that_only_changes_mtime(cache: HashCache, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    stat = write_old_file(path, b"aaaa")
    cache.put(path, hashlib.sha256(b"aaaa").hexdigest(), stat)
    with open(path, "r+b") as handle:  # in place: same inode, same size
        handle.write(b"bbbb")
    os.utime(path, ns=(stat.st_mtime_ns + 1, stat.st_mtime_ns + 1))
    assert (path.stat().st_ino, path.stat().st_size) == (stat.st_ino, stat.st_size)
    assert cache.get(path) is None


def test_cache_misses_after_replace_with_same_size_and_mtime(cache: HashCache, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    stat = write_old_file(path, b"aaaa")
    cache.put(path, hashlib.sha256(b"aaaa").hexdigest(), stat)
    replacement = tmp_path / "data.parquet.new"
    replacement.write_bytes(b"bbbb")
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replacement, path)
    new = path.stat()
    assert (new.st_size, new.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    assert new.st_ino != stat.st_ino
    assert cache.get(path) is None


def test_no_entry_is_stored_when_the_file_changed_between_stat_and_put(cache: HashCache, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    stat = write_old_file(path, b"aaaa")
    # The file changes while it is being hashed, then is put back exactly as it was
    # (same inode, size and mtime): an entry stored by put() would now be found.
    write_old_file(path, b"aaaaaa", age_ns=AN_HOUR_NS // 2)
    cache.put(path, hashlib.sha256(b"aaaaaa").hexdigest(), stat)
    path.write_bytes(b"aaaa")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_ino == stat.st_ino
    assert cache.get(path) is None
    assert stored_rows(cache) == 0


def test_freshly_written_file_is_not_cached_because_its_mtime_tick_may_not_be_over(
    cache: HashCache, tmp_path: Path
) -> None:
    """On filesystems with coarse mtimes (1-2 s, or a few ms), a same-size rewrite right after
    hashing keeps the same (inode, size, mtime_ns). Setting the mtime back simulates that tick."""
    path = tmp_path / "data.parquet"
    path.write_bytes(b"aaaa")
    stat = path.stat()
    cache.put(path, hashlib.sha256(b"aaaa").hexdigest(), stat)
    with open(path, "r+b") as handle:
        handle.write(b"bbbb")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cache.get(path) is None
    assert stored_rows(cache) == 0


def test_file_older_than_the_racy_window_is_cached(cache: HashCache, tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    stat = write_old_file(path, b"aaaa", age_ns=RACY_WINDOW_NS + 10**9)
    cache.put(path, "f" * 64, stat)
    assert cache.get(path) == "f" * 64


def test_missing_file_or_unusable_cache_is_a_miss_not_an_error(tmp_path: Path) -> None:
    not_a_db = tmp_path / "cache.db"
    not_a_db.write_bytes(b"this is not sqlite" * 100)
    path = tmp_path / "data.parquet"
    stat = write_old_file(path, b"x")
    broken = HashCache(not_a_db)
    broken.put(path, "0" * 64, stat)
    assert broken.get(path) is None
    assert HashCache(tmp_path / "fresh" / "cache.db").get(tmp_path / "missing.parquet") is None
