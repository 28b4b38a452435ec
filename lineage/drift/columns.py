"""Turning Arrow columns into what the statistics need, one batch at a time, mergeably.

A column is *numeric* (ints, floats; datetimes and dates as their integer ticks) or
*categorical* (strings, dictionaries, booleans). Each batch updates a partial result per
column; partials of different batches or partitions merge by adding, so a large dataset
can be cut anywhere and reduced in any order.

Missing values: Arrow nulls and float NaN both count as nulls (pandas, and therefore
Evidently, cannot tell them apart); ±inf is counted apart as ``non_finite`` and left out
of every distribution statistic, as Evidently drops it too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lineage.drift.sketch import LogSketch
from lineage.drift.stats import KS_EXACT_MAX_N

SMALL_DISTINCT_CAP = 1000
"""Streaming keeps exact value counts of a numeric column until it has more distinct values than this."""
COUNTING_MIN_VALUES = KS_EXACT_MAX_N
"""Above this many values an integer column may be counted instead of sorted (where ``ks_test`` stops being exact)."""
COUNTING_MAX_WIDTH = 1 << 22
"""Widest integer range counted (a 32 MiB tally); wider columns are sorted."""


def kind_of(data_type: pa.DataType) -> str | None:
    """numeric, categorical, or None when a column cannot be profiled (lists, structs, binary)."""
    if pa.types.is_dictionary(data_type):
        return "categorical"
    if pa.types.is_boolean(data_type) or pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "categorical"
    if pa.types.is_string_view(data_type):
        return "categorical"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return "numeric"
    if pa.types.is_timestamp(data_type) or pa.types.is_date(data_type) or pa.types.is_duration(data_type):
        return "numeric"
    if pa.types.is_decimal(data_type):
        return "numeric"
    return None


def logical_dtype(data_type: pa.DataType) -> str:
    """The feature-schema dtype a column's Arrow type stands for (``int``, ``category``...), or the Arrow name."""
    if pa.types.is_dictionary(data_type):
        return "category"
    if pa.types.is_boolean(data_type):
        return "bool"
    if pa.types.is_integer(data_type):
        return "int"
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "float"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return "string"
    if pa.types.is_timestamp(data_type):
        return "datetime"
    if pa.types.is_date(data_type):
        return "date"
    return str(data_type)


def numeric_chunk(chunk: pa.Array) -> tuple[np.ndarray, int, int]:
    """(finite values as float64, nulls including NaN, ±inf count) of one Arrow array."""
    data_type = chunk.type
    if pa.types.is_timestamp(data_type) or pa.types.is_duration(data_type):
        chunk = chunk.cast(pa.int64())
    elif pa.types.is_date(data_type):
        chunk = chunk.cast(pa.int32() if pa.types.is_date32(data_type) else pa.int64())
    elif pa.types.is_decimal(data_type):
        chunk = chunk.cast(pa.float64())
    nulls = chunk.null_count
    if nulls:
        chunk = chunk.drop_null()
    values = chunk.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if pa.types.is_floating(chunk.type):
        finite = np.isfinite(values)
        if not finite.all():
            nan = int(np.isnan(values).sum())
            nonfinite = int(values.size - finite.sum()) - nan
            return values[finite], nulls + nan, nonfinite
    return values, nulls, 0


def category_chunk(chunk: pa.Array) -> tuple[dict[Any, int], int]:
    """(value -> count, nulls) of one Arrow array; NaN counts as null."""
    nulls = chunk.null_count
    counts: dict[Any, int] = {}
    if pa.types.is_dictionary(chunk.type):
        indices = chunk.indices
        if nulls:
            indices = indices.drop_null()
        tally = np.bincount(indices.to_numpy(zero_copy_only=False), minlength=len(chunk.dictionary))
        for value, count in zip(chunk.dictionary.to_pylist(), tally.tolist(), strict=True):
            if count:
                counts[value] = counts.get(value, 0) + count
        return counts, nulls
    for item in pc.value_counts(chunk).to_pylist():
        value, count = item["values"], item["counts"]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if value is not None:
                nulls += count
            continue
        counts[value] = count
    return counts, nulls


@dataclass
class NumericPartial:
    """Everything a profile or a drift test needs from a numeric column, mergeable.

    Exact mode keeps the finite values (``chunks``); streaming mode keeps a ``sketch``
    instead. Count, nulls, min, max, mean and the sum of squared deviations are exact in
    both (merged with Chan's parallel formula).
    """

    integer: bool = True
    rows: int = 0
    nulls: int = 0
    non_finite: int = 0
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    chunks: list[np.ndarray] | None = field(default_factory=list)
    sketch: LogSketch | None = None
    small: dict[float, int] | None = field(default_factory=dict)
    below_min: int = 0
    above_max: int = 0
    not_allowed: int = 0

    @classmethod
    def streaming(cls, sketch: LogSketch) -> NumericPartial:
        return cls(chunks=None, sketch=sketch)

    def add(self, chunk: pa.Array, contract: Contract | None = None) -> None:
        values, nulls, non_finite = numeric_chunk(chunk)
        self.integer = self.integer and pa.types.is_integer(chunk.type) and chunk.null_count == 0
        self.rows += len(chunk)
        self.nulls += nulls
        self.non_finite += non_finite
        if contract is not None:
            self.below_min += contract.count_below(values)
            self.above_max += contract.count_above(values)
            self.not_allowed += contract.count_not_allowed(values)
        if values.size == 0:
            return
        mean = float(values.mean())
        deviations = values - mean
        other = NumericPartial(n=values.size, mean=mean, m2=float(np.square(deviations, out=deviations).sum()),
                               min=float(values.min()), max=float(values.max()), chunks=None, small=None)
        self._merge_moments(other)
        if self.chunks is not None:
            self.chunks.append(values)
        if self.sketch is not None:
            self.sketch.add(values)
        if self.small is not None and self.chunks is None:
            keys, counts = np.unique(values, return_counts=True)
            for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
                self.small[key] = self.small.get(key, 0) + count
            if len(self.small) > SMALL_DISTINCT_CAP:
                self.small = None

    def merge(self, other: NumericPartial) -> None:
        """Fold another partial of the same column in (another batch or partition)."""
        self.integer = self.integer and other.integer
        self.rows += other.rows
        self.nulls += other.nulls
        self.non_finite += other.non_finite
        self.below_min += other.below_min
        self.above_max += other.above_max
        self.not_allowed += other.not_allowed
        self._merge_moments(other)
        if self.chunks is not None and other.chunks is not None:
            self.chunks.extend(other.chunks)
        if self.sketch is not None and other.sketch is not None:
            self.sketch.merge(other.sketch)
        if self.small is not None and other.small is not None:
            for key, count in other.small.items():
                self.small[key] = self.small.get(key, 0) + count
            if len(self.small) > SMALL_DISTINCT_CAP:
                self.small = None
        else:
            self.small = None

    def _merge_moments(self, other: NumericPartial) -> None:
        if other.n == 0:
            return
        total = self.n + other.n
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.n * other.n / total
        self.mean += delta * other.n / total
        self.n = total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0), the one Wasserstein is normalised by."""
        return math.sqrt(self.m2 / self.n) if self.n else math.nan

    def counted_values(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(distinct values ascending, their counts) by counting, or None when sorting is the way.

        An integer column whose range is no wider than its number of values (ages, counts,
        codes, small categories coded as ints) is tallied with one ``bincount`` per chunk:
        linear, where sorting a million values costs ~15x more. Every statistic takes
        weighted data, so the result is the same distribution. Only above
        ``COUNTING_MIN_VALUES``: at or below it SciPy's exact KS p-value runs on the raw values.
        """
        if self.chunks is None or not self.integer or self.n <= COUNTING_MIN_VALUES:
            return None
        width = self.max - self.min + 1
        if width > min(self.n, COUNTING_MAX_WIDTH):
            return None
        chunks, self.chunks = self.chunks, []
        lo = self.min
        tally = np.zeros(int(width), dtype=np.int64)
        for chunk in chunks:
            tally += np.bincount((chunk - lo).astype(np.intp), minlength=tally.size)
        present = np.flatnonzero(tally)
        values, counts = present.astype(np.float64) + lo, tally[present]
        # moments from the counts, so they do not depend on how the column was chunked
        self.mean = float(np.dot(values, counts) / self.n)
        self.m2 = float(np.dot(np.square(values - self.mean), counts))
        return values, counts

    def sorted_values(self) -> np.ndarray:
        """All finite values, sorted (exact mode); the chunks are released."""
        if self.chunks is None:
            raise ValueError("a streaming partial keeps no values")
        chunks, self.chunks = self.chunks, []
        if len(chunks) == 1:
            values = np.sort(chunks[0])  # one copy (Arrow buffers are read-only)
        else:
            values = np.concatenate(chunks) if chunks else np.zeros(0)
            values.sort()
        if values.size:  # moments from the whole column, so they do not depend on how it was chunked
            self.mean = float(values.mean())
            deviations = values - self.mean
            self.m2 = float(np.square(deviations, out=deviations).sum())
        return values


@dataclass
class CategoricalPartial:
    """Exact category counts of a column (memory grows with the number of distinct values)."""

    rows: int = 0
    nulls: int = 0
    counts: dict[Any, int] = field(default_factory=dict)

    def add(self, chunk: pa.Array, contract: Contract | None = None) -> None:
        counts, nulls = category_chunk(chunk)
        self.rows += len(chunk)
        self.nulls += nulls
        for key, count in counts.items():
            self.counts[key] = self.counts.get(key, 0) + count

    def merge(self, other: CategoricalPartial) -> None:
        self.rows += other.rows
        self.nulls += other.nulls
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def not_allowed(self, allowed: list[Any] | None) -> int:
        if allowed is None:
            return 0
        accepted = set(allowed)
        return sum(count for key, count in self.counts.items() if key not in accepted)


@dataclass(frozen=True)
class Contract:
    """A feature's declared range and allowed values, counted batch by batch (exact in both modes)."""

    min: float | None = None
    max: float | None = None
    allowed: tuple[Any, ...] | None = None

    def count_below(self, values: np.ndarray) -> int:
        return 0 if self.min is None else int(np.count_nonzero(values < self.min))

    def count_above(self, values: np.ndarray) -> int:
        return 0 if self.max is None else int(np.count_nonzero(values > self.max))

    def count_not_allowed(self, values: np.ndarray) -> int:
        if self.allowed is None:
            return 0
        return int(np.count_nonzero(~np.isin(values, np.asarray(self.allowed, dtype=np.float64))))
