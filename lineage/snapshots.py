"""Dataset snapshots: register, look up, list, verify and check out immutable data.

Registration follows invariants 1–3: the bytes are staged and hashed, the file is
parsed (so a bad file is refused before anything is visible), the blob is
published, and only then is the row written together with its audit event.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lineage.audit import append_event
from lineage.byte_order import byte_order
from lineage.digests import ExternalDigest, digests_of, missing_digests, write_digests
from lineage.edges import Link
from lineage.entities import STAGES, SnapshotInfo, VerifyResult
from lineage.errors import (
    AmbiguousRefError,
    DestinationExistsError,
    ImmutableVersionError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
)
from lineage.hashing import hash_file
from lineage.manifest import ManifestEntry, member_files, parse_manifest, render_manifest
from lineage.naming import next_auto_version, parse_ref, validate_name
from lineage.progress import NO_PROGRESS, Progress
from lineage.staging import Registration, check_snapshot_texts, existing_path, member_list, schema_text
from lineage.tables import Dataset, Edge, Snapshot, SnapshotFile, utcnow

if TYPE_CHECKING:
    from lineage.store import Store

SNAPSHOT_KIND = "snapshot"
DERIVED_FROM = "derived_from"
COMPUTED_SCHEME = "lineage:"  # source URIs of data the store computed (materialisations)
UPLOAD_SCHEME = "upload:"  # data uploaded through the dashboard: only the stored copy exists


class SnapshotService:
    """``store.snapshots``: the verbs add, get, find, list, verify and checkout."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- add ----------------------------------------------------------------------------
    def add(
        self,
        path: str | os.PathLike[str],
        *,
        dataset: str,
        version: str | None = None,
        stage: str = "raw",
        parents: Iterable[str] = (),
        transform: str = "",
        note: str = "",
        copy: bool = True,
        progress: Progress = NO_PROGRESS,
        links: Sequence[Link] = (),
        source_uri: str | None = None,
    ) -> SnapshotInfo:
        """Register the file or Parquet directory at ``path`` as ``dataset@version``.

        Same bytes under the same name return the existing snapshot (``created`` is
        False); other bytes under a taken version raise ImmutableVersionError.
        ``links`` are lineage edges from non-snapshot parents (a feature-set version
        for a materialisation), inserted in the same transaction as the snapshot.
        ``source_uri`` replaces the recorded source for data the store computed itself
        (``lineage:`` URIs, which verify reports as "computed").
        """
        store = self._store
        store.require_writable()
        validate_name(dataset, what="dataset name", new=True)
        if version is not None:
            validate_name(version, what="version", new=True)
        if stage not in STAGES:
            raise InvalidInputError(f"unknown stage '{stage}': use one of {', '.join(STAGES)}")
        check_snapshot_texts(note=note, transform=transform, source_uri=source_uri)
        parent_refs = list(dict.fromkeys(_refs(parents, "parents")))
        from lineage import tabular  # pyarrow loads only when data is read

        source = existing_path(path)
        data_format = tabular.detect_format(source) if source.is_file() else "parquet-dir"
        members = member_list(source) if data_format == "parquet-dir" else []
        with store.db.session() as session:
            resolved = [self._resolve(session, ref) for ref in parent_refs]
            # One edge per parent snapshot, however often or however differently it was named
            # (``raw``, ``raw@v1`` and a sha256 prefix can all be the same snapshot).
            parent_rows = list({row.id: (row, self._ref_of(session, row)) for row, _ in resolved}.values())
        # A note is a claim only under an explicit version: a nightly `add --note "run $(date)"` of
        # unchanged bytes with an automatic version is a no-op, as `dvc add` of unchanged data is.
        wanted = _Lineage([ref for _, ref in parent_rows], transform, note if version is not None else "")

        cached = self._cached_digest(source, members)
        reused = None
        if cached is not None:
            existing = self._existing_for(dataset, version, cached)
            if existing is not None:
                return wanted.require_recorded_in(existing)
            reused = self._reusable(cached, source, data_format, copy)

        staged = reused or Registration(store, source, data_format, members, copy, progress)
        staged.run()
        try:
            existing = self._existing_for(dataset, version, staged.sha256)
            if existing is not None:
                return wanted.require_recorded_in(existing)
            staged.publish()
            with store.db.session(write=True) as session:
                info = self._insert(
                    session, staged, dataset=dataset, version=version, stage=stage,
                    parent_ids=[row.id for row, _ in parent_rows], transform=transform, note=note,
                    links=links, source_uri=source_uri,
                )
            return info if info.created else wanted.require_recorded_in(info)  # registered meanwhile
        finally:
            staged.discard()

    def _cached_digest(self, source: Path, members: list[tuple[str, Path]]) -> str | None:
        cache = self._store.hash_cache
        if not members:
            return cache.get(source)
        entries = []
        for relative, member in members:
            digest = cache.get(member)
            if digest is None:
                return None
            entries.append(ManifestEntry(relative, member.stat().st_size, digest))
        from lineage.hashing import sha256_bytes

        return sha256_bytes(render_manifest(entries))

    def _reusable(self, sha256: str, source: Path, data_format: str, copy: bool) -> _Reused | None:
        """These bytes (hash-cache hit) are already registered: reuse their table metadata.

        Parquet only (a CSV's table also depends on its name: .tsv), and only when every
        blob this registration would publish is already in the object store. Then nothing
        is copied or parsed (and pyarrow is not even imported).
        """
        if data_format not in ("parquet", "parquet-dir"):
            return None
        with self._store.db.session() as session:
            rows = session.exec(
                select(Snapshot).where(Snapshot.sha256 == sha256, Snapshot.format == data_format)
                .order_by(col(Snapshot.id))
            )
            row = next((row for row in rows if row.stored or not copy), None)
            if row is None:
                return None
            existing = self._to_infos(session, [row])[0]
        from lineage.tabular import repeated_columns

        if repeated_columns([field["name"] for field in existing.schema]):
            return None  # registered before such tables were refused: parse it again, which refuses it
        blobs = [sha256] if copy or data_format == "parquet-dir" else []  # a directory's manifest is always stored
        if copy:
            blobs += [file["sha256"] for file in existing.files]
        if not all(self._store.objects.exists(blob) for blob in blobs):
            return None  # a blob went missing: register again, which restores it
        return _Reused(self._store, source, data_format, copy, existing)

    def _existing_for(self, dataset: str, version: str | None, sha256: str) -> SnapshotInfo | None:
        """The snapshot these bytes already are, or None; refuse a taken version with other bytes."""
        with self._store.db.session() as session:
            return self._check_existing(session, dataset, version, sha256)

    def _check_existing(self, session: Session, dataset: str, version: str | None, sha256: str) -> SnapshotInfo | None:
        if version is not None:
            row = session.exec(
                select(Snapshot).join(Dataset).where(Dataset.name == dataset, Snapshot.version == version)
            ).first()
            if row is None:
                return None
            if row.sha256 != sha256:
                raise ImmutableVersionError(
                    f"{dataset}@{version} already holds sha256 {row.sha256}; this data is sha256 {sha256}: "
                    "register it under a new version"
                )
        else:
            row = session.exec(
                select(Snapshot).join(Dataset)
                .where(Dataset.name == dataset, Snapshot.sha256 == sha256)
                .order_by(col(Snapshot.id).desc())
            ).first()
            if row is None:
                return None
        return self._to_infos(session, [row])[0]

    def _insert(
        self, session: Session, staged: Registration, *, dataset: str, version: str | None, stage: str,
        parent_ids: list[int | None], transform: str, note: str, links: Sequence[Link] = (),
        source_uri: str | None = None, digests: Sequence[ExternalDigest] = (),
    ) -> SnapshotInfo:
        existing = self._check_existing(session, dataset, version, staged.sha256)  # re-check under the lock
        if existing is not None:
            return existing
        staged.require_still_stored(session)  # a concurrent gc or purge deletes under this same lock
        actor = self._store.actor
        dataset_row = session.exec(select(Dataset).where(Dataset.name == dataset)).first()
        if dataset_row is None:
            dataset_row = Dataset(name=dataset, created_by=actor)
            session.add(dataset_row)
            session.flush()
            append_event(session, actor=actor, action="dataset.create", subject=dataset, payload={"name": dataset})
        version = version or _next_auto_version(session, dataset_row.id)
        info = staged.info
        row = Snapshot(
            dataset_id=dataset_row.id, version=version, stage=stage, hash_algorithm="sha256",
            sha256=staged.sha256, size_bytes=staged.size, format=staged.data_format, rows=info.rows,
            column_count=info.columns, arrow_schema=schema_text(info), fingerprint=info.fingerprint,
            source_uri=source_uri or str(staged.source), stored=staged.copy, note=note, created_by=actor,
        )
        session.add(row)
        session.flush()
        for entry in staged.entries:
            session.add(SnapshotFile(snapshot_id=row.id, path=entry.path, size_bytes=entry.size, sha256=entry.sha256))
        for parent_id in parent_ids:
            session.add(Edge(parent_kind=SNAPSHOT_KIND, parent_id=parent_id, child_kind=SNAPSHOT_KIND,
                             child_id=row.id, relation=DERIVED_FROM, transform_ref=transform))
        for link in links:
            session.add(Edge(parent_kind=link.parent_kind, parent_id=link.parent_id, child_kind=SNAPSHOT_KIND,
                             child_id=row.id, relation=link.relation, transform_ref=link.transform_ref))
        session.flush()
        if digests:
            write_digests(session, row.id, digests)
        result = self._to_infos(session, [row], created=True)[0]
        append_event(
            session, actor=actor, action="snapshot.add", subject=result.ref,
            payload={
                "sha256": result.sha256, "hash_algorithm": "sha256", "size_bytes": result.size_bytes,
                "format": result.format, "rows": result.rows, "columns": result.columns,
                "fingerprint": result.fingerprint, "stage": stage, "parents": result.parents,
                "transform": transform, "source_uri": result.source_uri, "stored": result.stored,
                **({"links": [link.to_json() for link in links]} if links else {}),
                **({"digests": [d.to_json() for d in digests]} if digests else {}),
            },
        )
        return result

    # -- registration inside a caller's transaction (importers) ---------------------------
    def registration(
        self, source: Path, *, data_format: str, members: list[tuple[str, Path]], copy: bool = True,
        progress: Progress = NO_PROGRESS, read_path: Path | None = None, also: tuple[str, ...] = (),
    ) -> Registration:
        """The first half of ``add`` for importers that check every input before writing any (DVC).

        ``run()`` hashes (and copies) and parses the data without making anything visible;
        the caller then calls ``publish()`` and ``register_staged``, and always ``discard()``.
        ``source`` is where the data belongs (recorded as its source), ``read_path`` where a
        single file's bytes are read when that differs (a cache), ``members`` a directory's
        (relative path, file to read) pairs. ``also`` names more digests (``md5``) computed
        in the same read pass, found in ``digests`` by member path ('' for a file), even
        when ``run()`` then refuses the table.
        """
        self._store.require_writable()
        return Registration(self._store, source, data_format, members, copy, progress,
                             read_path=read_path, also=also)

    def register_staged(
        self, session: Session, staged: Registration, *, dataset: str, version: str | None, stage: str,
        parent_ids: Sequence[int], transform: str, note: str, source_uri: str | None = None,
        digests: Sequence[ExternalDigest] = (),
    ) -> tuple[SnapshotInfo, int]:
        """Insert a published staged registration in the caller's write transaction; (snapshot, row id).

        Same bytes already under this name return the existing snapshot (``created`` False).
        """
        validate_name(dataset, what="dataset name", new=True)
        if version is not None:
            validate_name(version, what="version", new=True)
        if stage not in STAGES:
            raise InvalidInputError(f"unknown stage '{stage}': use one of {', '.join(STAGES)}")
        check_snapshot_texts(note=note, transform=transform, source_uri=source_uri)
        info = self._insert(session, staged, dataset=dataset, version=version, stage=stage,
                            parent_ids=list(parent_ids), transform=transform, note=note,
                            source_uri=source_uri, digests=digests)
        row, _ = self._resolve(session, info.ref)
        return info, int(row.id or 0)

    def find_by_sha256(self, session: Session, dataset: str, sha256: str) -> tuple[SnapshotInfo, int] | None:
        """The newest snapshot of ``dataset`` holding these bytes, with its row id, or None."""
        info = self._check_existing(session, dataset, None, sha256)
        if info is None:
            return None
        row, _ = self._resolve(session, info.ref)
        return info, int(row.id or 0)

    def record_digests(self, session: Session, snapshot_id: int, ref: str, digests: Sequence[ExternalDigest]) -> int:
        """Add the checked digests this snapshot lacks, audited in the caller's transaction; how many."""
        missing = missing_digests(session, snapshot_id, digests)
        if missing:
            write_digests(session, snapshot_id, missing)
            append_event(session, actor=self._store.actor, action="snapshot.digests", subject=ref,
                         payload={"digests": [d.to_json() for d in missing]})
        return len(missing)

    def digests(self, ref: str) -> list[ExternalDigest]:
        """Digests other tools recorded for this snapshot (DVC's md5), whole snapshot first."""
        with self._store.db.session() as session:
            row, _ = self._resolve(session, ref)
            return digests_of(session, int(row.id or 0))

    # -- lookups ------------------------------------------------------------------------
    def get(self, ref: str) -> SnapshotInfo:
        """The snapshot a reference names; NotFoundError if none."""
        with self._store.db.session() as session:
            row, _ = self._resolve(session, ref)
            return self._to_infos(session, [row])[0]

    def find(self, ref: str) -> SnapshotInfo | None:
        """Like ``get`` but None when nothing matches."""
        try:
            return self.get(ref)
        except NotFoundError:
            return None

    def list(
        self, *, dataset: str | None = None, as_of: datetime | None = None,
        newest_first: bool = False, limit: int | None = None, stage: str | None = None,
    ) -> list[SnapshotInfo]:
        """Snapshots ordered by dataset name and registration time (optionally as of a past instant).

        ``newest_first`` orders by registration time alone, newest first (for "latest" views);
        ``stage`` keeps one stage only (the latest ``online`` log is one row, not a scan).
        """
        with self._store.db.session() as session:
            query = select(Snapshot).join(Dataset)
            if dataset is not None:
                validate_name(dataset, what="dataset name")
                if session.exec(select(Dataset.id).where(Dataset.name == dataset)).first() is None:
                    raise NotFoundError(f"no dataset named '{dataset}': see `lineage snapshot list` for names")
                query = query.where(Dataset.name == dataset)
            if as_of is not None:
                query = query.where(Snapshot.created_at <= _naive_utc(as_of))
            if stage is not None:
                query = query.where(Snapshot.stage == stage)
            if newest_first:
                query = query.order_by(col(Snapshot.id).desc())
            else:
                query = query.order_by(byte_order(Dataset.name), Snapshot.created_at, Snapshot.id)
            if limit is not None:
                query = query.limit(limit)
            rows = list(session.exec(query))
            return self._to_infos(session, rows)

    def get_many(self, refs: Sequence[str]) -> list[SnapshotInfo]:
        """The snapshots of exact ``dataset@version`` refs, in the order given (batched; see snapshot_search.py)."""
        from lineage.snapshot_search import get_many

        return get_many(self._store, _refs(refs, "refs"))

    def search(self, *, text: str = "", stages: Sequence[str] = (), datasets: Sequence[str] = ()) -> list[str]:
        """Refs of the snapshots matching every filter, in ``list()`` order (one light query; see snapshot_search.py)."""
        from lineage.snapshot_search import search

        return search(self._store, text=text, stages=stages, datasets=datasets)

    def dataset_names(self) -> list[str]:
        """Every dataset name, sorted (one query)."""
        with self._store.db.session() as session:
            return list(session.exec(select(Dataset.name).order_by(byte_order(Dataset.name))))

    def counts(self) -> dict[str, int]:
        """How many datasets and snapshots the store holds, and their total size."""
        with self._store.db.session() as session:
            datasets = session.exec(select(func.count()).select_from(Dataset)).one()
            snapshots, total = session.exec(
                select(func.count(), func.coalesce(func.sum(Snapshot.size_bytes), 0)).select_from(Snapshot)
            ).one()
            return {"datasets": int(datasets), "snapshots": int(snapshots), "bytes": int(total)}

    def _resolve(self, session: Session, ref: str) -> tuple[Snapshot, str]:
        parsed = parse_ref(ref)
        if parsed.version is not None:
            row = session.exec(
                select(Snapshot).join(Dataset).where(Dataset.name == parsed.name, Snapshot.version == parsed.version)
            ).first()
            if row is None:
                raise NotFoundError(
                    f"no snapshot {parsed.name}@{parsed.version}: see `lineage snapshot list --dataset {parsed.name}`"
                )
            return row, ref
        if parsed.sha256_prefix is not None:
            rows = list(session.exec(
                select(Snapshot).where(col(Snapshot.sha256).startswith(parsed.sha256_prefix)).limit(10)
            ))
            if len(rows) > 1:  # different bytes, or the same bytes under two names
                names = ", ".join(sorted(self._ref_of(session, r) for r in rows))
                raise AmbiguousRefError(f"sha256 prefix {parsed.sha256_prefix} matches {names}: give more characters")
            if rows:
                return rows[0], ref
        row = session.exec(
            select(Snapshot).join(Dataset).where(Dataset.name == parsed.name).order_by(col(Snapshot.id).desc())
        ).first()
        if row is None:
            raise NotFoundError(f"no snapshot or dataset matches '{ref}': see `lineage snapshot list`")
        return row, ref

    @staticmethod
    def _ref_of(session: Session, row: Snapshot) -> str:
        dataset = session.get(Dataset, row.dataset_id)
        return f"{dataset.name if dataset else '?'}@{row.version}"

    def _to_infos(self, session: Session, rows: list[Snapshot], *, created: bool = False) -> list[SnapshotInfo]:
        """Rows to entities with two batched queries (datasets, parents), never one per row."""
        if not rows:
            return []
        ids = [row.id for row in rows]
        names = dict(session.exec(select(Dataset.id, Dataset.name).where(col(Dataset.id).in_({r.dataset_id for r in rows}))).all())
        parents: dict[int, list[tuple[str, str]]] = {}
        parent_query = (
            select(Edge.child_id, Dataset.name, Snapshot.version, Edge.transform_ref)
            .join(Snapshot, Snapshot.id == Edge.parent_id)
            .join(Dataset, Dataset.id == Snapshot.dataset_id)
            .where(Edge.child_kind == SNAPSHOT_KIND, Edge.parent_kind == SNAPSHOT_KIND, col(Edge.child_id).in_(ids))
            .order_by(Edge.id)
        )
        for child_id, name, version, transform in session.exec(parent_query):
            parents.setdefault(child_id, []).append((f"{name}@{version}", transform))
        files: dict[int, list[dict[str, Any]]] = {}
        for file in session.exec(select(SnapshotFile).where(col(SnapshotFile.snapshot_id).in_(ids)).order_by(byte_order(SnapshotFile.path))):
            files.setdefault(file.snapshot_id, []).append(
                {"path": file.path, "size_bytes": file.size_bytes, "sha256": file.sha256}
            )
        import json

        from lineage.tombstones import load_tombstones

        tombstones = load_tombstones(session, ids)
        infos = []
        for row in rows:
            schema_doc = json.loads(row.arrow_schema)
            links = parents.get(row.id, [])
            infos.append(SnapshotInfo(
                dataset=names[row.dataset_id], version=row.version, stage=row.stage,
                hash_algorithm=row.hash_algorithm, sha256=row.sha256, size_bytes=row.size_bytes,
                format=row.format, rows=row.rows, columns=row.column_count, fingerprint=row.fingerprint,
                schema=schema_doc["fields"], arrow_schema=schema_doc["arrow"],
                parents=[ref for ref, _ in links], transform=next((t for _, t in links if t), ""),
                source_uri=row.source_uri, stored=row.stored, note=row.note,
                created_at=row.created_at.replace(tzinfo=UTC), created_by=row.created_by,
                created=created, files=files.get(row.id, []), purged=tombstones.get(row.id),
            ))
        return infos

    # -- verify -------------------------------------------------------------------------
    def verify(
        self, ref: str | None = None, *, dataset: str | None = None, progress: Progress = NO_PROGRESS
    ) -> list[VerifyResult]:
        """Re-hash stored bytes (and each source) of one snapshot, a dataset, or all of them.

        Always re-reads the bytes; the hash cache is never consulted here.
        """
        targets = [self.get(ref)] if ref is not None else self.list(dataset=dataset)
        total = sum(s.size_bytes * (2 if s.stored else 1) for s in targets)
        progress.start(total, "verifying")
        try:
            return [self._verify_one(snapshot, progress) for snapshot in targets]
        finally:
            progress.finish()

    def _verify_one(self, snapshot: SnapshotInfo, progress: Progress) -> VerifyResult:
        if snapshot.purged is not None:
            return self._verify_purged(snapshot, progress)
        objects = self._store.objects
        problems: list[str] = []
        if snapshot.stored or snapshot.format == "parquet-dir":
            problem = objects.verify(snapshot.sha256, progress.advance if snapshot.format != "parquet-dir" else None)
            if problem:
                problems.append(problem if snapshot.format != "parquet-dir" else f"manifest {problem}")
        if snapshot.stored:
            for file in snapshot.files:
                problem = objects.verify(file["sha256"], progress.advance)
                if problem:
                    problems.append(f"{file['path']}: {problem}")
        source_status, source_problem = self._check_source(snapshot, progress)
        if not snapshot.stored and source_status != "unchanged":
            problems.append(f"not stored and its source is {source_status}: {source_problem}")
        return VerifyResult(
            ref=snapshot.ref, ok=not problems, problem="; ".join(problems) or None,
            source_status=source_status, source_problem=source_problem,
        )

    def _verify_purged(self, snapshot: SnapshotInfo, progress: Progress) -> VerifyResult:
        """Erased on purpose: ok with nothing to re-hash; say so if the original source still holds the bytes."""
        source_status, source_problem = self._check_source(snapshot, progress)
        if source_status == "unchanged":
            source_problem = (f"{snapshot.source_uri} still holds the purged bytes: delete it too if the "
                              "erasure covers the original")
        return VerifyResult(ref=snapshot.ref, ok=True, problem=None, source_status=source_status,
                            source_problem=source_problem, purged=snapshot.purged)

    @staticmethod
    def _check_source(snapshot: SnapshotInfo, progress: Progress) -> tuple[str, str | None]:
        """Does the original source path still hold the recorded bytes?"""
        if snapshot.source_uri.startswith(COMPUTED_SCHEME):
            return "computed", None
        if snapshot.source_uri.startswith(UPLOAD_SCHEME):
            return "uploaded", None
        source = Path(snapshot.source_uri)
        if not source.is_absolute():
            return "not-local", None
        if not source.exists():
            return "missing", f"{source} no longer exists"
        try:
            if snapshot.format == "parquet-dir":
                entries = [
                    ManifestEntry(rel, p.stat().st_size, hash_file(str(p), progress.advance)[0])
                    for rel, p in member_files(source)
                ]
                from lineage.hashing import sha256_bytes

                actual = sha256_bytes(render_manifest(entries))
            else:
                actual, _ = hash_file(str(source), progress.advance)
        except OSError as exc:
            return "missing", f"{source} cannot be read ({exc.strerror})"
        if actual != snapshot.sha256:
            return "changed", f"{source} now hashes to {actual}, recorded {snapshot.sha256}"
        return "unchanged", None

    # -- checkout -----------------------------------------------------------------------
    def checkout(
        self, ref: str, destination: str | os.PathLike[str], *, force: bool = False, progress: Progress = NO_PROGRESS
    ) -> Path:
        """Write the exact registered bytes to ``destination`` (the data half of a rollback).

        The bytes are verified against the recorded sha256 while they are written to a
        temporary name, which replaces the destination only when they match. ``force``
        replaces a file, or a directory only when that loses nothing (see checkout_guard).
        """
        from lineage.tombstones import require_bytes
        from lineage.user_paths import given_path

        chosen = given_path(destination, what="the destination", fix="give the file or folder path to write the snapshot to")
        snapshot = self.get(ref)
        require_bytes(snapshot, "check out")
        target = chosen.expanduser().absolute()
        if target.exists() or target.is_symlink():
            if not force:
                raise DestinationExistsError(f"{target} already exists: choose another destination or pass --force")
            self._require_replaceable(target, snapshot)
        if not target.parent.is_dir():
            raise InvalidInputError(f"folder {target.parent} does not exist: create it first")
        from lineage.checkout_temps import remove_stale, temp_path

        remove_stale(target)  # what checkouts killed outright left next to it
        tmp = temp_path(target)
        progress.start(snapshot.size_bytes, "checking out")
        try:
            if snapshot.format == "parquet-dir":
                self._checkout_dir(snapshot, tmp, progress)
            else:
                self._checkout_file(snapshot.sha256, snapshot, tmp, progress)
            if target.exists():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            os.replace(tmp, target)
        finally:
            progress.finish()
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink()
        return target

    def _require_replaceable(self, target: Path, snapshot: SnapshotInfo) -> None:
        """Refuse a forced checkout whose removal of ``target`` could lose data (see checkout_guard).

        Files whose bytes the store holds as blobs may go (the store gives them back);
        the SQLite database, wherever LINEAGE_DB_URL puts it, never may.
        """
        from lineage.checkout_guard import require_replaceable, sqlite_files

        objects = self._store.objects
        places = [Path(self._store.home)] + ([Path(objects.root)] if objects.is_local else [])
        require_replaceable(target, [file["path"] for file in snapshot.files], places,
                            store_files=sqlite_files(self._store.db.sqlite_path()), holds_blob=objects.exists)

    def _checkout_file(self, sha256: str, snapshot: SnapshotInfo, tmp: Path, progress: Progress, member: str | None = None) -> None:
        with open(tmp, "wb", buffering=0) as out:  # unbuffered: the kernel copies a local file (kernel_copy)
            if snapshot.stored:
                actual = self._store.objects.copy_to(sha256, out, progress.advance, writeback=True)
            else:
                source = Path(snapshot.source_uri) / member if member else Path(snapshot.source_uri)
                try:
                    with open(source, "rb", buffering=0) as handle:
                        from lineage.hashing import copy_and_hash

                        actual, _ = copy_and_hash(handle, out, progress.advance, writeback=True)
                except FileNotFoundError:
                    raise NotFoundError(
                        f"{snapshot.ref} was registered with --no-copy and its source {source} is gone: "
                        "the bytes cannot be restored"
                    ) from None
            out.flush()
            os.fsync(out.fileno())
        if actual != sha256:
            raise IntegrityError(
                f"the bytes for {snapshot.ref}{' ' + member if member else ''} hash to {actual}, recorded {sha256}: "
                "nothing was written; run `lineage snapshot verify` to investigate"
            )

    def _checkout_dir(self, snapshot: SnapshotInfo, tmp: Path, progress: Progress) -> None:
        with self._store.objects.open(snapshot.sha256) as handle:
            entries = parse_manifest(handle.read())
        tmp.mkdir()
        for entry in entries:
            out = tmp / entry.path
            out.parent.mkdir(parents=True, exist_ok=True)
            self._checkout_file(entry.sha256, snapshot, out, progress, member=entry.path)


@dataclass(frozen=True)
class _Lineage:
    """The lineage a registration request names: parents (canonical refs), transform and note.

    Why: a re-add of registered bytes answers with the existing snapshot, so lineage the
    request names but the record lacks would be dropped without a word. Naming nothing
    (the usual pipeline re-run) asks for nothing, so it stays an idempotent success.
    """

    parents: list[str]
    transform: str
    note: str

    def require_recorded_in(self, existing: SnapshotInfo) -> SnapshotInfo:
        """``existing`` when it records everything this request names, else ImmutableVersionError."""
        if self.parents and set(self.parents) != set(existing.parents):
            self._refuse(existing, "other parents", ", ".join(existing.parents) or "none")
        if self.parents and self.transform and self.transform != existing.transform:
            self._refuse(existing, "another transform", _one_line(existing.transform) or "none")
        if self.note and self.note != existing.note:
            self._refuse(existing, "another note", f"'{_one_line(existing.note)}'" if existing.note else "none")
        return existing

    @staticmethod
    def _refuse(existing: SnapshotInfo, what: str, recorded: str) -> None:
        raise ImmutableVersionError(
            f"{existing.ref} is already registered with {what} ({recorded}): nothing changed; "
            "register the new lineage under a new version"
        )


def _refs(value: Iterable[str] | str | None, what: str) -> list[str]:
    """Refs given through the Python API: one str is one ref (not its characters), None is none."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    refs = list(value)
    for ref in refs:
        if not isinstance(ref, str):
            raise InvalidInputError(f"{what} must be refs such as 'raw@v1', not {type(ref).__name__} {ref!r}")
    return refs


def _one_line(text: str, limit: int = 80) -> str:
    """``text`` on one line and at most ``limit`` characters, for quoting in an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class _Reused(Registration):
    """A registration of bytes the store already holds: the recorded metadata, nothing to copy or parse."""

    def __init__(self, store: Store, source: Path, data_format: str, copy: bool, existing: SnapshotInfo) -> None:
        super().__init__(store, source, data_format, [], copy, NO_PROGRESS)
        from lineage.tabular import TableInfo

        self.sha256 = existing.sha256
        self.size = existing.size_bytes
        self.entries = [ManifestEntry(f["path"], f["size_bytes"], f["sha256"]) for f in existing.files]
        self.info = TableInfo(
            format=data_format, rows=existing.rows, columns=existing.columns, schema=existing.schema,
            arrow_schema=existing.arrow_schema, fingerprint=existing.fingerprint,
        )

    def run(self) -> None:
        """Nothing to hash, copy or parse."""

    def publish(self) -> None:
        """Every blob is already durable under its key (checked by ``_reusable``)."""


def _next_auto_version(session: Session, dataset_id: int | None) -> str:
    """``YYYY_MM_DD`` of today (UTC), then ``YYYY_MM_DD.1``, ``.2``… as in the seed's names."""
    base = utcnow().strftime("%Y_%m_%d")
    taken = set(session.exec(
        select(Snapshot.version).where(Snapshot.dataset_id == dataset_id, col(Snapshot.version).startswith(base))
    ))
    return next_auto_version(base, taken)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
