"""The one check every user-given text passes before it is stored.

Why: SQLite stores whatever it is given, while PostgreSQL refuses a NUL character, a
text longer than its ``VARCHAR(n)`` column and (through psycopg) text that is not
valid UTF-8, each with a raw driver traceback. Checking here, before anything is
written, makes both backends refuse the same input with the same one line. Text from
the command line holds lone surrogates (``\\udcff``) where the shell passed bytes that
are not UTF-8; no database can store those either.

Lookups and filters do not refuse such text: nothing stored can hold it, so
``is_storable`` lets them answer "nothing found" without asking the database.
"""

from __future__ import annotations

import hashlib

from lineage.errors import InvalidInputError

ACTOR_LIMIT = 256
"""``created_by``, ``actor`` and the other who-did-it columns (``lineage/tables.py``)."""
NAME_LIMIT = 128
"""Names, versions, aliases and feature names."""
PATH_LIMIT = 1024
"""Member file paths of directory snapshots and model artifacts."""
SUBJECT_LIMIT = 512
"""``audit_event.subject``."""
TAG_LIMIT = 256
"""``feature_set_version.released_tag``."""


def check_text(value: object, *, what: str, limit: int | None = None, fix: str = "") -> str:
    """Return ``value`` unchanged if it can be stored, else raise InvalidInputError naming ``what``.

    ``limit`` is the length of the column the text lands in (None for unbounded TEXT);
    ``fix`` replaces the default advice for the length refusal.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, not {type(value).__name__} {value!r}")
    if "\x00" in value:
        raise InvalidInputError(f"{what} contains a NUL character (\\x00), which cannot be stored: remove it")
    if not is_utf8(value):
        raise InvalidInputError(
            f"{what} {shown_text(value)} is not valid UTF-8 text: give it as UTF-8 (check the terminal's locale "
            "or the file's encoding)"
        )
    if limit is not None and len(value) > limit:
        raise InvalidInputError(f"{what} is {len(value)} characters: at most {limit} fit; {fix or 'shorten it'}")
    return value


def is_utf8(value: str) -> bool:
    """Whether ``value`` encodes as UTF-8 (it holds no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_storable(value: object) -> bool:
    """Whether any stored text could equal or contain ``value`` (for lookups that then find nothing)."""
    return isinstance(value, str) and "\x00" not in value and is_utf8(value)


def fit(value: str, limit: int) -> str:
    """``value`` itself when it fits in ``limit`` characters, else a shortened form that does.

    For text the product builds (an audit subject from two refs), not text the user gave:
    the shortened form keeps the start, an ellipsis and a short hash of the whole, so two
    different long values stay different.
    """
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "backslashreplace")).hexdigest()[:12]
    tail = f"… [{digest}]"
    return value[: limit - len(tail)] + tail


def shown_text(value: str) -> str:
    """Quoted, the start of ``value`` printable in any terminal (undecodable bytes as ``\\xNN``)."""
    head = value[:40]
    try:
        printable = head.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        printable = head.encode("unicode_escape").decode("ascii")
    return f"'{printable}{'…' if len(value) > 40 else ''}'"
