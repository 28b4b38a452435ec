"""``Store``: the one entry object that ties settings, database, blobs and services together.

The CLI and the pages build one Store and call its services
(``store.snapshots.add(...)``); tests do the same against a tmp-dir store.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from lineage.config import Settings
from lineage.db import Database
from lineage.errors import ReadOnlyError
from lineage.hashcache import HashCache
from lineage.objectstore import ObjectStore

if TYPE_CHECKING:
    from sqlmodel import Session

    from lineage.audit_service import AuditService
    from lineage.drift_service import DriftService
    from lineage.features.service import FeatureService
    from lineage.models.runs import RunService
    from lineage.models.service import ModelService


class Store:
    """An opened Lineage store. Build it with ``Store.open()`` or ``Store.init()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home: Path = settings.home
        self.read_only = settings.read_only
        self.actor = settings.actor
        self.db = Database(settings.resolved_db_url, read_only=settings.read_only)
        self.objects = ObjectStore(settings.resolved_store_url, settings.resolved_store_options)
        self.hash_cache = HashCache(self.home / "cache" / "hashes.db")
        from lineage.snapshots import SnapshotService

        self.snapshots = SnapshotService(self)

    # The other services load on first use: a command that only registers a snapshot
    # (the common case) then does not import the feature, model and drift code.
    @cached_property
    def features(self) -> FeatureService:
        from lineage.features.service import FeatureService

        return FeatureService(self)

    @cached_property
    def models(self) -> ModelService:
        from lineage.models.service import ModelService

        return ModelService(self)

    @cached_property
    def runs(self) -> RunService:
        from lineage.models.runs import RunService

        return RunService(self)

    @cached_property
    def drift(self) -> DriftService:
        from lineage.drift_service import DriftService

        return DriftService(self)

    @cached_property
    def audit(self) -> AuditService:
        from lineage.audit_service import AuditService

        return AuditService(self)

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None, **overrides: object) -> Store:
        """Open an existing store; SchemaVersionError tells how to create or upgrade it."""
        store = cls(_settings(home, overrides))
        store.db.check_schema()
        return store

    @classmethod
    def init(cls, home: str | os.PathLike[str] | None = None, **overrides: object) -> Store:
        """Create the store (or upgrade its schema) and return it opened."""
        settings = _settings(home, overrides)
        if settings.read_only:
            raise ReadOnlyError("this store is read-only (LINEAGE_READ_ONLY is set): unset it to create or upgrade it")
        store = cls(settings)
        # Reach both stores before writing anything (not even the home folder): a wrong
        # URL then fails with one line naming the database or the object store.
        if not store.db.is_sqlite:
            store.db.current_revision()
        store.objects.check()
        settings.home.mkdir(parents=True, exist_ok=True)
        from lineage.audit import append_event
        from lineage.db import SCHEMA_HEAD

        def record(session: Session, before: str | None) -> None:
            if before is None:
                append_event(session, actor=store.actor, action="store.init", subject=str(store.home),
                             payload={"schema": SCHEMA_HEAD})
            else:
                append_event(session, actor=store.actor, action="store.migrate", subject=str(store.home),
                             payload={"from": before, "to": SCHEMA_HEAD})

        store.db.upgrade(record)
        return store

    def require_writable(self) -> None:
        """Refuse early, before any work, when the store is read-only."""
        if self.read_only:
            raise ReadOnlyError("this store is read-only (LINEAGE_READ_ONLY is set): unset it to make changes")

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _settings(home: str | os.PathLike[str] | None, overrides: dict[str, object]) -> Settings:
    values = dict(overrides)
    if home is not None:
        values["home"] = Path(home)
    return Settings(**values)  # type: ignore[arg-type]
