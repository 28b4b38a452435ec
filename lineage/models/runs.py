"""``store.runs.track(...)``: capture a training run and register its model version.

    with store.runs.track(model="churn", version="1.2.0", seed=2010) as run:
        train = run.input("customers_clean@v1.0", role="train")   # a path to the exact stored bytes
        feats = run.input("customer_features_values@2.1.0-customers_clean-v1.0")
        run.use_feature_set("customer_features@2.1.0")
        run.log_params(max_depth=4)
        ... fit with run.seed ...
        run.log_metrics(auc=0.81)
        run.set_artifact("model.pkl")

Inputs must be registered snapshots, or paths the run registers first, so training
reads immutable bytes: ``run.input`` returns a checked-out copy of the stored bytes,
never the original path. An input given as a path is registered as a snapshot
immediately, when ``run.input`` is called, and stays registered if the run later fails:
snapshots are immutable and audited, so a failed run does not delete them (its
``run.failed`` event lists them under ``registered_inputs``).

Bad values are refused when they are given, inside the block: ``log_params`` and
``log_metrics`` take JSON values with finite numbers, ``set_artifact`` an existing file
or folder. On success the model version is registered with its artifact, environment
and code reference. On an exception inside the block, or when the registration at the
end is refused, no model version is registered and an audited ``run.failed`` event
records what happened; the error is re-raised.

Under ``lineage reproduce --rerun`` (environment ``LINEAGE_REPRODUCE_OUT``), the same
script writes its artifact and metrics to that folder instead of registering them, and
``LINEAGE_REPRODUCE_SEED`` (the seed the model version recorded) replaces the script's
seed, so a script that trains with ``run.seed`` is re-run exactly as recorded.
"""

from __future__ import annotations

import json
import numbers
import os
import random
import shlex
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage.audit import append_event
from lineage.entities import ROLES
from lineage.errors import InvalidInputError, LineageError
from lineage.stored_text import check_text

if TYPE_CHECKING:
    from lineage.entities import ModelVersionInfo
    from lineage.store import Store

REPRODUCE_OUT = "LINEAGE_REPRODUCE_OUT"
REPRODUCE_SEED = "LINEAGE_REPRODUCE_SEED"
MAX_SEED = 2**32 - 1
"""The largest seed a run can record: numpy's legacy ``np.random.seed`` takes 0..2**32-1 and
``random.seed`` any int, so only this range is set exactly in both generators (and it fits
the BIGINT column with room to spare)."""


class Run:
    """One training run in progress; collects what the model version will record."""

    def __init__(self, store: Store, model: str, version: str, seed: int, workdir: Path) -> None:
        self._store = store
        self.model = model
        self.version = version
        self.seed = seed
        self.run_id = uuid.uuid4().hex
        self.workdir = workdir
        self.inputs: dict[str, str] = {}
        self.registered_inputs: list[str] = []
        """Snapshots this run registered from paths: they stay registered even if the run fails."""
        self.feature_set: str | None = None
        self.params: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self.artifact: Path | None = None
        self.model_version: ModelVersionInfo | None = None

    def input(self, ref_or_path: str | Path, *, role: str | None = None, dataset: str | None = None,
              version: str | None = None, stage: str = "raw") -> Path:
        """Use a registered snapshot (or register a path first); returns a path to its exact bytes.

        A path is registered as snapshot ``dataset@version`` right now, before training, so the
        run reads immutable bytes. That snapshot is permanent: it stays registered (and audited)
        even if the run fails afterwards, and the ``run.failed`` event names it.
        """
        from lineage.user_paths import given_path

        store = self._store
        text = str(given_path(ref_or_path, what="input", fix="give a snapshot ref or the path of a file to register"))
        if role is not None and role not in ROLES:
            raise InvalidInputError(f"unknown role '{role}': use one of {', '.join(ROLES)}")
        if Path(text).exists():
            if dataset is None:
                raise InvalidInputError(f"{text} is a path: give dataset= so the run can register it first")
            info = store.snapshots.add(text, dataset=dataset, version=version, stage=stage)
            if info.created and info.ref not in self.registered_inputs:
                self.registered_inputs.append(info.ref)
        else:
            info = store.snapshots.get(text)
        self.inputs[info.ref] = role or ("features" if info.stage == "features" else "train")
        suffix = ".csv" if info.format == "csv" else ("" if info.format == "parquet-dir" else ".parquet")
        destination = self.workdir / "inputs" / f"{info.dataset}@{info.version}{suffix}"
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            store.snapshots.checkout(info.ref, destination)
        return destination

    def use_feature_set(self, ref: str) -> None:
        """The feature-set version the model consumes (serving must compute the same)."""
        self.feature_set = self._store.features.get(ref).ref

    def log_params(self, **params: Any) -> None:
        """Record hyper-parameters; a value the registration could not store is refused now, in the block."""
        self.params.update(_json_values(params, "param"))

    def log_metrics(self, **metrics: Any) -> None:
        """Record metrics; a value the registration could not store (e.g. NaN) is refused now, in the block."""
        self.metrics.update(_json_values(metrics, "metric"))

    def set_artifact(self, path: str | Path) -> None:
        """The trained model's file or folder; it must exist now, so a wrong path fails inside the block."""
        from lineage.user_paths import given_path

        fix = "give the trained model's file or folder"
        artifact = given_path(path, what="artifact", fix=fix)
        if not artifact.exists():
            raise InvalidInputError(f"artifact {artifact} does not exist: write the model first, then {fix}")
        self.artifact = artifact

    def output_dir(self) -> Path:
        """A scratch folder for the artifact (removed after the run)."""
        folder = self.workdir / "output"
        folder.mkdir(exist_ok=True)
        return folder


class RunService:
    """``store.runs``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @contextmanager
    def track(self, *, model: str, version: str, seed: int, note: str = "") -> Iterator[Run]:
        """Seed, capture and register one training run (see the module docstring)."""
        from lineage.gitinfo import git_state
        from lineage.models.service import _split_model_ref

        store = self._store
        reproduce_out = os.environ.get(REPRODUCE_OUT)
        if not reproduce_out:
            store.require_writable()
        _check_text(model, "model", "a name such as 'churn'")  # before the ref is built: None is no model "None"
        _check_text(version, "version", "a semantic version such as '1.0.0'")
        _split_model_ref(f"{model}@{version}")  # bad names fail before any work
        check_text(note, what="note")
        # Before any event: a seed the run cannot set records nothing, not even run.failed. A reproduction
        # retrains a recorded run, so there an older seed outside 0..2**32-1 stays valid.
        seed = _whole_seed(seed) if reproduce_out else check_seed(seed)
        if reproduce_out and os.environ.get(REPRODUCE_SEED):
            seed = _reproduce_seed(os.environ[REPRODUCE_SEED])
        _set_seeds(seed)
        workdir = Path(tempfile.mkdtemp(prefix="lineage-run-"))
        run = Run(store, model, version, seed, workdir)
        try:
            try:
                yield run
            except BaseException as exc:
                if not reproduce_out:
                    self._record_failure(run, exc)
                raise
            if reproduce_out:
                if run.artifact is None:
                    raise InvalidInputError("the run set no artifact: call run.set_artifact(path) before it ends")
                _write_reproduction(Path(reproduce_out), run)
                return
            script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else Path.cwd()
            state = git_state(script)
            code = {"git_commit": state.commit, "git_dirty": state.dirty,
                    "entrypoint": _entrypoint(state.root), "workdir": state.root or str(Path.cwd())}
            environment = _environment_with_seeds(seed)
            try:  # a refusal here ends the run as surely as an exception in the block: audit it the same way
                if run.artifact is None:
                    raise InvalidInputError("the run set no artifact: call run.set_artifact(path) before it ends")
                run.model_version = store.models.register(
                    f"{model}@{version}", artifact=run.artifact, inputs=run.inputs, feature_set=run.feature_set,
                    seed=seed, params=run.params, metrics=run.metrics, code=code, environment=environment,
                    run_id=run.run_id, note=note,
                )
            except LineageError as exc:
                self._record_failure(run, exc)
                raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _record_failure(self, run: Run, exc: BaseException) -> None:
        """An audited trace of the failed run; nothing else is written."""
        store = self._store
        if store.read_only:
            return
        with store.db.session(write=True) as session:
            append_event(session, actor=store.actor, action="run.failed", subject=f"{run.model}@{run.version}",
                         payload={"run_id": run.run_id, "seed": run.seed, "inputs": run.inputs,
                                  "registered_inputs": run.registered_inputs,
                                  "error": f"{type(exc).__name__}: {exc}"[:2000]})


_SEED_RANGE = f"give a whole number from 0 to {MAX_SEED} (2**32-1: numpy's legacy generator takes no other seed, " \
              "so a tracked run could not set it as recorded), e.g. 2010"


def check_seed(seed: object) -> int:
    """``seed`` as a plain int if a run can set it exactly (0..MAX_SEED, see there), else InvalidInputError.

    Callers must use the returned value: a numpy integer is accepted but would not fit the
    database column or the JSON audit payload as it is.
    """
    whole = _whole_seed(seed)
    if not 0 <= whole <= MAX_SEED:
        raise InvalidInputError(f"seed {whole} is out of range: {_SEED_RANGE}")
    return whole


def _whole_seed(seed: object) -> int:
    """Any integer type (``int``, ``np.int64``...) as a plain int; bools and fractions are refused."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidInputError(f"seed {seed!r} is not a whole number: {_SEED_RANGE}")
    return int(seed)


def _check_text(value: object, what: str, example: str) -> None:
    """``model`` and ``version`` must be strings: ``str(None)`` would make a valid-looking name."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be {example}, not {value!r}: pass {what}= as a string")


def _json_values(values: dict[str, Any], what: str) -> dict[str, Any]:
    """``values`` as register will store them (JSON, finite numbers), each bad one refused by name.

    All are checked before any is kept, so a refused call leaves the run's record unchanged.
    """
    from lineage.models.service import _json_object

    stored: dict[str, Any] = {}
    for key, value in values.items():
        stored.update(_json_object({key: value}, f"{what} {key!r}"))
    return stored


def _set_seeds(seed: int) -> None:
    """Seed every generator we can reach; PYTHONHASHSEED only works at start-up, so it is recorded."""
    random.seed(seed)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return
    np.random.seed(seed % 2**32)  # a no-op for checked seeds; a reproduction of an older, larger one sets it as its run did


def _reproduce_seed(text: str) -> int:
    """The recorded seed a reproduction must train with (honoured only with LINEAGE_REPRODUCE_OUT)."""
    try:
        return int(text)
    except ValueError:
        raise InvalidInputError(f"{REPRODUCE_SEED}={text!r} is not an integer: give the recorded seed, e.g. 2010") from None


def _environment_with_seeds(seed: int) -> dict[str, Any]:
    from lineage import environment

    captured = environment.capture()
    captured["seeds"] = {"random": seed, "numpy": seed % 2**32,
                         "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED")}
    return captured


def _entrypoint(root: str) -> str:
    """The command that ran, relative to the repository root so it can be re-run elsewhere."""
    argv = list(sys.argv) or ["python"]
    script = Path(argv[0])
    if root and script.exists():
        with suppress(ValueError):
            argv[0] = script.resolve().relative_to(Path(root)).as_posix()
    return shlex.join(["python", *argv])


def _write_reproduction(folder: Path, run: Run) -> None:
    from lineage.artifacts import hash_artifact

    folder.mkdir(parents=True, exist_ok=True)
    assert run.artifact is not None
    result = {"artifact_sha256": hash_artifact(run.artifact), "metrics": run.metrics, "params": run.params,
              "inputs": run.inputs, "feature_set": run.feature_set, "seed": run.seed}
    (folder / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True, default=str))
