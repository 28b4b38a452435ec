"""Schema contracts: ``validate_batch`` on a whole table vs the generated pydantic model row by row.

Why: the issue asks batch validation of 1,000,000 rows x 20 features to be at least 50x
faster than validating the same rows one at a time with the generated row model, while
finding the same violations.

* Data: a deterministic (seed 2010) Arrow table of 1,000,000 rows: an int64 entity, a UTC
  timestamp and 20 features (5 int, 5 float, 2 bool, 2 string, 3 category as dictionary
  arrays, 2 datetime, 1 date) with min/max, allowed sets and required columns, and about
  0.05 % of each constrained column's values broken (below min, above max, not allowed,
  null in a required column).
* Batch: ``list(validate_batch(table, schema).violations)``, i.e. including building every
  Violation object, so both sides produce the same thing. Extra (not a target): the same
  from a pandas DataFrame (``table.to_pandas`` with nullable integer dtypes, untimed),
  ``pa.Table.from_pandas`` included; its report must equal the Table's.
* Row by row: ``row_violations(schema, row, row_number=i)`` for every row dict, the rows
  having been turned into Python dicts beforehand (untimed), as an online service receives
  them. By default it runs on a random sample of ``--sample`` rows (50,000) and the time is
  scaled linearly to the table's rows; ``--sample 0`` runs every row. Extra: the bare
  ``model.model_validate(row)`` (no translation of errors into Violations).
* Same violations: the batch report restricted to the sampled rows must equal the union of
  the per-row results, as (row, feature, reason) triples; the script says so or fails.
* Interleaved (batch, batch from DataFrame, rows, bare rows, batch, ...), median of
  ``--repeats``, after an untimed warm-up on 1,000 rows.

Run: ``.venv/bin/python bench/validation.py`` (``--rows 100000`` for a quick run).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from typing import Any

from _common import markdown_table, median, ratio, write_results

SEED = 2010
TARGET = 50.0
BAD = 0.0005  # fraction of values broken per constrained column and kind

SCHEMA = {
    "feature_set": "bench_customers", "version": "1.0.0", "entity": "customer_id", "timestamp": "event_time",
    "features": {
        "age": {"dtype": "int", "min": 0, "max": 130},
        "visits": {"dtype": "int", "min": 0},
        "tenure_days": {"dtype": "int", "min": 0, "max": 20000},
        "n_orders": {"dtype": "int", "min": 0, "max": 100000},
        "household_size": {"dtype": "int", "min": 1, "max": 12, "nullable": True},
        "avg_purchase_value": {"dtype": "float", "min": 0},
        "discount_rate": {"dtype": "float", "min": 0, "max": 1},
        "ltv": {"dtype": "float", "min": 0, "nullable": True},
        "latitude": {"dtype": "float", "min": -90, "max": 90},
        "longitude": {"dtype": "float", "min": -180, "max": 180},
        "is_active": "bool",
        "has_app": {"dtype": "bool", "nullable": True},
        "email_domain": {"dtype": "string", "nullable": True},
        "referral_code": {"dtype": "string", "allowed": [f"R{i:02d}" for i in range(20)]},
        "region": {"dtype": "category", "allowed": ["north", "south", "east", "west", "centre", "islands"]},
        "plan": {"dtype": "category", "allowed": ["free", "basic", "pro", "enterprise"]},
        "channel": {"dtype": "category", "allowed": ["web", "ios", "android", "store", "phone"], "nullable": True},
        "last_login": {"dtype": "datetime", "min": "2000-01-01T00:00:00Z", "max": "2030-01-01T00:00:00Z"},
        "signup_at": {"dtype": "datetime", "min": "2000-01-01T00:00:00Z"},
        "birth_date": {"dtype": "date", "min": "1900-01-01", "max": "2026-11-29"},
    },
}


def build_table(rows: int) -> Any:
    """The table described in the module docstring; every broken value is deliberate."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(SEED)

    def broken(values: Any, bad_value: Any) -> Any:
        values = values.copy()
        values[rng.random(rows) < BAD] = bad_value
        return values

    def nulls(nullable: bool = False) -> Any:
        return rng.random(rows) < (0.05 if nullable else BAD)

    def number(values: Any, low: Any, high: Any, type_: Any, nullable: bool = False) -> Any:
        if low is not None:
            values = broken(values, low - 1)
        if high is not None:
            values = broken(values, high + 1)
        return pa.array(values, type_, mask=nulls(nullable))

    def category(choices: list[str], bad: str, nullable: bool = False) -> Any:
        codes = broken(rng.integers(0, len(choices), rows, dtype=np.int8), len(choices))
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=nulls(nullable)), pa.array([*choices, bad]))

    start = 1_767_225_600_000_000  # 2026-01-01 in microseconds
    year = 365 * 24 * 3600 * 1_000_000
    features = SCHEMA["features"]
    columns: dict[str, Any] = {
        "customer_id": pa.array(np.arange(rows, dtype=np.int64), mask=nulls()),
        "event_time": pa.array(rng.integers(start, start + year, rows), pa.timestamp("us", tz="UTC"), mask=nulls()),
        "age": number(rng.integers(18, 90, rows), 0, 130, pa.int64()),
        "visits": number(rng.integers(0, 500, rows), 0, None, pa.int64()),
        "tenure_days": number(rng.integers(0, 5000, rows), 0, 20000, pa.int32()),
        "n_orders": number(rng.integers(0, 300, rows), 0, 100000, pa.int32()),
        "household_size": number(rng.integers(1, 7, rows), 1, 12, pa.int8(), nullable=True),
        "avg_purchase_value": number(rng.gamma(2.0, 30.0, rows), 0.0, None, pa.float64()),
        "discount_rate": number(rng.random(rows), 0.0, 1.0, pa.float64()),
        "ltv": number(rng.gamma(2.0, 500.0, rows), 0.0, None, pa.float64(), nullable=True),
        "latitude": number(rng.uniform(-60, 70, rows), -90.0, 90.0, pa.float64()),
        "longitude": number(rng.uniform(-170, 170, rows), -180.0, 180.0, pa.float32()),
        "is_active": pa.array(rng.random(rows) < 0.7, mask=nulls()),
        "has_app": pa.array(rng.random(rows) < 0.4, mask=nulls(nullable=True)),
    }
    domains = pa.array([f"mail{i}.example" for i in range(1000)])
    columns["email_domain"] = domains.take(pa.array(rng.integers(0, 1000, rows), mask=nulls(nullable=True)))
    codes = pa.array([*features["referral_code"]["allowed"], "XXXX"])
    columns["referral_code"] = codes.take(pa.array(broken(rng.integers(0, 20, rows), 20), mask=nulls()))
    columns["region"] = category(features["region"]["allowed"], "mars")
    columns["plan"] = category(features["plan"]["allowed"], "platinum")
    columns["channel"] = category(features["channel"]["allowed"], "fax", nullable=True)
    too_early, too_late = 946_684_800_000_000 - 1, 1_893_456_000_000_000 + 1  # 2000-01-01, 2030-01-01 UTC
    columns["last_login"] = pa.array(broken(broken(rng.integers(start - 5 * year, start, rows), too_early), too_late),
                                     pa.timestamp("us", tz="UTC"), mask=nulls())
    columns["signup_at"] = pa.array(broken(rng.integers(start - 20 * year, start, rows), too_early),
                                    pa.timestamp("us", tz="UTC"), mask=nulls())
    days = broken(broken(rng.integers(-20_000, 10_000, rows), -25_568 - 1), 20_786 + 1)  # 1900-01-01, 2026-11-29
    columns["birth_date"] = pa.array(days.astype(np.int32), pa.date32(), mask=nulls())
    return pa.table(columns)


def to_frame(table: Any) -> Any:
    """The DataFrame a pandas user would hold: nullable integer dtypes, since an int column
    with nulls would otherwise become float64 (a wrong type for an int feature)."""
    import pandas as pd
    import pyarrow as pa

    nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                pa.int64(): pd.Int64Dtype()}
    return table.to_pandas(types_mapper=nullable.get)


def main() -> None:
    import numpy as np

    from lineage.features.contracts import row_model, row_violations, validate_batch
    from lineage.features.schema import parse_schema

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="table rows (default 1,000,000, the issue's spec)")
    parser.add_argument("--sample", type=int, default=50_000,
                        help="rows validated one by one, time scaled linearly (default 50,000; 0 = every row)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions per method (default 3)")
    args = parser.parse_args()
    started = time.time()
    schema = parse_schema(SCHEMA)
    model = row_model(schema)

    t0 = time.perf_counter()
    table = build_table(args.rows)
    build_s = time.perf_counter() - t0
    frame = to_frame(table)
    sample_n = args.rows if args.sample <= 0 or args.sample >= args.rows else args.sample
    picked = (np.arange(args.rows) if sample_n == args.rows
              else np.sort(np.random.default_rng(SEED).choice(args.rows, sample_n, replace=False)))
    t0 = time.perf_counter()
    sample_rows = table.take(picked).to_pylist()
    to_dicts_s = time.perf_counter() - t0
    numbered = list(zip(picked.tolist(), sample_rows, strict=True))
    print(f"  built {args.rows:,} x {table.num_columns} table in {build_s:.1f} s ({table.nbytes / 2**20:.0f} MiB); "
          f"{sample_n:,} rows as dicts in {to_dicts_s:.1f} s (untimed)", file=sys.stderr)

    def batch() -> list[Any]:
        return list(validate_batch(table, schema).violations)

    def batch_frame() -> list[Any]:
        return list(validate_batch(frame, schema).violations)

    def rows() -> list[Any]:
        found = []
        for number, row in numbered:
            found += row_violations(schema, row, row_number=number)
        return found

    def bare() -> int:
        failed = 0
        for _, row in numbered:
            try:
                model.model_validate(row)
            except ValueError:
                failed += 1
        return failed

    methods: dict[str, tuple[str, int, Callable[[], Any]]] = {
        "batch": ("validate_batch(table) + every Violation", args.rows, batch),
        "batch_frame": ("extra: validate_batch(DataFrame), from_pandas included", args.rows, batch_frame),
        "rows": ("row_violations(schema, row) per row", sample_n, rows),
        "bare": ("extra: model.model_validate(row) per row, no Violations", sample_n, bare),
    }
    warm = table.slice(0, 1000)
    validate_batch(warm, schema)
    validate_batch(to_frame(warm), schema)
    for row in sample_rows[:1000]:
        row_violations(schema, row)
    times: dict[str, list[float]] = {key: [] for key in methods}
    results: dict[str, Any] = {}
    for rep in range(args.repeats):
        for key, (label, _, call) in methods.items():
            gc.collect()
            t0 = time.perf_counter()
            results[key] = call()
            times[key].append(time.perf_counter() - t0)
            print(f"  rep {rep + 1}/{args.repeats} {label:<58} {times[key][-1]:8.3f} s", file=sys.stderr)

    in_sample = set(picked.tolist())
    batch_triples = {(v.row, v.feature, v.reason) for v in results["batch"] if v.row in in_sample}
    row_triples = {(v.row, v.feature, v.reason) for v in results["rows"]}
    frame_same = [v.to_json() for v in results["batch_frame"]] == [v.to_json() for v in results["batch"]]
    agree = batch_triples == row_triples
    scale = args.rows / sample_n
    wall = {key: median(values) for key, values in times.items()}
    per_million = {key: wall[key] * (scale if methods[key][1] == sample_n else 1) for key in methods}
    table_rows = [[label, f"{n:,}", wall[key], f"{n / wall[key]:,.0f}", per_million[key],
                   ratio(per_million[key], wall["batch"]),
                   ", ".join(f"{t:.3f}" for t in times[key])] for key, (label, n, _) in methods.items()]
    speedup = ratio(per_million["rows"], wall["batch"])
    per_rep = [ratio(r * scale, b) for r, b in zip(times["rows"], times["batch"], strict=True)]
    scaled_note = ("every row validated one by one" if sample_n == args.rows else
                   f"row-by-row times measured on a random sample of {sample_n:,} rows and scaled linearly x{scale:g}")
    checks = [["row_violations per row / validate_batch (speed-up)", f"{speedup:.0f}x", f">= {TARGET:g}x",
               "met" if speedup >= TARGET else "MISSED"],
              ["the same, per repetition (rows scaled / batch of the same repetition)",
               ", ".join(f"{x:.0f}x" for x in per_rep), f">= {TARGET:g}x",
               f"{sum(x >= TARGET for x in per_rep)}/{len(per_rep)} met"],
              ["same (row, feature, reason) on the sampled rows", f"{len(batch_triples):,} = {len(row_triples):,}",
               "equal", "yes" if agree else "NO"],
              ["DataFrame and Table reports identical", str(frame_same), "True", "yes" if frame_same else "NO"]]
    print("\n".join([
        f"### {args.rows:,} rows x {len(schema.features)} features (+ entity, timestamp): "
        f"{len(results['batch']):,} violations in the table; {scaled_note}", "",
        markdown_table(["method", "rows timed", "median s", "rows/s", f"s for {args.rows:,} rows", "x batch",
                        "samples s"], table_rows), "",
        markdown_table(["check", "value", "target", "status"], checks), "",
    ]))
    path = write_results("validation", {
        "rows": args.rows, "sample": sample_n, "scaled": sample_n != args.rows, "repeats": args.repeats,
        "seconds": time.time() - started, "build_s": build_s, "to_dicts_s": to_dicts_s, "times": times,
        "seconds_for_all_rows": per_million, "speedup": speedup, "speedup_per_repetition": per_rep,
        "target": TARGET,
        "violations_in_table": len(results["batch"]), "violations_in_sample": len(row_triples),
        "same_violations": agree, "frame_report_identical": frame_same,
        "counts": validate_batch(table, schema).counts(),
    })
    print(f"raw results: {path}")
    if not agree:
        sys.exit("batch and row-by-row found different violations on the sample: see the raw results")


if __name__ == "__main__":
    main()
