"""Shared helpers for the benchmarks in this folder.

Every benchmark follows the same rules, so the helpers enforce them in one place:

* the commands being compared run side by side in one process, interleaved
  (A, B, C, A, B, C, ...), so that machine noise hits all of them alike;
* results are medians and ratios of medians, printed as a markdown table, and the
  raw samples are written to ``bench/out/`` (gitignored) for later inspection;
* nothing ever asserts a timing: the numbers are reported, not judged by the script;
* whole-process runs go through ``/usr/bin/time -f %M`` to get the peak RSS.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"
LINEAGE = str(Path(sys.executable).parent / "lineage")
"""The ``lineage`` entry point of the venv running the benchmark (the project's own venv)."""
GNU_TIME = "/usr/bin/time"
DEFAULT_SCRATCH = Path(os.environ.get("BENCH_SCRATCH", "/work/bench-scratch"))
"""Big generated files live outside the repository (override with BENCH_SCRATCH)."""


@dataclass
class Run:
    """One timed whole-process run."""

    wall_s: float
    peak_rss_mb: float
    returncode: int
    cpu_s: float = float("nan")  # user + system CPU time of the process (and its children)


def _with_bytecode(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment for a measured command, with Python allowed to write .pyc files.

    With ``PYTHONDONTWRITEBYTECODE`` set (some shells and CI images set it), a package
    whose sources changed since its .pyc files were written is compiled again on every
    run; users normally have the caches, so every command (Lineage and DVC alike) runs
    without the variable, and the first, untimed run of each command writes them.
    """
    return {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_timed(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
              check: bool = True) -> Run:
    """Run ``argv`` under ``/usr/bin/time``: wall time as seen from here, peak RSS and CPU time from the kernel.

    The wall clock is taken around the whole subprocess (interpreter start-up included),
    because that is what a user waits for. GNU time writes the peak RSS to a file of
    its own so the command's stdout/stderr stay untouched. The CPU time (user + system)
    is reported next to the wall time: on a shared machine it varies much less, because
    waiting for a core is not counted in it.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as report:
        report_path = report.name
    try:
        cmd = [GNU_TIME, "-o", report_path, "-f", "%M %U %S", *argv]
        started = time.perf_counter()
        done = subprocess.run(cmd, env=_with_bytecode(env), cwd=cwd, capture_output=True)
        wall = time.perf_counter() - started
        if check and done.returncode != 0:
            raise RuntimeError(
                f"command failed ({done.returncode}): {' '.join(argv)}\n"
                f"stdout: {done.stdout.decode(errors='replace')[-2000:]}\n"
                f"stderr: {done.stderr.decode(errors='replace')[-2000:]}"
            )
        lines = [line for line in Path(report_path).read_text().splitlines() if line.strip()]
        fields = lines[-1].split() if lines else []
        peak_kb = int(fields[0]) if fields and fields[0].isdigit() else 0
        cpu = float(fields[1]) + float(fields[2]) if len(fields) == 3 else float("nan")
    finally:
        os.unlink(report_path)
    return Run(wall_s=wall, peak_rss_mb=peak_kb / 1024, returncode=done.returncode, cpu_s=cpu)


def run_quiet(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | Path | None = None) -> str:
    """Run an untimed set-up step; fail loudly with its output if it fails."""
    done = subprocess.run(list(argv), env=_with_bytecode(env), cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"set-up step failed: {' '.join(argv)}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def warm_cache(path: Path) -> None:
    """Read ``path`` once so every timed run starts with the file in the page cache.

    Dropping caches needs root and a quiet machine; warming is the state we can
    reproduce every time, so every method is measured with a warm source file.
    """
    with open(path, "rb", buffering=0) as handle:
        while handle.read(16 * 1024 * 1024):
            pass


def warm_code(python: str, modules: Sequence[str], env: dict[str, str] | None = None) -> None:
    """Import ``modules`` once in ``python``, untimed, so a timed run starts with its code in the page cache.

    Why: these VMs page out file pages left idle for about a minute (a DAMON ``pageout``
    scheme, ``/sys/kernel/mm/damon``), so a method timed after another's long run would
    read its interpreter and libraries back from disk first: up to 0.7 s more for a 2 s
    run. Every method is warmed the same way, as its input files are (``warm_cache``).
    """
    subprocess.run([python, "-c", "import " + ", ".join(modules)], check=True, capture_output=True, env=env)


LINEAGE_WRITE_MODULES = ("lineage.cli", "lineage.store", "lineage.snapshots", "lineage.tabular",
                         "lineage.fingerprint", "lineage.hashing", "pyarrow.parquet", "pyarrow.csv", "sqlmodel")
"""What a registering ``lineage`` command imports: warmed before each timed registration."""
DVC_MODULES = ("dvc.cli", "dvc.repo", "dvc.commands.add", "dvc.commands.status", "dvc_data.hashfile.hash")
"""What ``dvc add`` and ``dvc status`` import: warmed before each timed DVC command."""


def python_of(executable: str | Path) -> str:
    """The interpreter of a console script's venv (``.../bin/lineage`` -> ``.../bin/python``)."""
    return str(Path(executable).parent / "python")


def warm_binaries(*argv_lists: Sequence[str]) -> None:
    """Run each (cheap) command once, untimed: the native counterpart of ``warm_code`` (``openssl version``)."""
    for argv in argv_lists:
        subprocess.run(list(argv), check=True, capture_output=True)


def warm_memory(gib: float) -> None:
    """Touch ``gib`` GiB of fresh memory in a child process, untimed, so the next run gets warm pages.

    Why: these VMs run with free page reporting (Firecracker, nested virtualization): memory
    the guest frees is handed back to the host a couple of seconds later, and touching it
    again costs the host a fault per page, about 2 s of system time per GiB here. A copy
    that fills the page cache pays that for every page it takes, so the same command took
    0.9 s or 3.4 s depending on whether the previous run had just freed memory. After
    this warm-up the pages a timed run takes are ones the guest has just freed, as on a
    machine without the feature. 0 disables it.
    """
    if gib > 0:
        subprocess.run([sys.executable, "-c", f"bytearray(b'1') * {int(gib * 2**30)}"], check=True)


def sync_disks() -> None:
    """Flush dirty pages left by the previous run so they do not slow down the next one."""
    os.sync()


def dvc_bin() -> Path:
    """The ``dvc`` executable of DVC's own venv, created on first use if it is missing.

    DVC runs from its own virtualenv (``DVC_VENV``, default ``bench/.venv-dvc``) so its
    dependencies never mix with Lineage's.
    """
    venv = Path(os.environ.get("DVC_VENV", BENCH_DIR / ".venv-dvc"))
    dvc = venv / "bin" / "dvc"
    if not dvc.exists():
        print(f"DVC not found in {venv}: running bench/setup_dvc_venv.sh", file=sys.stderr)
        subprocess.run(["sh", str(BENCH_DIR / "setup_dvc_venv.sh")], check=True,
                       env={**os.environ, "DVC_VENV": str(venv)})
    return dvc


def dvc_env() -> dict[str, str]:
    """DVC without analytics or update checks, which would add network calls to the timings."""
    return {**os.environ, "DVC_NO_ANALYTICS": "1"}


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; floats get 3 significant decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    """Enough context to tell whether two result files are comparable."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": model,
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write raw results to ``bench/out/NAME-<timestamp>.json`` and return the path."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps({"machine": machine_info(), **payload}, indent=2, default=_jsonable))
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, Run):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def remove_tree(path: Path) -> None:
    """Delete a scratch tree, including read-only files (DVC makes its cache read-only)."""
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
