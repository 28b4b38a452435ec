"""Strict semantic versions (semver.org 2.0.0) for feature sets.

Only ``MAJOR.MINOR.PATCH`` with optional ``-prerelease`` and ``+build``: ``2.1`` and
``v2.1.0`` are refused, because a version that sorts ambiguously cannot be enforced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from lineage.errors import SemverError

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

BUMPS = ("none", "patch", "minor", "major")  # weakest first


@total_ordering
@dataclass(frozen=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = ""

    @classmethod
    def parse(cls, text: object, *, what: str = "version") -> SemVer:
        """Parse strictly; the error shows the nearest valid spelling when there is one."""
        if not isinstance(text, str):
            raise SemverError(f"{what} {text!r} is not a string: write it as \"MAJOR.MINOR.PATCH\", e.g. \"2.1.0\"")
        match = _SEMVER.match(text)
        if match is None:
            raise SemverError(f"{what} '{text}' is not strict semver: write MAJOR.MINOR.PATCH{_hint(text)}")
        major, minor, patch, pre, build = match.groups()
        return cls(int(major), int(minor), int(patch), pre or "", build or "")

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        return text + (f"+{self.build}" if self.build else "")

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after its prereleases; numeric identifiers sort before alphanumeric ones.
        parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease.split(".")) if self.prerelease else ()
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, parts)  # type: ignore[return-value]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def bump_from(self, previous: SemVer) -> str:
        """Which bump this version is over ``previous``: major, minor, patch or none."""
        if self.major != previous.major:
            return "major" if self.major > previous.major else "none"
        if self.minor != previous.minor:
            return "minor" if self.minor > previous.minor else "none"
        if self.patch != previous.patch:
            return "patch" if self.patch > previous.patch else "none"
        return "none"

    def next(self, bump: str) -> SemVer:
        """The smallest release with this bump (``2.1.3`` → major ``3.0.0``)."""
        if bump == "major":
            return SemVer(self.major + 1, 0, 0)
        if bump == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        if bump == "patch":
            return SemVer(self.major, self.minor, self.patch + 1)
        return self


def stronger(a: str, b: str) -> str:
    """The stronger of two bumps (``none`` < ``patch`` < ``minor`` < ``major``)."""
    return a if BUMPS.index(a) >= BUMPS.index(b) else b


def _hint(text: str) -> str:
    candidate = text.strip().lstrip("vV")
    parts = candidate.split(".")
    if all(p.isdigit() for p in parts) and 1 <= len(parts) <= 3:
        fixed = ".".join([str(int(p)) for p in parts] + ["0"] * (3 - len(parts)))
        return f", e.g. \"{fixed}\""
    return ", e.g. \"2.1.0\""
