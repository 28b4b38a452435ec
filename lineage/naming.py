"""Validation of user-given names and parsing of references.

Names end up in file paths, URLs and HTML, so they are checked once, here, before
anything is written (invariant 7): no path separators, no ``..``, no control
characters, nothing that is not UTF-8, no leading or trailing spaces, at most 128 characters. A *new* name must
also be composed Unicode (NFC): ``données`` typed with a combining accent (NFD) looks the
same but is other code points, so it would silently be a second dataset. Such a name is
refused, never rewritten, so what is stored is always exactly what the user typed. Lookups
do not apply that rule: a name stored decomposed before it existed stays reachable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from lineage.errors import InvalidNameError

STAGES = ("raw", "processed", "features", "online")
"""Where a snapshot sits in the pipeline (lineage/entities.py re-exports it)."""

MAX_NAME_LENGTH = 128
_HEX_PREFIX = re.compile(r"^[0-9a-fA-F]{8,64}$")


def validate_name(value: str, *, what: str = "name", new: bool = False) -> str:
    """Return ``value`` unchanged if it is a safe name, else raise InvalidNameError.

    ``new``: the name is about to be stored (a registration), so it must also be NFC.
    """
    if not isinstance(value, str):  # an int version or a None from the Python API: say so, not "empty"
        raise InvalidNameError(f"{what} must be text, not {type(value).__name__} {value!r}: "
                               f"give a string such as 'v1' or 'customers'")
    if value == "":
        raise InvalidNameError(f"{what} is empty: give a non-empty {what}")
    shown = value.encode("unicode_escape").decode("ascii")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"{what} '{shown[:40]}…' is {len(value)} characters long: use at most {MAX_NAME_LENGTH}"
        )
    if value != value.strip():
        raise InvalidNameError(f"{what} '{shown}' has leading or trailing spaces: remove them")
    if any(unicodedata.category(ch) == "Cs" for ch in value):  # bytes the shell could not decode
        from lineage.stored_text import shown_text

        raise InvalidNameError(
            f"{what} {shown_text(value)} is not valid UTF-8 text: give it as UTF-8 (check the terminal's locale)"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        raise InvalidNameError(
            f"{what} '{shown}' contains a control character: use printable characters only"
        )
    if new and unicodedata.normalize("NFC", value) != value:
        raise InvalidNameError(  # shown escaped, so the combining character is visible
            f"{what} '{shown}' is not in composed Unicode form (NFC): use the composed (NFC) form "
            f"'{unicodedata.normalize('NFC', value)}'"
        )
    if "/" in value or "\\" in value:
        raise InvalidNameError(f"{what} '{shown}' contains a path separator: remove '/' and '\\'")
    if ".." in value:
        raise InvalidNameError(f"{what} '{shown}' contains '..': remove it")
    if "@" in value:
        raise InvalidNameError(
            f"{what} '{shown}' contains '@', which separates name and version in refs: remove it"
        )
    return value


@dataclass(frozen=True)
class Ref:
    """A parsed reference: ``name@version``, ``name`` (latest), or a sha256 prefix."""

    name: str | None
    version: str | None
    sha256_prefix: str | None

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else str(self.name)


def parse_ref(text: str) -> Ref:
    """Parse a snapshot reference as typed by a user.

    A bare string of 8–64 hex characters is read as a sha256 prefix, because that is
    what users copy from ``sha256sum`` output; it is lowercased (digests are stored
    lowercase, and some tools print them in capitals). The name keeps the typed case.
    """
    if not isinstance(text, str):
        raise InvalidNameError(f"reference must be text, not {type(text).__name__} {text!r}: give dataset@version, "
                               "a dataset name or a sha256 prefix")
    if not text.strip():
        raise InvalidNameError("reference is empty: give dataset@version, a dataset name or a sha256 prefix")
    text = text.strip()
    if "@" in text:
        name, _, version = text.partition("@")
        validate_name(name, what="dataset name")
        validate_name(version, what="version")
        return Ref(name=name, version=version, sha256_prefix=None)
    if _HEX_PREFIX.match(text):
        # Could also be a dataset whose name happens to be hex: resolution tries both.
        return Ref(name=text, version=None, sha256_prefix=text.lower())
    validate_name(text, what="dataset name")
    return Ref(name=text, version=None, sha256_prefix=None)


def next_auto_version(base: str, taken: set[str]) -> str:
    """``base`` (today's ``YYYY_MM_DD``), else ``base.1``, ``base.2``…: the first not in ``taken``, as in the seed's names."""
    if base not in taken:
        return base
    n = 1
    while f"{base}.{n}" in taken:
        n += 1
    return f"{base}.{n}"
