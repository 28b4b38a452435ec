"""Paths the user typed: an empty one is a mistake, never "the current directory".

``Path("")`` is ``Path(".")``, so an option given as ``--artifact ''`` (an unset shell
variable, a template with a hole) would silently mean everything in the working
directory: a whole checkout stored as a model artifact. Path options pass through
``given_path`` before they are used, so such input is refused before anything is read
or written. ``output_destination`` says where a write to an ``-o FILE`` lands (a pipe,
a symlink's target, or the file itself).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lineage.errors import InvalidInputError


def given_path(value: str | os.PathLike[str], *, what: str, fix: str) -> Path:
    """``value`` as a Path; an empty or blank string is refused naming ``what`` and ``fix``.

    A ``Path`` object is taken as is: the caller built it on purpose (and ``Path("")``
    can no longer be told from ``Path(".")``).
    """
    if not isinstance(value, str | os.PathLike):
        raise InvalidInputError(f"{what} must be a path (str or Path), not {type(value).__name__} {value!r}: {fix}")
    if isinstance(value, str) and not value.strip():
        raise InvalidInputError(f"{what} is empty ({value!r}): {fix} (an empty path would mean the current directory)")
    return Path(value)


_DESCRIPTOR_PATHS = ("/dev/fd/", "/dev/stdout", "/dev/stderr", "/proc/")


def output_destination(path: str | Path) -> tuple[Path, bool]:
    """Where a write to the user's output ``path`` lands, and whether it must go straight into it.

    A pipe, device or socket (``-o >(wc -c)``, ``-o /dev/null``) or a descriptor's link
    (``-o /dev/stdout``) is written in place: a temp file renamed over it would replace the
    stream's name instead of feeding the stream. A symlink is followed to its target (even a
    dangling one), so the atomic temp + rename happens next to the target and the link keeps
    pointing at the fresh content. Anything else is ``path`` itself, written atomically.
    """
    given = Path(path)
    if os.path.abspath(given).startswith(_DESCRIPTOR_PATHS):
        return given, True
    try:
        mode: int | None = os.stat(given).st_mode
    except OSError:  # missing, a dangling link or a link loop
        mode = None
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return given, True
    if given.is_symlink():
        return Path(os.path.realpath(given)), False
    return given, False
