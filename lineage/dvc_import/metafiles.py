"""What a DVC repository says it tracks: its ``.dvc`` files, ``dvc.lock`` files and cache folder.

Plain YAML reading (``yaml.safe_load``, nothing in the files is executed); the ``dvc``
package is not needed. Paths come back relative to the repository root, in POSIX
form, whatever folder the file that named them sits in (``.dvc`` files name paths
relative to their own folder, ``dvc.lock`` relative to the stage's ``wdir``).

Every way a file can be unusable is one InvalidInputError naming the file and the fix,
raised before any data is read.
"""

from __future__ import annotations

import configparser
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage.errors import InvalidInputError

PRUNED_FOLDERS = {".git", ".dvc", "node_modules", "__pycache__"}
"""Never searched for ``.dvc`` files (DVC's own folder, git's, and tool caches); hidden folders neither."""


@dataclass(frozen=True)
class DvcEntry:
    """An output or dependency as DVC recorded it."""

    path: str  # relative to the repository root, POSIX; or a URL for a remote entry
    md5: str | None  # as written: hex, or hex + ".dir" for a directory
    legacy: bool  # written by DVC 2 (no ``hash: md5``): md5 of text files with CRLF turned to LF
    size: int | None

    @property
    def is_dir(self) -> bool:
        return bool(self.md5 and self.md5.endswith(".dir"))

    @property
    def is_local(self) -> bool:
        """A path in the repository (not a URL, not outside the root)."""
        return "://" not in self.path and not self.path.startswith(("../", "/")) and self.path != ".."


@dataclass(frozen=True)
class DvcStage:
    """One stage of a ``dvc.lock``: the command that turned its deps into its outs."""

    name: str
    lockfile: str  # relative to the repository root
    cmd: str
    deps: tuple[DvcEntry, ...]
    outs: tuple[DvcEntry, ...]


@dataclass(frozen=True)
class TrackedOut:
    """An output DVC tracks, with where it was declared."""

    entry: DvcEntry
    declared_in: str  # the .dvc file, or ``dvc.lock:stage``
    stage: DvcStage | None  # None for ``dvc add``/``dvc import`` outputs


@dataclass(frozen=True)
class DvcRepo:
    """Everything the importer needs to know about a repository, read without touching data."""

    root: Path
    cache_dir: Path
    outs: tuple[TrackedOut, ...]
    stages: tuple[DvcStage, ...]


def read_repo(path: str | os.PathLike[str]) -> DvcRepo:
    """Read the repository at ``path``; InvalidInputError when it is not one or tracks nothing."""
    root = Path(path).expanduser()
    if not root.exists():
        raise InvalidInputError(f"path {root} does not exist: give the root folder of a DVC repository")
    root = root.absolute()
    if not root.is_dir():
        raise InvalidInputError(f"{root} is a file: give the root folder of a DVC repository")
    if not (root / ".dvc").is_dir():
        raise InvalidInputError(
            f"{root} is not a DVC repository (no .dvc folder): give the folder where `dvc init` was run"
        )
    dvc_files, lockfiles = _metafiles(root)
    if not dvc_files and not lockfiles:
        raise InvalidInputError(
            f"{root} has no .dvc files and no dvc.lock: nothing is tracked "
            "(track data with `dvc add`, or run the pipeline with `dvc repro`)"
        )
    outs: list[TrackedOut] = []
    for file in dvc_files:
        outs += _dvc_file_outs(root, file)
    stages: list[DvcStage] = []
    for lock in lockfiles:
        stages += _lock_stages(root, lock)
    for stage in stages:
        outs += [TrackedOut(out, f"{stage.lockfile}:{stage.name}", stage) for out in stage.outs]
    seen: dict[str, str] = {}
    for out in outs:
        if out.entry.path in seen:
            raise InvalidInputError(
                f"{out.entry.path} is declared as an output twice ({seen[out.entry.path]} and {out.declared_in}): "
                "remove one (DVC itself refuses overlapping outputs)"
            )
        seen[out.entry.path] = out.declared_in
    return DvcRepo(root=root, cache_dir=cache_dir(root), outs=tuple(outs), stages=tuple(stages))


def cache_dir(root: Path) -> Path:
    """The cache folder: ``cache.dir`` of ``.dvc/config.local`` or ``.dvc/config``, else ``.dvc/cache``."""
    for name in ("config.local", "config"):
        config = root / ".dvc" / name
        if not config.is_file():
            continue
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            parser.read(config, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue  # DVC would refuse it too; the default folder is the best guess
        value = parser.get("cache", "dir", fallback="").strip().strip("'\"")
        if value:
            folder = Path(value).expanduser()
            return folder if folder.is_absolute() else (root / ".dvc" / folder).resolve()
    return root / ".dvc" / "cache"


def _metafiles(root: Path) -> tuple[list[Path], list[Path]]:
    """The ``.dvc`` files and ``dvc.lock`` files under ``root``, sorted, hidden folders skipped."""
    dvc_files: list[Path] = []
    lockfiles: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in PRUNED_FOLDERS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".dvc") and not name.startswith("."):
                dvc_files.append(Path(folder) / name)
            elif name == "dvc.lock":
                lockfiles.append(Path(folder) / name)
    return dvc_files, lockfiles


def _load_yaml(root: Path, file: Path, fix: str) -> Any:
    import yaml

    shown = file.relative_to(root).as_posix()
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{shown} is not UTF-8 text: {fix}") from None
    except OSError as exc:
        raise InvalidInputError(f"{shown} cannot be read ({exc.strerror}): check its permissions") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader: no object construction
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InvalidInputError(f"{shown} is not valid YAML ({problem}{where}): {fix}") from None


def _dvc_file_outs(root: Path, file: Path) -> list[TrackedOut]:
    shown = file.relative_to(root).as_posix()
    fix = "fix it, or restore it with `git checkout` and run `dvc add` again"
    document = _load_yaml(root, file, fix)
    if not isinstance(document, dict) or not isinstance(document.get("outs"), list) or not document["outs"]:
        raise InvalidInputError(f"{shown} has no `outs` list, so it tracks nothing: {fix}")
    base = file.parent.relative_to(root).as_posix()
    return [TrackedOut(_entry(item, base, shown, fix), shown, None) for item in document["outs"]]


def _lock_stages(root: Path, lock: Path) -> list[DvcStage]:
    shown = lock.relative_to(root).as_posix()
    fix = "fix it, or run `dvc repro` to write it again"
    document = _load_yaml(root, lock, fix)
    if document is None:
        return []  # an empty lock file: no stage has run yet
    if not isinstance(document, dict) or not isinstance(document.get("stages"), dict):
        raise InvalidInputError(
            f"{shown} has no `stages` mapping (a dvc.lock older than DVC 2 or not a lock file): {fix}"
        )
    folder = lock.parent.relative_to(root).as_posix()
    wdirs = _stage_wdirs(root, lock.parent / "dvc.yaml")
    stages = []
    for name, body in document["stages"].items():
        if not isinstance(body, dict):
            raise InvalidInputError(f"{shown}: stage '{name}' is not a mapping: {fix}")
        base = posixpath.normpath(posixpath.join(folder, wdirs.get(str(name).split("@")[0], ".")))
        cmd = body.get("cmd", "")
        if isinstance(cmd, list):
            cmd = " && ".join(str(part) for part in cmd)  # DVC runs them in order, stopping at a failure
        deps, outs = (body.get(key) or [] for key in ("deps", "outs"))
        if not isinstance(deps, list) or not isinstance(outs, list):
            raise InvalidInputError(f"{shown}: stage '{name}' has deps or outs that are not lists: {fix}")
        stages.append(DvcStage(
            name=str(name), lockfile=shown, cmd=str(cmd),
            deps=tuple(_entry(item, base, f"{shown}:{name}", fix, need_md5=False) for item in deps),
            outs=tuple(_entry(item, base, f"{shown}:{name}", fix) for item in outs),
        ))
    return stages


def _stage_wdirs(root: Path, dvc_yaml: Path) -> dict[str, str]:
    """Each stage's ``wdir`` from the ``dvc.yaml`` beside the lock (lock paths are relative to it)."""
    if not dvc_yaml.is_file():
        return {}
    document = _load_yaml(root, dvc_yaml, "fix it so that `dvc repro` accepts it")
    stages = document.get("stages") if isinstance(document, dict) else None
    wdirs: dict[str, str] = {}
    for name, body in stages.items() if isinstance(stages, dict) else ():
        if not isinstance(body, dict):
            continue
        template = body.get("do")  # foreach/matrix stages keep their definition under `do`
        wdir = body.get("wdir") or (template.get("wdir") if isinstance(template, dict) else None)
        if wdir:
            if "${" in str(wdir):
                shown = dvc_yaml.relative_to(root).as_posix()
                raise InvalidInputError(
                    f"{shown}: stage '{name}' has a templated wdir ({wdir}), which the import cannot resolve: "
                    "give the stage a plain wdir"
                )
            wdirs[str(name)] = str(wdir)
    return wdirs


def _entry(item: Any, base: str, where: str, fix: str, *, need_md5: bool = True) -> DvcEntry:
    if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]:
        raise InvalidInputError(f"{where}: an entry has no `path`: {fix}")
    raw = item["path"]
    if "://" in raw or raw.startswith("remote:"):
        return DvcEntry(path=raw, md5=_text(item.get("md5")), legacy=False, size=None)
    path = posixpath.normpath(posixpath.join(base, raw.replace(os.sep, "/")))
    hash_name = item.get("hash")
    if hash_name not in (None, "md5"):
        raise InvalidInputError(
            f"{where}: {raw} is recorded with hash '{hash_name}'; the import checks DVC's md5 only: "
            "re-add it with DVC 3's default hash"
        )
    md5 = _text(item.get("md5"))
    if need_md5 and not md5:
        raise InvalidInputError(f"{where}: {raw} has no md5 recorded: run `dvc commit` in the repository")
    size = item.get("size")
    return DvcEntry(path=path, md5=md5, legacy=hash_name is None, size=size if isinstance(size, int) else None)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
