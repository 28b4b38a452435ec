"""Temporaries that checkouts killed outright leave next to the destination are removed by the next one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from lineage.checkout_temps import STALE_AFTER_S, remove_stale, temp_path
from lineage.store import Store
from tests.factories import write_parquet


def dead_pid() -> int:
    """The id of a process that has just exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def leftover(target: Path, pid: int, *, age_s: float, directory: bool = False, random: str = "0123abcd") -> Path:
    """A temporary as a checkout by process ``pid`` leaves it, last written ``age_s`` ago."""
    path = target.parent / f".{target.name}.lineage-{pid}-{random}"
    if directory:
        (path / "part").mkdir(parents=True)
        (path / "part" / "a.parquet").write_bytes(b"x" * 10)
    else:
        path.write_bytes(b"partial bytes")
    old = time.time() - age_s
    os.utime(path, (old, old))
    return path


def test_temp_path_is_hidden_beside_the_target_and_names_this_process(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    first, second = temp_path(target), temp_path(target)
    assert first.parent == tmp_path and first != second
    assert first.name.startswith(f".out.parquet.lineage-{os.getpid()}-")


def test_only_old_leftovers_of_dead_processes_for_this_target_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    gone = dead_pid()
    stale_file = leftover(target, gone, age_s=STALE_AFTER_S + 30)
    stale_dir = leftover(target, gone, age_s=STALE_AFTER_S + 30, directory=True, random="0123abce")
    fresh = leftover(target, gone, age_s=1, random="0123abcf")
    alive = leftover(target, os.getppid(), age_s=STALE_AFTER_S + 30)
    other_target = leftover(tmp_path / "other.parquet", gone, age_s=STALE_AFTER_S + 30)
    not_ours = tmp_path / ".out.parquet.lineage-notes.txt"
    not_ours.write_text("a user's file that happens to look similar")
    removed = remove_stale(target)
    assert sorted(removed) == sorted([stale_file, stale_dir])
    assert not stale_file.exists() and not stale_dir.exists()
    assert fresh.exists() and alive.exists() and other_target.exists() and not_ours.exists()


def test_a_checkout_clears_what_a_killed_checkout_left_and_restores_the_bytes(tmp_path: Path) -> None:
    store = Store.init(tmp_path / "home")
    source = write_parquet(tmp_path / "a.parquet")
    store.snapshots.add(source, dataset="a", version="1")
    target = tmp_path / "restored.parquet"
    stale = leftover(target, dead_pid(), age_s=STALE_AFTER_S + 30)
    store.snapshots.checkout("a@1", target)
    assert target.read_bytes() == source.read_bytes()
    assert not stale.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".restored")] == []
    store.close()
