"""One vocabulary of errors shared by the library, the CLI and the dashboard.

Every message is written for the user: what is wrong, with which name or value,
and what to do next. The CLI prints the message and exits 2; the dashboard shows
it with ``st.error``. Neither shows a traceback for these.
"""

from __future__ import annotations


class LineageError(Exception):
    """Base of every error the product raises on purpose (bad input or refused write)."""

    exit_code = 2


class InvalidNameError(LineageError):
    """A dataset, version or other name breaks the naming rules."""


class InvalidInputError(LineageError):
    """An input file, option or value cannot be used as given."""


class NotFoundError(LineageError):
    """A referenced object (snapshot, dataset, blob...) does not exist."""


class AmbiguousRefError(LineageError):
    """A short reference matches more than one object."""


class ImmutableVersionError(LineageError):
    """A taken name would be given different content (invariant 2)."""


class ReadOnlyError(LineageError):
    """A write was attempted on a read-only store."""


class StoreUnavailableError(LineageError):
    """The metadata database or object store cannot be reached or opened."""


class SchemaVersionError(LineageError):
    """The metadata database is not at the schema version this release expects."""


class StoreMissingError(SchemaVersionError):
    """No store exists where the settings point yet (as opposed to one that is damaged or old)."""


class DestinationExistsError(LineageError):
    """A checkout would overwrite an existing file."""


class IntegrityError(LineageError):
    """Stored bytes do not match their recorded hash."""


class PurgedError(LineageError):
    """A snapshot's bytes were erased on purpose (``lineage purge``): they cannot be read."""


class SchemaViolationError(LineageError):
    """Data does not satisfy a feature-set schema contract."""


class SemverError(LineageError):
    """A feature-set version is not strict semver, or its bump is smaller than its changes require."""


class FeatureCodeError(LineageError):
    """Feature code cannot be loaded, or does not match its schema or its registered hash."""


def is_damaged_sqlite(exc: BaseException) -> bool:
    """SQLite found the file's pages inconsistent (SQLITE_CORRUPT), not merely busy or missing."""
    return "database disk image is malformed" in str(exc).lower()


def damaged_sqlite(path: str) -> StoreUnavailableError:
    """Why: the driver's "database disk image is malformed" names neither the file nor a way out."""
    return StoreUnavailableError(
        f"the SQLite database {path} is damaged (database disk image is malformed): restore it from a "
        f"backup, or look with `sqlite3 {path} 'PRAGMA integrity_check'`"
    )
