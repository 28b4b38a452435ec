"""``lineage reproduce REF [--rerun]``: can this model version be rebuilt, and if not, where does it break?

Checks, in the order a divergence is named: every input snapshot is registered and its
stored bytes still hash to what the model recorded (data); the feature-set version's
module still hashes to the registered code (features); the recorded commit exists in
the recorded repository and an entrypoint is known (code); the artifact's blob is intact
(artifact). The environment is compared with the current one and reported; it is named
as the divergence only when a re-run diverges. With ``rerun=True`` the recorded command
runs again in a clean folder (see rerun.py) and its artifact hash and metrics are
compared with the recorded ones.

A model built (directly, or through derived snapshots and materialisations) from a snapshot
whose bytes were purged (``lineage purge``) is ``not-reproducible: input purged``: its data
check fails naming the purged snapshot, its tombstone time, actor and reason.

Every reproduction is recorded as an audited ``model.reproduce`` event (unless the store
is read-only), so reports can show the last verdict and when it was reached.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage import environment
from lineage.audit import append_event, format_time
from lineage.errors import InvalidInputError, LineageError
from lineage.models.rerun import DEFAULT_TIMEOUT, UNVERIFIED, check_timeout, commit_exists, skipped
from lineage.models.rerun import rerun as run_again
from lineage.user_paths import given_path

if TYPE_CHECKING:
    from lineage.entities import ModelVersionInfo
    from lineage.graph import LineageGraph
    from lineage.store import Store

ACTION = "model.reproduce"
REPRODUCIBLE, METRICS_MATCH, INPUTS_VERIFIED, NOT_REPRODUCIBLE = (
    "reproducible", "metrics-match", "inputs-verified", "not-reproducible")
INPUT_PURGED = "input purged"
DIVERGENCE_ORDER = ("data", "features", "code", "artifact")  # then environment, training (from the re-run)


@dataclass(frozen=True)
class Check:
    """One thing reproduce looked at; ``detail`` names the ref, blob or commit."""

    name: str  # data | features | code | artifact | environment
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class ReproduceReport:
    """The verdict, the first point where the rebuild diverges, and the evidence."""

    ref: str
    verdict: str
    first_divergence: str | None
    checks: list[Check]
    environment_diff: dict[str, Any]
    rerun: dict[str, Any] | None
    at: datetime
    purged_inputs: list[dict[str, Any]] = field(default_factory=list)  # purged snapshots it was built from

    @property
    def ok(self) -> bool:
        return self.verdict != NOT_REPRODUCIBLE

    @property
    def summary(self) -> str:
        """The verdict, with its cause when the data it was built from was purged on purpose."""
        return f"{self.verdict}: {INPUT_PURGED}" if self.purged_inputs and not self.ok else self.verdict

    def divergence_detail(self) -> str:
        """Why the first divergence is one (the failing check, or what the re-run showed)."""
        if self.first_divergence is None:
            return ""
        failing = [c.detail for c in self.checks if c.name == self.first_divergence and not c.ok]
        if failing and self.first_divergence != "environment":
            return "; ".join(failing)
        run = self.rerun or {}
        if run.get("status") != "ran":
            return run.get("reason") or "the re-run did not complete"
        what = "artifact and metrics differ" if not run.get("metrics_match") else "artifact differs"
        if self.first_divergence == "environment":
            return f"{what} and the environment differs from the recorded one: {summarise_environment(self.environment_diff)}"
        return f"{what} with the same data, features, code and environment: training is nondeterministic"

    def to_json(self) -> dict[str, Any]:
        """The shape ``lineage reproduce --json`` prints (keys are stable)."""
        return {
            "ref": self.ref,
            "verdict": self.verdict,
            "summary": self.summary,
            "purged_inputs": self.purged_inputs,
            "first_divergence": self.first_divergence,
            "checks": [check.to_json() for check in self.checks],
            "environment_diff": self.environment_diff,
            "rerun": self.rerun,
            "at": format_time(self.at),
        }


def reproduce(store: Store, ref: str, *, rerun: bool = False, workdir: str | Path | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> ReproduceReport:
    """Verify what ``ref`` was built from and, with ``rerun``, build it again and compare.

    ``workdir`` (kept afterwards) holds the code and the output of the re-run; by default
    a temporary folder is used and removed. Raises NotFoundError for an unknown ref and
    InvalidInputError for a timeout that is not a positive, finite number of seconds or an
    empty work dir, before anything is checked or recorded.
    """
    check_timeout(timeout)
    if workdir is not None:
        given_path(workdir, what="work dir", fix="give a new or empty folder, or none for a temporary one")
    info = store.models.get(ref)
    folder = _empty_folder(workdir) if rerun and workdir is not None else None
    code_ok, why = commit_exists(str(info.code.get("workdir") or ""), str(info.code.get("git_commit") or ""))
    purged = purged_upstream(store, info)
    checks = [*check_data(store, info, purged), check_features(store, info), check_code(info, code_ok, why),
              check_artifact(store, info)]
    env_diff = environment.diff(info.environment, environment.capture())
    checks.append(Check("environment", environment.is_empty(env_diff),
                        "same as recorded" if environment.is_empty(env_diff)
                        else f"differs from the recorded one (not a divergence unless a re-run diverges): "
                             f"{summarise_environment(env_diff)}"))
    rerun_section = None
    if rerun:
        if purged:
            rerun_section = skipped(info, f"{INPUT_PURGED} ({', '.join(p['ref'] for p in purged)}): the data it was "
                                          "built from no longer exists")
        elif any(c.name == "data" and not c.ok for c in checks):
            rerun_section = skipped(info, "the input data does not verify, so a re-run cannot read the recorded bytes")
        else:
            rerun_section = _rerun_in(store, info, folder, timeout, code_ok)
    verdict, first = decide(checks, rerun_section)
    report = ReproduceReport(info.ref, verdict, first, checks, env_diff, rerun_section, datetime.now(UTC), purged)
    _record(store, report, info)
    return report


def decide(checks: list[Check], rerun: dict[str, Any] | None) -> tuple[str, str | None]:
    """The verdict and first divergence from the checks and the re-run (pure)."""
    for point in DIVERGENCE_ORDER:
        if any(c.name == point and not c.ok for c in checks):
            return NOT_REPRODUCIBLE, point
    if rerun is None:
        return INPUTS_VERIFIED, None
    if rerun.get("status") == "skipped":
        return NOT_REPRODUCIBLE, "code"
    if rerun.get("status") == "ran" and rerun.get("artifact_match"):
        return REPRODUCIBLE, None
    if rerun.get("status") == "ran" and rerun.get("metrics_match"):
        return METRICS_MATCH, None
    env_differs = any(c.name == "environment" and not c.ok for c in checks)
    return NOT_REPRODUCIBLE, "environment" if env_differs else "training"


def last_reproduce(store: Store, ref: str) -> dict[str, Any] | None:
    """The verdict of the most recent reproduction of ``ref``, with its time and actor; None if never run."""
    info = store.models.get(ref)
    events = store.audit.log(action=ACTION, subject=info.ref, newest_first=True, limit=1)
    if not events:
        return None
    event = events[0]
    return {"ref": info.ref, "verdict": event.payload.get("verdict"),
            "first_divergence": event.payload.get("first_divergence"), "rerun": event.payload.get("rerun"),
            "purged_inputs": event.payload.get("purged_inputs", []),
            "at": format_time(event.at), "actor": event.actor, "seq": event.seq}


# -- checks --------------------------------------------------------------------------------
def purged_upstream(store: Store, info: ModelVersionInfo) -> list[dict[str, Any]]:
    """Every purged snapshot ``info`` was built from: its inputs and, through trace, what they came from."""
    from lineage.graph import trace

    return purged_in(trace(store, info.ref))


def purged_in(graph: LineageGraph) -> list[dict[str, Any]]:
    """The purged snapshots of a trace: ref, stage, sha256 and the tombstone's at, by and reason (pure)."""
    return [{"ref": node.ref, "stage": node.stage, "sha256": node.sha256, **node.details["purged"]}
            for node in graph.nodes if node.kind == "snapshot" and node.details.get("purged")]


def check_data(store: Store, info: ModelVersionInfo, purged: list[dict[str, Any]] | None = None) -> list[Check]:
    """Each input is still registered under the recorded bytes, and those bytes verify.

    ``purged`` (from ``purged_upstream``) fails the check too: an input, or a snapshot an
    input was derived from, whose bytes were erased on purpose cannot feed a rebuild.
    """
    if not info.inputs:
        return [Check("data", False, f"{info.ref} records no input snapshots, so its data cannot be verified")]
    checks = []
    purged_by_ref = {p["ref"]: p for p in purged or []}
    for item in info.inputs:
        label = f"{item.ref} ({item.role}, sha256 {item.sha256})"
        snapshot = store.snapshots.find(item.ref)
        if snapshot is None:
            checks.append(Check("data", False, f"{label} is no longer registered: restore the store's metadata"))
            continue
        if snapshot.sha256 != item.sha256:
            checks.append(Check("data", False, f"{label} now names sha256 {snapshot.sha256}"))
            continue
        if snapshot.purged is not None:
            purged_by_ref.pop(snapshot.ref, None)
            checks.append(Check("data", False, f"{label}: {INPUT_PURGED}: bytes {snapshot.purged.describe()}"))
            continue
        result = store.snapshots.verify(item.ref)[0]
        if result.ok:
            checks.append(Check("data", True, f"{label}: stored bytes verified"))
        else:
            checks.append(Check("data", False, f"{label}: {result.problem}: restore the blob from a backup or "
                                               "register the same file again"))
    for upstream in purged_by_ref.values():
        checks.append(Check("data", False, f"{upstream['ref']} ({upstream['stage']}, upstream of the inputs): "
                                           f"{INPUT_PURGED}: bytes purged on {upstream['at']} by {upstream['by']}: "
                                           f"{upstream['reason']}; the inputs can no longer be rebuilt from it"))
    return checks


def check_features(store: Store, info: ModelVersionInfo) -> Check:
    """The feature-set version exists and its module still hashes to the registered code."""
    if not info.feature_set:
        return Check("features", True, "no feature-set version recorded")
    try:
        version = store.features.get(info.feature_set)
        with _import_root(version.module, version.module_path):
            store.features.load_code(version)
    except LineageError as exc:
        return Check("features", False, f"{info.feature_set}: {exc}")
    return Check("features", True, f"{info.feature_set}: the code of its {len(version.features)} features matches "
                                   f"the registered hashes ({version.module or version.module_path})")


def check_code(info: ModelVersionInfo, exists: bool, why: str) -> Check:
    """The recorded commit is in the recorded repository (``commit_exists``) and an entrypoint is known."""
    code = info.code
    commit, workdir = str(code.get("git_commit") or ""), str(code.get("workdir") or "")
    problems = []
    if not exists:
        problems.append(f"{why}: fetch or restore it, or train through store.runs.track in a git work tree")
    if not str(code.get("entrypoint") or "").strip():
        problems.append("no entrypoint was recorded, so the training command is unknown: train through store.runs.track")
    if problems:
        return Check("code", False, "; ".join(problems))
    state = UNVERIFIED if code.get("git_dirty") else "clean tree"
    return Check("code", True, f"commit {commit[:12]} exists in {workdir}; {state}; entrypoint: {code['entrypoint']}")


def check_artifact(store: Store, info: ModelVersionInfo) -> Check:
    """The artifact blob (and, for a folder, each member blob) still hashes to its key."""
    artifact = info.artifact
    digest = str(artifact.get("sha256") or "")
    problems = [p for p in [store.objects.verify(digest)] + [store.objects.verify(f["sha256"])
                                                             for f in artifact.get("files") or []] if p]
    if problems:
        return Check("artifact", False, f"artifact {artifact.get('name')} (sha256 {digest}): {'; '.join(problems)}: "
                                        "restore the blob from a backup, or re-run to rebuild it")
    return Check("artifact", True, f"artifact {artifact.get('name')} (sha256 {digest}) verified")


def summarise_environment(diff: dict[str, Any]) -> str:
    """One line: interpreter fields, then package counts with the first few names."""
    if environment.is_empty(diff):
        return "same as recorded"
    parts = [f"{key} {v['from']} -> {v['to']}" for key, v in diff["fields"].items()]
    for kind in ("changed", "added", "removed"):
        names = list(diff[kind])
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            parts.append(f"{len(names)} package(s) {kind}: {shown}")
    return "; ".join(parts)


# -- edges -----------------------------------------------------------------------------------
@contextmanager
def _import_root(module: str, module_path: str) -> Iterator[None]:
    """Put the folder ``module`` imports from on sys.path while its code is checked.

    A feature module that imports its own package (``sample_data.features…``) then
    loads from any working directory, not only from the checkout it was registered in.
    """
    import sys

    parts = module.split(".") if module else []
    path = Path(module_path) if module_path else None
    root = None
    if parts and path is not None and path.with_suffix("").parts[-len(parts):] == tuple(parts):
        root = str(path.parents[len(parts) - 1])
    if root is None or root in sys.path:
        yield
        return
    sys.path.insert(0, root)
    try:
        yield
    finally:
        if root in sys.path:
            sys.path.remove(root)


def _empty_folder(workdir: str | Path) -> Path:
    """The kept work dir, refused before any work unless it is new or empty."""
    folder = Path(workdir).expanduser().absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInputError(f"work dir {folder} is not an empty folder: give a new or empty folder")
    return folder


def _rerun_in(store: Store, info: ModelVersionInfo, folder: Path | None, timeout: float,
              code_ok: bool) -> dict[str, Any]:
    if folder is None:
        scratch = Path(tempfile.mkdtemp(prefix="lineage-reproduce-"))
        try:
            return run_again(store, info, workdir=scratch, timeout=timeout, commit_ok=code_ok)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    section = run_again(store, info, workdir=folder, timeout=timeout, commit_ok=code_ok)
    return {**section, "workdir": str(folder)}


def _record(store: Store, report: ReproduceReport, info: ModelVersionInfo) -> None:
    """The audited trace of this reproduction (skipped on a read-only store)."""
    if store.read_only:
        return
    run = report.rerun or {}
    payload = {
        "verdict": report.verdict, "first_divergence": report.first_divergence, "rerun": report.rerun is not None,
        "failed_checks": sorted({c.name for c in report.checks if not c.ok and c.name != "environment"}),
        "environment_differs": not environment.is_empty(report.environment_diff),
        "artifact_sha256": info.artifact.get("sha256"),
        "rerun_artifact_sha256": (run.get("artifact_sha256") or {}).get("rerun"),
        **({"purged_inputs": [p["ref"] for p in report.purged_inputs]} if report.purged_inputs else {}),
    }
    with store.db.session(write=True) as session:
        append_event(session, actor=store.actor, action=ACTION, subject=report.ref, payload=payload)

