"""Which existing destinations ``snapshot checkout --force`` may replace.

A forced checkout replaces its destination, and a directory is removed whole. The rule:
``--force`` never deletes bytes the store cannot give back. So it replaces a file, or a
directory only when every file in it is a path of the snapshot being checked out (an
earlier, perhaps edited, checkout of the same folder snapshot), empty (a Spark
``_SUCCESS`` marker), or bytes the store holds as a blob (say, an earlier checkout of
another version of the dataset: the rollback workflow). Symlinks and unreadable entries
count as not recoverable. Some places are never removed, whatever they hold: the current
directory and its parents, the store home and everything in it (and the local object
store), the SQLite metadata database and its -wal/-shm/-journal files (wherever
LINEAGE_DB_URL puts them) and any folder holding them, the filesystem root and the
user's home directory and its parents.

Everything here only reads; the checkout calls ``require_replaceable`` before it
writes a byte.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

from lineage.errors import DestinationExistsError
from lineage.hashing import hash_file

_SHOWN_FILES = 3  # unrecoverable files named in the refusal
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")  # what SQLite keeps next to a database file


def require_replaceable(
    target: Path, members: Collection[str], store_places: Sequence[Path], *,
    store_files: Sequence[Path] = (), holds_blob: Callable[[str], bool] = lambda _sha256: False,
) -> None:
    """Refuse (DestinationExistsError) to replace ``target`` unless that is safe.

    ``members``: the relative POSIX paths the snapshot holds (empty for a single file);
    ``store_places``: the store's home and local object folder, never to be touched;
    ``store_files``: files of the store kept elsewhere (the SQLite database), never
    removed, nor any folder holding them; ``holds_blob``: whether the store holds the
    blob of a sha256, i.e. could give those bytes back.
    """
    entry = _entry(target)
    _refuse_protected(target, entry, store_places, store_files)
    if target.is_dir() and not target.is_symlink():
        lost = _unrecoverable(target, set(members), holds_blob)
        if lost:
            shown = ", ".join(lost[:_SHOWN_FILES]) + (" and more" if len(lost) > _SHOWN_FILES else "")
            raise DestinationExistsError(
                f"{target} holds files the store could not give back ({shown}): "
                "remove it yourself or pick another DEST"
            )


def sqlite_files(database: Path | None) -> list[Path]:
    """The SQLite database file and the side files SQLite keeps next to it (none off SQLite)."""
    if database is None:
        return []
    return [database] + [database.with_name(database.name + suffix) for suffix in SQLITE_SIDE_FILES]


def _entry(target: Path) -> Path:
    """The directory entry a replacement removes, with symlinks above it resolved.

    A symlink at ``target`` is itself what is removed (never what it points to), so only
    its parent is resolved; ``..`` and the root have no entry of their own.
    """
    if target.name in ("", ".."):
        return target.resolve()
    return target.parent.resolve() / target.name


def _refuse_protected(target: Path, entry: Path, store_places: Sequence[Path], store_files: Sequence[Path]) -> None:
    problem = _protected_reason(entry, store_places) or _store_file_reason(entry, store_files)
    if problem is not None:
        raise DestinationExistsError(f"{target} is {problem}: --force never removes it; pick another DEST")


def _protected_reason(entry: Path, store_places: Sequence[Path]) -> str | None:
    """Why ``entry`` must never be removed, or None."""
    if entry == Path(entry.anchor):
        return "the filesystem root"
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the current directory was removed: nothing to protect there
        cwd = None
    if cwd is not None and (entry == cwd or entry in cwd.parents):
        return "the current directory or one of its parents"
    home = Path.home().resolve()
    if entry == home or entry in home.parents:
        return "your home directory or one of its parents"
    for place in (p.resolve() for p in store_places):
        if entry == place:
            return "the Lineage store's own folder"
        if place in entry.parents:
            return f"inside the Lineage store at {place}"
        if entry in place.parents:
            return f"a parent of the Lineage store at {place}"
    return None


def _store_file_reason(entry: Path, store_files: Sequence[Path]) -> str | None:
    """Why ``entry`` must never be removed because it is, or holds, a store file (the database)."""
    for file in (p.resolve() for p in store_files):
        if entry == file:
            return "a file of the Lineage store's metadata database"
        if entry in file.parents:
            return f"a folder holding the Lineage store's metadata database file {file}"
    return None


def _unrecoverable(directory: Path, members: set[str], holds_blob: Callable[[str], bool]) -> list[str]:
    """Relative paths under ``directory`` whose bytes would be lost, up to one more than shown.

    Cheap verdicts first (symlinks, unreadable entries, empty files), so a folder of
    unrelated data is refused without hashing more than needed.
    """
    lost: list[str] = []
    to_hash: list[tuple[str, Path]] = []
    for relative, path, error in _non_members(directory, members):
        if error:
            lost.append(relative)
            continue
        try:
            info = path.lstat()
        except OSError:
            lost.append(f"{relative} (unreadable)")
            continue
        if not stat.S_ISREG(info.st_mode):  # a symlink, fifo, socket...: not bytes the store holds
            lost.append(relative)
        elif info.st_size:
            to_hash.append((relative, path))
    for relative, path in to_hash:
        if len(lost) > _SHOWN_FILES:
            break
        if not _store_holds(path, holds_blob):
            lost.append(relative)
    return lost


def _store_holds(path: Path, holds_blob: Callable[[str], bool]) -> bool:
    """Whether the store could give back the bytes of ``path`` (an unreadable file: no)."""
    try:
        sha256, _ = hash_file(str(path))
    except OSError:
        return False
    return holds_blob(sha256)


def _non_members(directory: Path, members: set[str]) -> Iterator[tuple[str, Path, bool]]:
    """(relative path, path, unreadable) of each file, symlink or unreadable folder under ``directory`` not a member."""
    unreadable: list[OSError] = []
    for folder, dirs, files in os.walk(directory, onerror=unreadable.append):
        links = [name for name in dirs if os.path.islink(os.path.join(folder, name))]
        for name in sorted(files + links):
            path = Path(folder, name)
            relative = path.relative_to(directory).as_posix()
            if relative not in members:
                yield relative, path, False
    for error in unreadable:
        yield f"{error.filename} (unreadable)", Path(str(error.filename)), True
