"""Shell commands an auditor can paste to check a digest with standard tools.

Trust should not depend on trusting Lineage: every stored byte can be checked with
``sha256sum -c``, which prints ``OK`` or ``FAILED`` and exits non-zero on a mismatch.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lineage.entities import SnapshotInfo
    from lineage.objectstore import ObjectStore


def sha256sum_check(digest: str, path: str) -> str:
    """``echo '<digest>  <path>' | sha256sum -c`` (two spaces: sha256sum's text-mode format)."""
    return f"echo {shlex.quote(f'{digest}  {path}')} | sha256sum -c"


def snapshot_check_commands(objects: ObjectStore, snapshot: SnapshotInfo) -> list[str]:
    """One check per digest the snapshot records: its blob (or manifest) and each member file.

    Remote object stores and non-local sources get no command: ``sha256sum`` cannot read
    them, and ``lineage snapshot verify`` covers them. A purged snapshot gets none either.
    """
    commands: list[str] = []
    if snapshot.purged is not None:
        return commands  # its bytes were erased on purpose: there is nothing left to check
    if snapshot.stored and objects.is_local:
        commands.append(sha256sum_check(snapshot.sha256, objects.key_path(snapshot.sha256)))
        for member in snapshot.files:
            commands.append(sha256sum_check(member["sha256"], objects.key_path(member["sha256"])))
    elif not snapshot.stored and "://" not in snapshot.source_uri and not snapshot.files:
        commands.append(sha256sum_check(snapshot.sha256, snapshot.source_uri))
    return commands
