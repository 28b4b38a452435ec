"""The hidden temporary a checkout writes next to its destination, and the ones killed checkouts left.

A checkout writes ``.NAME.lineage-PID-RANDOM`` beside ``NAME`` and renames it into place
only once its bytes match the recorded sha256, so the destination is never partial. A
checkout killed outright (SIGKILL, power loss) cannot remove that temporary: up to the
whole snapshot's size stays hidden next to the user's file. The next checkout to the same
destination removes such leftovers: those whose process no longer runs on this machine
and that nothing has written to for ``STALE_AFTER_S`` seconds (the second condition keeps
a temporary that a live process on another machine is writing into a shared folder).
"""

from __future__ import annotations

import glob
import os
import shutil
import time
import uuid
from pathlib import Path

STALE_AFTER_S = 60.0
"""A leftover untouched this long, whose process is gone, is removed."""
_MARK = ".lineage-"


def temp_path(target: Path) -> Path:
    """Where this process writes ``target`` before renaming it into place."""
    return target.parent / f".{target.name}{_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove_stale(target: Path) -> list[Path]:
    """Remove what killed checkouts of ``target`` left behind; the paths removed."""
    removed = []
    moment = time.time()
    for candidate in target.parent.glob(f".{glob.escape(target.name)}{_MARK}*"):
        pid = _pid_of(candidate.name.removeprefix(f".{target.name}{_MARK}"))
        if pid is None or pid == os.getpid() or _running(pid):
            continue
        try:
            if moment - candidate.lstat().st_mtime < STALE_AFTER_S:
                continue
            if candidate.is_dir() and not candidate.is_symlink():
                shutil.rmtree(candidate)
            else:
                candidate.unlink()
        except FileNotFoundError:  # another checkout removed it first
            continue
        removed.append(candidate)
    return removed


def _pid_of(suffix: str) -> int | None:
    """The process id in ``PID-RANDOM``, or None for any other name (left alone)."""
    pid, _, random = suffix.partition("-")
    if not (pid.isdigit() and len(random) == 8 and all(c in "0123456789abcdef" for c in random)):
        return None
    return int(pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True
