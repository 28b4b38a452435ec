"""Paths the user typed: an empty one is a mistake, never "the current directory".

``Path("")`` is ``Path(".")``, so an option given as ``--artifact ''`` (an unset shell
variable, a template with a hole) would silently mean everything in the working
directory: a whole checkout stored as a model artifact. Path options pass through
``given_path`` before they are used, so such input is refused before anything is read
or written.
"""

from __future__ import annotations

import os
from pathlib import Path

from lineage.errors import InvalidInputError


def given_path(value: str | os.PathLike[str], *, what: str, fix: str) -> Path:
    """``value`` as a Path; an empty or blank string is refused naming ``what`` and ``fix``.

    A ``Path`` object is taken as is: the caller built it on purpose (and ``Path("")``
    can no longer be told from ``Path(".")``).
    """
    if isinstance(value, str) and not value.strip():
        raise InvalidInputError(f"{what} is empty ({value!r}): {fix} (an empty path would mean the current directory)")
    return Path(value)
