"""The pure drift statistics agree with SciPy, NumPy and their textbook formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial import distance

from lineage.drift import stats
from lineage.drift.sketch import LogSketch

SEED = 2010


def _sorted(a: np.ndarray) -> np.ndarray:
    return np.sort(np.asarray(a, dtype=np.float64))


def _samples() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(SEED)
    return [
        ("normal", rng.normal(0, 1, 3000), rng.normal(0.2, 1.1, 2000)),
        ("ties", rng.integers(0, 7, 4000).astype(float), rng.integers(0, 8, 2500).astype(float)),
        ("heavy_tail", rng.standard_cauchy(3000), rng.standard_cauchy(1500) * 2),
        ("large_asymptotic", rng.normal(0, 1, 30_000), rng.normal(0.05, 1, 12_000)),
        ("large_ties", rng.integers(0, 50, 20_000).astype(float), rng.integers(0, 50, 11_000).astype(float)),
        ("one_value_each", np.array([1.5]), np.array([2.5])),
        ("constant", np.full(500, 3.0), np.full(400, 3.0)),
    ]


@pytest.mark.parametrize(("label", "ref", "cur"), _samples(), ids=lambda v: v if isinstance(v, str) else "")
def test_ks_equals_scipy_ks_2samp_default_method(label: str, ref: np.ndarray, cur: np.ndarray) -> None:
    expected = sps.ks_2samp(ref, cur)
    d, p = stats.ks_test(_sorted(ref), _sorted(cur))
    assert d == pytest.approx(expected.statistic, abs=1e-15)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("label", "ref", "cur"), _samples(), ids=lambda v: v if isinstance(v, str) else "")
def test_wasserstein_equals_scipy(label: str, ref: np.ndarray, cur: np.ndarray) -> None:
    merged = stats.merge_ecdf(stats.weighted(_sorted(ref)), stats.weighted(_sorted(cur)))
    assert stats.wasserstein(merged) == pytest.approx(sps.wasserstein_distance(ref, cur), rel=1e-9, abs=1e-12)
    assert stats.wasserstein_norm(merged, float(np.std(ref))) == pytest.approx(
        sps.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001), rel=1e-9, abs=1e-12)


def test_wasserstein_of_a_constant_reference_is_divided_by_the_floor() -> None:
    merged = stats.merge_ecdf(stats.weighted(np.full(10, 2.0)), stats.weighted(np.full(10, 2.5)))
    assert stats.wasserstein_norm(merged, 0.0) == pytest.approx(0.5 / 0.001)


def test_a_shifted_normal_gives_the_expected_ks_statistic() -> None:
    rng = np.random.default_rng(SEED)
    shift = 0.5
    ref, cur = rng.normal(0, 1, 200_000), rng.normal(shift, 1, 200_000)
    d, p = stats.ks_test(_sorted(ref), _sorted(cur))
    assert d == pytest.approx(2 * sps.norm.cdf(shift / 2) - 1, abs=0.006)  # sup |Φ(x) - Φ(x - δ)|
    assert p < 1e-100


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=60), st.lists(st.integers(-5, 5), min_size=1, max_size=60))
def test_ks_and_wasserstein_are_symmetric_and_zero_on_identical_inputs(a: list[int], b: list[int]) -> None:
    x, y = _sorted(np.array(a)), _sorted(np.array(b))
    assert stats.ks_test(x, y)[0] == pytest.approx(stats.ks_test(y, x)[0])
    xy = stats.merge_ecdf(stats.weighted(x), stats.weighted(y))
    yx = stats.merge_ecdf(stats.weighted(y), stats.weighted(x))
    assert stats.wasserstein(xy) == pytest.approx(stats.wasserstein(yx))
    same = stats.merge_ecdf(stats.weighted(x), stats.weighted(x.copy()))
    assert stats.ks_statistic(same) == 0 and stats.wasserstein(same) == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=40), st.lists(st.integers(-3, 3), min_size=1, max_size=40))
def test_weighted_data_gives_the_same_ecdf_as_the_expanded_sample(a: list[int], b: list[int]) -> None:
    x, y = _sorted(np.array(a)), _sorted(np.array(b))
    xv, xc = np.unique(x, return_counts=True)
    yv, yc = np.unique(y, return_counts=True)
    plain = stats.merge_ecdf(stats.weighted(x), stats.weighted(y))
    packed = stats.merge_ecdf(stats.weighted(xv, xc), stats.weighted(yv, yc))
    assert stats.ks_statistic(plain) == pytest.approx(stats.ks_statistic(packed))
    assert stats.wasserstein(plain) == pytest.approx(stats.wasserstein(packed))
    qs = [0.0, 0.01, 0.1, 0.33, 0.5, 0.9, 0.99, 1.0]
    assert stats.quantiles(stats.weighted(xv, xc), qs) == pytest.approx(list(np.quantile(x, qs)))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200), st.booleans())
def test_sturges_edges_and_histogram_equal_numpy(values: list[float], as_int: bool) -> None:
    a = np.array(values, dtype=np.int64 if as_int else np.float64)
    expected_edges = np.histogram_bin_edges(a, bins="sturges")
    edges = stats.sturges_edges(float(a.min()), float(a.max()), a.size, integer=as_int)
    assert np.array_equal(edges, expected_edges)
    counts = stats.histogram_counts(stats.weighted(_sorted(a)), edges)
    assert counts.tolist() == np.histogram(a, expected_edges)[0].tolist()


def test_psi_is_the_direct_formula_with_epsilon_for_empty_bins() -> None:
    ref, cur = np.array([50, 30, 20, 0]), np.array([40, 30, 20, 10])
    r, c = ref / ref.sum(), cur / cur.sum()
    r = np.where(r == 0, 1e-4, r)
    assert stats.psi(ref, cur) == pytest.approx(float(np.sum((c - r) * np.log(c / r))))
    assert stats.psi(ref, ref) == 0


def test_psi_cuts_at_reference_deciles_with_open_outer_bins() -> None:
    ref = stats.weighted(np.arange(1, 101, dtype=float))
    edges = stats.psi_edges(ref)
    assert edges.tolist() == pytest.approx(list(np.quantile(np.arange(1, 101), stats.PSI_QUANTILES)))
    assert stats.right_closed_counts(ref, edges).tolist() == [10] * 10
    outside = stats.weighted(np.array([-1e9, 1e9]))
    assert stats.right_closed_counts(outside, edges).tolist() == [1] + [0] * 8 + [1]


def test_psi_of_a_constant_reference_has_two_bins() -> None:
    edges = stats.psi_edges(stats.weighted(np.full(20, 4.0)))
    assert edges.tolist() == [4.0]
    assert stats.right_closed_counts(stats.weighted(np.array([3.0, 4.0, 5.0])), edges).tolist() == [2, 1]


@pytest.mark.parametrize(("value", "band"), [(0.0, "stable"), (0.099, "stable"), (0.1, "moderate"),
                                             (0.2499, "moderate"), (0.25, "significant"), (3.0, "significant")])
def test_psi_bands(value: float, band: str) -> None:
    assert stats.psi_band(value) == band


def test_jensenshannon_is_scipys_distance_with_the_natural_log() -> None:
    rng = np.random.default_rng(SEED)
    ref, cur = rng.integers(0, 100, 12), rng.integers(0, 100, 12)
    expected = distance.jensenshannon(ref / ref.sum(), cur / cur.sum())
    assert stats.jensenshannon(ref, cur) == pytest.approx(expected)
    assert stats.jensenshannon(cur, ref) == pytest.approx(expected)
    assert stats.jensenshannon(ref, ref) == pytest.approx(0, abs=1e-7)
    assert stats.jensenshannon(np.array([1, 0]), np.array([0, 1])) == pytest.approx(math.sqrt(math.log(2)))


def test_chisquare_is_scipys_on_counts_scaled_to_the_current_size() -> None:
    ref, cur = np.array([500, 300, 200]), np.array([90, 70, 40])
    expected = sps.chisquare(cur, ref * cur.sum() / ref.sum())
    assert stats.chisquare(ref, cur) == pytest.approx((expected.statistic, expected.pvalue))


def test_a_category_new_in_current_makes_chisquare_p_zero() -> None:
    statistic, p = stats.chisquare(np.array([10, 10, 0]), np.array([10, 10, 1]))
    assert statistic == math.inf and p == 0


def test_z_test_is_the_two_proportion_formula() -> None:
    ref, cur = np.array([30, 70]), np.array([45, 55])
    n1, n2 = 100, 100
    p1, p2 = 0.3, 0.45
    pooled = (30 + 45) / 200
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert stats.z_test(ref, cur) == pytest.approx((z, 2 * (1 - sps.norm.cdf(abs(z)))))
    assert stats.z_test(cur, ref)[1] == pytest.approx(stats.z_test(ref, cur)[1])
    assert stats.z_test(np.array([5]), np.array([9])) == (0.0, 1.0)


def test_bonferroni_and_benjamini_hochberg_adjustments() -> None:
    p = [0.01, 0.04, 0.03, 0.2]
    assert stats.adjust_pvalues(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.8])
    # BH by hand: sorted 0.01, 0.03, 0.04, 0.2 -> p*m/rank = 0.04, 0.06, 0.0533, 0.2, then running min from the top
    assert stats.adjust_pvalues(p, "bh") == pytest.approx([0.04, 0.05333333, 0.05333333, 0.2])


def test_evidently_bins_by_value_up_to_twenty_distinct_reference_values() -> None:
    ref = stats.weighted(np.repeat(np.arange(20.0), 3))
    cur = stats.weighted(np.array([0.0, 1.0, 25.0]))
    ref_counts, cur_counts = stats.evidently_numeric_bins(ref, cur, ref_distinct=20)
    assert ref_counts.size == 21 and cur_counts.tolist()[-1] == 1  # 25 is a bin of its own


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=1, max_size=300), st.integers(0, 2**31))
def test_every_sketch_representative_is_within_alpha_of_its_value(values: list[float], seed: int) -> None:
    a = np.array(values)
    rng = np.random.default_rng(seed)
    sketch = LogSketch.around(a[: max(1, a.size // 3)])
    sketch.add(a)
    reps, counts = sketch.buckets()
    assert counts.sum() == a.size
    # the k-th quantised value is the quantised k-th value (order is kept), so compare sorted
    expanded = np.repeat(reps, counts)
    bound = sketch.alpha * np.abs(np.sort(a) - sketch.center) * (1 + 1e-9) + sketch.tiny
    assert np.all(np.abs(expanded - np.sort(a)) <= bound + 1e-12)
    half = rng.integers(0, a.size + 1)
    left, right = LogSketch(sketch.center, sketch.tiny), LogSketch(sketch.center, sketch.tiny)
    left.add(a[:half])
    right.add(a[half:])
    left.merge(right)
    merged_reps, merged_counts = left.buckets()
    assert np.array_equal(merged_reps, reps) and np.array_equal(merged_counts, counts)
