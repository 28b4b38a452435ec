"""Store a model artifact (a file or a directory) as content-addressed blobs.

The product never unpickles or imports an artifact: it only hashes and stores the
bytes, so a malicious pickle cannot run here. A directory is stored as one blob per
file plus a manifest (the same ``lineage-manifest-v1`` format as directory snapshots),
and its sha256 is the manifest's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.errors import InvalidInputError
from lineage.manifest import ManifestEntry, check_member_path, render_manifest
from lineage.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from lineage.objectstore import ObjectStore


@dataclass(frozen=True)
class StoredArtifact:
    sha256: str
    size: int
    kind: str  # file | dir
    name: str
    files: list[dict[str, Any]] = field(default_factory=list)
    reused: tuple[str, ...] = ()  # blobs found stored already: checked again under the write lock


def artifact_files(directory: Path) -> list[tuple[str, Path]]:
    """Every regular file under ``directory`` as (relative POSIX path, path), sorted by path bytes."""
    members = []
    for path in directory.rglob("*"):
        if path.is_symlink():
            raise InvalidInputError(f"{path} is a symbolic link: artifacts must hold regular files only")
        if not path.is_file():
            continue
        text = path.relative_to(directory).as_posix()
        if any(ch in text for ch in "\t\n\r"):
            raise InvalidInputError(f"file name {text!r} in {directory} contains a tab or line break: rename it")
        check_member_path(text, directory)
        members.append((text, path))
    members.sort(key=lambda member: member[0].encode("utf-8"))
    if not members:
        raise InvalidInputError(f"artifact directory {directory} holds no files: give the trained model's file or folder")
    return members


def store_artifact(objects: ObjectStore, path: str | Path, progress: Progress = NO_PROGRESS) -> StoredArtifact:
    """Hash and store every byte of the artifact (one read pass per file)."""
    source = Path(path)
    if not source.exists():
        raise InvalidInputError(f"artifact {source} does not exist: give the trained model's file or folder")
    if source.is_file():
        size = source.stat().st_size
        progress.start(size, f"storing {source.name}")
        try:
            result = objects.put_file(str(source), progress.advance)
        finally:
            progress.finish()
        return StoredArtifact(result.sha256, result.size, "file", source.name,
                              reused=() if result.created else (result.sha256,))
    members = artifact_files(source)
    total = sum(p.stat().st_size for _, p in members)
    progress.start(total, f"storing {source.name}/")
    entries = []
    reused = []
    try:
        for relative, member in members:
            result = objects.put_file(str(member), progress.advance)
            entries.append(ManifestEntry(relative, result.size, result.sha256))
            if not result.created:
                reused.append(result.sha256)
    finally:
        progress.finish()
    manifest = objects.put_bytes(render_manifest(entries))
    if not manifest.created:
        reused.append(manifest.sha256)
    return StoredArtifact(manifest.sha256, total, "dir", source.name,
                          [{"path": e.path, "size_bytes": e.size, "sha256": e.sha256} for e in entries], tuple(reused))


def hash_artifact(path: str | Path) -> str:
    """The sha256 an artifact would be stored under, without storing it (for reproduce checks)."""
    from lineage.hashing import hash_file, sha256_bytes

    source = Path(path)
    if source.is_file():
        return hash_file(str(source))[0]
    entries = [ManifestEntry(rel, p.stat().st_size, hash_file(str(p))[0]) for rel, p in artifact_files(source)]
    return sha256_bytes(render_manifest(entries))
