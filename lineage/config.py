"""Settings, read from the environment at call time (never at import time).

Pages rerun and tests change the environment between stores, so nothing here is
cached at module level: ``Settings()`` is built each time a store is opened.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid{os.getuid()}"


class Settings(BaseSettings):
    """Where the store lives and who is writing to it."""

    model_config = SettingsConfigDict(env_prefix="LINEAGE_", extra="ignore")

    home: Path = Path(".lineage")
    db_url: str | None = None
    store_url: str | None = None
    user: str = ""
    read_only: bool = False

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def resolved_db_url(self) -> str:
        """The metadata database URL: the setting, else a SQLite file in the home."""
        return self.db_url or f"sqlite:///{self.home / 'lineage.db'}"

    @property
    def resolved_store_url(self) -> str:
        """The object store URL: the setting, else ``objects/`` in the home."""
        return self.store_url or str(self.home / "objects")

    @property
    def actor(self) -> str:
        """Who every write is attributed to."""
        return self.user.strip() or _default_user()
