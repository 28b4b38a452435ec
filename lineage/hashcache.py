"""A machine-local cache of file digests keyed by (device, inode, size, mtime_ns), as DVC does.

Re-adding an unchanged file must not re-read gigabytes. The cache lives in the store
home (it describes this machine's files, not the shared store) and is only ever a
hint: a miss or a stale entry costs a re-hash, never a wrong answer, because any
change to the file changes its size or mtime_ns (or its inode when replaced), once the
file is older than RACY_WINDOW_NS (fresher files are not cached).
``verify`` never consults it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

RACY_WINDOW_NS = 2_000_000_000
"""Files modified less than this long ago are not cached ("racy" entries, as git calls them).

Many filesystems keep mtime in coarse ticks (a few ms on older Linux kernels, 1 s on
HFS+ and some network mounts, 2 s on FAT): a file rewritten with the same size within
the tick it was hashed in keeps its (inode, size, mtime_ns) key, and the cache would
answer with the old digest. Once the tick has passed, any rewrite gets a new mtime.
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_hash (
    device INTEGER NOT NULL, inode INTEGER NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL,
    PRIMARY KEY (device, inode)
)
"""


class HashCache:
    """Digest cache in a small SQLite file; failures to use it are silent (it is only a hint)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def _key(stat: os.stat_result) -> tuple[int, int, int, int]:
        return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)

    @contextlib.contextmanager
    def _connect(self):  # type: ignore[no-untyped-def]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            connection.execute(_SCHEMA)
            yield connection
            connection.commit()
        finally:
            connection.close()

    def get(self, path: Path) -> str | None:
        """The cached sha256 of ``path`` if the file is unchanged since it was hashed."""
        try:
            device, inode, size, mtime_ns = self._key(path.stat())
            with self._connect() as connection:
                row = connection.execute(
                    "SELECT sha256 FROM file_hash WHERE device=? AND inode=? AND size=? AND mtime_ns=?",
                    (device, inode, size, mtime_ns),
                ).fetchone()
        except (OSError, sqlite3.Error):
            return None
        return row[0] if row else None

    def put(self, path: Path, sha256: str, stat: os.stat_result) -> None:
        """Remember a digest, keyed by the stat taken *before* the bytes were read."""
        try:
            if self._key(path.stat()) != self._key(stat):
                return  # the file changed while it was being hashed: do not cache
            if time.time_ns() - stat.st_mtime_ns < RACY_WINDOW_NS:
                return  # too fresh: a same-size rewrite could still get this same mtime
            with self._connect() as connection:
                connection.execute(
                    "INSERT OR REPLACE INTO file_hash VALUES (?, ?, ?, ?, ?)", (*self._key(stat), sha256)
                )
        except (OSError, sqlite3.Error):
            pass
