"""DVC's md5 conventions, as pure functions: cache layout and directory digests.

* A file's md5 is the plain md5 of its bytes (DVC 3, ``hash: md5``). Entries written by
  DVC 2 carry no ``hash`` field; DVC 2 hashed text files with CRLF line endings turned
  into LF (``md5-dos2unix``), which equals the plain md5 for every binary file (Parquet)
  and every text file without CRLF. The import checks the plain md5 for both.
* A directory's md5 is the md5 of its listing, followed by ``.dir``: the JSON list of
  ``{"md5": ..., "relpath": ...}`` objects sorted by relative path, serialised by
  Python's ``json.dumps(listing, sort_keys=True)`` (ASCII-escaped, ``", "`` and ``": "``).
  The cache keeps that listing (possibly with extra fields such as sizes) under the
  directory's md5.
* The cache holds DVC 3 objects under ``files/md5/ab/cdef…`` and DVC 2 objects under
  ``ab/cdef…`` directly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from lineage.errors import InvalidInputError

DIR_SUFFIX = ".dir"


def cache_candidates(cache_dir: Path, md5: str, *, legacy: bool) -> list[Path]:
    """Where the object with this md5 may be, the layout of the DVC that wrote it first."""
    current = cache_dir / "files" / "md5" / md5[:2] / md5[2:]
    older = cache_dir / md5[:2] / md5[2:]
    return [older, current] if legacy else [current, older]


def find_in_cache(cache_dir: Path, md5: str, *, legacy: bool) -> Path | None:
    """The cache file holding this object, or None."""
    return next((path for path in cache_candidates(cache_dir, md5, legacy=legacy) if path.is_file()), None)


def listing_md5(members: Iterable[tuple[str, str]]) -> str:
    """DVC's md5 of a directory from its members' (relative POSIX path, md5), ``….dir`` included."""
    listing = sorted(({"md5": md5, "relpath": relpath} for relpath, md5 in members), key=lambda e: e["relpath"])
    data = json.dumps(listing, sort_keys=True).encode("utf-8")
    return hashlib.md5(data, usedforsecurity=False).hexdigest() + DIR_SUFFIX


def parse_listing(data: bytes, where: str) -> dict[str, str]:
    """A cached ``.dir`` listing as {relative path: md5}; InvalidInputError when it is not one."""
    try:
        listing = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        listing = None
    if not isinstance(listing, list) or not all(
        isinstance(e, dict) and isinstance(e.get("relpath"), str) and isinstance(e.get("md5"), str) for e in listing
    ):
        raise InvalidInputError(
            f"{where} is not a DVC directory listing (a JSON list of md5 and relpath): "
            "the cache is damaged; run `dvc fetch` or `dvc add` the directory again"
        )
    return {entry["relpath"]: entry["md5"] for entry in listing}


def short(md5: str) -> str:
    """The hex part of a DVC md5, without ``.dir``."""
    return md5[: -len(DIR_SUFFIX)] if md5.endswith(DIR_SUFFIX) else md5
