"""Settings, read from the environment at call time (never at import time).

Pages rerun and tests change the environment between stores, so nothing here is
cached at module level: ``Settings()`` is built each time a store is opened.

``Settings`` reads ``LINEAGE_*`` variables the way pydantic-settings' ``BaseSettings``
does for these plain fields (prefix, names matched case-insensitively, keyword
arguments first, then the environment, then the defaults; strings validated by
pydantic, so ``LINEAGE_READ_ONLY=1``, ``true``, ``yes`` or ``on`` all mean true),
but on a plain pydantic model: importing pydantic-settings cost every command
~0.1 s of start-up (its sources import dotenv, asyncio, argparse and more).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from lineage.env import (
    DEFAULT_HOME,
    absolute_home,
    check_home,
    check_read_only,
    default_db_url,
    default_user,
    from_environment,
)
from lineage.errors import InvalidInputError


class Settings(BaseModel):
    """Where the store lives and who is writing to it: ``LINEAGE_<FIELD>``, or keyword arguments."""

    model_config = ConfigDict(extra="ignore", validate_default=True)  # as BaseSettings: defaults validated too

    home: Path = DEFAULT_HOME
    db_url: str | None = None
    store_url: str | None = None
    store_options: str | None = None
    user: str = ""
    read_only: bool = False

    def __init__(self, **values: Any) -> None:
        """Read the environment, refusing with one line what pydantic would refuse with a traceback."""
        merged = {**_from_environment(), **values}
        if isinstance(merged.get("read_only"), str):
            check_read_only(merged["read_only"])
        super().__init__(**merged)
        check_home(self.home)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return absolute_home(value)

    @property
    def resolved_db_url(self) -> str:
        """The metadata database URL: the setting, else a SQLite file in the home."""
        return self.db_url or default_db_url(self.home)

    @property
    def resolved_store_url(self) -> str:
        """The object store URL: the setting, else ``objects/`` in the home."""
        return self.store_url or str(self.home / "objects")

    @property
    def resolved_store_options(self) -> dict[str, Any]:
        """``LINEAGE_STORE_OPTIONS``: JSON storage options handed to the fsspec filesystem.

        Most deployments need none (s3fs reads the endpoint, region and credentials from
        the standard ``AWS_*`` variables and files); this carries what those cannot, such
        as ``{"requester_pays": true}`` or another filesystem's options.
        """
        return parse_store_options(self.store_options)

    @property
    def actor(self) -> str:
        """Who every write is attributed to.

        Checked here, where every store reads it, because it lands in ``VARCHAR(256)``
        columns: PostgreSQL would refuse a longer one mid-write with a driver traceback.
        """
        from lineage.stored_text import ACTOR_LIMIT, check_text

        return check_text(self.user.strip() or default_user(), what="LINEAGE_USER", limit=ACTOR_LIMIT,
                          fix="set a shorter LINEAGE_USER")


def parse_store_options(text: str | None) -> dict[str, Any]:
    """The storage options in ``text`` (a JSON object), or InvalidInputError saying how to fix it."""
    if text is None or not text.strip():
        return {}
    try:
        options = json.loads(text)
    except ValueError as exc:
        options, problem = None, f"not JSON: {exc}"
    else:
        problem = "not a JSON object"
    if not isinstance(options, dict):
        raise InvalidInputError(
            f"LINEAGE_STORE_OPTIONS is {problem}: set it to an object such as "
            "'{\"requester_pays\": true}', or unset it"
        )
    return options


def _from_environment() -> dict[str, str]:
    """``LINEAGE_<FIELD>`` values present in the environment, names matched case-insensitively."""
    return from_environment(Settings.model_fields)
