"""Ready-to-render tables for the dashboard, built from service entities (no Streamlit here).

Pages stay thin: they call these and draw the result. Every function takes plain
entities or the store and returns DataFrames or dicts, so it is testable without a page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineage.formatting import human_size, short_hash

if TYPE_CHECKING:
    import pandas as pd

    from lineage.entities import SnapshotInfo, VerifyResult
    from lineage.store import Store

SNAPSHOT_COLUMNS = ["ref", "dataset", "version", "stage", "rows", "columns", "size", "sha256",
                    "created_at", "created_by", "parents"]


def snapshot_rows(snapshots: list[SnapshotInfo]) -> pd.DataFrame:
    """One row per snapshot with the columns the tables show."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "ref": s.ref, "dataset": s.dataset, "version": s.version, "stage": s.stage,
                "rows": s.rows, "columns": s.columns, "size": human_size(s.size_bytes),
                "sha256": short_hash(s.sha256), "created_at": s.created_at, "created_by": s.created_by,
                "parents": ", ".join(s.parents),
            }
            for s in snapshots
        ],
        columns=SNAPSHOT_COLUMNS,
    )


def filter_snapshots(
    snapshots: list[SnapshotInfo], *, text: str = "", stages: list[str] | None = None,
    datasets: list[str] | None = None,
) -> list[SnapshotInfo]:
    """Snapshots whose ref, note or sha256 contains ``text`` and whose stage/dataset is picked."""
    needle = text.strip().lower()
    return [
        s for s in snapshots
        if (not stages or s.stage in stages)
        and (not datasets or s.dataset in datasets)
        and (not needle or needle in s.ref.lower() or needle in s.note.lower() or s.sha256.startswith(needle))
    ]


def page_of(items: list[Any], page: int, page_size: int) -> tuple[list[Any], int]:
    """The items of one 1-based page, and the number of pages (at least 1)."""
    pages = max(1, -(-len(items) // page_size))
    page = min(max(page, 1), pages)
    return items[(page - 1) * page_size: page * page_size], pages


def snapshot_detail(store: Store, snapshot: SnapshotInfo) -> dict[str, Any]:
    """Everything the detail view shows: facts, schema, files and the commands to check them."""
    import pandas as pd

    from lineage.checkcmd import snapshot_check_commands

    facts = [
        ("ref", snapshot.ref), ("stage", snapshot.stage), ("format", snapshot.format),
        (snapshot.hash_algorithm, snapshot.sha256),
        ("size", f"{snapshot.size_bytes:,} bytes ({human_size(snapshot.size_bytes)})"),
        ("rows", f"{snapshot.rows:,}"), ("columns", str(snapshot.columns)),
        ("fingerprint", snapshot.fingerprint), ("parents", ", ".join(snapshot.parents) or "—"),
        ("transform", snapshot.transform or "—"), ("source", snapshot.source_uri),
        ("stored", "yes" if snapshot.stored else "no (recorded with --no-copy)"),
        ("note", snapshot.note or "—"),
        ("created", f"{snapshot.created_at:%Y-%m-%d %H:%M:%S} UTC by {snapshot.created_by}"),
    ]
    return {
        "facts": pd.DataFrame(facts, columns=["field", "value"]),
        "schema": pd.DataFrame(snapshot.schema, columns=["name", "type"]),
        "files": pd.DataFrame(
            [{"path": f["path"], "size": human_size(f["size_bytes"]), "sha256": f["sha256"]}
             for f in snapshot.files],
            columns=["path", "size", "sha256"],
        ),
        "check_commands": snapshot_check_commands(store.objects, snapshot),
    }


def verify_rows(results: list[VerifyResult]) -> pd.DataFrame:
    """Verify results as a table: problems first."""
    import pandas as pd

    frame = pd.DataFrame(
        [{"ref": r.ref, "ok": r.ok, "problem": r.problem or "", "source": r.source_status,
          "source problem": r.source_problem or ""} for r in results],
        columns=["ref", "ok", "problem", "source", "source problem"],
    )
    return frame.sort_values("ok", kind="stable").reset_index(drop=True)


def overview(store: Store, latest: int = 20) -> dict[str, Any]:
    """Counts, the latest snapshots and the latest audit events, for the home page."""
    import pandas as pd

    events = store.audit.log(limit=latest, newest_first=True)
    return {
        "counts": store.snapshots.counts(),
        "latest_snapshots": snapshot_rows(store.snapshots.list(newest_first=True, limit=latest)),
        "latest_events": pd.DataFrame(
            [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
              "hash": short_hash(e.hash)} for e in events],
            columns=["seq", "at", "actor", "action", "subject", "hash"],
        ),
    }
