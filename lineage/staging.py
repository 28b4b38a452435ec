"""The data half of registering a snapshot: hash and copy the bytes, parse the table.

Nothing here touches the metadata database, so both writers of snapshot rows use it:
``SnapshotService.add`` (through SQLModel) and the SQLite quick path of ``snapshot add``
(``lineage/quick_add.py``, stdlib ``sqlite3``). The staged bytes stay invisible until
``publish()``; ``discard()`` removes whatever was not published.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lineage.errors import InvalidInputError
from lineage.hashing import Hasher, hash_file
from lineage.manifest import ManifestEntry, member_files, render_manifest
from lineage.progress import Progress
from lineage.stored_text import check_text

if TYPE_CHECKING:
    from sqlmodel import Session

    from lineage import tabular
    from lineage.hashcache import HashCache
    from lineage.objectstore import ObjectStore


class BlobHome(Protocol):
    """What staging needs of a store: its object store and its hash cache."""

    objects: ObjectStore
    hash_cache: HashCache


class Registration:
    """The staging half of ``add``: hash (and copy) the bytes while parsing the table.

    Parsing and hashing run on two threads; pyarrow and hashlib both release the
    GIL, so the two passes overlap on two cores.
    """

    def __init__(self, store: BlobHome, source: Path, data_format: str, members: list[tuple[str, Path]],
                 copy: bool, progress: Progress, *, read_path: Path | None = None, also: tuple[str, ...] = ()) -> None:
        self.store = store
        self.source = source
        self.read_path = read_path or source  # where a single file's bytes are read (a cache copy)
        self.also = also
        self.digests: dict[str, dict[str, str]] = {}  # member path ('' for a file) -> {algorithm: hex}
        self.data_format = data_format
        self.members = members
        self.copy = copy
        self.progress = progress
        self.entries: list[ManifestEntry] = []
        self.sha256 = ""
        self.size = 0
        self.info: tabular.TableInfo
        self._stages: list[Any] = []
        self._contexts: list[Any] = []
        self._manifest: bytes | None = None
        self.reused: list[str] = []  # blobs publish() found stored already (checked again under the write lock)

    def run(self) -> None:
        files = self.members or [(self.source.name, self.read_path)]
        total = sum(path.stat().st_size for _, path in files)
        failure: list[BaseException] = []

        from lineage import tabular

        def parse() -> None:
            try:
                self.info = tabular.inspect(self.read_path, self.data_format, [p for _, p in self.members] or None,
                                            name=self.source.name)
                tabular.require_distinct_columns(self.source, self.info)
            except BaseException as exc:  # re-raised on the calling thread
                failure.append(exc)

        parser = threading.Thread(target=parse, name="lineage-parse", daemon=True)
        parser.start()
        self.progress.start(total, f"hashing {self.source.name}")
        try:
            for relative, path in files:
                stat = path.stat()
                extra = {name: hashlib.new(name, usedforsecurity=False) for name in self.also}
                digest, size = self._hash_one(path, list(extra.values()))
                self.store.hash_cache.put(path, digest, stat)
                if extra:
                    self.digests[relative if self.members else ""] = {k: h.hexdigest() for k, h in extra.items()}
                self.entries.append(ManifestEntry(relative, size, digest))
        except BaseException:
            parser.join()
            self.discard()
            raise
        finally:
            self.progress.finish()
        parser.join()
        if failure:
            self.discard()
            raise failure[0]
        if self.members:
            self._manifest = render_manifest(self.entries)
            from lineage.hashing import sha256_bytes

            self.sha256 = sha256_bytes(self._manifest)
            self.size = sum(entry.size for entry in self.entries)
        else:
            self.sha256, self.size = self.entries[0].sha256, self.entries[0].size
            self.entries = []  # a single file has no member list

    def _hash_one(self, path: Path, also: list[Hasher]) -> tuple[str, int]:
        if not self.copy:
            return hash_file(str(path), self.progress.advance, also=also)
        with open(path, "rb", buffering=0) as handle:
            context = self.store.objects.stage(handle, self.progress.advance, also=also)
            staged = context.__enter__()  # copies and hashes; exited in discard()
        self._contexts.append(context)
        self._stages.append(staged)
        return staged.sha256, staged.size

    def publish(self) -> None:
        """Make every blob durable under its key (blob before row, invariant 3)."""
        for staged in self._stages:
            if not staged.publish():
                self.reused.append(staged.sha256)
        if self._manifest is not None and not self.store.objects.put_bytes(self._manifest).created:
            self.reused.append(self.sha256)

    def require_still_stored(self, session: Session | None = None) -> None:
        """Under the write lock, before the rows: the blobs found already stored must still be there.

        ``session`` (the write session) lets a remote store skip the blobs records keep
        (``lineage.purge.require_still_stored``); the quick path has none and a local store.
        """
        if session is None:
            self.store.objects.require_stored(self.reused)
            return
        from lineage.purge import require_still_stored

        require_still_stored(self.store.objects, session, self.reused)

    def discard(self) -> None:
        """Remove temporary files; published blobs stay (they are content-addressed)."""
        while self._contexts:
            self._contexts.pop().__exit__(None, None, None)
        self._stages.clear()


def check_snapshot_texts(*, note: str, transform: str, source_uri: str | None = None) -> None:
    """Refuse a note, transform or source that no backend can store, before any byte is read.

    Here, not in ``snapshots``, so the SQLite quick path (``quick_add``) refuses exactly what the full path does.
    """
    check_text(note, what="note")
    check_text(transform, what="transform")
    if source_uri is not None:
        check_text(source_uri, what="source URI")


def existing_path(path: str | os.PathLike[str]) -> Path:
    """The absolute data path to register; refuses a missing, empty or special one before any read."""
    from lineage.user_paths import given_path

    source = given_path(path, what="the path to register", fix="give a file or folder").expanduser()
    check_text(str(source), what="the path to register")  # recorded as the snapshot's source: must be storable
    if not source.exists():
        raise InvalidInputError(f"path {source} does not exist: check the path")
    source = source.absolute()
    if source.is_file() and source.stat().st_size == 0:
        raise InvalidInputError(f"{source} is empty (0 bytes): there is nothing to register")
    if not source.is_file() and not source.is_dir():
        raise InvalidInputError(f"{source} is not a regular file or directory: register a file or a folder")
    return source


def member_list(directory: Path) -> list[tuple[str, Path]]:
    members = member_files(directory)
    if not members:
        raise InvalidInputError(
            f"directory {directory} holds no .parquet files: register a Parquet file, a CSV file "
            "or a directory of Parquet files"
        )
    for relative, member in members:
        if member.stat().st_size == 0:
            raise InvalidInputError(f"{directory / relative} is empty (0 bytes): remove it or re-export it")
    return members


def schema_text(info: tabular.TableInfo) -> str:
    import json

    return json.dumps({"fields": info.schema, "arrow": info.arrow_schema})
