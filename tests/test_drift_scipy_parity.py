"""The p-values and distances computed from scipy.special carry SciPy's exact digits.

``lineage.drift.stats`` computes Jensen–Shannon, chi-square and the Z-test without importing
scipy.spatial or scipy.stats (see the module's comment on import time). These tests hold
each one *equal* (not approximately) to the SciPy call Evidently makes, on random counts.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial import distance

from lineage.drift import stats


def _pair(data: st.DataObject, size: int) -> tuple[np.ndarray, np.ndarray]:
    ref = data.draw(st.lists(st.integers(0, 10**7), min_size=size, max_size=size))
    cur = data.draw(st.lists(st.integers(0, 10**7), min_size=size, max_size=size))
    return np.array(ref, dtype=np.int64), np.array(cur, dtype=np.int64)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(2, 60))
def test_jensenshannon_has_scipys_digits(data: st.DataObject, size: int) -> None:
    ref, cur = _pair(data, size)
    with np.errstate(invalid="ignore"):  # an all-zero side: NaN on both sides
        expected = float(distance.jensenshannon(ref / ref.sum(), cur / cur.sum()))
    assert _same(stats.jensenshannon(ref, cur), expected)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(2, 60))
def test_chisquare_has_scipys_digits(data: st.DataObject, size: int) -> None:
    ref, cur = _pair(data, size)
    ref[ref == 0] = 1  # SciPy refuses a zero expected count with a warning-laden inf; ours is tested apart
    cur[0] += 1
    expected = sps.chisquare(cur, ref * (cur.sum() / ref.sum()))
    statistic, p = stats.chisquare(ref, cur)
    assert statistic == float(expected.statistic)
    assert p == float(expected.pvalue)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 10**6), st.integers(1, 10**6), st.integers(1, 10**6))
def test_z_test_p_value_is_scipys_normal_tail(a1: int, b1: int, a2: int, b2: int) -> None:
    z, p = stats.z_test(np.array([a1, b1]), np.array([a2, b2]))
    assert _same(p, float(2 * (1 - sps.norm.cdf(abs(z)))))


def test_an_all_zero_side_gives_nan_like_scipy() -> None:
    ref, cur = np.array([0, 0, 0]), np.array([1, 2, 3])
    assert math.isnan(stats.jensenshannon(ref, cur))
