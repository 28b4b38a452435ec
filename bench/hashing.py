"""Registering a big Parquet file: ``lineage snapshot add`` vs the I/O floor vs ``dvc add``.

Why: the issue sets targets for the cost of registering data (at most 1.1x the time it
takes to hash and durably copy the bytes with standard tools, at most 0.4x ``dvc add``,
under 100 MB of peak memory at 1 GiB and 4 GiB, and a re-add of an unchanged file no
slower than ``dvc status``). Each is measured here as a whole process, the way a user
runs it, side by side and interleaved so that machine noise affects all methods alike.

Methods, per repetition and in this order (each timed with a warm page cache for its input
and its own code, after ``sync``, whole-process wall time and peak RSS via
``/usr/bin/time -f %M``):

* ``lineage add``: ``lineage snapshot add FILE --dataset bench --version vK --json`` into a
  fresh store (``lineage init`` first, untimed);
* ``floor``: ``sh -c 'openssl dgst -sha256 FILE && cp FILE DEST && sync DEST'``, DEST on the
  same filesystem as the store: one hash pass, one copy, one fsync;
* ``dvc add``: ``dvc add data.parquet`` in a fresh ``dvc init --no-scm`` repository, the file
  placed in it by a hard link (untimed); DVC keeps its default ``cache.type``
  (``reflink,copy``), which is a copy on ext4;
* ``lineage re-add``: the same ``lineage snapshot add`` again (same version; hash-cache hit),
  text output (with ``--json`` it takes the full path: it prints the whole record);
* ``dvc status``: in the repository just used by ``dvc add``;
* ``lineage add, new version`` (extra): the same unchanged file registered as another version
  (a hash-cache hit on bytes already stored: the recorded table metadata is reused, nothing
  is copied or parsed);
* ``lineage add, tiny file`` (extra): a 1 MiB Parquet file into a fresh store, the fixed
  cost (imports, database) that every ``add`` pays whatever the file size.

Run: ``.venv/bin/python bench/hashing.py --sizes 1`` (add ``,4`` for 4 GiB).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_SCRATCH,
    DVC_MODULES,
    LINEAGE,
    LINEAGE_WRITE_MODULES,
    Run,
    dvc_bin,
    dvc_env,
    markdown_table,
    median,
    python_of,
    ratio,
    remove_tree,
    run_quiet,
    run_timed,
    sync_disks,
    warm_binaries,
    warm_cache,
    warm_code,
    warm_memory,
    write_results,
)

SEED = 2010
GIB = 1024**3
ROWS_PER_GROUP = 1024 * 1024
FLOAT_COLUMNS = 8
INT_COLUMNS = 8
BYTES_PER_ROW = 8 * (FLOAT_COLUMNS + INT_COLUMNS)
FIXED_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: old enough for lineage's hash cache ("racy" window)
GENERATOR_VERSION = 1

METHODS = ("add", "floor", "dvc", "readd", "status", "newversion", "tiny")
LABELS = {
    "add": "lineage add",
    "floor": "floor (openssl + cp + sync)",
    "dvc": "dvc add",
    "readd": "lineage re-add (unchanged)",
    "status": "dvc status",
    "newversion": "lineage add, same file as new version",
    "tiny": "lineage add, tiny 1 MiB file",
}


def generate_parquet(path: Path, size_gib: float) -> Path:
    """Write ~``size_gib`` GiB of random float64/int64 columns, deterministically (seed 2010).

    Random doubles and full-range int64 hardly compress, so the file size tracks the
    data size; snappy is pyarrow's default codec and row groups are 1 Mi rows (128 MiB),
    a common writer setting. The file is reused when a previous run made it with the
    same parameters, and its mtime is pinned in the past so that it is never "racy".
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = int(size_gib * GIB) // BYTES_PER_ROW
    params = {"rows": rows, "seed": SEED, "rows_per_group": ROWS_PER_GROUP, "generator": GENERATOR_VERSION}
    marker = path.with_suffix(".json")
    if path.exists() and marker.exists() and json.loads(marker.read_text()) == params:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"generating {path} ({rows} rows, ~{size_gib} GiB)...", file=sys.stderr)
    rng = np.random.default_rng(SEED)
    names = [f"f{i}" for i in range(FLOAT_COLUMNS)] + [f"i{i}" for i in range(INT_COLUMNS)]
    schema = pa.schema([(n, pa.float64()) for n in names[:FLOAT_COLUMNS]] + [(n, pa.int64()) for n in names[FLOAT_COLUMNS:]])
    tmp = path.with_suffix(".part")
    with pq.ParquetWriter(tmp, schema, compression="snappy") as writer:
        done = 0
        while done < rows:
            n = min(ROWS_PER_GROUP, rows - done)
            columns = [pa.array(rng.standard_normal(n) * 1e6) for _ in range(FLOAT_COLUMNS)]
            columns += [pa.array(rng.integers(-(2**62), 2**62, n, dtype=np.int64)) for _ in range(INT_COLUMNS)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=ROWS_PER_GROUP)
            done += n
    os.utime(tmp, (FIXED_MTIME, FIXED_MTIME))
    os.replace(tmp, path)
    marker.write_text(json.dumps(params))
    return path


class Bench:
    """One size: owns the scratch folders and runs each method once per call."""

    def __init__(self, source: Path, tiny: Path, work: Path, dvc: Path, warm_memory_gib: float = 0.0) -> None:
        self.warm_memory_gib = warm_memory_gib
        self.source = source
        self.tiny = tiny
        self.work = work
        self.dvc = dvc
        self.home = work / "lineage-home"
        self.tiny_home = work / "lineage-home-tiny"
        self.repo = work / "dvc-repo"
        self.floor_dest = work / "floor" / (source.name + ".copy")

    def _lineage_env(self, home: Path) -> dict[str, str]:
        return {**os.environ, "LINEAGE_HOME": str(home)}

    def _timed(self, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
               warm: Path | None = None) -> Run:
        if warm is not None:
            warm_cache(warm)
        self._warm_code(argv[0])
        sync_disks()
        warm_memory(self.warm_memory_gib)
        return run_timed(argv, env=env, cwd=cwd)

    def _warm_code(self, executable: str) -> None:
        """Load the method's own code into the page cache, untimed (see ``_common.warm_code``)."""
        if executable == LINEAGE:
            warm_code(python_of(LINEAGE), LINEAGE_WRITE_MODULES)
        elif executable == str(self.dvc):
            warm_code(python_of(self.dvc), DVC_MODULES, dvc_env())
        else:  # the floor's native tools
            warm_binaries(["openssl", "version"], ["cp", "--version"], ["sync", "--version"])

    def prepare(self) -> None:
        """Fresh store and fresh DVC repo for this repetition (untimed)."""
        self.cleanup()
        run_quiet([LINEAGE, "init"], env=self._lineage_env(self.home))
        self.repo.mkdir(parents=True)
        run_quiet([str(self.dvc), "init", "--no-scm", "-q"], env=dvc_env(), cwd=self.repo)
        run_quiet([str(self.dvc), "config", "core.check_update", "false"], env=dvc_env(), cwd=self.repo)
        os.link(self.source, self.repo / "data.parquet")

    def cleanup(self) -> None:
        for path in (self.home, self.tiny_home, self.repo, self.floor_dest.parent):
            remove_tree(path)
        sync_disks()

    def add(self, rep: int) -> Run:
        run = self._timed([LINEAGE, "snapshot", "add", str(self.source), "--dataset", "bench",
                           "--version", f"v{rep}", "--json"], env=self._lineage_env(self.home), warm=self.source)
        return run

    def readd(self, rep: int) -> Run:
        # Text output, as users run it and as `dvc status` answers; with --json the re-add takes the
        # full path (it prints the whole snapshot record), see docs/benchmarks.md section 1.
        return self._timed([LINEAGE, "snapshot", "add", str(self.source), "--dataset", "bench",
                            "--version", f"v{rep}"], env=self._lineage_env(self.home), warm=self.source)

    def newversion(self, rep: int) -> Run:
        return self._timed([LINEAGE, "snapshot", "add", str(self.source), "--dataset", "bench",
                            "--version", f"v{rep}-again", "--json"], env=self._lineage_env(self.home),
                           warm=self.source)

    def floor(self, rep: int) -> Run:
        self.floor_dest.parent.mkdir(parents=True, exist_ok=True)
        script = f"openssl dgst -sha256 '{self.source}' && cp '{self.source}' '{self.floor_dest}' && sync '{self.floor_dest}'"
        run = self._timed(["sh", "-c", script], warm=self.source)
        remove_tree(self.floor_dest.parent)
        return run

    def dvc_add(self, rep: int) -> Run:
        return self._timed([str(self.dvc), "add", "data.parquet"], env=dvc_env(), cwd=self.repo,
                           warm=self.repo / "data.parquet")

    def status(self, rep: int) -> Run:
        return self._timed([str(self.dvc), "status"], env=dvc_env(), cwd=self.repo, warm=self.repo / "data.parquet")

    def tiny_add(self, rep: int) -> Run:
        env = self._lineage_env(self.tiny_home)
        run_quiet([LINEAGE, "init"], env=env)
        return self._timed([LINEAGE, "snapshot", "add", str(self.tiny), "--dataset", "tiny", "--version", f"v{rep}",
                            "--json"], env=env, warm=self.tiny)


def run_size(size_gib: float, repeats: int, methods: list[str], scratch: Path, dvc: Path,
             warm_memory_gib: float = 0.0) -> dict[str, Any]:
    source = generate_parquet(scratch / f"bench-{size_gib:g}gib.parquet", size_gib)
    tiny = generate_parquet(scratch / "bench-tiny.parquet", 1 / 1024)
    bench = Bench(source, tiny, scratch / f"work-{size_gib:g}", dvc, warm_memory_gib)
    steps: dict[str, Callable[[int], Run]] = {
        "add": bench.add, "floor": bench.floor, "dvc": bench.dvc_add, "readd": bench.readd,
        "status": bench.status, "newversion": bench.newversion, "tiny": bench.tiny_add,
    }
    needs = {"readd": "add", "newversion": "add", "status": "dvc"}
    for method, required in needs.items():
        if method in methods and required not in methods:
            raise SystemExit(f"--methods: {method} needs {required} in the same run")
    runs: dict[str, list[Run]] = {m: [] for m in methods}
    try:
        for rep in range(repeats):
            bench.prepare()
            for method in METHODS:  # fixed order: A, B, C, ... in every repetition
                if method in methods:
                    run = steps[method](rep)
                    runs[method].append(run)
                    print(f"  {size_gib:g} GiB rep {rep + 1}/{repeats} {LABELS[method]:<40} "
                          f"{run.wall_s:8.2f} s {run.peak_rss_mb:8.1f} MB {run.cpu_s:6.2f} s CPU", file=sys.stderr)
    finally:
        bench.cleanup()
    return {"size_gib": size_gib, "file": str(source), "file_bytes": source.stat().st_size, "runs": runs}


def report(result: dict[str, Any]) -> str:
    """Medians per method, then the ratios the issue sets targets for."""
    runs: dict[str, list[Run]] = result["runs"]
    size_mb = result["file_bytes"] / 1e6
    wall = {m: median([r.wall_s for r in rs]) for m, rs in runs.items()}
    rss = {m: median([r.peak_rss_mb for r in rs]) for m, rs in runs.items()}
    cpu = {m: median([r.cpu_s for r in rs]) for m, rs in runs.items()}
    rows = []
    for method, samples in runs.items():
        throughput = size_mb / wall[method] if method in ("add", "floor", "dvc") else float("nan")
        rows.append([LABELS[method], len(samples), wall[method], throughput, rss[method], cpu[method],
                     ", ".join(f"{r.wall_s:.2f}" for r in samples)])
    text = [f"### {result['size_gib']:g} GiB ({result['file_bytes']:,} bytes, warm page cache)", "",
            markdown_table(["method", "runs", "median wall s", "MB/s", "median peak RSS MB", "median CPU s",
                            "samples s"], rows), ""]
    checks: list[list[Any]] = []

    def check(name: str, value: float, target: str, met: bool) -> None:
        checks.append([name, value, target, "met" if met else "MISSED"])

    if "add" in wall and "floor" in wall:
        value = ratio(wall["add"], wall["floor"])
        check("lineage add / floor", value, "<= 1.1", value <= 1.1)
    if "add" in wall and "dvc" in wall:
        value = ratio(wall["add"], wall["dvc"])
        check("lineage add / dvc add", value, "<= 0.4", value <= 0.4)
    if "readd" in wall and "status" in wall:
        value = ratio(wall["readd"], wall["status"])
        check("lineage re-add / dvc status", value, "<= 1.0", value <= 1.0)
    if "add" in rss:
        check("lineage add peak RSS MB", rss["add"], "< 100", rss["add"] < 100)
    if checks:
        text += [markdown_table(["ratio", "value", "target", "status"], checks), ""]
    return "\n".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1", help="comma-separated file sizes in GiB (default 1; e.g. 1,4)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions per method (default 3)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"subset of {','.join(METHODS)}")
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH,
                        help="folder for generated files and stores, outside the repo (default /work/bench-scratch)")
    parser.add_argument("--delete-data", action="store_true", help="delete the generated Parquet files at the end")
    parser.add_argument("--warm-memory", type=float, default=0.0, metavar="GIB",
                        help="touch this many GiB of fresh memory before each timed run (see _common.warm_memory)")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    sizes = [float(s) for s in args.sizes.split(",") if s]
    dvc = dvc_bin()
    dvc_version = run_quiet([str(dvc), "--version"], env=dvc_env()).strip()
    started = time.time()
    results = []
    for size in sizes:
        results.append(run_size(size, args.repeats, methods, args.scratch, dvc, args.warm_memory))
        print(report(results[-1]))
        sys.stdout.flush()
    if args.delete_data:
        for size in sizes:
            for suffix in (".parquet", ".json"):
                (args.scratch / f"bench-{size:g}gib{suffix}").unlink(missing_ok=True)
    path = write_results("hashing", {
        "dvc_version": dvc_version, "dvc_cache_type": "default (reflink,copy)", "page_cache": "warm",
        "warm_memory_gib": args.warm_memory,
        "repeats": args.repeats, "seconds": time.time() - started, "results": results,
    })
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
