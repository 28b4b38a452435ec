"""Registering a taken ``model@version`` again: the same record is a no-op, any other is refused.

A version names one training run forever (invariant 2). Re-running the same
registration (a script run twice, a retried CI job) returns the existing version; the
same artifact with another seed, params, metrics, inputs, feature-set version or code
reference is another run, and storing nothing while answering "already registered"
would drop that metadata silently, so it is refused naming the first field that
differs.

Not compared, on purpose: the captured environment (a re-run in a fresh virtualenv
differs in unrelated packages, and ``lineage reproduce`` reports environment drift
where it matters), the run id (new for every run), the note, the work-tree location
(the same commit checked out elsewhere is the same code) and the git dirty flag (an
untracked output such as a report written into the work tree flips it, while the
commit, the entrypoint and the artifact bytes stay the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineage.audit import canonical_json
from lineage.entities import ModelVersionInfo
from lineage.errors import ImmutableVersionError


@dataclass(frozen=True)
class RegisteredFields:
    """What a registration records besides the artifact and environment, in comparable form."""

    seed: int | None
    params: str  # canonical JSON
    metrics: str  # canonical JSON
    inputs: tuple[str, ...]  # "dataset@version:role", in the order given
    feature_set: str  # "name@version" or ""
    git_commit: str
    entrypoint: str

    @classmethod
    def of(cls, info: ModelVersionInfo) -> RegisteredFields:
        """The fields the stored version ``info`` holds."""
        return cls.given(seed=info.seed, params=info.params, metrics=info.metrics,
                         inputs=[f"{i.ref}:{i.role}" for i in info.inputs], feature_set=info.feature_set,
                         code=info.code)

    @classmethod
    def given(cls, *, seed: int | None, params: Mapping[str, Any], metrics: Mapping[str, Any], inputs: list[str],
              feature_set: str, code: Mapping[str, Any]) -> RegisteredFields:
        """The fields a registration would record (code normalised the way the row stores it)."""
        return cls(seed, canonical_json(dict(params)), canonical_json(dict(metrics)), tuple(inputs), feature_set,
                   str(code.get("git_commit") or ""), str(code.get("entrypoint") or ""))


def first_difference(recorded: RegisteredFields, given: RegisteredFields) -> tuple[str, str, str] | None:
    """(field, recorded text, given text) of the first field that differs, None when all agree (pure).

    Inputs are compared as a set: the order snapshots were named in does not change the run.
    """
    pairs = [
        ("seed", _text(recorded.seed), _text(given.seed)),
        ("params", recorded.params, given.params),
        ("metrics", recorded.metrics, given.metrics),
        ("inputs", ", ".join(recorded.inputs) or "none", ", ".join(given.inputs) or "none"),
        ("feature set", recorded.feature_set or "none", given.feature_set or "none"),
        ("git commit", recorded.git_commit or "none", given.git_commit or "none"),
        ("entrypoint", repr(recorded.entrypoint), repr(given.entrypoint)),
    ]
    for name, before, after in pairs:
        same = set(recorded.inputs) == set(given.inputs) if name == "inputs" else before == after
        if not same:
            return name, before, after
    return None


def refuse_changes(ref: str, recorded: RegisteredFields, given: RegisteredFields) -> None:
    """Raise ImmutableVersionError naming the first differing field; return when nothing differs."""
    difference = first_difference(recorded, given)
    if difference is not None:
        name, before, after = difference
        raise ImmutableVersionError(f"{ref} is already registered with {name} {before} (given {after}): "
                                    "nothing changed; register a new version")


def _text(value: int | None) -> str:
    return "none" if value is None else str(value)

