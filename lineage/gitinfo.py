"""The git state of the code that produced something: commit, dirty flag, tags.

Feature sets and training runs record where their code came from. Git is called as
a subprocess (no library dependency); outside a repository everything is empty.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lineage.errors import InvalidInputError


@dataclass(frozen=True)
class GitState:
    """``commit`` is empty and ``dirty`` None when the path is not in a git work tree."""

    root: str
    commit: str
    dirty: bool | None


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)


def git_state(path: str | Path) -> GitState:
    """Commit of HEAD and whether the work tree has uncommitted changes (untracked files count)."""
    folder = Path(path).resolve()
    folder = folder if folder.is_dir() else folder.parent
    if shutil.which("git") is None:
        return GitState("", "", None)
    root = _git(folder, "rev-parse", "--show-toplevel")
    if root.returncode != 0:
        return GitState("", "", None)
    commit = _git(folder, "rev-parse", "HEAD")
    status = _git(folder, "status", "--porcelain")
    return GitState(root.stdout.strip(), commit.stdout.strip() if commit.returncode == 0 else "",
                    bool(status.stdout.strip()) if status.returncode == 0 else None)


def create_tag(root: str | Path, tag: str, commit: str, message: str) -> None:
    """An annotated tag at ``commit``; an existing tag at another commit is refused, never moved."""
    folder = Path(root)
    existing = _git(folder, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
    if existing.returncode == 0:
        if existing.stdout.strip() == commit:
            return
        raise InvalidInputError(
            f"git tag {tag} already points at {existing.stdout.strip()[:12]}, not {commit[:12]}: "
            "tags are never moved; release a new version"
        )
    result = _git(folder, "tag", "-a", tag, commit, "-m", message)
    if result.returncode != 0:
        raise InvalidInputError(f"git could not create tag {tag}: {result.stderr.strip()}")
