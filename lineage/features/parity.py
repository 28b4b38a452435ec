"""Offline/online parity: the batch and the one-record paths must give the same values.

Training-serving skew starts when serving computes features with other code than
training. The definitions already share one code path; this check proves it on real
rows, and catches any online implementation (a service, a hand-written port) that
drifts from the batch one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lineage.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from lineage.features.definition import FeatureSet
    from lineage.features.schema import FeatureSetSchema
    from lineage.store import Store

OnlineFunction = Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class Mismatch:
    entity: Any
    feature: str
    offline: Any
    online: Any

    def to_json(self) -> dict[str, Any]:
        return {"entity": _plain(self.entity), "feature": self.feature,
                "offline": _plain(self.offline), "online": _plain(self.online)}


@dataclass(frozen=True)
class ParityReport:
    feature_set: str
    snapshot: str
    rows_checked: int
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def to_json(self) -> dict[str, Any]:
        return {"feature_set": self.feature_set, "snapshot": self.snapshot, "ok": self.ok,
                "rows_checked": self.rows_checked, "mismatch_count": len(self.mismatches),
                "mismatches": [m.to_json() for m in self.mismatches]}


def check_parity(
    feature_set: FeatureSet, schema: FeatureSetSchema, inputs: pa.Table, *, sample: int = 200, seed: int = 2010,
    online: OnlineFunction | None = None, rel_tol: float = 1e-9,
) -> tuple[int, list[Mismatch]]:
    """Compute ``sample`` random rows both ways and list every differing (entity, feature)."""
    import numpy as np

    require_sample(sample)
    _require_tolerance(rel_tol)
    rows = min(sample, inputs.num_rows)
    picked = np.sort(np.random.default_rng(seed).choice(inputs.num_rows, size=rows, replace=False))
    subset = inputs.take(picked)
    offline = feature_set.compute_batch(subset, schema)
    online = online or (lambda record: feature_set.compute_online(record, schema))
    entity = schema.entity
    by_entity = {row[entity]: row for row in offline.to_pylist()} if entity else None
    mismatches: list[Mismatch] = []
    for position, record in enumerate(subset.to_pylist()):
        result = online(record)
        key = record.get(entity) if entity else position
        expected = by_entity[key] if by_entity is not None else offline.slice(position, 1).to_pylist()[0]
        for name in schema.features:
            got = result.get(name, _MISSING)
            if not _same(expected[name], got, rel_tol):
                mismatches.append(Mismatch(key, name, expected[name], None if got is _MISSING else got))
    return rows, mismatches


def parity(store: Store, feature_ref: str, snapshot_ref: str, *, sample: int = 200,
           online: OnlineFunction | None = None) -> ParityReport:
    """Parity of a registered version on a registered snapshot's rows."""
    from lineage.snapshot_data import read_table

    require_sample(sample)
    info = store.features.get(feature_ref)
    schema, feature_set = store.features.load_code(info)
    source = store.snapshots.get(snapshot_ref)
    checked, mismatches = check_parity(feature_set, schema, read_table(store, source), sample=sample, online=online)
    return ParityReport(info.ref, source.ref, checked, mismatches)


_MISSING = object()


def require_sample(sample: object) -> int:
    """The sample size must be a whole number of rows, at least one.

    Zero would check nothing and still report "parity ok", letting a pipeline gate pass;
    a negative size is meaningless.
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise InvalidInputError(
            f"sample size {sample!r} is not a positive number of rows: pass a whole number of 1 or more, e.g. --sample 200"
        )
    return sample


def _require_tolerance(rel_tol: object) -> float:
    """A relative tolerance must be a finite number >= 0 (nan would make every float compare unequal)."""
    if isinstance(rel_tol, bool) or not isinstance(rel_tol, int | float) or not math.isfinite(rel_tol) or rel_tol < 0:
        raise InvalidInputError(f"rel_tol {rel_tol!r} is not a finite number >= 0: pass e.g. rel_tol=1e-9")
    return float(rel_tol)


def _same(a: Any, b: Any, rel_tol: float) -> bool:
    if b is _MISSING:
        return False
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        try:
            fa, fb = float(a), float(b)
        except (TypeError, ValueError):
            return False
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return math.isclose(fa, fb, rel_tol=rel_tol, abs_tol=1e-12)
    return type(a) is type(b) and bool(a == b)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
