"""``LINEAGE_*`` variables read from the environment, without pydantic.

The light half of ``lineage.config``: short read-only commands (``lineage/quick_reads.py``)
need the store's location before deciding whether to import the heavy layers at all.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from pathlib import Path

ENV_PREFIX = "LINEAGE_"
DEFAULT_HOME = Path(".lineage")


def from_environment(fields: Iterable[str]) -> dict[str, str]:
    """``LINEAGE_<FIELD>`` values present in the environment, names matched case-insensitively."""
    environment = {name.lower(): value for name, value in os.environ.items()}
    prefix = ENV_PREFIX.lower()
    return {field: environment[prefix + field] for field in fields if prefix + field in environment}


def absolute_home(home: str | os.PathLike[str]) -> Path:
    """The store home as ``Settings`` resolves it: user expanded, made absolute (not resolved)."""
    return Path(home).expanduser().absolute()


def default_db_url(home: Path) -> str:
    """The metadata database when ``LINEAGE_DB_URL`` is unset: a SQLite file in the home."""
    return f"sqlite:///{home / 'lineage.db'}"


def default_user() -> str:
    """Who writes when ``LINEAGE_USER`` is unset: the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid{os.getuid()}"


TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})
"""What pydantic reads as a boolean (any case): ``Settings`` and the quick paths must agree on it."""


def check_read_only(value: str) -> None:
    """Refuse a ``LINEAGE_READ_ONLY`` that is not a boolean word.

    Why here and not only in pydantic: the quick read paths never build ``Settings``, so a
    typo such as ``2`` would make reads ignore the variable while writes crashed on it.
    """
    from lineage.errors import InvalidInputError

    if value.lower() not in TRUE_WORDS | FALSE_WORDS:
        raise InvalidInputError(f"LINEAGE_READ_ONLY is {value!r}, not a boolean: set it to 1, true, yes or on "
                                "(read-only), or to 0, false, no or off, or unset it")


def check_home(home: Path) -> None:
    """Refuse a store home that is an existing file (every command would fail on it in its own way)."""
    from lineage.errors import InvalidInputError

    if home.is_file():
        raise InvalidInputError(f"LINEAGE_HOME {home} is a file, not a store folder: set LINEAGE_HOME to a folder "
                                "(`lineage init` creates the store in it)")


def check_environment() -> None:
    """Refuse ``LINEAGE_*`` values no command can work with, before any command reads them."""
    values = from_environment(("home", "read_only"))
    if "read_only" in values:
        check_read_only(values["read_only"])
    check_home(absolute_home(values.get("home", DEFAULT_HOME)))
