"""Import a DVC repository: check every tracked output against DVC's md5, then register them all.

All or nothing, in three steps:

1. plan (no data read): the ``.dvc`` files and ``dvc.lock`` stages, where each output's
   bytes are, dataset names; bad input stops here with one InvalidInputError;
2. check: every output is read once, feeding sha256 (and the copy into the object
   store) and md5 on two threads, and parsed as a table; its md5 (a folder's: the
   md5 of its listing) must equal what DVC recorded. An output already imported
   whose files the hash cache knows unchanged is recognised without reading;
3. write: when every output matched, the blobs are published and one transaction
   registers the snapshots, their parent links (stage command as the transform),
   DVC's md5 rows and the audit events. A mismatch is a finding: it is reported,
   and nothing at all is written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineage.digests import ExternalDigest, digests_of, snapshot_ids_with
from lineage.dvc_import.dvchash import listing_md5
from lineage.dvc_import.metafiles import read_repo
from lineage.dvc_import.parents import dep_links, describe_stage, import_order
from lineage.dvc_import.plan import PlannedOut, plan_outs
from lineage.dvc_import.result import EXISTING, MISMATCH, NOT_WRITTEN, REGISTERED, SKIPPED, DvcImportResult, OutResult
from lineage.errors import InvalidInputError
from lineage.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from sqlmodel import Session

    from lineage.store import Store

ORIGIN = "dvc"
MD5 = "md5"
LEGACY_HINT = (
    " (this entry was written by DVC 2, whose md5 of a text file is taken after turning CRLF line endings into LF;"
    " if that is the cause, run `dvc cache migrate --dvc-files` with DVC 3 and import again)"
)


@dataclass
class _Checked:
    """One output after step 2: its sha256, md5s, and the staged registration to publish."""

    planned: PlannedOut
    sha256: str = ""
    member_md5: dict[str, str] = field(default_factory=dict)  # relative path -> md5 (folders)
    staged: Any = None  # the snapshot service's registration; None when recognised without reading
    mismatch: str = ""
    snapshot_id: int = 0  # once written (step 3)

    def digests(self) -> list[ExternalDigest]:
        """The md5 rows to record: the output's (a folder's listing md5) and each member's."""
        rows = [ExternalDigest("", MD5, self.planned.md5, ORIGIN)]
        registered = {m.relpath for m in self.planned.members if m.registered}
        rows += [ExternalDigest(rel, MD5, md5, ORIGIN) for rel, md5 in sorted(self.member_md5.items())
                 if rel in registered]
        return rows


def import_dvc(
    store: Store, repo_path: str | os.PathLike[str], *, copy: bool = True, prefix: str = "",
    progress: Progress = NO_PROGRESS,
) -> DvcImportResult:
    """Register every tabular output of the DVC repository at ``repo_path`` (see the module doc)."""
    store.require_writable()
    repo = read_repo(repo_path)
    plans = import_order(plan_outs(repo, copy=copy, prefix=prefix))
    warnings = [f"{p.path}: {rel} is in the workspace folder but not in DVC's listing; it was not imported"
                for p in plans for rel in p.unlisted]
    _check_texts(str(repo.root), plans)
    checked: dict[str, _Checked] = {}
    try:
        for planned in plans:
            if not planned.skip:
                checked[planned.path] = _recognised(store, planned) or _read_and_check(store, planned, copy, progress)
        if any(c.mismatch for c in checked.values()):
            outs = [_unwritten(p, checked.get(p.path)) for p in plans]
            return DvcImportResult(str(repo.root), outs, warnings, written=False)
        for item in _to_publish(store, checked.values()):
            item.staged.publish()
        with store.db.session(write=True) as session:
            outs = [_write(store, session, p, checked, warnings) for p in plans]
            written = any(o.status == REGISTERED for o in outs) or _digests_added(outs)
            if written:
                from lineage.audit import append_event

                append_event(session, actor=store.actor, action="import.dvc", subject=str(repo.root), payload={
                    "repo": str(repo.root),
                    **{status: [o.ref or o.path for o in outs if o.status == status]
                       for status in (REGISTERED, EXISTING, SKIPPED)},
                })
        return DvcImportResult(str(repo.root), outs, warnings, written=written)
    finally:
        for item in checked.values():
            if item.staged is not None:
                item.staged.discard()


def _check_texts(root: str, plans: list[PlannedOut]) -> None:
    """Refuse a stage command, note or path no backend can store (a NUL from a YAML ``\\0``), before any read."""
    from lineage.staging import check_snapshot_texts
    from lineage.stored_text import check_text

    check_text(root, what="the DVC repository path")
    for planned in plans:
        if not planned.skip:
            cmd = planned.out.stage.cmd if planned.out.stage is not None else ""
            check_snapshot_texts(note=describe_stage(planned), transform=cmd, source_uri=str(planned.workspace))


_DIGESTS_ADDED = "md5 recorded for an existing snapshot"


def _digests_added(outs: list[OutResult]) -> bool:
    return any(o.detail == _DIGESTS_ADDED for o in outs)


def _to_publish(store: Store, items: Iterable[_Checked]) -> list[_Checked]:
    """The staged outputs that will be new snapshots: blobs of recognised ones are not written again.

    As ``snapshot add`` does, bytes already registered are not re-published (a purged
    snapshot's bytes stay erased). Rows are append-only, so what is found here is still
    found in the write transaction.
    """
    staged = [item for item in items if item.staged is not None]
    with store.db.session() as session:
        return [item for item in staged
                if store.snapshots.find_by_sha256(session, item.planned.dataset, item.sha256) is None]


# -- step 2: check ------------------------------------------------------------------------
def _recognised(store: Store, planned: PlannedOut) -> _Checked | None:
    """An output imported before whose files the hash cache knows unchanged: no need to read it."""
    if planned.missing_members or any(not m.registered for m in planned.members):
        return None
    cache = store.hash_cache
    if planned.data_format == "parquet-dir":
        from lineage.hashing import sha256_bytes
        from lineage.manifest import ManifestEntry, render_manifest

        entries = []
        for member in planned.members:
            digest = cache.get(member.read_path)
            if digest is None:
                return None
            entries.append(ManifestEntry(member.relpath, member.read_path.stat().st_size, digest))
        sha256 = sha256_bytes(render_manifest(entries))
    else:
        assert planned.read_path is not None
        found_digest = cache.get(planned.read_path)
        if found_digest is None:
            return None
        sha256 = found_digest
    with store.db.session() as session:
        found = store.snapshots.find_by_sha256(session, planned.dataset, sha256)
        if found is None:
            return None
        recorded = digests_of(session, found[1])
    if ExternalDigest("", MD5, planned.md5, ORIGIN) not in recorded:
        return None
    members = {d.path: d.digest for d in recorded if d.path and d.algorithm == MD5 and d.origin == ORIGIN}
    return _Checked(planned, sha256=sha256, member_md5=members)


def _read_and_check(store: Store, planned: PlannedOut, copy: bool, progress: Progress) -> _Checked:
    registered = [(m.relpath, m.read_path) for m in planned.members if m.registered]
    staged = store.snapshots.registration(
        planned.workspace, data_format=planned.data_format or "", members=registered, copy=copy,
        progress=progress, read_path=planned.read_path, also=(MD5,),
    )
    try:
        staged.run()
    except InvalidInputError:
        # A table that does not parse may simply be a tampered file: the md5 tells.
        problem = _problem(planned, _member_md5(planned, staged))
        if problem:
            return _Checked(planned, mismatch=problem)
        raise
    item = _Checked(planned, sha256=staged.sha256, member_md5=_member_md5(planned, staged), staged=staged)
    item.mismatch = _problem(planned, item.member_md5)
    return item


def _member_md5(planned: PlannedOut, staged: Any) -> dict[str, str]:
    """md5 of each member read (a file's under ''); members only checked are hashed here."""
    found = {path: digests[MD5] for path, digests in staged.digests.items()}
    for member in planned.members:
        if not member.registered:
            from lineage.hashing import hash_file

            hasher = hashlib.md5(usedforsecurity=False)
            hash_file(str(member.read_path), also=[hasher])
            found[member.relpath] = hasher.hexdigest()
    return found


def _problem(planned: PlannedOut, md5s: dict[str, str]) -> str:
    """'' when the bytes match DVC's md5, else the finding in one sentence."""
    where = planned.out.declared_in
    hint = LEGACY_HINT if planned.out.entry.legacy else ""
    if planned.data_format != "parquet-dir":
        actual = md5s.get("")
        if actual == planned.md5:
            return ""
        return f"the bytes have md5 {actual}, {where} records {planned.md5}{hint}"
    if not planned.missing_members and listing_md5(md5s.items()) == planned.md5:
        return ""
    details = [f"{rel} is missing from the workspace folder" for rel in planned.missing_members]
    details += [f"{m.relpath} has md5 {md5s.get(m.relpath)}, DVC's listing records {m.recorded_md5}"
                for m in planned.members if m.recorded_md5 and md5s.get(m.relpath) != m.recorded_md5]
    if not details:
        details = [f"the folder's listing has md5 {listing_md5(md5s.items())}, {where} records {planned.md5}"]
    return "; ".join(details) + hint


# -- step 3: write ------------------------------------------------------------------------
def _write(store: Store, session: Session, planned: PlannedOut, checked: dict[str, _Checked],
           warnings: list[str]) -> OutResult:
    out = planned.out
    common: dict[str, Any] = {"path": planned.path, "declared_in": out.declared_in, "md5": out.entry.md5}
    if planned.skip:
        return OutResult(status=SKIPPED, detail=planned.skip, **common)
    item = checked[planned.path]
    transform = out.stage.cmd if out.stage is not None else ""
    snapshots = store.snapshots
    found = snapshots.find_by_sha256(session, planned.dataset, item.sha256)
    if found is not None:
        info, snapshot_id = found
        added = snapshots.record_digests(session, snapshot_id, info.ref, item.digests())
        status, detail = EXISTING, _DIGESTS_ADDED if added else ""
    else:
        parent_ids = _parent_ids(session, planned, checked, warnings)
        info, snapshot_id = snapshots.register_staged(
            session, item.staged, dataset=planned.dataset, version=planned.version, stage=planned.stage,
            parent_ids=parent_ids, transform=transform, note=describe_stage(planned),
            source_uri=str(planned.workspace), digests=item.digests(),
        )
        status, detail = REGISTERED, ""
    item.snapshot_id = snapshot_id
    return OutResult(status=status, ref=info.ref, sha256=info.sha256, source=planned.source, parents=info.parents,
                     transform=info.transform or transform, detail=detail, **common)


def _parent_ids(session: Session, planned: PlannedOut, checked: dict[str, _Checked], warnings: list[str]) -> list[int]:
    """The snapshots the stage's deps name, at the md5 the stage recorded for them."""
    by_path = {item.planned.path: item.planned for item in checked.values()}
    ids: list[int] = []
    for link in dep_links(planned, by_path):
        parent = link.parent
        if parent is None:
            continue  # a script or params file: listed in the note
        item = checked[parent.path]
        current = item.member_md5.get(link.member) if link.member else parent.md5
        if link.dep.md5 == current:
            ids.append(item.snapshot_id)
            continue
        older = [] if link.member else snapshot_ids_with(
            session, dataset=parent.dataset, algorithm=MD5, digest=link.dep.md5 or "", origin=ORIGIN)
        if older:
            ids.append(older[0])
        else:
            warnings.append(
                f"{planned.path}: stage {planned.out.stage.name if planned.out.stage else '?'} ran on {link.dep.path} "
                f"with md5 {link.dep.md5}, which is neither the imported version ({current}) nor an imported "
                "snapshot: no parent link (run `dvc repro`, then import again)"
            )
    return list(dict.fromkeys(ids))


def _unwritten(planned: PlannedOut, item: _Checked | None) -> OutResult:
    common: dict[str, Any] = {"path": planned.path, "declared_in": planned.out.declared_in, "md5": planned.out.entry.md5}
    if planned.skip or item is None:
        return OutResult(status=SKIPPED, detail=planned.skip or "", **common)
    if item.mismatch:
        return OutResult(status=MISMATCH, source=planned.source, detail=item.mismatch, **common)
    return OutResult(status=NOT_WRITTEN, sha256=item.sha256 or None, source=planned.source,
                     detail="matches DVC's md5; nothing was written because another output does not", **common)
