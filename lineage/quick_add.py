"""``lineage snapshot add`` on a local SQLite store, written with the stdlib ``sqlite3`` module.

Why: registering a snapshot is the command users run most, on the biggest files, and the
issue asks it to stay under 100 MB of memory whatever the file size. Loading SQLAlchemy,
SQLModel and pydantic costs about 40 MB and a quarter second of CPU before a byte moves;
with them, a registration peaks at ~123 MB, without them at ~90 MB. So the common case
runs here: a new Parquet or CSV file or Parquet folder, copied into a local object store
(or, with ``--no-copy``, only hashed), with or without parents named ``dataset@version``,
on a SQLite store at the current schema.

It writes exactly what ``SnapshotService.add`` writes, in one ``BEGIN IMMEDIATE``
transaction that also appends the audit events (invariants 3 and 4: the blob is durable
before the row, the row is never without its event, and the chain stays one line because
every writer of either path takes the same lock first). ``tests/test_quick_add.py`` runs
both paths on the same inputs and compares every row they write.

Anything else returns ``None`` before writing and the caller uses the full path, which
also words every refusal, so the two paths never disagree on what they refuse: a store
elsewhere or on PostgreSQL, another schema version, a read-only setting, an invalid name,
a parent given as a dataset name or sha256 prefix or naming nothing, a file whose cached
digest the store already holds, or bytes that turn out to be registered already (the full
path then finds their digest in the hash cache; only a file modified in the last two
seconds, which the cache does not keep, is read twice). The one refusal made here is the
one only the hashing reveals, other bytes under a taken version, worded as the full path
words it; a database error is worded as ``lineage.db`` words it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lineage.audit_hash import canonical_json, event_hash
from lineage.clock import utcnow
from lineage.edges import DERIVED_FROM, SNAPSHOT
from lineage.env import default_user, from_environment
from lineage.errors import (
    ImmutableVersionError,
    LineageError,
    StoreUnavailableError,
    damaged_sqlite,
    is_damaged_sqlite,
)
from lineage.quick_reads import BUSY_TIMEOUT_S, sqlite_database
from lineage.schema_head import SCHEMA_HEAD

if TYPE_CHECKING:
    from lineage.entities import SnapshotInfo
    from lineage.progress import Progress
    from lineage.staging import Registration

_SETTINGS_THAT_NEED_THE_FULL_PATH = ("read_only", "store_url", "store_options")


class _LocalBlobs:
    """The two parts of a store that staging uses (``lineage.staging.BlobHome``), without the database."""

    def __init__(self, home: Path) -> None:
        from lineage.hashcache import HashCache
        from lineage.objectstore import ObjectStore

        self.objects = ObjectStore(str(home / "objects"), {})
        self.hash_cache = HashCache(home / "cache" / "hashes.db")


def quick_add(path: str, dataset: str, version: str | None, stage: str, note: str, transform: str,
              progress: Progress, *, parents: Sequence[str] = (), copy: bool = True) -> SnapshotInfo | None:
    """Register ``path`` as ``dataset@version`` as ``SnapshotService.add`` would, or ``None`` for the full path.

    ``parents`` must be exact ``dataset@version`` refs of registered snapshots (other forms,
    or a ref that names nothing, go to the full path, which resolves or refuses them).
    """
    from lineage.naming import STAGES, validate_name

    database = sqlite_database()
    if database is None or stage not in STAGES or from_environment(_SETTINGS_THAT_NEED_THE_FULL_PATH):
        return None
    try:
        validate_name(dataset, what="dataset name", new=True)
        if version is not None:
            validate_name(version, what="version", new=True)
        _check_texts(note, transform)
    except LineageError:
        return None  # the full path words the refusal
    try:
        connection = _connection(database)
    except sqlite3.Error:
        return None  # the full path words the refusal
    try:
        return _register(connection, path, dataset=dataset, version=version, stage=stage, note=note,
                         transform=transform, progress=progress, parents=list(dict.fromkeys(parents)), copy=copy)
    finally:
        connection.close()


def _check_texts(note: str, transform: str) -> None:
    """The text checks of the full path (note, transform, actor); a refusal sends the command there."""
    from lineage.staging import check_snapshot_texts
    from lineage.stored_text import ACTOR_LIMIT, check_text

    check_snapshot_texts(note=note, transform=transform)
    check_text(_actor(), what="LINEAGE_USER", limit=ACTOR_LIMIT)


def _actor() -> str:
    """Who the write is attributed to, as ``Settings.actor`` reads it."""
    return (from_environment(("user",)).get("user") or "").strip() or default_user()


def _register(connection: sqlite3.Connection, path: str, *, dataset: str, version: str | None, stage: str, note: str,
              transform: str, progress: Progress, parents: list[str], copy: bool) -> SnapshotInfo | None:
    """The checks that need the store, the staging, then the write; ``None`` as soon as the full path must decide."""
    if not _at_schema_head(connection):
        return None
    parent_ids = _parent_ids(connection, parents)
    if parent_ids is None:
        return None
    from lineage import tabular
    from lineage.quick_reads import store_home
    from lineage.staging import Registration, existing_path, member_list

    try:
        source = existing_path(path)
        data_format = tabular.detect_format(source) if source.is_file() else "parquet-dir"
        members = member_list(source) if data_format == "parquet-dir" else []
    except (LineageError, OSError):
        return None  # the full path words the refusal
    blobs = _LocalBlobs(store_home())  # objects/ in the home, created on first use as the full path does
    if _known_bytes(connection, blobs, source, members):
        return None  # the full path reuses what is registered without reading the bytes again
    staged = Registration(blobs, source, data_format, members, copy, progress)
    staged.run()  # a file that does not parse raises here, before anything is visible
    try:
        return _write(connection, staged, dataset=dataset, version=version, stage=stage, note=note,
                      transform=transform, parents=parent_ids)
    finally:
        staged.discard()


def _known_bytes(connection: sqlite3.Connection, blobs: _LocalBlobs, source: Path,
                 members: list[tuple[str, Path]]) -> bool:
    """Whether the hash cache knows these bytes and the store may already hold them.

    A file hashed before but never registered (its registration was refused, say) is
    registered here again; a folder with any known member is left to the full path.
    """
    if members:
        return any(blobs.hash_cache.get(member) is not None for _, member in members)
    digest = blobs.hash_cache.get(source)
    if digest is None:
        return False
    try:
        return connection.execute("SELECT 1 FROM snapshot WHERE sha256 = ?", (digest,)).fetchone() is not None
    except sqlite3.Error:
        return True  # let the full path look


def _parent_ids(connection: sqlite3.Connection, refs: list[str]) -> list[tuple[str, int]] | None:
    """(ref, snapshot row id) of each exact ``dataset@version`` parent, or ``None`` when one is another form or unknown.

    Snapshots are never deleted (a purge keeps the row), so an id found here stays valid.
    """
    from lineage.naming import parse_ref

    found = []
    try:
        for ref in refs:
            parsed = parse_ref(ref)
            if parsed.version is None or ref != f"{parsed.name}@{parsed.version}":
                return None
            row = connection.execute(
                "SELECT s.id FROM snapshot s JOIN dataset d ON d.id = s.dataset_id WHERE d.name = ? AND s.version = ?",
                (parsed.name, parsed.version)).fetchone()
            if row is None:
                return None
            found.append((ref, int(row[0])))
    except (sqlite3.Error, LineageError):
        return None
    return found


def _at_schema_head(connection: sqlite3.Connection) -> bool:
    """Whether the store's schema is the one this code writes (anything unexpected: let the full path speak)."""
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == SCHEMA_HEAD


def _write(connection: sqlite3.Connection, staged: Registration, *, dataset: str, version: str | None, stage: str,
           note: str, transform: str, parents: list[tuple[str, int]]) -> SnapshotInfo | None:
    """Publish the blobs, then insert the rows with their audit events in one write transaction.

    As in the full path, the blobs are published before the write lock is taken (a folder
    of many files must not hold other writers back), after a first check that the bytes
    are not registered already; the check is repeated under the lock.
    """
    actor = _actor()
    try:
        if not _is_new(connection, staged, dataset, version):
            return None
        staged.publish()  # blob before row (invariant 3); a crash after this leaves an unreferenced blob for gc
        connection.execute("BEGIN IMMEDIATE")  # the lock every writer takes first: the chain stays linear
        try:
            created = None
            staged.require_still_stored()  # a concurrent gc deletes under this same lock
            if _is_new(connection, staged, dataset, version):
                created = _insert(connection, staged, dataset=dataset, version=version, stage=stage, note=note,
                                  transform=transform, actor=actor, parents=parents)
            connection.execute("COMMIT" if created is not None else "ROLLBACK")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:  # worded as lineage.db words the full path's driver errors
        from lineage.quick_reads import database_url, sqlite_database

        if is_damaged_sqlite(exc):
            raise damaged_sqlite(str(sqlite_database())) from None

        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreUnavailableError(
            f"cannot reach the metadata database {database_url()} ({reason}): "
            "check LINEAGE_DB_URL and that the server is running"
        ) from None
    return created


def _is_new(connection: sqlite3.Connection, staged: Registration, dataset: str, version: str | None) -> bool:
    """False when these bytes already are ``dataset@version`` (or, without a version, a snapshot of
    ``dataset``): the full path then answers with that snapshot. Other bytes under a taken version
    are refused here, in the full path's words."""
    row = connection.execute("SELECT id FROM dataset WHERE name = ?", (dataset,)).fetchone()
    if row is None:
        return True
    if version is None:
        return connection.execute("SELECT 1 FROM snapshot WHERE dataset_id = ? AND sha256 = ?",
                                  (row[0], staged.sha256)).fetchone() is None
    taken = connection.execute("SELECT sha256 FROM snapshot WHERE dataset_id = ? AND version = ?",
                               (row[0], version)).fetchone()
    if taken is None:
        return True
    if taken[0] != staged.sha256:
        raise ImmutableVersionError(
            f"{dataset}@{version} already holds sha256 {taken[0]}; this data is sha256 {staged.sha256}: "
            "register it under a new version"
        )
    return False


def _connection(database: Path) -> sqlite3.Connection:
    """One connection for the whole command, with the settings ``lineage.db`` gives SQLite
    (WAL, full sync, foreign keys); autocommit until the write takes its lock."""
    connection = sqlite3.connect(database, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def _insert(connection: sqlite3.Connection, staged: Registration, *, dataset: str, version: str | None, stage: str,
            note: str, transform: str, actor: str, parents: list[tuple[str, int]]) -> SnapshotInfo:
    """The rows ``SnapshotService._insert`` writes (new bytes: see ``_is_new``), in the same order."""
    from lineage.entities import SnapshotInfo
    from lineage.staging import schema_text

    row = connection.execute("SELECT id FROM dataset WHERE name = ?", (dataset,)).fetchone()
    dataset_id = None if row is None else int(row[0])
    if dataset_id is None:
        dataset_id = int(connection.execute(
            "INSERT INTO dataset (name, created_at, created_by) VALUES (?, ?, ?)", (dataset, _stored(utcnow()), actor),
        ).lastrowid or 0)
        _append_event(connection, actor=actor, action="dataset.create", subject=dataset, payload={"name": dataset})
    version = version or _next_auto_version(connection, dataset_id)
    info = staged.info
    created_at = utcnow()
    source_uri = str(staged.source)
    snapshot_id = int(connection.execute(
        "INSERT INTO snapshot (dataset_id, version, stage, hash_algorithm, sha256, size_bytes, format, rows, "
        "column_count, arrow_schema, fingerprint, source_uri, stored, note, created_at, created_by) "
        "VALUES (?, ?, ?, 'sha256', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (dataset_id, version, stage, staged.sha256, staged.size, staged.data_format, info.rows, info.columns,
         schema_text(info), info.fingerprint, source_uri, int(staged.copy), note, _stored(created_at), actor),
    ).lastrowid or 0)
    files = [{"path": e.path, "size_bytes": e.size, "sha256": e.sha256} for e in staged.entries]  # manifest order
    connection.executemany("INSERT INTO snapshot_file (snapshot_id, path, size_bytes, sha256) VALUES (?, ?, ?, ?)",
                           [(snapshot_id, f["path"], f["size_bytes"], f["sha256"]) for f in files])
    for _, parent_id in parents:
        connection.execute(
            "INSERT INTO edge (parent_kind, parent_id, child_kind, child_id, relation, transform_ref, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (SNAPSHOT, parent_id, SNAPSHOT, snapshot_id, DERIVED_FROM, transform,
                                             _stored(utcnow())),
        )
    result = SnapshotInfo(
        dataset=dataset, version=version, stage=stage, hash_algorithm="sha256", sha256=staged.sha256,
        size_bytes=staged.size, format=staged.data_format, rows=info.rows, columns=info.columns,
        fingerprint=info.fingerprint, schema=info.schema, arrow_schema=info.arrow_schema,
        parents=[ref for ref, _ in parents], transform=transform if parents else "", source_uri=source_uri,
        stored=staged.copy, note=note, created_at=created_at.replace(tzinfo=UTC), created_by=actor,
        created=True, files=files,
    )
    _append_event(connection, actor=actor, action="snapshot.add", subject=result.ref, payload={
        "sha256": result.sha256, "hash_algorithm": "sha256", "size_bytes": result.size_bytes,
        "format": result.format, "rows": result.rows, "columns": result.columns,
        "fingerprint": result.fingerprint, "stage": stage, "parents": result.parents, "transform": transform,
        "source_uri": source_uri, "stored": result.stored,
    })
    return result


def _append_event(connection: sqlite3.Connection, *, actor: str, action: str, subject: str, payload: dict) -> None:
    """``lineage.audit.append_event`` on this connection (its transaction already holds the write lock)."""
    head = connection.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    if head is None:
        raise RuntimeError("audit_head row is missing: the store was not initialised by `lineage init`")
    seq, prev_hash = int(head[0]) + 1, str(head[1])
    at = utcnow()
    payload_text = canonical_json(payload)
    digest = event_hash(prev_hash=prev_hash, seq=seq, at=at, actor=actor, action=action, subject=subject,
                        payload=payload_text)
    connection.execute(
        "INSERT INTO audit_event (seq, at, actor, action, subject, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, _stored(at), actor, action, subject, payload_text, prev_hash, digest),
    )
    connection.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))


def _next_auto_version(connection: sqlite3.Connection, dataset_id: int) -> str:
    """``YYYY_MM_DD`` of today (UTC), then ``.1``, ``.2``… (``lineage.snapshots._next_auto_version``)."""
    from lineage.naming import next_auto_version

    base = utcnow().strftime("%Y_%m_%d")
    taken = {row[0] for row in connection.execute(
        "SELECT version FROM snapshot WHERE dataset_id = ? AND substr(version, 1, ?) = ?", (dataset_id, len(base), base))}
    return next_auto_version(base, taken)


def _stored(moment: datetime) -> str:
    """A naive UTC time as SQLAlchemy's SQLite ``DateTime`` stores it (always with microseconds)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
