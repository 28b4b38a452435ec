"""Pure drift statistics: numbers in, numbers out, no Arrow, no I/O.

Every numeric statistic works on *weighted sorted data*: ascending values and, optionally,
how many times each occurs. Exact mode passes the sorted column itself (weights of one);
streaming mode passes sketch buckets (representative value, count). One code path thus
serves both, and each column is sorted once and shared by KS, Wasserstein, PSI and the
quantiles (sorting is most of the cost; SciPy sorts again in every call).

The default-test numbers follow Evidently 0.7 (see docs/drift.md): Sturges bins on the
union, natural-log Jensen–Shannon on unsmoothed shares, chi-square of current counts
against reference counts scaled to the current size, the two-proportion Z-test, and
Wasserstein distance divided by ``max(population std, 0.001)``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PSI_EPSILON = 1e-4
"""A zero share in a PSI bin is replaced by this (no renormalisation): ln(0) is undefined."""
PSI_BANDS = ((0.1, "stable"), (0.25, "moderate"), (math.inf, "significant"))
PSI_QUANTILES = tuple(i / 10 for i in range(1, 10))
STD_FLOOR = 0.001
"""Wasserstein is divided by max(reference std, STD_FLOOR), as Evidently does, so constants do not divide by zero."""
KS_EXACT_MAX_N = 10_000
"""SciPy's ``ks_2samp`` default ('auto') uses the exact p-value up to this many rows per side."""
EVIDENTLY_MAX_VALUE_BINS = 20
"""Evidently bins a numeric column by value when the reference has at most this many distinct values."""



# -- SciPy, imported late ---------------------------------------------------------------------
# scipy.stats takes about a second to import here, a third of a whole 1M-row comparison, and
# only the KS p-value needs it (``kstwo``, and ``ks_2samp`` on small samples); every other
# p-value and distance comes from scipy.special, which imports in a third of that time.
# ``warm_up`` imports both on a second thread while the columns are read and sorted (pyarrow
# and numpy release the GIL there); ``compare`` leaves the KS p-values to its calling thread,
# so no worker waits for the import, and on large inputs to a helper process (ks_helper.py).
def warm_up(*, scipy_stats: bool = True) -> None:
    """Start importing scipy.special, then scipy.stats unless told not to, in the background (idempotent)."""
    global _warming
    with _warm_lock:
        if _warming is None:
            _warming = threading.Thread(target=_import_scipy, args=(scipy_stats,), name="lineage-scipy-import",
                                        daemon=True)
            _warming.start()


def _import_scipy(scipy_stats: bool) -> None:
    _special()
    if scipy_stats:
        _scipy_stats()


def _special() -> Any:
    from scipy import special

    return special


def _scipy_stats() -> Any:
    from scipy import stats

    return stats


_warm_lock = threading.Lock()
_warming: threading.Thread | None = None

@dataclass(frozen=True)
class Weighted:
    """Ascending distinct-or-repeated values with their counts (``counts=None``: each once)."""

    values: np.ndarray
    counts: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.values.size if self.counts is None else self.counts.sum())

    def cumulative(self) -> np.ndarray:
        """Number of observations at or before each position."""
        if self.counts is None:
            return np.arange(1, self.values.size + 1, dtype=np.int64)
        return np.cumsum(self.counts, dtype=np.int64)


def weighted(values: np.ndarray, counts: np.ndarray | None = None) -> Weighted:
    return Weighted(np.asarray(values, dtype=np.float64), None if counts is None else np.asarray(counts, np.int64))


@dataclass(frozen=True)
class MergedEcdf:
    """Both empirical CDFs evaluated at every distinct value of reference ∪ current.

    KS and Wasserstein only need the two step functions at the points where either
    jumps, so one merge of the two sorted columns serves both.
    """

    values: np.ndarray
    ref_cum: np.ndarray
    cur_cum: np.ndarray
    n_ref: int
    n_cur: int

    def difference(self) -> np.ndarray:
        """|F_ref - F_cur| at every merged value (computed once, shared by KS and Wasserstein)."""
        cached = self.__dict__.get("_difference")
        if cached is None:
            cached = np.abs(self.ref_cum / self.n_ref - self.cur_cum / self.n_cur)
            object.__setattr__(self, "_difference", cached)
        return cached


def merge_ecdf(ref: Weighted, cur: Weighted) -> MergedEcdf:
    """Both ECDFs at every distinct value of the union, in O(n) (weighted data: one binary search of the smaller into the larger)."""
    if ref.values.size < cur.values.size:
        swapped = merge_ecdf(cur, ref)
        return MergedEcdf(swapped.values, swapped.cur_cum, swapped.ref_cum, swapped.n_cur, swapped.n_ref)
    if ref.counts is None and cur.counts is None:
        return _merge_unweighted(ref.values, cur.values)
    big, small = ref.values, cur.values
    total = big.size + small.size
    positions = np.searchsorted(big, small, side="right")
    positions += np.arange(small.size)
    from_small = np.zeros(total, dtype=bool)
    from_small[positions] = True
    merged = np.empty(total, dtype=np.float64)
    merged[positions] = small
    merged[~from_small] = big
    ends = np.flatnonzero(merged[1:] != merged[:-1])
    ends = np.append(ends, total - 1)
    w_small = np.zeros(total, dtype=np.int64)
    w_small[positions] = 1 if cur.counts is None else cur.counts
    w_big = np.zeros(total, dtype=np.int64)
    w_big[~from_small] = 1 if ref.counts is None else ref.counts
    return MergedEcdf(merged[ends], np.cumsum(w_big)[ends], np.cumsum(w_small)[ends], ref.n, cur.n)


def _merge_unweighted(big: np.ndarray, small: np.ndarray) -> MergedEcdf:
    """``merge_ecdf`` when every value weighs one: a stable argsort of the two sorted runs is one merge.

    Timsort finds the two runs and merges them (half the time of a binary search plus
    scatters); counts up to a position follow from the position itself, and when no value
    repeats (continuous data) the merged column is the answer as it stands.
    """
    total = big.size + small.size
    both = np.concatenate([big, small])
    order = np.argsort(both, kind="stable")
    merged = both[order]
    from_small = order >= big.size
    new_value = merged[1:] != merged[:-1]
    small_cum = np.cumsum(from_small, dtype=np.int64)
    if new_value.all():
        return MergedEcdf(merged, np.arange(1, total + 1, dtype=np.int64) - small_cum, small_cum, big.size, small.size)
    ends = np.append(np.flatnonzero(new_value), total - 1)
    small_cum = small_cum[ends]
    return MergedEcdf(merged[ends], ends + 1 - small_cum, small_cum, big.size, small.size)


def ks_statistic(merged: MergedEcdf) -> float:
    """Two-sided KS statistic: the largest gap between the two ECDFs (SciPy's ``D`` bit for bit)."""
    return float(merged.difference().max())


def ks_pvalue(statistic: float, n_ref: int, n_cur: int) -> float:
    """SciPy's asymptotic two-sided p-value (``method='asymp'``), from the statistic and sizes only."""
    return clip_probability(kstwo_sf(statistic, ks_asymptotic_n(n_ref, n_cur)))


def ks_asymptotic_n(n_ref: int, n_cur: int) -> float:
    """The sample size ``ks_2samp`` gives ``kstwo`` for two samples: round(n·m / (n + m))."""
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    return float(np.round(m * n / (m + n)))


def kstwo_sf(statistic: float, n: float) -> float:
    """``scipy.stats.kstwo.sf``: what ks_helper.py's helper process computes for ``compare``."""
    return float(_scipy_stats().kstwo.sf(statistic, n))


def clip_probability(p: float) -> float:
    """``ks_2samp`` clips its p-value to [0, 1]."""
    return float(np.clip(p, 0, 1))


def ks_test(ref_sorted: np.ndarray, cur_sorted: np.ndarray, merged: MergedEcdf | None = None) -> tuple[float, float]:
    """(D, p) equal to ``scipy.stats.ks_2samp(ref, cur)`` with its default method.

    Up to ``KS_EXACT_MAX_N`` rows per side SciPy's exact p-value is used by calling it (cheap at
    that size); above, the statistic comes from the shared merge and the p-value from the same
    asymptotic formula SciPy switches to.
    """
    if max(ref_sorted.size, cur_sorted.size) <= KS_EXACT_MAX_N:
        result = _scipy_stats().ks_2samp(ref_sorted, cur_sorted)
        return float(result.statistic), float(result.pvalue)
    merged = merged or merge_ecdf(weighted(ref_sorted), weighted(cur_sorted))
    d = ks_statistic(merged)
    return d, ks_pvalue(d, merged.n_ref, merged.n_cur)


def wasserstein(merged: MergedEcdf) -> float:
    """1-Wasserstein distance: the area between the two ECDFs (``scipy.stats.wasserstein_distance``)."""
    if merged.values.size < 2:
        return 0.0
    return float(np.dot(merged.difference()[:-1], np.diff(merged.values)))


def wasserstein_norm(merged: MergedEcdf, ref_std: float) -> float:
    """Wasserstein distance in units of the reference population std, floored at ``STD_FLOOR``."""
    return wasserstein(merged) / max(ref_std, STD_FLOOR)


def quantiles(data: Weighted, qs: Sequence[float]) -> list[float]:
    """Quantiles by NumPy's default (linear) rule on the expanded sample, without expanding it."""
    n = data.n
    if n == 0:
        return [math.nan for _ in qs]
    if data.counts is None:  # already sorted: NumPy's linear rule by index, no partition
        out = []
        for q in qs:
            pos = q * (n - 1)
            lo = int(math.floor(pos))
            out.append(_lerp(float(data.values[lo]), float(data.values[min(lo + 1, n - 1)]), pos - lo))
        return out
    cum = data.cumulative()
    out = []
    for q in qs:
        pos = q * (n - 1)
        lo, frac = int(math.floor(pos)), pos - math.floor(pos)
        v_lo = data.values[np.searchsorted(cum, lo + 1)]
        v_hi = data.values[np.searchsorted(cum, min(lo + 2, n))]
        out.append(_lerp(float(v_lo), float(v_hi), frac))
    return out


def _lerp(a: float, b: float, t: float) -> float:
    """NumPy's interpolation formula (``numpy.lib._function_base_impl._lerp``), for identical quantiles."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def psi_edges(ref: Weighted) -> np.ndarray:
    """Inner PSI cut points: the distinct reference deciles (outer bins are open)."""
    return np.unique(np.asarray(quantiles(ref, PSI_QUANTILES), dtype=np.float64))


def right_closed_counts(data: Weighted, edges: np.ndarray) -> np.ndarray:
    """Counts in (-inf, e1], (e1, e2], ..., (ek, +inf): a value equal to a cut goes to the lower bin."""
    at = _count_before(data, np.searchsorted(data.values, edges, side="right"))
    return np.diff(np.concatenate([[0], at, [data.n]]))


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population Stability Index: sum (cur - ref) * ln(cur / ref) over shares, zeros set to epsilon."""
    ref_share = _shares(ref_counts)
    cur_share = _shares(cur_counts)
    ref_share = np.where(ref_share == 0, epsilon, ref_share)
    cur_share = np.where(cur_share == 0, epsilon, cur_share)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def psi_band(value: float | None) -> str | None:
    """stable (< 0.1), moderate (0.1–0.25) or significant (≥ 0.25), the credit-risk reading of PSI."""
    if value is None or math.isnan(value):
        return None
    return next(name for bound, name in PSI_BANDS if value < bound)


def jensenshannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Jensen–Shannon *distance*, natural log, on unsmoothed shares (Evidently's numbers).

    The digits of ``scipy.spatial.distance.jensenshannon(shares_ref, shares_cur)``, which
    Evidently calls: the same operations in the same order (it normalises the shares once
    more), without importing scipy.spatial. ``tests/test_drift_scipy_parity.py`` holds them equal.
    """
    p, q = _shares(ref_counts), _shares(cur_counts)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0
    rel_entr = _special().rel_entr
    return float(np.sqrt((rel_entr(p, m).sum() + rel_entr(q, m).sum()) / 2.0))


def sturges_edges(lo: float, hi: float, n: int, *, integer: bool = False) -> np.ndarray:
    """``np.histogram_bin_edges(a, bins="sturges")`` from a's min, max and size alone.

    Rebuilding it from three numbers avoids concatenating 1.2M values just to read them
    back; ``integer`` reproduces NumPy's rule that integer data never gets bins under 1 wide.
    """
    width = (hi - lo) / (np.log2(n) + 1.0)  # from the data's range, before widening a constant
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    if width:
        if integer and width < 1:
            width = 1
        bins = int(np.ceil((hi - lo) / width))
    else:
        bins = 1
    return np.linspace(lo, hi, bins + 1, endpoint=True, dtype=np.float64)


def histogram_counts(data: Weighted, edges: np.ndarray) -> np.ndarray:
    """``np.histogram(values, edges)[0]``: [a, b) bins, the last one closed, outside values dropped."""
    below = _count_before(data, np.searchsorted(data.values, edges[:-1], side="left"))
    upto_last = _count_before(data, np.searchsorted(data.values, edges[-1:], side="right"))
    return np.diff(np.concatenate([below, upto_last]))


def _count_before(data: Weighted, positions: np.ndarray) -> np.ndarray:
    """Observations before each position (a position counts rows when every value weighs one)."""
    if data.counts is None:
        return positions.astype(np.int64)
    return np.concatenate([[0], data.cumulative()])[positions]


def value_counts(data: Weighted) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, counts) of sorted weighted data."""
    if data.values.size == 0:
        return data.values, np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.flatnonzero(data.values[1:] != data.values[:-1]) + 1])
    cum = np.concatenate([[0], data.cumulative()])
    ends = np.append(starts[1:], data.values.size)
    return data.values[starts], cum[ends] - cum[starts]


def distinct_count(sorted_values: np.ndarray) -> int:
    if sorted_values.size == 0:
        return 0
    return int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1]) + 1)


def evidently_numeric_bins(
    ref: Weighted, cur: Weighted, *, ref_distinct: int, integer: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts binned as Evidently bins a numeric column.

    More than 20 distinct reference values: Sturges edges on reference ∪ current; otherwise
    one bin per value seen on either side.
    """
    if ref_distinct > EVIDENTLY_MAX_VALUE_BINS:
        lo = min(ref.values[0], cur.values[0]) if cur.values.size else ref.values[0]
        hi = max(ref.values[-1], cur.values[-1]) if cur.values.size else ref.values[-1]
        edges = sturges_edges(float(lo), float(hi), ref.n + cur.n, integer=integer)
        return histogram_counts(ref, edges), histogram_counts(cur, edges)
    ref_keys, ref_counts = value_counts(ref)
    cur_keys, cur_counts = value_counts(cur)
    return align_counts(dict(zip(ref_keys.tolist(), ref_counts.tolist(), strict=True)),
                        dict(zip(cur_keys.tolist(), cur_counts.tolist(), strict=True)))


def align_counts(ref: Mapping[Any, int], cur: Mapping[Any, int]) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both sides over the union of their categories, in one order."""
    keys = list(ref) + [k for k in cur if k not in ref]
    try:
        keys.sort()  # the Z-test's sign follows the first value in order, as in Evidently
    except TypeError:
        keys.sort(key=repr)
    return (np.array([ref.get(k, 0) for k in keys], dtype=np.int64),
            np.array([cur.get(k, 0) for k in keys], dtype=np.int64))


def chisquare(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """(statistic, p): ``scipy.stats.chisquare(cur, ref * n_cur / n_ref)``, Evidently's test.

    A category absent from the reference has an expected count of 0, which makes the
    statistic infinite and p zero: a new category is drift. One category: p = 1.
    """
    if ref_counts.size < 2:
        return 0.0, 1.0
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    observed = np.asarray(cur_counts, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = ((observed - expected) ** 2 / expected).sum()
    # SciPy's chisquare takes its p-value from chdtrc(k - 1, statistic): the same digits, without scipy.stats
    return float(statistic), float(_special().chdtrc(float(observed.size - 1), statistic))


def z_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Two-proportion Z-test on a column of at most two values (Evidently's formula).

    z = (p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2)) with P the pooled share of the first
    value; p = 2 (1 - Φ(|z|)). A single value on both sides gives z = 0, p = 1.
    """
    if ref_counts.size > 2:
        raise ValueError("the Z-test compares a column of at most two values")
    n1, n2 = int(ref_counts.sum()), int(cur_counts.sum())
    if ref_counts.size < 2:
        return 0.0, 1.0
    p1, p2 = ref_counts[0] / n1, cur_counts[0] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(z), float(2 * (1 - _special().ndtr(np.abs(z))))  # ndtr is scipy.stats.norm.cdf


CORRECTIONS = ("bonferroni", "bh")


def adjust_pvalues(p_values: Sequence[float], method: str) -> list[float]:
    """Bonferroni (min(1, p·m)) or Benjamini–Hochberg adjusted p-values, in input order."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return []
    if method == "bonferroni":
        return [float(v) for v in np.minimum(1.0, p * p.size)]
    if method == "bh":
        return [float(v) for v in _scipy_stats().false_discovery_control(p, method="bh")]
    raise ValueError(f"unknown correction {method!r}")


def _shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total else np.full(counts.shape, np.nan)
