"""Logical fingerprint of a table: ``lineage.fingerprint.fingerprint_table`` vs pandas row hashing.

Why: the issue asks the fingerprint to be at least 5x faster than what pandas users do
today, ``sha256(hash_pandas_object(df, index=False).values.tobytes())``, on a
5M-row x 20-column table, without needing extra memory of the table's size.

* Speed is measured in one process, interleaved (fingerprint, pandas, fingerprint, ...),
  median of ``--repeats``; the pandas DataFrame (``table.to_pandas()``) is built before
  timing, as a pandas user would already hold it (its conversion time is reported apart).
* Memory is measured in one fresh subprocess per method, after the data is built:
  the extra peak RSS (``VmHWM`` after the call, the peak having been reset through
  ``/proc/self/clear_refs``, minus ``VmRSS`` before it) and the extra Arrow memory (peak
  of a fresh proxy memory pool installed as the default pool just before the call, i.e.
  the call's own ``pyarrow.total_allocated_bytes()``, and what that pool still holds
  after it). tracemalloc cannot see Arrow
  allocations, which is why it is not used.

Run: ``.venv/bin/python bench/fingerprint.py`` (``--rows 500000`` for a quick run).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import markdown_table, median, ratio, write_results

SEED = 2010
METHODS = ("fingerprint", "pandas")
LABELS = {
    "fingerprint": "lineage fingerprint_table (BLAKE3)",
    "pandas": "sha256(hash_pandas_object(df, index=False))",
}


def build_table(rows: int) -> Any:
    """20 columns of the kinds real tables hold, deterministic (seed 2010).

    6 integer, 5 float (one with 5% nulls), 3 string (drawn from 200k distinct values),
    3 dictionary-encoded categories and 3 timestamps (one tz-aware).
    """
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(SEED)
    columns: dict[str, Any] = {}
    for i in range(5):
        columns[f"int{i}"] = pa.array(rng.integers(-(2**40), 2**40, rows, dtype=np.int64))
    columns["int32"] = pa.array(rng.integers(-(2**31), 2**31 - 1, rows, dtype=np.int32))
    for i in range(5):
        values = rng.standard_normal(rows) * 1000
        mask = rng.random(rows) < 0.05 if i == 0 else None
        columns[f"float{i}"] = pa.array(values, mask=mask)
    vocabulary = pa.array([f"{x:x}-{y}" for x, y in zip(rng.integers(0, 2**48, 200_000),
                                                         rng.integers(0, 10**6, 200_000), strict=True)])
    for i in range(3):
        columns[f"str{i}"] = vocabulary.take(pa.array(rng.integers(0, len(vocabulary), rows)))
    for i, size in enumerate((5, 50, 1000)):
        categories = pa.array([f"category_{i}_{k}" for k in range(size)])
        columns[f"cat{i}"] = pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, size, rows, dtype=np.int32)), categories)
    start = 1_767_225_600_000_000  # 2026-01-01 in microseconds
    span = 365 * 24 * 3600 * 1_000_000
    columns["ts0"] = pa.array(rng.integers(start, start + span, rows), pa.timestamp("us"))
    columns["ts1"] = pa.array(rng.integers(start, start + span, rows) * 1000, pa.timestamp("ns", tz="UTC"))
    columns["ts2"] = pa.array(rng.integers(start, start + span, rows) // 1_000_000, pa.timestamp("s"))
    return pa.table(columns)


def method_fingerprint(table: Any, df: Any) -> str:
    from lineage.fingerprint import fingerprint_table

    return fingerprint_table(table)


def method_pandas(table: Any, df: Any) -> str:
    import pandas

    return hashlib.sha256(pandas.util.hash_pandas_object(df, index=False).values.tobytes()).hexdigest()


CALLS: dict[str, Callable[[Any, Any], str]] = {"fingerprint": method_fingerprint, "pandas": method_pandas}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(method: str, rows: int) -> None:
    """Measure one method's extra memory in a fresh process; print one JSON line."""
    import pyarrow as pa

    table = build_table(rows)
    df = table.to_pandas() if method == "pandas" else None
    # Warm-up on a slice: imports and first-call set-up are not the method's memory.
    CALLS[method](table.slice(0, 1000), df.iloc[:1000] if df is not None else None)

    gc.collect()
    rss_before = _status_kb("VmRSS")
    proxy = pa.proxy_memory_pool(pa.default_memory_pool())
    pa.set_memory_pool(proxy)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    digest = CALLS[method](table, df)
    hwm = _status_kb("VmHWM")
    print(json.dumps({
        "method": method, "digest": digest, "rss_before_mb": rss_before / 1024, "hwm_mb": hwm / 1024,
        "extra_peak_rss_mb": (hwm - rss_before) / 1024,
        "arrow_pool_peak_mb": proxy.max_memory() / 2**20,
        "arrow_retained_mb": proxy.bytes_allocated() / 2**20,  # still held by the call's results
        "table_mb": table.nbytes / 2**20,
        "df_mb": float(df.memory_usage(deep=True, index=False).sum()) / 2**20 if df is not None else None,
    }))
    sys.stdout.flush()
    # Buffers allocated through the proxy pool must never outlive it: freeing them after the
    # pool is destroyed crashes. Leave without running any destructor.
    os._exit(0)


def measure_memory(rows: int) -> dict[str, dict[str, Any]]:
    results = {}
    for method in METHODS:
        done = subprocess.run([sys.executable, __file__, "--child", method, "--rows", str(rows)],
                              capture_output=True, text=True, check=True)
        results[method] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  memory {LABELS[method]:<46} +{results[method]['extra_peak_rss_mb']:.1f} MB RSS", file=sys.stderr)
    return results


def measure_speed(rows: int, repeats: int) -> dict[str, Any]:
    started = time.perf_counter()
    table = build_table(rows)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    df = table.to_pandas()
    to_pandas_s = time.perf_counter() - started
    print(f"  built {rows} x {table.num_columns} table in {build_s:.1f} s "
          f"({table.nbytes / 2**20:.0f} MiB); to_pandas {to_pandas_s:.1f} s", file=sys.stderr)
    for method in METHODS:  # untimed warm-up: imports and first-call costs are not the method's speed
        CALLS[method](table.slice(0, 1000), df.iloc[:1000])
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    digests: dict[str, set[str]] = {m: set() for m in METHODS}
    for rep in range(repeats):
        for method in METHODS:
            gc.collect()
            started = time.perf_counter()
            digest = CALLS[method](table, df)
            times[method].append(time.perf_counter() - started)
            digests[method].add(digest)
            print(f"  rep {rep + 1}/{repeats} {LABELS[method]:<46} {times[method][-1]:8.2f} s", file=sys.stderr)
    return {"rows": rows, "columns": table.num_columns, "table_bytes": table.nbytes, "build_s": build_s,
            "to_pandas_s": to_pandas_s, "times": times, "digests": {m: sorted(d) for m, d in digests.items()}}


def report(speed: dict[str, Any], memory: dict[str, dict[str, Any]]) -> str:
    wall = {m: median(t) for m, t in speed["times"].items()}
    table_mb = speed["table_bytes"] / 2**20
    rows = [[LABELS[m], len(speed["times"][m]), wall[m], speed["table_bytes"] / 1e6 / wall[m],
             memory[m]["extra_peak_rss_mb"], memory[m]["arrow_pool_peak_mb"],
             ", ".join(f"{t:.2f}" for t in speed["times"][m])] for m in METHODS]
    speedup = ratio(wall["pandas"], wall["fingerprint"])
    extra = memory["fingerprint"]["extra_peak_rss_mb"]
    checks = [
        ["pandas / fingerprint (speed-up)", speedup, ">= 5", "met" if speedup >= 5 else "MISSED"],
        ["fingerprint extra peak RSS / table size", ratio(extra, table_mb), "well below 1",
         "met" if extra < 0.5 * table_mb else "MISSED"],
    ]
    return "\n".join([
        f"### {speed['rows']:,} rows x {speed['columns']} columns (Arrow table {table_mb:.0f} MiB; "
        f"to_pandas took {speed['to_pandas_s']:.2f} s, not timed)", "",
        markdown_table(["method", "runs", "median s", "MB/s of table", "extra peak RSS MB",
                        "Arrow pool peak MB", "samples s"], rows), "",
        markdown_table(["ratio", "value", "target", "status"], checks), "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="table rows (default 5,000,000, the issue's spec)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions per method (default 3)")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    started = time.time()
    speed = measure_speed(args.rows, args.repeats)
    memory = measure_memory(args.rows)
    print(report(speed, memory))
    path = write_results("fingerprint", {"repeats": args.repeats, "seconds": time.time() - started,
                                         "speed": speed, "memory": memory})
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
