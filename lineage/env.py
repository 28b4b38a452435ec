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
