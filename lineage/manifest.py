"""Directory snapshots: a sorted manifest of member files, hashed as one value.

The manifest's sha256 identifies the directory. Its text format is versioned by
its first line so it can evolve without ambiguity:

    lineage-manifest-v1
    <relative POSIX path>\t<size in bytes>\t<sha256>

then the second line's form once per member file, sorted by path (byte order of the UTF-8 path), each
line ending in ``\\n``. The manifest itself is stored as a blob too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lineage.errors import InvalidInputError

MANIFEST_HEADER = "lineage-manifest-v1"
MEMBER_SUFFIX = ".parquet"


@dataclass(frozen=True)
class ManifestEntry:
    """One member file of a directory snapshot."""

    path: str
    size: int
    sha256: str


def member_files(directory: Path) -> list[tuple[str, Path]]:
    """The Parquet files of a directory (recursively), as (relative POSIX path, absolute path), sorted.

    Hidden files and folders (``.``/``_`` prefixes, as Spark and Hive write) are not
    part of the data and are skipped.
    """
    members: list[tuple[str, Path]] = []
    for path in directory.rglob(f"*{MEMBER_SUFFIX}"):
        text = path.relative_to(directory).as_posix()
        if not is_data_member(text) or not path.is_file():
            continue
        if any(ch in text for ch in "\t\n\r"):
            raise InvalidInputError(
                f"file name {text!r} in {directory} contains a tab or line break: rename it"
            )
        check_member_path(text, directory)
        members.append((text, path))
    members.sort(key=lambda member: member[0].encode("utf-8"))
    return members


def check_member_path(relative: str, directory: Path) -> None:
    """Refuse a member path no backend can store (``snapshot_file.path`` and ``model_artifact_file.path``
    are ``VARCHAR(1024)``; a name that is not UTF-8 cannot even be sorted into the manifest)."""
    from lineage.stored_text import PATH_LIMIT, check_text

    check_text(relative, what=f"file path in {directory}", limit=PATH_LIMIT, fix="rename or move the file")


def is_data_member(relative: str) -> bool:
    """Whether a file at this relative POSIX path is part of a directory snapshot's data.

    Parquet files only; anything under a hidden name (``.``/``_`` prefixes, such as
    Spark's ``_SUCCESS`` and ``.crc`` files) is left out.
    """
    return relative.endswith(MEMBER_SUFFIX) and not is_hidden(relative)


def is_hidden(relative: str) -> bool:
    """A file under a hidden name (``.``/``_`` prefixes): never data, whatever its suffix."""
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def render_manifest(entries: list[ManifestEntry]) -> bytes:
    """The manifest bytes, whose sha256 is the directory snapshot's sha256."""
    ordered = sorted(entries, key=lambda entry: entry.path.encode("utf-8"))
    lines = [MANIFEST_HEADER] + [f"{e.path}\t{e.size}\t{e.sha256}" for e in ordered]
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_manifest(data: bytes) -> list[ManifestEntry]:
    """Read a manifest back (for checkout and verify)."""
    # Split on "\n" only: str.splitlines() would also split inside paths holding other
    # Unicode line boundaries (U+2028, U+0085, \x0c...), which member_files accepts.
    lines = data.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != MANIFEST_HEADER:
        raise InvalidInputError(f"not a {MANIFEST_HEADER} manifest")
    entries = []
    for line in lines[1:]:
        path, size, sha256 = line.split("\t")
        entries.append(ManifestEntry(path=path, size=int(size), sha256=sha256))
    return entries
