"""Plan a DVC import before reading any data: names, where the bytes are, what is skipped.

Each tracked output becomes one snapshot:

* dataset: the output's path in the repository with ``/`` turned into ``_``
  (``data/raw.csv`` -> ``data_raw.csv``), after an optional prefix;
* version: ``md5-`` and the first 12 hex digits of DVC's md5, so a new DVC version of
  the data is a new snapshot version and importing again finds the same name;
* stage: ``raw`` for ``dvc add``/``dvc import`` outputs, ``processed`` for pipeline outputs.

The bytes are read from the workspace when it holds the output, else from the DVC
cache. Snapshots hold tables, so outputs that are not a Parquet or CSV file or a
directory of Parquet files (models, metrics, images) are skipped with the reason.
Only the first 4 bytes of a file of unknown name (Parquet's magic) and cached
directory listings are read here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lineage.dvc_import.dvchash import find_in_cache, parse_listing, short
from lineage.dvc_import.metafiles import DvcRepo, TrackedOut
from lineage.errors import InvalidInputError
from lineage.manifest import is_data_member, is_hidden
from lineage.naming import validate_name
from lineage.tabular import sniff_format

VERSION_DIGITS = 12
TABULAR_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")


@dataclass(frozen=True)
class Member:
    """One file of a tracked directory."""

    relpath: str
    read_path: Path
    recorded_md5: str | None  # from DVC's cached listing, when the cache has it
    registered: bool  # part of the snapshot (a Parquet file), else only checked (``_SUCCESS``...)


@dataclass(frozen=True)
class PlannedOut:
    """What the import will do with one tracked output."""

    out: TrackedOut
    dataset: str
    version: str
    stage: str
    workspace: Path
    data_format: str | None = None  # parquet | csv | parquet-dir; None when skipped
    read_path: Path | None = None  # a file's bytes (workspace or cache)
    members: tuple[Member, ...] = ()
    missing_members: tuple[str, ...] = ()  # listed by DVC, absent from the workspace folder
    unlisted: tuple[str, ...] = ()  # in the workspace folder, not in DVC's listing (not imported)
    from_cache: bool = False
    skip: str | None = None

    @property
    def path(self) -> str:
        return self.out.entry.path

    @property
    def md5(self) -> str:
        return self.out.entry.md5 or ""

    @property
    def source(self) -> str:
        return "" if self.skip else ("cache" if self.from_cache else "workspace")


def plan_outs(repo: DvcRepo, *, copy: bool = True, prefix: str = "") -> list[PlannedOut]:
    """One plan per tracked output; InvalidInputError when data is missing or names clash."""
    plans = [_plan_one(repo, out, copy=copy, prefix=prefix) for out in repo.outs]
    taken: dict[str, str] = {}
    for planned in plans:
        if planned.skip:
            continue
        if planned.dataset in taken:
            raise InvalidInputError(
                f"{taken[planned.dataset]} and {planned.path} would both become dataset '{planned.dataset}': "
                "rename one of them in the repository"
            )
        taken[planned.dataset] = planned.path
    return plans


def dataset_name(path: str, prefix: str = "") -> str:
    """The dataset an output's path becomes: ``data/raw.csv`` -> ``data_raw.csv``."""
    return prefix + path.replace("/", "_")


def _plan_one(repo: DvcRepo, out: TrackedOut, *, copy: bool, prefix: str) -> PlannedOut:
    entry = out.entry
    stage = "processed" if out.stage is not None else "raw"
    if not entry.is_local:
        return PlannedOut(out, "", "", stage, repo.root, skip="not a path inside the repository (a URL or outside it)")
    dataset = dataset_name(entry.path, prefix)
    validate_name(dataset, what=f"dataset name made from {entry.path}", new=True)
    base = PlannedOut(out, dataset, f"md5-{short(entry.md5 or '')[:VERSION_DIGITS]}", stage, repo.root / entry.path)
    planned = _plan_dir(repo, base) if entry.is_dir else _plan_file(repo, base)
    if planned.from_cache and not copy and not planned.skip:
        raise InvalidInputError(
            f"{entry.path} is only in the DVC cache, and --no-copy records data where it lies in the workspace: "
            "run `dvc checkout` first, or import without --no-copy"
        )
    return planned


def _missing(planned: PlannedOut, repo: DvcRepo) -> InvalidInputError:
    return InvalidInputError(
        f"{planned.path} ({planned.out.declared_in}) is neither in the workspace nor in the DVC cache "
        f"{repo.cache_dir}: run `dvc pull` (or `dvc checkout`) in the repository first"
    )


def _plan_file(repo: DvcRepo, planned: PlannedOut) -> PlannedOut:
    workspace = planned.workspace
    if workspace.is_dir():
        raise InvalidInputError(
            f"{planned.path} is a folder but {planned.out.declared_in} records a file: "
            "run `dvc checkout` to restore it, or `dvc add`/`dvc repro` to record the folder"
        )
    from_cache = not workspace.is_file()
    read_path = find_in_cache(repo.cache_dir, planned.md5, legacy=planned.out.entry.legacy) if from_cache else workspace
    if read_path is None:
        if not workspace.name.lower().endswith(TABULAR_SUFFIXES):
            return _skip(planned, "not a Parquet or CSV file by its name (and its bytes are absent)")
        raise _missing(planned, repo)
    if read_path.stat().st_size == 0:
        return _skip(planned, "an empty file (0 bytes)")
    data_format = sniff_format(read_path, workspace.name)
    if data_format is None:
        return _skip(planned, "not a Parquet or CSV file (snapshots hold tables)")
    return _replace(planned, data_format=data_format, read_path=read_path, from_cache=from_cache)


def _plan_dir(repo: DvcRepo, planned: PlannedOut) -> PlannedOut:
    listing = _cached_listing(repo, planned)
    workspace = planned.workspace
    if workspace.is_file():
        raise InvalidInputError(
            f"{planned.path} is a file but {planned.out.declared_in} records a folder: "
            "run `dvc checkout` to restore it, or `dvc add`/`dvc repro` to record the file"
        )
    if workspace.is_dir():
        present = _walk(workspace)
        if listing is None:  # no listing to compare with: the listing md5 of what is there decides
            members = [Member(rel, path, None, is_data_member(rel)) for rel, path in present.items()]
            missing: list[str] = []
            unlisted: list[str] = []
        else:
            members = [Member(rel, present[rel], md5, is_data_member(rel)) for rel, md5 in listing.items()
                       if rel in present]
            missing = sorted(rel for rel in listing if rel not in present)
            unlisted = sorted(rel for rel in present if rel not in listing)
        from_cache = False
    elif listing is not None:
        members = []
        for rel, md5 in listing.items():
            path = find_in_cache(repo.cache_dir, md5, legacy=planned.out.entry.legacy)
            if path is None:
                raise InvalidInputError(
                    f"{planned.path}/{rel} ({planned.out.declared_in}) is neither in the workspace nor in the "
                    f"DVC cache {repo.cache_dir}: run `dvc pull` (or `dvc checkout`) in the repository first"
                )
            members.append(Member(rel, path, md5, is_data_member(rel)))
        missing, unlisted, from_cache = [], [], True
    else:
        raise _missing(planned, repo)
    names = [m.relpath for m in members] + missing
    other = sorted(rel for rel in names if not is_data_member(rel) and not is_hidden(rel))
    if other:
        return _skip(planned, f"a folder holding files other than Parquet (such as {other[0]}): "
                              "a directory snapshot is a folder of Parquet files")
    if not any(m.registered for m in members) and not missing:
        return _skip(planned, "a folder holding no Parquet files")
    for rel in names:
        if any(ch in rel for ch in "\t\n\r"):
            raise InvalidInputError(f"file name {rel!r} in {planned.path} contains a tab or line break: rename it")
    members.sort(key=lambda m: m.relpath.encode("utf-8"))
    return _replace(planned, data_format="parquet-dir", members=tuple(members), missing_members=tuple(missing),
                    unlisted=tuple(unlisted), from_cache=from_cache)


def _cached_listing(repo: DvcRepo, planned: PlannedOut) -> dict[str, str] | None:
    path = find_in_cache(repo.cache_dir, planned.md5, legacy=planned.out.entry.legacy)
    if path is None:
        return None
    return parse_listing(path.read_bytes(), f"the cached listing of {planned.path} ({path})")


def _walk(folder: Path) -> dict[str, Path]:
    """Every file under ``folder`` by relative POSIX path (symbolic links to files included)."""
    found: dict[str, Path] = {}
    for current, subfolders, files in os.walk(folder):
        subfolders.sort()
        for name in files:
            path = Path(current) / name
            if path.is_file():
                found[path.relative_to(folder).as_posix()] = path
    return found


def _skip(planned: PlannedOut, reason: str) -> PlannedOut:
    return _replace(planned, skip=reason)


def _replace(planned: PlannedOut, **changes: object) -> PlannedOut:
    from dataclasses import replace

    return replace(planned, **changes)  # type: ignore[arg-type]
