"""Point-in-time join: ``lineage.features.pit.point_in_time_join`` vs a plain ``pandas.merge_asof``.

Why: the issue asks the point-in-time join of 1M entity rows against 5M feature rows to be no
slower than 1.5x what a pandas user writes today, with exactly the same values:

    left = entity_rows.assign(_pos=range(n)).sort_values(event_time, kind="stable")
    right = feature_rows.sort_values(feature_time, kind="stable")
    out = pandas.merge_asof(left, right, left_on=event_time, right_on=feature_time, by=entity,
                            direction="backward", allow_exact_matches=True, tolerance=ttl)
    out = out.sort_values("_pos").reset_index(drop=True)    # back to the entity rows' order

The sorts are stable so that equal feature times resolve to the last row in input order, the
rule of ``point_in_time_join``; with the default (unstable) sort the baseline's answer on ties
would be arbitrary.

* Data (seed 2010): ``--feature-rows`` rows of ``--entities`` entities over one year of UTC
  timestamps, 5 features (int64, int32, float64, float64 with 5% NaN, an 8-value category);
  ``--entity-rows`` rows whose entity ids also cover 5% entities without any feature row.
  ``--resolutions`` picks the timestamps' tick: ``s`` (whole seconds, as most event logs) and
  ``ns`` (random nanoseconds, the worst case for our packed sort).
* Speed in one process, interleaved (ours, merge_asof, ours, ...), median of ``--repeats``,
  after an untimed warm-up on a slice. Both start from the same pandas DataFrames. Besides
  the ratio of median wall times, the report gives the median of the per-repetition ratios
  (each pair ran back to back, so it shares that moment's noise) and the CPU times (both
  methods are single-threaded, so on a quiet machine CPU time is wall time).
* Every timed output is checked equal to the baseline's (a bench check, never a timing
  assertion): same entity columns, same null positions and the same values in every feature
  column and in the matched feature time (ours returns ints as nullable Int64 where merge_asof
  turns them into float64, so values are compared, not dtypes).
* Memory (``--memory``, on by default): one fresh subprocess per method, extra peak RSS of one
  call (``VmHWM`` reset through ``/proc/self/clear_refs``, minus ``VmRSS`` before the call).

Run: ``.venv/bin/python bench/pit.py`` (``--entity-rows 100000 --feature-rows 500000`` for a quick run).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, markdown_table, median, ratio, write_results

sys.path.insert(0, str(REPO_ROOT))

SEED = 2010
TARGET = 1.5
METHODS = ("lineage", "merge_asof")
LABELS = {"lineage": "lineage point_in_time_join", "merge_asof": "pandas merge_asof (stable sorts + reorder)"}
FEATURES = ("clicks", "orders", "spend", "ratio", "segment")
KEY, EVENT, FEATURE_TIME = "customer_id", "event_time", "feature_time"


def build(entity_rows: int, feature_rows: int, entities: int, resolution: str) -> tuple[Any, Any]:
    """The entity rows and feature rows, deterministic for a given size and resolution."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    start = pd.Timestamp("2026-01-01", tz="UTC").value
    year = 365 * 24 * 3600 * 10**9
    step = 10**9 if resolution == "s" else 1

    def stamps(count: int) -> Any:
        ticks = rng.integers(0, year // step, count) * step + start
        return pd.Series(ticks.astype("datetime64[ns]")).dt.tz_localize("UTC")

    ratio_values = rng.random(feature_rows)
    ratio_values[rng.random(feature_rows) < 0.05] = np.nan
    features = pd.DataFrame({
        KEY: rng.integers(0, entities, feature_rows),
        FEATURE_TIME: stamps(feature_rows),
        "clicks": rng.integers(0, 10_000, feature_rows),
        "orders": rng.integers(0, 50, feature_rows, dtype=np.int32),
        "spend": rng.gamma(2.0, 30.0, feature_rows),
        "ratio": ratio_values,
        "segment": pd.Categorical.from_codes(rng.integers(0, 8, feature_rows), [f"segment_{i}" for i in range(8)]),
    })
    labels = pd.DataFrame({
        KEY: rng.integers(0, entities + entities // 20, entity_rows),
        EVENT: stamps(entity_rows),
        "label": rng.integers(0, 2, entity_rows),
    })
    return labels, features


def method_lineage(labels: Any, features: Any, ttl: timedelta) -> Any:
    from lineage.features.pit import point_in_time_join

    return point_in_time_join(labels, features, entity=KEY, event_timestamp=EVENT, feature_timestamp=FEATURE_TIME,
                              ttl=ttl)


def method_merge_asof(labels: Any, features: Any, ttl: timedelta) -> Any:
    import numpy as np
    import pandas as pd

    left = labels.assign(_pos=np.arange(len(labels))).sort_values(EVENT, kind="stable")
    right = features.sort_values(FEATURE_TIME, kind="stable")
    out = pd.merge_asof(left, right, left_on=EVENT, right_on=FEATURE_TIME, by=KEY, direction="backward",
                        allow_exact_matches=True, tolerance=pd.Timedelta(ttl))
    return out.sort_values("_pos").reset_index(drop=True).drop(columns="_pos")


CALLS: dict[str, Callable[[Any, Any, timedelta], Any]] = {"lineage": method_lineage, "merge_asof": method_merge_asof}


def differences(ours: Any, baseline: Any, labels: Any) -> list[str]:
    """Every way the two outputs differ in values (empty when identical)."""
    import numpy as np

    problems = []
    if len(ours) != len(baseline):
        return [f"{len(ours)} rows vs {len(baseline)}"]
    for column in labels.columns:
        if not ours[column].equals(baseline[column]):
            problems.append(f"entity column {column} differs")
    for column, base_column in [*((f, f) for f in FEATURES), ("feature_timestamp", FEATURE_TIME)]:
        mine, theirs = ours[column], baseline[base_column]
        if not np.array_equal(mine.isna().to_numpy(), theirs.isna().to_numpy()):
            problems.append(f"{column}: nulls differ")
            continue
        present = mine.notna().to_numpy()
        if column == "segment":
            same = np.array_equal(mine.cat.codes.to_numpy()[present], theirs.cat.codes.to_numpy()[present]) \
                and list(mine.cat.categories) == list(theirs.cat.categories)
        elif column == "feature_timestamp":
            same = np.array_equal(mine.to_numpy()[present], theirs.to_numpy()[present])
        else:  # ints: ours Int64, merge_asof float64 (exact below 2**53); floats compared bit for bit
            same = np.array_equal(mine.to_numpy("float64")[present], theirs.to_numpy("float64")[present])
        if not same:
            problems.append(f"{column}: values differ")
    return problems


def measure_speed(args: argparse.Namespace, resolution: str) -> dict[str, Any]:
    started = time.perf_counter()
    labels, features = build(args.entity_rows, args.feature_rows, args.entities, resolution)
    build_s = time.perf_counter() - started
    ttl = timedelta(days=args.ttl_days)
    print(f"  [{resolution}] built {len(labels):,} entity rows and {len(features):,} feature rows "
          f"in {build_s:.1f} s", file=sys.stderr)
    for method in METHODS:  # untimed warm-up: imports and first-call costs are not the method's speed
        CALLS[method](labels.iloc[:1000], features.iloc[:5000], ttl)
    times: dict[str, list[float]] = {m: [] for m in METHODS}
    cpu: dict[str, list[float]] = {m: [] for m in METHODS}
    problems: list[str] = []
    matched = None
    for rep in range(args.repeats):
        outputs = {}
        for method in METHODS:
            gc.collect()
            started, started_cpu = time.perf_counter(), time.process_time()
            outputs[method] = CALLS[method](labels, features, ttl)
            times[method].append(time.perf_counter() - started)
            cpu[method].append(time.process_time() - started_cpu)
            print(f"  [{resolution}] rep {rep + 1}/{args.repeats} {LABELS[method]:<44} {times[method][-1]:7.2f} s "
                  f"(CPU {cpu[method][-1]:.2f} s)", file=sys.stderr)
        problems += [f"rep {rep + 1}: {p}" for p in differences(outputs["lineage"], outputs["merge_asof"], labels)]
        matched = float(outputs["lineage"]["feature_timestamp"].notna().mean())
        del outputs
    return {"resolution": resolution, "entity_rows": len(labels), "feature_rows": len(features),
            "entities": args.entities, "ttl_days": args.ttl_days, "build_s": build_s, "matched_share": matched,
            "times": times, "cpu": cpu, "identical": not problems, "problems": problems}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def child(args: argparse.Namespace) -> None:
    """One method's extra peak memory for one call, in a fresh process; prints one JSON line."""
    labels, features = build(args.entity_rows, args.feature_rows, args.entities, args.resolutions)
    ttl = timedelta(days=args.ttl_days)
    CALLS[args.child](labels.iloc[:1000], features.iloc[:5000], ttl)
    gc.collect()
    before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    CALLS[args.child](labels, features, ttl)
    print(json.dumps({"method": args.child, "rss_before_mb": before / 1024,
                      "extra_peak_rss_mb": (_status_kb("VmHWM") - before) / 1024}))


def measure_memory(args: argparse.Namespace, resolution: str) -> dict[str, Any]:
    results = {}
    for method in METHODS:
        argv = [sys.executable, __file__, "--child", method, "--resolutions", resolution,
                "--entity-rows", str(args.entity_rows), "--feature-rows", str(args.feature_rows),
                "--entities", str(args.entities), "--ttl-days", str(args.ttl_days)]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        results[method] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  [{resolution}] memory {LABELS[method]:<44} +{results[method]['extra_peak_rss_mb']:.0f} MB",
              file=sys.stderr)
    return results


def report(speed: dict[str, Any], memory: dict[str, Any] | None) -> str:
    wall = {m: median(t) for m, t in speed["times"].items()}
    cpu = {m: median(t) for m, t in speed["cpu"].items()}
    rows = [[LABELS[m], len(speed["times"][m]), wall[m], ratio(wall[m], wall["merge_asof"]), cpu[m],
             f"{memory[m]['extra_peak_rss_mb']:.0f}" if memory else "-",
             ", ".join(f"{t:.2f}" for t in speed["times"][m])] for m in METHODS]
    share = ratio(wall["lineage"], wall["merge_asof"])
    # Each repetition runs both methods back to back, so their ratio shares that moment's noise.
    paired = median([ratio(a, b) for a, b in zip(speed["times"]["lineage"], speed["times"]["merge_asof"], strict=True)])
    checks = [
        ["lineage / merge_asof (median wall times)", share, f"<= {TARGET}", "met" if share <= TARGET else "MISSED"],
        ["lineage / merge_asof (median of per-repetition ratios)", paired, f"<= {TARGET}",
         "met" if paired <= TARGET else "MISSED"],
        ["lineage / merge_asof (median CPU times)", ratio(cpu["lineage"], cpu["merge_asof"]), "for reference", ""],
        ["identical values in every repetition", "yes" if speed["identical"] else "NO", "yes",
         "met" if speed["identical"] else "MISSED"],
    ]
    tick = {"s": "whole seconds", "ns": "random nanoseconds"}[speed["resolution"]]
    return "\n".join([
        f"### {speed['entity_rows']:,} entity rows x {speed['feature_rows']:,} feature rows, "
        f"{speed['entities']:,} entities, timestamps in {tick}, ttl {speed['ttl_days']} days "
        f"({speed['matched_share']:.1%} of rows matched)", "",
        markdown_table(["method", "runs", "median wall s", "x merge_asof", "median CPU s", "extra peak RSS MB",
                        "wall samples s"], rows), "",
        markdown_table(["check", "value", "target", "status"], checks), "",
        *(f"- {problem}" for problem in speed["problems"][:10]),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entity-rows", type=int, default=1_000_000)
    parser.add_argument("--feature-rows", type=int, default=5_000_000)
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--ttl-days", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per method (default 5)")
    parser.add_argument("--resolutions", default="s,ns", help="timestamp ticks to run, comma-separated: s, ns")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure each method's extra peak RSS in a fresh process")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        sys.stdout.flush()
        os._exit(0)  # skip freeing gigabytes of arrays one by one
    started = time.time()
    runs = []
    for resolution in args.resolutions.split(","):
        speed = measure_speed(args, resolution)
        memory = measure_memory(args, resolution) if args.memory else None
        print(report(speed, memory), flush=True)
        runs.append({"speed": speed, "memory": memory})
    path = write_results("pit", {"repeats": args.repeats, "seconds": time.time() - started, "runs": runs})
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
