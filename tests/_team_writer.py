"""One team member's process in tests/test_concurrency_pg.py (imports only the library: spawn is cheap)."""

from __future__ import annotations

from typing import Any

from lineage.store import Store


def register_many(worker: int, count: int, folder: str, home: str, db_url: str, store_url: str, start: Any) -> None:
    """Its own Store on the shared database and bucket, then ``count`` registrations as fast as it can.

    The first is the same file every writer registers (one blob published by all at once).
    """
    with Store.open(home, db_url=db_url, store_url=store_url, user=f"writer{worker}") as store:
        store.objects.check()  # connected before the barrier, so the writers really overlap
        start.wait()
        store.snapshots.add(f"{folder}/common.csv", dataset="common", version=f"w{worker}")
        for i in range(count - 1):
            store.snapshots.add(f"{folder}/w{worker}_{i}.csv", dataset="shared")
