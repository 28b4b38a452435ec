"""Drift statistics: lineage.drift.compare vs Evidently's DataDriftPreset, and streaming memory.

Usage (from the repository root, with the project's venv)::

    .venv/bin/python bench/drift.py                      # 1M vs 200k rows, 3 interleaved repetitions
    .venv/bin/python bench/drift.py --repeats 1 --streaming-gib 2 --delete-data

Same data for both (seed 2010; 30 numeric + 10 categorical features), written to Parquet
once in the scratch folder. Each method runs as a whole process under ``/usr/bin/time``
(peak RSS), interleaved; Evidently runs from its own venv (``EVIDENTLY_VENV``, default
``bench/.venv-evidently``, made by ``bench/setup_evidently_venv.sh``) because 0.7.x does not
import with pandas 3. The script itself also serves as the worker of both sides:
``drift.py evidently REF CUR`` (run by Evidently's python, imports nothing from Lineage)
and ``drift.py ours REF CUR [--streaming]``; each prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SEED = 2010
NUMERIC = 30
CATEGORICAL = 10
EVIDENTLY_METHODS = {"K-S": "ks", "chi-square": "chisquare", "Z-test": "z", "Wasserstein": "wasserstein",
                     "Jensen-Shannon": "jensenshannon", "PSI": "psi"}
P_VALUE_TESTS = ("ks", "chisquare", "z")


def numeric_names() -> list[str]:
    return [f"num_{i:02d}" for i in range(NUMERIC)]


def categorical_names() -> list[str]:
    return [f"cat_{i:02d}" for i in range(CATEGORICAL)]


def make_tables(ref_rows: int, cur_rows: int, seed: int = SEED):  # -> tuple[pa.Table, pa.Table]
    """Reference and current with a known mix: unchanged, shifted, rescaled, heavy-tailed, low-cardinality, nulls."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)

    def side(rows: int, current: bool) -> pa.Table:
        columns: dict[str, pa.Array] = {}
        for i, name in enumerate(numeric_names()):
            drift = current and i % 3 == 0  # every third numeric feature moves in current
            family = i % 6
            if family == 0:
                values = rng.normal(0.3 if drift else 0.0, 1.0, rows)
            elif family == 1:
                values = rng.lognormal(0.0, 1.0 if not drift else 1.2, rows)
            elif family == 2:
                values = rng.standard_cauchy(rows) + (0.5 if drift else 0.0)
            elif family == 3:
                values = rng.integers(0, 4 if not drift else 5, rows).astype(np.int64)  # low cardinality
            elif family == 4:
                values = rng.integers(0, 1000, rows).astype(np.int64) + (30 if drift else 0)
            else:
                values = rng.exponential(1.0 if not drift else 1.1, rows)
            if family in (0, 5) and i % 4 == 1:
                values = pa.array(values, mask=rng.random(rows) < 0.05)  # 5 % nulls
            columns[name] = pa.array(values)
        for i, name in enumerate(categorical_names()):
            k = (3, 8, 30, 120)[i % 4]
            p = np.linspace(1, 2, k)
            if current and i % 2 == 0:
                p = p[::-1] * np.linspace(1, 1.4, k)  # every second categorical feature moves
            p = p / p.sum()
            labels = np.array([f"c{j}" for j in range(k + (2 if current and i % 5 == 0 else 0))], dtype=object)
            probs = p if labels.size == k else np.concatenate([p * 0.98, [0.01, 0.01]])
            values = labels[rng.choice(labels.size, rows, p=probs)]
            array = pa.array(values, type=pa.string())
            columns[name] = array.dictionary_encode() if i % 2 else array
        return pa.table(columns)

    return side(ref_rows, False), side(cur_rows, True)


# --- the two workers -------------------------------------------------------------------------------------------


def run_evidently(ref_path: str, cur_path: str, numeric: list[str], categorical: list[str]) -> dict:
    """Evidently 0.7 DataDriftPreset with an explicit data definition; runs in Evidently's venv."""
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    started = time.perf_counter()
    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    loaded = time.perf_counter()
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    done = time.perf_counter()
    features = {}
    share = None
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            share = metric["value"]["share"]
            continue
        test = next((v for k, v in EVIDENTLY_METHODS.items() if config["method"].startswith(k)), config["method"])
        value, threshold = float(metric["value"]), float(config["threshold"])
        drifted = value < threshold if test in P_VALUE_TESTS else value >= threshold
        features[config["column"]] = {"test": test, "value": value, "threshold": threshold, "drifted": drifted}
    return {"features": features, "share": share, "drifted": share is not None and share >= 0.5,
            "load_s": loaded - started, "compute_s": done - loaded}


def run_ours(ref_path: str, cur_path: str, streaming: bool) -> dict:
    import resource

    from lineage.drift import compare

    started = time.perf_counter()
    report = compare(ref_path, cur_path, streaming=streaming)
    done = time.perf_counter()
    features = {}
    for f in report.features:
        value = f.p_value if f.test in P_VALUE_TESTS else f.statistic
        features[f.name] = {"test": f.test, "value": value, "threshold": f.threshold, "drifted": f.drifted,
                            "error_bound": f.error_bound, "ks": f.ks, "wasserstein_norm": f.wasserstein_norm,
                            "js": f.js, "psi": f.psi}
    # the KS p-value helper process (lineage/drift/ks_helper.py) is this process's only child: its
    # peak is added to ours in the report, an upper bound of what both held at once
    return {"features": features, "share": report.overall["share"], "drifted": report.overall["drifted"],
            "compute_s": done - started, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "helper_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


# --- the benchmark ---------------------------------------------------------------------------------------------


def evidently_python() -> Path:
    venv = Path(os.environ.get("EVIDENTLY_VENV", Path(__file__).resolve().parent / ".venv-evidently"))
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"Evidently not found in {venv}: running bench/setup_evidently_venv.sh", file=sys.stderr)
        subprocess.run(["sh", str(Path(__file__).resolve().parent / "setup_evidently_venv.sh")], check=True,
                       env={**os.environ, "EVIDENTLY_VENV": str(venv)})
    return python


def _worker_json(argv: list[str], env: dict[str, str] | None = None) -> tuple[dict, object]:
    """Run a worker under /usr/bin/time; return its JSON line and the timed Run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import run_timed

    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"drift-worker-{os.getpid()}.json"
    run = run_timed([*argv, "--out", str(out)], env=env)
    payload = json.loads(out.read_text())
    out.unlink()
    return payload, run


def write_inputs(scratch: Path, ref_rows: int, cur_rows: int) -> tuple[Path, Path, int]:
    import pyarrow.parquet as pq

    scratch.mkdir(parents=True, exist_ok=True)
    ref_path, cur_path = scratch / f"drift-ref-{ref_rows}.parquet", scratch / f"drift-cur-{cur_rows}.parquet"
    ref, cur = make_tables(ref_rows, cur_rows)
    if not (ref_path.exists() and cur_path.exists()):
        pq.write_table(ref, ref_path)
        pq.write_table(cur, cur_path)
    return ref_path, cur_path, ref.nbytes + cur.nbytes


def write_large(scratch: Path, gib: float) -> Path:
    """A Parquet directory of about ``gib`` GiB (Arrow size) of the reference's shape, written batch by batch."""
    import pyarrow.parquet as pq

    folder = scratch / f"drift-large-{gib:g}gib"
    if folder.exists():
        return folder
    folder.mkdir(parents=True)
    part_rows = 1_000_000
    ref, _ = make_tables(part_rows, 1)
    parts = max(1, round(gib * 2**30 / ref.nbytes))
    for i in range(parts):
        table, _ = make_tables(part_rows, 1, seed=SEED + i)
        pq.write_table(table, folder / f"part-{i:04d}.parquet", row_group_size=256 * 1024)
    return folder


def agreement(ours: dict, theirs: dict) -> list[list]:
    rows = []
    for name, e in theirs["features"].items():
        o = ours["features"][name]
        rows.append([name, e["test"], o["test"], e["value"], o["value"], e["drifted"], o["drifted"]])
    return rows


def bench(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import (
        DEFAULT_SCRATCH,
        markdown_table,
        median,
        ratio,
        remove_tree,
        warm_cache,
        warm_code,
        write_results,
    )

    scratch = Path(args.scratch or DEFAULT_SCRATCH)
    ref_path, cur_path, arrow_bytes = write_inputs(scratch, args.ref_rows, args.cur_rows)
    script = str(Path(__file__).resolve())
    ev_python = str(evidently_python())
    names = ["--numeric", ",".join(numeric_names()), "--categorical", ",".join(categorical_names())]
    methods = {
        "lineage exact": [sys.executable, script, "ours", str(ref_path), str(cur_path)],
        "evidently": [ev_python, script, "evidently", str(ref_path), str(cur_path), *names],
    }
    envs: dict[str, dict[str, str]] = {}
    from lineage.numpy_setup import ZEN4_SLOW_FEATURES, is_zen4

    if args.evidently_avx2 and not is_zen4():
        print("--evidently-avx2 ignored: this CPU is not an AMD Zen 4, where Lineage leaves NumPy as it is",
              file=sys.stderr)
    elif args.evidently_avx2:  # what Evidently gains from the sort workaround Lineage applies on Zen 4
        methods["evidently, AVX2 sort"] = methods["evidently"]
        envs["evidently, AVX2 sort"] = {**os.environ, "NPY_DISABLE_CPU_FEATURES": ZEN4_SLOW_FEATURES}
    if args.skip_evidently_run:
        methods = {m: argv for m, argv in methods.items() if not m.startswith("evidently")}
    samples: dict[str, list] = {m: [] for m in methods}
    payloads: dict[str, dict] = {}
    code = {"lineage exact": ["lineage.drift", "scipy.stats"],  # scipy.stats: the KS helper process imports it
            "evidently": ["evidently.presets", "pandas", "scipy.stats", "pyarrow.parquet"]}
    for rep in range(args.repeats):
        for method, argv in methods.items():
            warm_cache(ref_path)
            warm_cache(cur_path)
            warm_code(argv[0], code["lineage exact" if method == "lineage exact" else "evidently"], envs.get(method))
            os.sync()
            payload, run = _worker_json(argv, envs.get(method))
            payloads[method] = payload
            peak = run.peak_rss_mb + payload.get("helper_rss_mb", 0.0)  # /usr/bin/time gives the larger, not the sum
            samples[method].append({"wall_s": run.wall_s, "peak_rss_mb": peak, "compute_s": payload["compute_s"]})
            print(f"rep {rep + 1} {method}: {run.wall_s:.2f} s wall, {payload['compute_s']:.2f} s compute, "
                  f"{peak:.0f} MB peak", file=sys.stderr)
    rows = []
    for method, runs in samples.items():
        wall = median([r["wall_s"] for r in runs])
        compute = median([r["compute_s"] for r in runs])
        rows.append([method, wall, compute, median([r["peak_rss_mb"] for r in runs])])
    print(f"\nreference {args.ref_rows:,} rows, current {args.cur_rows:,} rows, {NUMERIC} numeric + "
          f"{CATEGORICAL} categorical; Arrow size of both inputs {arrow_bytes / 2**20:.0f} MiB; "
          f"median of {args.repeats}\n")
    print(markdown_table(["method", "wall s (process)", "compute s (in process)",
                          "peak RSS MB (with child processes)"], rows))
    result: dict = {"samples": samples, "arrow_bytes": arrow_bytes}
    if "evidently" in payloads:
        ev, ours = samples["evidently"], samples["lineage exact"]
        print(f"\nspeed-up, wall: {ratio(median([r['wall_s'] for r in ev]), median([r['wall_s'] for r in ours])):.1f}x;"
              f" compute: {ratio(median([r['compute_s'] for r in ev]), median([r['compute_s'] for r in ours])):.1f}x")
        table = agreement(payloads["lineage exact"], payloads["evidently"])
        same_test = sum(1 for r in table if r[1] == r[2])
        same_verdict = sum(1 for r in table if r[1] == r[2] and r[5] == r[6])
        worst = max((abs(r[3] - r[4]) for r in table if r[1] == r[2]), default=0.0)
        print(f"same test on {same_test}/{len(table)} features, same verdict on {same_verdict}/{same_test}; "
              f"largest |score difference| {worst:.3g}; dataset drift: evidently "
              f"{payloads['evidently']['drifted']} (share {payloads['evidently']['share']:.3f}), lineage "
              f"{payloads['lineage exact']['drifted']} (share {payloads['lineage exact']['share']:.3f})")
        result["agreement"] = table
    if "evidently, AVX2 sort" in samples:
        fair = samples["evidently, AVX2 sort"]
        print(f"speed-up against Evidently with the same AVX2 sort, wall: "
              f"{ratio(median([r['wall_s'] for r in fair]), median([r['wall_s'] for r in samples['lineage exact']])):.1f}x;"
              f" compute: {ratio(median([r['compute_s'] for r in fair]), median([r['compute_s'] for r in samples['lineage exact']])):.1f}x")
    if args.streaming_gib:
        folder = write_large(scratch, args.streaming_gib)
        size = sum(p.stat().st_size for p in folder.iterdir())
        payload, run = _worker_json([sys.executable, script, "ours", str(folder), str(cur_path), "--streaming"])
        print(f"\nstreaming: {folder.name}, {size / 2**30:.2f} GiB of Parquet on disk: {run.wall_s:.1f} s wall, "
              f"peak RSS {run.peak_rss_mb:.0f} MB")
        exact_small, _ = _worker_json([sys.executable, script, "ours", str(ref_path), str(cur_path)])
        stream_small, _ = _worker_json([sys.executable, script, "ours", str(ref_path), str(cur_path), "--streaming"])
        deltas = [(name, abs((stream_small["features"][name]["ks"] or 0) - (f["ks"] or 0)),
                   (stream_small["features"][name]["error_bound"] or {}).get("ks", 0.0))
                  for name, f in exact_small["features"].items() if f["ks"] is not None]
        print(f"streaming vs exact on the 1M/200k pair: largest KS difference {max(d[1] for d in deltas):.2g} "
              f"(bound reported {max(d[2] for d in deltas):.2g}); same verdicts on "
              f"{sum(1 for n, f in exact_small['features'].items() if stream_small['features'][n]['drifted'] == f['drifted'])}"
              f"/{len(deltas) + CATEGORICAL}")
        result["streaming"] = {"bytes": size, "wall_s": run.wall_s, "peak_rss_mb": run.peak_rss_mb}
        if args.delete_data:
            remove_tree(folder)
    if args.delete_data:
        ref_path.unlink(missing_ok=True)
        cur_path.unlink(missing_ok=True)
    print(f"\nraw samples: {write_results('drift', result)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    ev = sub.add_parser("evidently")
    ours = sub.add_parser("ours")
    for worker in (ev, ours):
        worker.add_argument("ref")
        worker.add_argument("cur")
        worker.add_argument("--out")
    ev.add_argument("--numeric", default="")
    ev.add_argument("--categorical", default="")
    ours.add_argument("--streaming", action="store_true")
    parser.add_argument("--ref-rows", type=int, default=1_000_000)
    parser.add_argument("--cur-rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--streaming-gib", type=float, default=0.0, help="also run streaming on a dataset this large")
    parser.add_argument("--scratch", default=None)
    parser.add_argument("--skip-evidently-run", action="store_true")
    parser.add_argument("--evidently-avx2", action="store_true",
                        help="also run Evidently with NumPy's AVX-512 targets disabled, as Lineage does on AMD Zen 4")
    parser.add_argument("--delete-data", action="store_true")
    args = parser.parse_args()
    if args.command == "evidently":
        payload = run_evidently(args.ref, args.cur, [n for n in args.numeric.split(",") if n],
                                [n for n in args.categorical.split(",") if n])
    elif args.command == "ours":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        payload = run_ours(args.ref, args.cur, args.streaming)
    else:
        bench(args)
        return
    text = json.dumps(payload)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
