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
        """Which bump this version is over ``previous``: major, minor, patch or none.

        A prerelease stands before its release: ``3.0.0-rc.1`` → ``3.0.0`` (or ``3.0.0-rc.2``,
        or ``3.0.1``) passes the release of ``3.0.0`` and so counts as the bump that release
        is, major here (``1.2.3-rc.1`` → ``1.2.3`` is a patch), or more when the version
        goes past it: the changes made since the last release are what readers see.
        """
        if previous.prerelease:
            release = previous.release()
            if self < release:  # a later prerelease of the same release
                return release.level()
            return stronger(release.level(), self.bump_from(release))
        if self.major != previous.major:
            return "major" if self.major > previous.major else "none"
        if self.minor != previous.minor:
            return "minor" if self.minor > previous.minor else "none"
        if self.patch != previous.patch:
            return "patch" if self.patch > previous.patch else "none"
        return "none"

    def next(self, bump: str) -> SemVer:
        """The smallest release with this bump (``2.1.3`` → major ``3.0.0``).

        After a prerelease, its own release when that bump is at least ``bump``
        (``3.0.0-rc.1`` → patch, minor or major ``3.0.0``; ``1.2.3-rc.1`` → minor ``1.3.0``).
        """
        if self.prerelease:
            release = self.release()
            return release if BUMPS.index(release.level()) >= BUMPS.index(bump) else release.next(bump)
        if bump == "major":
            return SemVer(self.major + 1, 0, 0)
        if bump == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        if bump == "patch":
            return SemVer(self.major, self.minor, self.patch + 1)
        return self

    def release(self) -> SemVer:
        """This version without its prerelease and build parts (``3.0.0-rc.1`` → ``3.0.0``)."""
        return SemVer(self.major, self.minor, self.patch)

    def level(self) -> str:
        """The bump a release is over its predecessors: ``3.0.0`` major, ``3.1.0`` minor, ``3.1.2`` patch."""
        if self.patch:
            return "patch"
        return "minor" if self.minor else "major"


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
