"""Which existing destinations ``snapshot checkout --force`` may replace.

A forced checkout replaces its destination, and a directory is removed whole. Removing
the wrong one loses data no store can give back, so ``--force`` replaces a file, or a
directory only when nothing of value can be in it: it is empty, or every file in it is
a path of the snapshot being checked out (an earlier, perhaps edited, checkout of the
same folder snapshot). Some places are never removed, whatever they hold: the current
directory and its parents, the store home and everything in it (and the local object
store), the filesystem root and the user's home directory and its parents.

Everything here only reads; the checkout calls ``require_replaceable`` before it
writes a byte.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

from lineage.errors import DestinationExistsError

_SHOWN_FILES = 3  # extra files named in the refusal; the rest are counted


def require_replaceable(target: Path, members: Collection[str], store_places: Sequence[Path]) -> None:
    """Refuse (DestinationExistsError) to replace ``target`` unless that is safe.

    ``members``: the relative POSIX paths the snapshot holds (empty for a single file);
    ``store_places``: the store's home and local object folder, never to be touched.
    """
    entry = _entry(target)
    _refuse_protected(target, entry, store_places)
    if target.is_dir() and not target.is_symlink():
        extra = _files_not_in(target, set(members))
        if extra:
            shown = ", ".join(extra[:_SHOWN_FILES]) + (f" and {len(extra) - _SHOWN_FILES} more"
                                                      if len(extra) > _SHOWN_FILES else "")
            raise DestinationExistsError(
                f"{target} holds files the snapshot does not ({shown}): remove it yourself or pick another DEST"
            )


def _entry(target: Path) -> Path:
    """The directory entry a replacement removes, with symlinks above it resolved.

    A symlink at ``target`` is itself what is removed (never what it points to), so only
    its parent is resolved; ``..`` and the root have no entry of their own.
    """
    if target.name in ("", ".."):
        return target.resolve()
    return target.parent.resolve() / target.name


def _refuse_protected(target: Path, entry: Path, store_places: Sequence[Path]) -> None:
    problem = _protected_reason(entry, store_places)
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


def _files_not_in(directory: Path, members: set[str]) -> list[str]:
    """Relative paths of files (and symlinks, and unreadable folders) under ``directory`` that are not members."""
    extra: list[str] = []

    def unreadable(error: OSError) -> None:
        extra.append(f"{error.filename} (unreadable)")

    for folder, dirs, files in os.walk(directory, onerror=unreadable):
        links = [name for name in dirs if os.path.islink(os.path.join(folder, name))]
        for name in sorted(files + links):
            relative = Path(folder, name).relative_to(directory).as_posix()
            if relative not in members:
                extra.append(relative)
    return extra
