"""Column profiles equal NumPy's numbers, survive JSON, and merge from partials."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.drift import ColumnProfile, ProfileAccumulator, profile_table
from lineage.drift.profile import QUANTILES
from lineage.errors import InvalidInputError

SEED = 2010


def _table(rows: int = 5000) -> pa.Table:
    rng = np.random.default_rng(SEED)
    x = rng.normal(10, 2, rows)
    x[:7] = np.nan
    x[7:9] = np.inf
    return pa.table({
        "x": pa.array(x, mask=np.arange(rows) % 97 == 0),
        "n": rng.integers(0, 5, rows),
        "tail": rng.standard_cauchy(rows),
        "cat": pa.array([f"c{v}" for v in rng.zipf(1.5, rows) % 80]).dictionary_encode(),
        "flag": rng.random(rows) < 0.3,
        "const": np.full(rows, 4.0),
        "empty": pa.nulls(rows, pa.float64()),
    })


def test_numeric_profile_equals_numpy_on_the_finite_values() -> None:
    table = _table()
    raw = table.column("x").to_numpy(zero_copy_only=False)
    finite = raw[np.isfinite(raw)]
    p = profile_table(table)["x"]
    assert p.count == table.num_rows
    assert p.nulls == int(np.isnan(raw).sum())  # Arrow nulls + NaN
    assert p.non_finite == 2
    assert p.distinct == np.unique(finite).size
    assert (p.min, p.max) == (finite.min(), finite.max())
    assert p.mean == pytest.approx(finite.mean())
    assert p.std == pytest.approx(finite.std())  # population std
    assert list(p.quantiles.values()) == pytest.approx(list(np.quantile(finite, QUANTILES)))
    counts, edges = np.histogram(finite, bins=20)
    assert p.histogram["edges"] == pytest.approx(edges.tolist())
    assert p.histogram["counts"] == counts.tolist()


def test_categorical_profile_keeps_the_top_fifty_and_an_other_bucket() -> None:
    table = _table()
    p = profile_table(table)["cat"]
    values = table.column("cat").to_pylist()
    distinct = set(values)
    assert p.kind == "categorical" and p.distinct == len(distinct)
    top = p.histogram["top"]
    assert len(top) == 50
    assert sum(c for _, c in top) + p.histogram["other"] == len(values)
    assert p.histogram["other_distinct"] == len(distinct) - 50
    assert top[0] == (max(distinct, key=values.count), max(values.count(v) for v in distinct))


def test_constant_all_null_and_boolean_columns() -> None:
    profiles = profile_table(_table())
    const = profiles["const"]
    assert (const.distinct, const.std, const.min, const.max) == (1, 0.0, 4.0, 4.0)
    assert const.histogram == {"edges": [3.5, 4.5], "counts": [5000]}
    empty = profiles["empty"]
    assert empty.nulls == empty.count == 5000 and empty.distinct == 0 and empty.mean is None
    assert empty.null_rate == 1.0
    flag = profiles["flag"]
    assert flag.kind == "categorical" and {k for k, _ in flag.histogram["top"]} == {True, False}


def test_one_value_and_no_rows() -> None:
    one = profile_table(pa.table({"v": [2.5]}))["v"]
    assert one.quantiles["p50"] == 2.5 and one.std == 0.0
    none = profile_table(pa.table({"v": pa.array([], pa.float64())}))["v"]
    assert none.count == 0 and none.quantiles is None and math.isnan(none.null_rate)


def test_profile_round_trips_through_json() -> None:
    for profile in profile_table(_table()).values():
        text = json.dumps(profile.to_json(), allow_nan=False)
        again = ColumnProfile.from_json(json.loads(text))
        assert again.to_json() == profile.to_json()


def test_unknown_column_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="not in the data"):
        profile_table(_table(), columns=["nope"])


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(51, 999), min_size=1, max_size=5), st.booleans())
def test_merged_partials_equal_the_whole(cuts: list[int], streaming: bool) -> None:
    table = _table(1000)
    names = ["x", "n", "tail", "cat"]
    whole = ProfileAccumulator(table.schema, names, streaming=streaming)
    whole.update(table.slice(0, 50))  # fixes the sketch centres
    centres = whole.centers
    whole.update(table.slice(50))
    bounds = [50, *sorted(set(cuts)), 1000]
    first = ProfileAccumulator(table.schema, names, streaming=streaming, centers=centres)
    first.update(table.slice(0, 50))
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if hi > lo:
            part = ProfileAccumulator(table.schema, names, streaming=streaming, centers=centres)
            part.update(table.slice(lo, hi - lo))
            first.merge(part)
    a, b = whole.result(), first.result()
    for name in names:
        left, right = a[name].to_json(), b[name].to_json()
        for key in ("mean", "std"):
            expected = right.pop(key)
            assert left.pop(key) == (None if expected is None else pytest.approx(expected, rel=1e-9, abs=1e-12))
        assert left == right


def test_streaming_quantiles_are_within_the_stated_bound(tmp_path: Path) -> None:
    table = _table(200_000)
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=20_000)
    exact = profile_table(path, columns=["x", "tail", "n"])
    approx = profile_table(path, columns=["x", "tail", "n"], streaming=True)
    for name in ("x", "tail"):
        e, s = exact[name], approx[name]
        assert not s.exact and s.quantile_error is not None
        assert (s.count, s.nulls, s.min, s.max) == (e.count, e.nulls, e.min, e.max)
        assert s.mean == pytest.approx(e.mean) and s.std == pytest.approx(e.std)
        for key, value in e.quantiles.items():
            assert abs(s.quantiles[key] - value) <= s.quantile_error
    assert approx["n"].exact and approx["n"].quantiles == exact["n"].quantiles  # few distinct values: exact counts
