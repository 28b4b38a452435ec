"""Dashboard pages on a big store: first render, re-render after an interaction, SQL statements.

Why: the dashboard issue asks that, with a store of 10k snapshots, 500 feature-set versions and
1k model versions, each page's first render under ``streamlit.testing.v1.AppTest`` take at most
1.5 s and a re-render after an interaction at most 0.5 s on this machine.

* Store (seed 2010, SQLite), created with ``Store.init`` and filled in bulk through SQLAlchemy
  Core with ``bench/graph.py``'s generator (``--snapshots`` snapshots, including one features
  snapshot per feature-set version, ``--feature-sets`` feature-set versions, ``--models`` model
  versions, their lineage edges, alias moves and a valid audit chain), then the demo
  (``lineage.demo.load_demo``) on top through the library, so the default selections of the
  Drift and Lineage pages point at real data with stored profiles. Built once and reused while
  the parameters match (``--rebuild`` forces it).
* The Overview is run as ``AppTest.from_file("app.py")`` (the router's default page), every
  other page as ``AppTest.from_file("pages/N_*.py")`` (its own main script, as a deep link opens
  it). "First render" = a new AppTest's first ``run()`` with Streamlit's caches cleared
  (``st.cache_data`` / ``st.cache_resource``: the store is opened again, every query runs).
  "Re-render" = one widget interaction on the rendered page (``PAGES`` says which), then
  ``run()``: what a user waits for after clicking.
* Every new AppTest scans the installed packages' metadata for Streamlit components
  (``discover_and_register_components``: 0.5-2 s here, growing with the venv), which a real
  server does once at start-up, not per page. So each page's first render is timed twice,
  interleaved: "as is" (a new AppTest, scan included) and "scan shared" (a new AppTest given
  the component registry an earlier AppTest built, as a running server has it). "AppTest
  alone" is a one-line page (``st.title``) timed both ways, so the harness's share is visible.
* SQL statements are counted per render with a SQLAlchemy ``before_cursor_execute`` listener.
* Import time is excluded: an untimed warm-up renders every page once first.
* Pages are timed interleaved (page 1..6, page 1..6, ...), ``--repeats`` rounds; medians.
  ``--against CHECKOUT`` also runs the same measurement on another checkout (e.g. ``/work/main``)
  in alternating subprocesses, one round each, and reports the ratio per page.
  Nothing asserts a timing: the figures are reported against the targets.

Run: ``.venv/bin/python bench/pages.py`` (``--profile`` adds a cProfile top list per page).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import graph  # bench/graph.py: the bulk generator and loader
from _common import DEFAULT_SCRATCH, REPO_ROOT, markdown_table, median, ratio, remove_tree, write_results

# This file is bench/pages.py: with bench/ first on sys.path, the app's ``import pages._support``
# would find it instead of the repository's pages/ package. The bench helpers are imported above.
BENCH_DIR = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != BENCH_DIR]

FIRST_TARGET_S = 1.5
RERUN_TARGET_S = 0.5
TIMEOUT = 120
EMPTY = "AppTest alone"


def _select_other(key: str) -> Callable[[Any], Any]:
    """Pick another option of a selectbox (the first one that differs from the current value)."""

    def interact(at: Any) -> Any:
        box = at.selectbox(key=key)
        other = next(option for option in box.options if option != box.value)
        return box.select(other).run()

    return interact


def _search(at: Any) -> Any:
    return at.text_input(key="search").input("raw_1").run()


# page name -> (page script, or None for the Overview run through app.py; interaction; what it does)
PAGES: dict[str, tuple[str | None, Callable[[Any], Any], str]] = {
    "Overview": (None, lambda at: at.run(), "plain rerun (its only widget, 'Verify now', re-hashes every blob)"),
    "Snapshots": ("pages/1_Snapshots.py", _search, "search text 'raw_1'"),
    "Feature sets": ("pages/2_Feature_sets.py", _select_other("from"), "change the 'From' version"),
    "Drift": ("pages/3_Drift.py", _select_other("feature"), "change the 'Distribution of' feature"),
    "Models": ("pages/4_Models.py", _select_other("promote_version"), "change the version to promote"),
    "Lineage": ("pages/5_Lineage.py", _select_other("trace_node"), "change the 'Node details' node"),
}


def build_store(args: argparse.Namespace) -> Path:
    """The bench store (bulk rows + the demo on top), built unless an identical one exists."""
    from lineage.demo import load_demo
    from lineage.store import Store

    home = Path(args.scratch) / "pages-sqlite"
    marker = home / "bench-params.json"
    wanted = {"snapshots": args.snapshots, "feature_sets": args.feature_sets, "models": args.models,
              "audit_events": args.audit_events, "seed": graph.SEED, "demo": True, "format": 1}
    if not args.rebuild and marker.exists() and json.loads(marker.read_text()) == wanted:
        return home
    remove_tree(home)
    home.mkdir(parents=True)
    started = time.perf_counter()
    rows_args = argparse.Namespace(snapshots=args.snapshots, feature_sets=args.feature_sets, models=args.models,
                                   audit_events=args.audit_events, fan_in_weights=[0.37, 0.43, 0.2])
    with Store.init(home) as store:
        graph.load(store, graph.generate(rows_args))
        load_demo(store)
    print(f"  built the store in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    marker.write_text(json.dumps(wanted))
    return home


class Counter:
    """SQL statements executed (every engine, every thread), read before and after a render."""

    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


class Pages:
    """Renders pages of one checkout (``root``: app.py and pages/) under AppTest."""

    def __init__(self, root: Path, empty_page: Path) -> None:
        self.root = root
        self.empty_page = empty_page
        self.sql = Counter()
        self.components: Any = None  # the component registry of the first AppTest, for "scan shared"

    def script(self, name: str) -> str:
        if name == EMPTY:
            return str(self.empty_page)
        page = PAGES[name][0]
        return str(self.root / (page or "app.py"))

    def first_render(self, name: str, *, shared_scan: bool = False) -> tuple[Any, float, int]:
        """A fresh AppTest on the page alone, caches cleared; (the AppTest, seconds, SQL statements).

        ``shared_scan`` hands the new AppTest the component registry an earlier one built
        (AppTest's own attribute for it), so it skips the per-AppTest package scan.
        """
        import streamlit as st
        from streamlit.testing.v1 import AppTest

        st.cache_data.clear()
        st.cache_resource.clear()
        before = self.sql.count
        started = time.perf_counter()
        at = AppTest.from_file(self.script(name), default_timeout=TIMEOUT)
        if shared_scan and self.components is not None:
            at._bidi_component_manager = self.components
        at.run()
        elapsed = time.perf_counter() - started
        assert not at.exception, f"{name}: {at.exception}"
        self.components = self.components or at._bidi_component_manager
        return at, elapsed, self.sql.count - before

    def rerender(self, name: str, at: Any) -> tuple[float, int]:
        interact = (lambda a: a.run()) if name == EMPTY else PAGES[name][1]
        before = self.sql.count
        started = time.perf_counter()
        at = interact(at)
        elapsed = time.perf_counter() - started
        assert not at.exception, f"{name}: {at.exception}"
        return elapsed, self.sql.count - before

    def measure(self, names: list[str], repeats: int) -> dict[str, dict[str, list[float]]]:
        """Warm up, then ``repeats`` interleaved rounds: per page, first/re-render seconds and statements."""
        for name in names:  # untimed: imports, .pyc files, SQLite's page cache
            self.rerender(name, self.first_render(name)[0])
        samples: dict[str, dict[str, list[float]]] = {
            n: {"first_s": [], "first_shared_s": [], "rerender_s": [], "first_sql": [], "rerender_sql": []}
            for n in names}
        for round_number in range(repeats):
            for name in names:
                first = self.first_render(name)[1]
                at, shared, first_sql = self.first_render(name, shared_scan=True)
                again, again_sql = self.rerender(name, at)
                for key, value in (("first_s", first), ("first_shared_s", shared), ("rerender_s", again),
                                   ("first_sql", first_sql), ("rerender_sql", again_sql)):
                    samples[name][key].append(value)
            print(f"  {self.root}: round {round_number + 1}/{repeats} done", file=sys.stderr)
        return samples


def _profiled_script_thread(profiler: cProfile.Profile) -> Callable[[], None]:
    """AppTest runs the page in its own thread: profile that thread (cProfile is per thread)."""
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    original = LocalScriptRunner._run_script

    def run_script(self: Any, rerun_data: Any) -> None:
        profiler.enable()
        try:
            original(self, rerun_data)
        finally:
            profiler.disable()

    LocalScriptRunner._run_script = run_script  # type: ignore[method-assign]

    def restore() -> None:
        LocalScriptRunner._run_script = original  # type: ignore[method-assign]

    return restore


def profile(pages: Pages, name: str, top: int) -> str:
    """The page's own thread, first render then re-render, by cumulative time."""
    out = io.StringIO()
    at = None
    for label in ("first render", "re-render"):
        profiler = cProfile.Profile()
        restore = _profiled_script_thread(profiler)
        try:
            if at is None:
                at = pages.first_render(name)[0]
            else:
                pages.rerender(name, at)
        finally:
            restore()
        out.write(f"--- {label} ---\n")
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"lineage/|pages/|app\.py", top)
    return out.getvalue()


def _prepare(home: Path, root: Path) -> Path:
    """Point the environment at the bench store and the checkout; write the one-line page."""
    for name in ("LINEAGE_DB_URL", "LINEAGE_STORE_URL", "LINEAGE_READ_ONLY"):
        os.environ.pop(name, None)
    os.environ.update(LINEAGE_HOME=str(home), LINEAGE_USER="bench")
    sys.path.insert(0, str(root))
    os.chdir(root)
    empty = home.parent / "pages-bench-empty.py"
    empty.write_text('import streamlit as st\n\nst.title("empty")\n')
    return empty


def _measure_in_subprocess(args: argparse.Namespace, root: Path, names: list[str]) -> dict[str, Any]:
    """One warm-up plus one round on ``root`` in a fresh interpreter that imports ``lineage`` from it."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, __file__, "--measure-root", str(root), "--repeats", "1", "--pages", ",".join(names),
               "--scratch", args.scratch, "--snapshots", str(args.snapshots), "--feature-sets", str(args.feature_sets),
               "--models", str(args.models), "--audit-events", str(args.audit_events)]
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _merge(into: dict[str, dict[str, list[float]]], more: dict[str, dict[str, list[float]]]) -> None:
    for name, series in more.items():
        for key, values in series.items():
            into.setdefault(name, {}).setdefault(key, []).extend(values)


def _met(value: float, target: float) -> str:
    return "met" if value <= target else "**missed**"


def report(samples: dict[str, dict[str, list[float]]], names: list[str], before: dict[str, Any] | None) -> str:
    rows = []
    for name in [EMPTY, *names]:
        series = samples[name]
        first, shared, again = (median(series[k]) for k in ("first_s", "first_shared_s", "rerender_s"))
        page = name != EMPTY
        row: list[Any] = [name, first, _met(first, FIRST_TARGET_S) if page else "—", shared,
                          _met(shared, FIRST_TARGET_S) if page else "—", again,
                          _met(again, RERUN_TARGET_S) if page else "—",
                          int(median(series["first_sql"])), int(median(series["rerender_sql"]))]
        if before is not None:
            old = before[name]
            row += [ratio(first, median(old["first_s"])), ratio(shared, median(old["first_shared_s"])),
                    ratio(again, median(old["rerender_s"])), int(median(old["first_sql"]))]
        row.append(PAGES[name][2] if page else "one-line page")
        rows.append(row)
    header = ["page", "first render, as is (s)", f"≤ {FIRST_TARGET_S} s", "first render, scan shared (s)",
              f"≤ {FIRST_TARGET_S} s", "re-render (s)", f"≤ {RERUN_TARGET_S} s", "SQL first", "SQL re-render"]
    if before is not None:
        header += ["as is / before", "scan shared / before", "re-render / before", "SQL first before"]
    return markdown_table([*header, "interaction"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--feature-sets", type=int, default=500)
    parser.add_argument("--models", type=int, default=1_000)
    parser.add_argument("--audit-events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scratch", default=str(DEFAULT_SCRATCH))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    parser.add_argument("--profile", action="store_true", help="print a cProfile top list per page")
    parser.add_argument("--against", help="another checkout to measure side by side (e.g. /work/main)")
    parser.add_argument("--measure-root", help=argparse.SUPPRESS)  # internal: one subprocess's measurement
    args = parser.parse_args()
    names = [n.strip() for n in args.pages.split(",")]

    if args.measure_root:  # the store exists: the parent built it
        root = Path(args.measure_root)
        sys.path.insert(0, str(root))  # before bench/graph.py's REPO_ROOT: this checkout's lineage and pages
        import lineage

        if Path(lineage.__file__).resolve().parents[1] != root.resolve():
            raise SystemExit(f"lineage imported from {lineage.__file__}, not from {root}")
        pages = Pages(root, _prepare(build_store(args), root))
        print(json.dumps(pages.measure([EMPTY, *names], args.repeats)))
        return

    home = build_store(args)
    load_before = os.getloadavg()
    before = None
    if args.against:
        samples: dict[str, dict[str, list[float]]] = {}
        before = {}
        for _ in range(args.repeats):  # alternate the two checkouts, one round each
            _merge(samples, _measure_in_subprocess(args, REPO_ROOT, names))
            _merge(before, _measure_in_subprocess(args, Path(args.against).resolve(), names))
    else:
        pages = Pages(REPO_ROOT, _prepare(home, REPO_ROOT))
        samples = pages.measure([EMPTY, *names], args.repeats)
    load_after = os.getloadavg()

    print(f"\nStore: {args.snapshots:,} bulk snapshots, {args.feature_sets:,} feature-set versions, "
          f"{args.models:,} model versions (+ the demo). Medians of {args.repeats} runs.")
    print(f"Load average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load_before)}; "
          f"after: {', '.join(f'{v:.2f}' for v in load_after)} ({os.cpu_count()} CPUs).\n")
    print(report(samples, names, before))
    path = write_results("pages", {"params": vars(args), "load_before": load_before, "load_after": load_after,
                                   "samples": samples, "before": before})
    print(f"\nraw samples: {path}")
    if args.profile:
        pages = Pages(REPO_ROOT, _prepare(home, REPO_ROOT))
        for name in names:  # only the project's own functions, by cumulative time
            print(f"\n===== {name} =====")
            print(profile(pages, name, 25))


if __name__ == "__main__":
    main()
