"""DVC import of a repository tracking a 1 GiB file vs ``openssl dgst -sha256 FILE && openssl dgst -md5 FILE``.

Why: an imported file needs both digests, our sha256 and DVC's md5 (to check what DVC
recorded). The issue's target is at most 0.8x the two ``openssl`` passes run one after the
other, which only one read feeding both hashes on two cores can reach. The import also
copies the bytes into the object store (and fsyncs them) and parses the table, so the
script measures what each part costs, side by side and interleaved.

Methods, per repetition and in this order (whole-process wall time, warm page cache for the file and the code,
``sync`` before each, peak RSS via ``/usr/bin/time``):

* ``floor``: ``sh -c 'openssl dgst -sha256 FILE && openssl dgst -md5 FILE'``;
* ``import``: ``lineage import dvc REPO --json`` into a fresh store (``lineage init`` untimed):
  read once, sha256 + md5 on two threads, copy into the store and fsync, parse the Parquet file;
* ``import --no-copy``: the same, recording the workspace file where it lies (no copy);
* ``hash only``: ``lineage.hashing.hash_file(FILE, also=[md5])`` in a fresh interpreter: the
  single read feeding both hashes, without the store, the parse or the CLI;
* ``snapshot add`` (extra): ``lineage snapshot add FILE`` into a fresh store, sha256 only: what
  the md5 adds to a plain registration;
* ``re-import`` (extra): ``lineage import dvc REPO`` again on the store ``import`` just filled
  (the hash cache knows the file: recognised without reading).

The repository (``dvc init --no-scm``, the file hard-linked in as ``data.parquet``,
``dvc add``) is built once, untimed, with DVC 3.67.1 (``dvc`` of this venv, else DVC's own
bench venv). Run: ``.venv/bin/python bench/dvc_import.py`` (``--size-gib``, ``--repeats``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_SCRATCH,
    LINEAGE,
    LINEAGE_WRITE_MODULES,
    Run,
    dvc_bin,
    dvc_env,
    markdown_table,
    median,
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
from hashing import generate_parquet

METHODS = ("floor", "import", "nocopy", "hash", "add", "reimport")
LABELS = {
    "floor": "openssl sha256 && openssl md5",
    "import": "lineage import dvc",
    "nocopy": "lineage import dvc --no-copy",
    "hash": "hash only (one read, sha256 + md5 threads)",
    "add": "lineage snapshot add (sha256 only)",
    "reimport": "lineage import dvc again (unchanged)",
}
TARGET = 0.8
HASH_ONLY = (
    "import hashlib, sys\n"
    "from lineage.hashing import hash_file\n"
    "md5 = hashlib.md5(usedforsecurity=False)\n"
    "sha256, size = hash_file(sys.argv[1], also=[md5])\n"
    "print(sha256, md5.hexdigest(), size)\n"
)


def _dvc() -> list[str]:
    """DVC from this venv (a test requirement), else from DVC's own bench venv."""
    local = Path(sys.executable).parent / "dvc"
    return [str(local)] if local.exists() else [str(dvc_bin())]


class Bench:
    """Owns the scratch folders; each method runs once per call."""

    def __init__(self, source: Path, work: Path, warm_memory_gib: float = 0.0) -> None:
        self.warm_memory_gib = warm_memory_gib
        self.source = source
        self.work = work
        self.repo = work / "repo"
        self.data = self.repo / "data.parquet"
        self.homes = {m: work / f"home-{m}" for m in ("import", "nocopy", "add")}

    def build_repo(self) -> None:
        remove_tree(self.repo)
        self.repo.mkdir(parents=True)
        dvc = _dvc()
        run_quiet([*dvc, "init", "--no-scm", "-q"], env=dvc_env(), cwd=self.repo)
        run_quiet([*dvc, "config", "core.check_update", "false"], env=dvc_env(), cwd=self.repo)
        os.link(self.source, self.data)
        run_quiet([*dvc, "add", "-q", "data.parquet"], env=dvc_env(), cwd=self.repo)

    def _env(self, method: str) -> dict[str, str]:
        return {**os.environ, "LINEAGE_HOME": str(self.homes[method])}

    def _timed(self, argv: list[str], env: dict[str, str] | None = None) -> Run:
        warm_cache(self.data)
        if argv[0] == "sh":  # the floor: openssl
            warm_binaries(["openssl", "version"])
        else:  # lineage, or the hash core in this interpreter (see _common.warm_code)
            warm_code(sys.executable, [*LINEAGE_WRITE_MODULES, "lineage.dvc_import"])
        sync_disks()
        warm_memory(self.warm_memory_gib)
        return run_timed(argv, env=env)

    def fresh_stores(self) -> None:
        for method, home in self.homes.items():
            remove_tree(home)
            run_quiet([LINEAGE, "init"], env=self._env(method))
        sync_disks()

    def floor(self) -> Run:
        script = f"openssl dgst -sha256 '{self.data}' && openssl dgst -md5 '{self.data}'"
        return self._timed(["sh", "-c", script])

    def import_(self) -> Run:
        return self._timed([LINEAGE, "import", "dvc", str(self.repo), "--json"], self._env("import"))

    def nocopy(self) -> Run:
        return self._timed([LINEAGE, "import", "dvc", str(self.repo), "--no-copy", "--json"], self._env("nocopy"))

    def hash_only(self) -> Run:
        return self._timed([sys.executable, "-c", HASH_ONLY, str(self.data)])

    def add(self) -> Run:
        return self._timed([LINEAGE, "snapshot", "add", str(self.data), "--dataset", "bench", "--json"],
                           self._env("add"))

    def reimport(self) -> Run:
        return self._timed([LINEAGE, "import", "dvc", str(self.repo), "--json"], self._env("import"))

    def cleanup(self) -> None:
        remove_tree(self.work)
        sync_disks()


def run_bench(size_gib: float, repeats: int, methods: list[str], scratch: Path,
              warm_memory_gib: float = 0.0) -> dict[str, Any]:
    source = generate_parquet(scratch / f"dvc-import-{size_gib:g}gib.parquet", size_gib)
    bench = Bench(source, scratch / f"dvc-import-work-{size_gib:g}", warm_memory_gib)
    steps: dict[str, Callable[[], Run]] = {
        "floor": bench.floor, "import": bench.import_, "nocopy": bench.nocopy, "hash": bench.hash_only,
        "add": bench.add, "reimport": bench.reimport,
    }
    if "reimport" in methods and "import" not in methods:
        raise SystemExit("--methods: reimport needs import in the same run")
    runs: dict[str, list[Run]] = {m: [] for m in methods}
    try:
        bench.build_repo()
        for method in methods:  # untimed first runs: .pyc files written, page cache warm
            if method != "reimport":
                bench.fresh_stores()
                steps[method]()
        for rep in range(repeats):
            bench.fresh_stores()
            for method in METHODS:  # fixed order in every repetition
                if method in methods:
                    run = steps[method]()
                    runs[method].append(run)
                    print(f"  rep {rep + 1}/{repeats} {LABELS[method]:<44} {run.wall_s:7.2f} s "
                          f"{run.peak_rss_mb:7.1f} MB {run.cpu_s:6.2f} s CPU", file=sys.stderr)
    finally:
        bench.cleanup()
    return {"size_gib": size_gib, "file": str(source), "file_bytes": source.stat().st_size, "runs": runs}


def report(result: dict[str, Any]) -> str:
    runs: dict[str, list[Run]] = result["runs"]
    size_mb = result["file_bytes"] / 1e6
    wall = {m: median([r.wall_s for r in rs]) for m, rs in runs.items()}
    cpu = {m: median([r.cpu_s for r in rs]) for m, rs in runs.items()}
    rss = {m: median([r.peak_rss_mb for r in rs]) for m, rs in runs.items()}
    floor = wall.get("floor", float("nan"))
    rows = [[LABELS[m], len(rs), wall[m], size_mb / wall[m] if m != "reimport" else float("nan"), ratio(wall[m], floor),
             cpu[m], rss[m], ", ".join(f"{r.wall_s:.2f}" for r in rs)] for m, rs in runs.items()]
    text = [f"### {result['size_gib']:g} GiB Parquet file ({result['file_bytes']:,} bytes, warm page cache)", "",
            markdown_table(["method", "runs", "median wall s", "MB/s", "x floor", "median CPU s", "median peak RSS MB",
                            "samples s"], rows), ""]
    if "import" in wall and "floor" in wall:
        value = ratio(wall["import"], floor)
        text.append(f"Target: `lineage import dvc` <= {TARGET}x the two openssl passes: {value:.2f}x, "
                    f"{'met' if value <= TARGET else 'MISSED'}.")
    for method in ("nocopy", "hash"):
        if method in wall and "floor" in wall:
            text.append(f"{LABELS[method]}: {ratio(wall[method], floor):.2f}x the floor.")
    if "import" in wall and "add" in wall:
        text.append(f"import / snapshot add: {ratio(wall['import'], wall['add']):.2f}x (what the md5 check adds).")
    return "\n".join(text) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=1.0, help="size of the tracked file (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions per method (default 3)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"subset of {','.join(METHODS)}")
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH,
                        help="folder for the generated file, repository and stores (default /work/bench-scratch)")
    parser.add_argument("--delete-data", action="store_true", help="delete the generated Parquet file at the end")
    parser.add_argument("--warm-memory", type=float, default=0.0, metavar="GIB",
                        help="touch this many GiB of fresh memory before each timed run (see _common.warm_memory)")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    if shutil.which("openssl") is None:
        raise SystemExit("openssl is not on PATH: install it (apt-get install openssl)")
    started = time.time()
    dvc_version = run_quiet([*_dvc(), "--version"], env=dvc_env()).strip()
    result = run_bench(args.size_gib, args.repeats, methods, args.scratch, args.warm_memory)
    print(report(result))
    if args.delete_data:
        for suffix in (".parquet", ".json"):
            (args.scratch / f"dvc-import-{args.size_gib:g}gib{suffix}").unlink(missing_ok=True)
    path = write_results("dvc_import", {
        "dvc_version": dvc_version, "page_cache": "warm", "warm_memory_gib": args.warm_memory, "repeats": args.repeats,
        "seconds": time.time() - started, "result": result,
    })
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
