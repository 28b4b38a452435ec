"""Export a long audit log in contiguous slices on several processes, streamed back in order.

Building and encoding events is CPU work, and each event depends only on its own audit
payload and on immutable store facts, so slices of the log are independent: N processes
write N contiguous runs of lines that, concatenated, are exactly the one-process output.
This process exports the first slice itself (streaming it at once) while forked workers
write the others to temporary files, which are then streamed in order and deleted.

Workers are forked (they inherit the loaded modules, so they start at once) and open the
store afresh from its settings; where fork is unavailable, or the log is short, the
export runs in this process only.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.openlineage_io import WrittenLines

if TYPE_CHECKING:
    from lineage.store import Store

MIN_SLICE = 20_000
"""Audit events per worker below which another process costs more than it saves."""
MAX_WORKERS = 4


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def sliced_lines(store: Store, *, since: datetime | None, namespace: str, workers: int | None) -> Iterator[str]:
    """Every exported event's JSON line, in chain order, using up to ``workers`` processes."""
    for item in sliced_items(store, since=since, namespace=namespace, workers=workers):
        if isinstance(item, WrittenLines):
            with item.path.open(encoding="utf-8", newline="\n") as handle:
                for line in handle:
                    yield line[:-1]
        else:
            yield item


def sliced_items(store: Store, *, since: datetime | None, namespace: str,
                 workers: int | None) -> Iterator[str | WrittenLines]:
    """This process's lines, then each worker's slice as a file of lines (valid until the next item is asked for).

    A caller that writes a file appends the slices in bulk (``write_jsonl``) instead of
    decoding and re-encoding every line of them.
    """
    from lineage.openlineage import slice_lines

    first, last = store.audit.seq_span(since=since)
    count = max(0, last - first + 1)
    wanted = min(workers or default_workers(), count // MIN_SLICE)
    if wanted <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from slice_lines(store, since=since, namespace=namespace, first=first, last=last)
        return
    bounds = [first + count * index // wanted for index in range(wanted + 1)]
    slices = [(bounds[i], bounds[i + 1] - 1) for i in range(wanted)]
    settings = store.settings.model_dump()
    with tempfile.TemporaryDirectory(prefix="lineage-export-") as folder, ProcessPoolExecutor(
            max_workers=wanted - 1, mp_context=multiprocessing.get_context("fork")) as pool:
        parts: list[tuple[Future[int], Path]] = []
        for index, (low, high) in enumerate(slices[1:], start=1):
            path = Path(folder) / f"slice-{index}.jsonl"
            parts.append((pool.submit(_write_slice, settings, since, namespace, low, high, path), path))
        yield from slice_lines(store, since=since, namespace=namespace, first=slices[0][0], last=slices[0][1])
        for future, path in parts:
            count = future.result()  # a worker's error is raised here, in this process
            yield WrittenLines(path, count)
            path.unlink()


def _write_slice(settings: dict[str, Any], since: datetime | None, namespace: str, first: int, last: int,
                 path: Path) -> int:
    """In a worker: open the store afresh (never the parent's connections) and write one slice's lines."""
    from lineage.config import Settings
    from lineage.openlineage import slice_lines
    from lineage.openlineage_io import write_jsonl
    from lineage.store import Store

    store = Store(Settings(**settings))
    try:
        return write_jsonl(slice_lines(store, since=since, namespace=namespace, first=first, last=last), path)
    finally:
        store.close()
