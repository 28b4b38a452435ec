"""CLI start-up: ``lineage --help`` and ``lineage snapshot list`` vs ``dvc --version``.

Why: every interactive use pays the interpreter and import start-up, and the issue asks
that Lineage's commands take at most 2x what DVC's cheapest command takes. ``dvc
--version`` is DVC's start-up floor; ``lineage --help`` is Lineage's (no store opened);
``lineage snapshot list`` adds opening a small store (loaded with ``lineage demo``) and
one query, i.e. the cheapest command that does real work. ``python -c pass`` is shown as
the interpreter's own floor, for reference only.

Each command is a whole process, timed from here (median of ``--repeats``, interleaved
A, B, C, D, A, B, C, D...), with its peak RSS from ``/usr/bin/time -f %M``.

Run: ``.venv/bin/python bench/cli_startup.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    LINEAGE,
    Run,
    dvc_bin,
    dvc_env,
    markdown_table,
    median,
    ratio,
    run_quiet,
    run_timed,
    write_results,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="runs per command (default 10)")
    args = parser.parse_args()
    dvc = dvc_bin()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="lineage-bench-") as home:
        lineage_env = {**os.environ, "LINEAGE_HOME": home}
        run_quiet([LINEAGE, "init"], env=lineage_env)
        run_quiet([LINEAGE, "demo"], env=lineage_env)
        listed = run_quiet([LINEAGE, "snapshot", "list"], env=lineage_env)
        snapshots = max(0, len(listed.strip().splitlines()) - 1)
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            "lineage --help": ([LINEAGE, "--help"], lineage_env),
            "lineage snapshot list": ([LINEAGE, "snapshot", "list"], lineage_env),
            "dvc --version": ([str(dvc), "--version"], dvc_env()),
            "python -c pass (reference)": ([sys.executable, "-c", "pass"], dict(os.environ)),
        }
        for argv, env in commands.values():  # untimed warm-up: .pyc files and page cache
            run_timed(argv, env=env)
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for rep in range(args.repeats):
            for name, (argv, env) in commands.items():
                runs[name].append(run_timed(argv, env=env))
            print(f"  rep {rep + 1}/{args.repeats} " + "  ".join(
                f"{name.split(' (')[0]}={rs[-1].wall_s:.3f}s" for name, rs in runs.items()), file=sys.stderr)
    wall = {name: median([r.wall_s for r in rs]) for name, rs in runs.items()}
    rss = {name: median([r.peak_rss_mb for r in rs]) for name, rs in runs.items()}
    cpu = {name: median([r.cpu_s for r in rs]) for name, rs in runs.items()}
    dvc_wall = wall["dvc --version"]
    rows = [[name, len(rs), wall[name] * 1000, ratio(wall[name], dvc_wall), rss[name], cpu[name] * 1000,
             ratio(cpu[name], cpu["dvc --version"]),
             f"{min(r.wall_s for r in rs) * 1000:.0f}-{max(r.wall_s for r in rs) * 1000:.0f}"]
            for name, rs in runs.items()]
    checks = [[f"{name} / dvc --version", ratio(wall[name], dvc_wall), "<= 2",
               "met" if ratio(wall[name], dvc_wall) <= 2 else "MISSED"]
              for name in ("lineage --help", "lineage snapshot list")]
    print(f"### CLI start-up (store with {snapshots} demo snapshots, warm caches)\n")
    print(markdown_table(["command", "runs", "median ms", "x dvc --version", "median peak RSS MB", "median CPU ms",
                          "CPU x dvc --version", "range ms"], rows))
    print()
    print(markdown_table(["ratio", "value", "target", "status"], checks))
    print()
    dvc_version = run_quiet([str(dvc), "--version"], env=dvc_env()).strip()
    path = write_results("cli_startup", {"dvc_version": dvc_version, "repeats": args.repeats,
                                         "seconds": time.time() - started, "demo_snapshots": snapshots,
                                         "runs": runs})
    print(f"raw results: {path}")


if __name__ == "__main__":
    if not Path(LINEAGE).exists():
        sys.exit(f"{LINEAGE} not found: run with the project's venv (.venv/bin/python bench/cli_startup.py)")
    main()
