"""Column profiles: the per-snapshot summary stored with it, so pages draw charts without rescanning.

For every column: rows, nulls, distinct values, min, max, mean, std (population), the
1/5/25/50/75/95/99 % quantiles and a histogram — numeric columns on 20 equal-width bins
between min and max (NumPy's [a, b) rule, the last bin closed), categorical columns as the
top 50 categories by count plus an ``other`` bucket.

Exact by default. With ``streaming=True`` the values are not kept: counts, nulls, min,
max, mean and std stay exact, and quantiles and histograms come from a
:class:`~lineage.drift.sketch.LogSketch` (each within α = 0.1 % of its distance from the
column's centre; see docs/drift.md), unless the column has at most 1,000 distinct values,
which are then counted exactly. :class:`ProfileAccumulator` is the mergeable partial.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from lineage.drift import stats
from lineage.drift.columns import CategoricalPartial, Contract, NumericPartial, kind_of
from lineage.drift.sketch import LogSketch
from lineage.drift.source import open_source
from lineage.errors import InvalidInputError

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
QUANTILE_KEYS = ("p01", "p05", "p25", "p50", "p75", "p95", "p99")
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 50
PROFILE_VERSION = 1


@dataclass(frozen=True)
class ColumnProfile:
    """One column's summary; ``to_json`` is what gets stored, ``from_json`` reads it back."""

    name: str
    kind: str
    dtype: str
    count: int
    nulls: int
    non_finite: int
    distinct: int | None
    distinct_exact: bool
    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    quantiles: dict[str, float] | None
    histogram: dict[str, Any]
    exact: bool
    quantile_error: float | None = None
    """Streaming only: every quantile is within this of the exact one (α · max|x - c| + tiny; docs/drift.md)."""

    @property
    def null_rate(self) -> float:
        return self.nulls / self.count if self.count else math.nan

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable, stable keys (NaN becomes null)."""
        return {"version": PROFILE_VERSION, **{k: _clean(v) for k, v in asdict(self).items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ColumnProfile:
        fields = {k: v for k, v in data.items() if k != "version"}
        if fields.get("kind") == "categorical":
            fields["histogram"] = {**fields["histogram"],
                                   "top": [tuple(pair) for pair in fields["histogram"]["top"]]}
        return cls(**fields)


class ProfileAccumulator:
    """Mergeable partial profiles of a set of columns.

    ``update`` folds in a batch, ``merge`` another accumulator of the same columns (another
    partition), ``result`` builds the profiles. In streaming mode every numeric column's
    sketch is centred on the median of the first batch seen; partitions processed in
    parallel must share those centres: build them with ``centers=first.centers``.
    """

    def __init__(self, schema: pa.Schema, columns: Sequence[str], *, streaming: bool = False,
                 centers: Mapping[str, LogSketch] | None = None,
                 contracts: Mapping[str, Contract] | None = None,
                 kinds: Mapping[str, str] | None = None) -> None:
        self.streaming = streaming
        self.dtypes = {name: str(schema.field(name).type) for name in columns}
        self.kinds: dict[str, str] = {}
        for name in columns:
            kind = kind_of(schema.field(name).type)
            if kind is None:
                raise InvalidInputError(
                    f"column '{name}' has type {schema.field(name).type}, which cannot be profiled: leave it out of columns"
                )
            self.kinds[name] = (kinds or {}).get(name, kind)
        self.contracts = dict(contracts or {})
        self._templates = {name: _empty_sketch(s) for name, s in (centers or {}).items()}
        self.partials: dict[str, NumericPartial | CategoricalPartial] = {}

    @property
    def rows(self) -> int:
        """Rows seen so far (every column sees every row)."""
        return max((p.rows for p in self.partials.values()), default=0)

    @property
    def centers(self) -> dict[str, LogSketch]:
        """Empty sketches fixing each numeric column's grid, for accumulators of other partitions."""
        return {name: _empty_sketch(p.sketch) for name, p in self.partials.items()
                if isinstance(p, NumericPartial) and p.sketch is not None}

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        for name, kind in self.kinds.items():
            column = batch.column(name)
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            partial = self.partials.get(name)
            for chunk in chunks:
                if partial is None:
                    partial = self.partials[name] = self._new_partial(name, kind, chunk)
                partial.add(chunk, self.contracts.get(name))

    def merge(self, other: ProfileAccumulator) -> None:
        for name, partial in other.partials.items():
            if name in self.partials:
                self.partials[name].merge(partial)  # type: ignore[arg-type]
            else:
                self.partials[name] = partial

    def partial(self, name: str) -> NumericPartial | CategoricalPartial:
        """The partial of a column, empty when no batch was seen."""
        if name not in self.partials:
            if self.kinds[name] == "categorical":
                return CategoricalPartial()
            sketch = self._templates.get(name) or LogSketch(center=0.0, tiny=1e-12)
            return NumericPartial.streaming(sketch) if self.streaming else NumericPartial()
        return self.partials[name]

    def result(self) -> dict[str, ColumnProfile]:
        return {name: build_profile(name, self.dtypes[name], self.partial(name)) for name in self.kinds}

    def _new_partial(self, name: str, kind: str, chunk: pa.Array) -> NumericPartial | CategoricalPartial:
        if kind == "categorical":
            return CategoricalPartial()
        if not self.streaming:
            return NumericPartial()
        sketch = self._templates.get(name)
        if sketch is None:
            from lineage.drift.columns import numeric_chunk

            sketch = LogSketch.around(numeric_chunk(chunk)[0])
            self._templates[name] = _empty_sketch(sketch)
        return NumericPartial.streaming(_empty_sketch(sketch))


def profile_table(data: Any, *, columns: Sequence[str] | None = None, streaming: bool = False) -> dict[str, ColumnProfile]:
    """Profile every (or the given) column of a table, DataFrame, Parquet path or batch iterable.

    Exact by default (the values of one column at a time are sorted in memory); with
    ``streaming=True`` Parquet is read batch by batch and memory stays bounded.
    """
    source = open_source(data, label="data")
    names = list(columns) if columns is not None else [f.name for f in source.schema if kind_of(f.type)]
    missing = [name for name in names if name not in source.schema.names]
    if missing:
        raise InvalidInputError(f"column(s) {', '.join(missing)} not in the data: pick from {', '.join(source.schema.names)}")
    accumulator = ProfileAccumulator(source.schema, names, streaming=streaming)
    batches: Iterable[Any] = source.batches(names) if streaming else [source.table(names)]
    for batch in batches:
        accumulator.update(batch)
    return accumulator.result()


def weighted_values(partial: NumericPartial) -> stats.Weighted:
    """The column as weighted sorted data: exact values, exact small counts, or sketch buckets."""
    if partial.chunks is not None:
        counted = partial.counted_values()
        if counted is not None:
            return stats.weighted(*counted)
        return stats.weighted(partial.sorted_values())
    if partial.small is not None:
        keys = np.array(sorted(partial.small), dtype=np.float64)
        return stats.weighted(keys, np.array([partial.small[k] for k in keys.tolist()], dtype=np.int64))
    assert partial.sketch is not None
    values, counts = partial.sketch.buckets()
    if values.size:
        values = np.clip(values, partial.min, partial.max)  # never outside the exact range
    return stats.weighted(values, counts)


def is_exact(partial: NumericPartial) -> bool:
    return partial.chunks is not None or partial.small is not None


def build_profile(name: str, dtype: str, partial: NumericPartial | CategoricalPartial,
                  data: stats.Weighted | None = None) -> ColumnProfile:
    """Finish a partial into a profile (``data``: the column's weighted values when already built)."""
    if isinstance(partial, CategoricalPartial):
        return _categorical_profile(name, dtype, partial)
    exact = is_exact(partial)
    data = data if data is not None else weighted_values(partial)
    if partial.n == 0:
        return ColumnProfile(name, "numeric", dtype, partial.rows, partial.nulls, partial.non_finite, 0, True,
                             None, None, None, None, None, {"edges": [], "counts": []}, exact)
    distinct = stats.distinct_count(data.values) if exact else None
    edges = profile_edges(partial.min, partial.max)
    counts = stats.histogram_counts(data, edges)
    sketch = partial.sketch
    error = None if exact or sketch is None else sketch.alpha * max(abs(partial.max - sketch.center),
                                                                    abs(partial.min - sketch.center)) + sketch.tiny
    return ColumnProfile(
        name=name, kind="numeric", dtype=dtype, count=partial.rows, nulls=partial.nulls,
        non_finite=partial.non_finite, distinct=distinct, distinct_exact=exact,
        min=partial.min, max=partial.max, mean=partial.mean, std=partial.std,
        quantiles=dict(zip(QUANTILE_KEYS, stats.quantiles(data, QUANTILES), strict=True)),
        histogram={"edges": edges.tolist(), "counts": counts.tolist()}, exact=exact, quantile_error=error,
    )


def profile_edges(lo: float, hi: float) -> np.ndarray:
    """The fixed profile grid: 20 equal bins on [min, max] (one unit-wide bin for a constant)."""
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5])
    return np.linspace(lo, hi, HISTOGRAM_BINS + 1)


def _categorical_profile(name: str, dtype: str, partial: CategoricalPartial) -> ColumnProfile:
    ranked = sorted(partial.counts.items(), key=lambda item: (-item[1], repr(item[0])))
    top = ranked[:TOP_CATEGORIES]
    rest = ranked[TOP_CATEGORIES:]
    return ColumnProfile(
        name=name, kind="categorical", dtype=dtype, count=partial.rows, nulls=partial.nulls, non_finite=0,
        distinct=len(partial.counts), distinct_exact=True, min=None, max=None, mean=None, std=None, quantiles=None,
        histogram={"top": [(k, c) for k, c in top], "other": sum(c for _, c in rest), "other_distinct": len(rest)},
        exact=True,
    )


def _empty_sketch(sketch: LogSketch) -> LogSketch:
    return LogSketch(center=sketch.center, tiny=sketch.tiny, alpha=sketch.alpha)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value
