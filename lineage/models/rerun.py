"""Re-run a model version's recorded training command in a clean folder and compare the result.

The code comes from the recorded commit (``git archive``) when the recorded work tree
was clean; when it was dirty, or the commit is gone, the recorded work tree's current
files are copied instead (``git ls-files -co --exclude-standard``) and the code is
marked unverified. The entrypoint runs with the interpreter running this process, no
shell, the store's settings (read-only: a reproduction never registers anything), the
recorded seeds, and ``LINEAGE_REPRODUCE_OUT`` so ``store.runs.track`` writes
``result.json`` instead of registering. ``compare_result`` is pure.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.models.runs import REPRODUCE_OUT, REPRODUCE_SEED

if TYPE_CHECKING:
    from lineage.entities import ModelVersionInfo
    from lineage.store import Store

DEFAULT_TIMEOUT = 600.0
STDERR_TAIL = 4000
UNVERIFIED = "unverified (recorded from a dirty tree)"
PYTHON_NAMES = ("python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}")


def check_timeout(timeout: float, *, what: str = "timeout") -> float:
    """``timeout`` if it is a positive, finite number of seconds, else InvalidInputError.

    Zero or less would stop every re-run before it starts and infinity or NaN never
    (or undefined), and either way the "not-reproducible" verdict would be a fake finding.
    """
    from lineage.errors import InvalidInputError

    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        shown = f"{timeout:g}" if isinstance(timeout, int | float) else repr(timeout)
        raise InvalidInputError(f"{what} {shown} is not a positive number of seconds: give one such as "
                                f"{DEFAULT_TIMEOUT:g}")
    return float(timeout)


class CannotRerun(Exception):
    """The recorded command cannot be run here; the message says why."""


def commit_exists(workdir: str, commit: str) -> tuple[bool, str]:
    """Whether ``commit`` is in the repository at ``workdir`` (and why not)."""
    if not commit:
        return False, "no git commit was recorded"
    if not workdir or not Path(workdir).is_dir():
        return False, f"the recorded work tree {workdir or '(none)'} does not exist"
    result = _git(Path(workdir), "cat-file", "-e", f"{commit}^{{commit}}")
    if result.returncode != 0:
        return False, f"commit {commit[:12]} is not in the repository at {workdir}"
    return True, ""


def command_for(entrypoint: str) -> list[str]:
    """The recorded command as argv, its leading ``python`` replaced by this interpreter."""
    try:
        argv = shlex.split(entrypoint)
    except ValueError as exc:
        raise CannotRerun(f"the recorded entrypoint {entrypoint!r} cannot be parsed ({exc})") from None
    if not argv:
        raise CannotRerun("no entrypoint was recorded")
    if Path(argv[0]).name in PYTHON_NAMES:
        argv[0] = sys.executable
    return argv


def rerun(store: Store, info: ModelVersionInfo, *, workdir: Path, timeout: float = DEFAULT_TIMEOUT,
          commit_ok: bool) -> dict[str, Any]:
    """Run the recorded entrypoint once in ``workdir``; the ``rerun`` section of the report."""
    section = skipped(info, "")
    code_dir, out_dir = workdir / "code", workdir / "out"
    try:
        argv = command_for(str(info.code.get("entrypoint") or ""))
        section["code_source"], section["code"] = fetch_code(info.code, code_dir, commit_ok=commit_ok)
    except CannotRerun as exc:
        section["reason"] = str(exc)
        return section
    except OSError as exc:
        section["reason"] = f"the code could not be copied ({exc})"
        return section
    out_dir.mkdir(parents=True, exist_ok=True)
    section["command"] = argv
    started = time.monotonic()
    try:
        completed = subprocess.run(argv, cwd=code_dir, env=rerun_env(store, info, out_dir, code_dir),
                                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                                   check=False)
    except subprocess.TimeoutExpired as exc:
        section.update(status="failed", reason=f"the entrypoint did not finish within {timeout:g} s",
                       duration_seconds=round(time.monotonic() - started, 3), stderr=_tail(exc.stderr))
        return section
    except OSError as exc:
        section.update(status="failed", reason=f"the entrypoint could not be started ({exc})")
        return section
    section.update(returncode=completed.returncode, duration_seconds=round(time.monotonic() - started, 3),
                   stderr=_tail(completed.stderr))
    if completed.returncode != 0:
        last = completed.stderr.strip().splitlines()[-1:] or ["(no output)"]
        section.update(status="failed", reason=f"the entrypoint exited with {completed.returncode}: {last[0][:300]}")
        return section
    result_file = out_dir / "result.json"
    if not result_file.is_file():
        section.update(status="failed", reason="the entrypoint wrote no result.json: it must train through "
                                               "store.runs.track so a reproduction can read its output")
        return section
    section.update(status="ran", **compare_result(info, json.loads(result_file.read_text())))
    return section


def skipped(info: ModelVersionInfo, reason: str) -> dict[str, Any]:
    """The ``rerun`` section of a re-run that did not start (every key present, values empty)."""
    return {
        "status": "skipped", "reason": reason, "code_source": None, "code": None, "command": [],
        "python": sys.executable, "returncode": None, "duration_seconds": None, "stderr": "", "workdir": None,
        **compare_result(info, None),
    }


def fetch_code(code: dict[str, Any], destination: Path, *, commit_ok: bool) -> tuple[str, str]:
    """Put the recorded code in ``destination``; (how it was obtained, whether it is verified)."""
    workdir, commit = str(code.get("workdir") or ""), str(code.get("git_commit") or "")
    destination.mkdir(parents=True, exist_ok=True)
    if commit_ok and code.get("git_dirty") is False:
        _archive(Path(workdir), commit, destination)
        return "git-archive", f"verified (commit {commit[:12]})"
    _copy_work_tree(Path(workdir), destination)
    return "work-tree-copy", UNVERIFIED


def rerun_env(store: Store, info: ModelVersionInfo, out_dir: Path, code_dir: Path) -> dict[str, str]:
    """The child's environment: this store (read-only), the recorded seeds, the output folder."""
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith("LINEAGE_")}
    settings = store.settings
    env.update({
        "LINEAGE_HOME": str(settings.home), "LINEAGE_DB_URL": settings.resolved_db_url,
        "LINEAGE_STORE_URL": settings.resolved_store_url, "LINEAGE_USER": store.actor,
        "LINEAGE_READ_ONLY": "1", REPRODUCE_OUT: str(out_dir), "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(code_dir), env.get("PYTHONPATH", "")) if p),
    })
    if info.seed is not None:
        env[REPRODUCE_SEED] = str(info.seed)
    hash_seed = (info.environment.get("seeds") or {}).get("PYTHONHASHSEED")
    if hash_seed not in (None, ""):
        env["PYTHONHASHSEED"] = str(hash_seed)
    else:
        env.pop("PYTHONHASHSEED", None)  # the recorded run had none set
    return env


def compare_result(info: ModelVersionInfo, result: dict[str, Any] | None) -> dict[str, Any]:
    """Recorded vs re-run artifact hash, metrics, seed and inputs (pure)."""
    result = result or {}
    recorded_sha = info.artifact.get("sha256")
    rerun_sha = result.get("artifact_sha256")
    recorded_metrics, rerun_metrics = info.metrics, result.get("metrics") or {}
    metrics = {
        name: {"recorded": recorded_metrics.get(name), "rerun": rerun_metrics.get(name),
               "match": name in recorded_metrics and name in rerun_metrics
               and same_metric(recorded_metrics[name], rerun_metrics[name])}
        for name in sorted(recorded_metrics.keys() | rerun_metrics.keys())
    }
    recorded_inputs = {item.ref: item.role for item in info.inputs}
    return {
        "artifact_sha256": {"recorded": recorded_sha, "rerun": rerun_sha},
        "artifact_match": bool(rerun_sha) and rerun_sha == recorded_sha,
        "metrics": metrics,
        "metrics_match": bool(result) and all(m["match"] for m in metrics.values()),
        "seed": {"recorded": info.seed, "rerun": result.get("seed")},
        "inputs_match": bool(result) and result.get("inputs") == recorded_inputs
        and (result.get("feature_set") or "") == info.feature_set,
    }


def same_metric(a: Any, b: Any) -> bool:
    """Equal values; floats equal to 1e-9 relative (JSON round trips are exact, platforms may not be)."""
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return bool(a == b)


# -- code ----------------------------------------------------------------------------------
def _archive(workdir: Path, commit: str, destination: Path) -> None:
    """``git archive <commit>`` unpacked into ``destination`` (tar's "data" filter: no escapes)."""
    try:
        process = subprocess.Popen(["git", "-C", str(workdir), "archive", "--format=tar", commit],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise CannotRerun(f"git archive could not be started ({exc})") from None
    assert process.stdout is not None
    try:
        with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
            archive.extractall(destination, filter="data")
    except tarfile.TarError as exc:
        process.kill()
        raise CannotRerun(f"git archive of commit {commit[:12]} could not be unpacked ({exc})") from None
    finally:
        stderr = process.communicate()[1]
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()[:1] or ["no message"]
        raise CannotRerun(f"git archive of commit {commit[:12]} failed: {message[0]}")


def _copy_work_tree(workdir: Path, destination: Path) -> None:
    """Tracked and untracked-but-not-ignored files of the recorded work tree, as they are now."""
    if not workdir.is_dir():
        raise CannotRerun(f"the recorded work tree {workdir} does not exist, so there is no code to run")
    listing = _git(workdir, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listing.returncode != 0:
        raise CannotRerun(f"{workdir} is not a git work tree, so its files cannot be listed")
    for relative in sorted(set(filter(None, listing.stdout.split("\0")))):
        source = workdir / relative
        if source.is_symlink() or source.is_file():  # deleted files and submodule folders are skipped
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["git", "-C", str(cwd), *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:  # git missing or hanging: a finding, not a crash
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def _tail(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-STDERR_TAIL:]
