"""compare(): every measure equals SciPy's, Evidently's default test and verdict, edge cases and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as sps
from scipy.spatial import distance

from lineage.drift import DriftReport, compare
from lineage.errors import InvalidInputError
from lineage.features.schema import parse_schema

SEED = 2010
ROOT = Path(__file__).resolve().parents[1]
EVIDENTLY_PYTHON = Path(os.environ.get("EVIDENTLY_VENV", ROOT / "bench" / ".venv-evidently")) / "bin" / "python"
ISSUE_KEYS = ["name", "kind", "test", "statistic", "p_value", "threshold", "drifted", "psi", "js",
              "wasserstein_norm", "ks", "null_rate_ref", "null_rate_cur", "new_categories", "missing_categories"]


def _pair(ref_rows: int, cur_rows: int, shift: float = 0.3) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(SEED)

    def side(rows: int, s: float) -> pa.Table:
        return pa.table({
            "x": rng.normal(s, 1, rows),
            "tail": rng.standard_cauchy(rows) + s,
            "few": rng.integers(0, 4, rows),
            "cat": pa.array(rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1] if not s else [0.3, 0.3, 0.2, 0.2])),
            "flag": rng.random(rows) < (0.3 + s / 3),
        })

    return side(ref_rows, 0.0), side(cur_rows, shift)


def test_report_has_the_issue_json_keys_and_round_trips() -> None:
    ref, cur = _pair(2000, 1500)
    report = compare(ref, cur, reference_name="train@1", current_name="serving@2")
    data = json.loads(json.dumps(report.to_json(), allow_nan=False))
    assert data["reference"] == "train@1" and data["current"] == "serving@2"
    assert {"drifted", "share"} <= set(data["overall"])
    assert list(data["features"][0])[: len(ISSUE_KEYS)] == ISSUE_KEYS
    assert DriftReport.from_json(data).to_json() == data
    frame = report.to_frame()
    assert list(frame.columns[: len(ISSUE_KEYS)]) == ISSUE_KEYS and len(frame) == 5


def test_identical_inputs_give_zero_drift() -> None:
    ref, _ = _pair(3000, 10)
    report = compare(ref, ref)
    assert not report.drifted and report.overall["share"] == 0
    for f in report.features:
        assert f.psi == pytest.approx(0, abs=1e-12) and f.js == pytest.approx(0, abs=1e-7)
        if f.kind == "numeric":
            assert f.ks == 0 and f.wasserstein_norm == 0 and f.ks_p_value == 1


def test_numeric_measures_equal_scipy() -> None:
    ref, cur = _pair(3000, 2000)
    f = compare(ref, cur).feature("x")
    r, c = ref.column("x").to_numpy(), cur.column("x").to_numpy()
    ks = sps.ks_2samp(r, c)
    assert (f.ks, f.ks_p_value) == pytest.approx((ks.statistic, ks.pvalue))
    assert f.wasserstein_norm == pytest.approx(sps.wasserstein_distance(r, c) / np.std(r))
    edges = np.histogram_bin_edges(np.concatenate([r, c]), bins="sturges")
    share = lambda a: np.histogram(a, edges)[0] / a.size  # noqa: E731
    assert f.js == pytest.approx(distance.jensenshannon(share(r), share(c)))
    deciles = np.quantile(r, np.arange(1, 10) / 10)
    rb = np.bincount(np.searchsorted(deciles, r, side="left"), minlength=10) / r.size
    cb = np.bincount(np.searchsorted(deciles, c, side="left"), minlength=10) / c.size
    assert f.psi == pytest.approx(float(np.sum((cb - rb) * np.log(cb / rb))))
    assert f.test == "wasserstein" and f.drifted and f.statistic == f.wasserstein_norm and f.threshold == 0.1


def test_categorical_measures_equal_scipy_and_list_one_sided_categories() -> None:
    ref = pa.table({"cat": ["a"] * 50 + ["b"] * 30 + ["gone"] * 20})
    cur = pa.table({"cat": ["a"] * 40 + ["b"] * 40 + ["new"] * 5})
    f = compare(ref, cur).feature("cat")
    assert f.new_categories == ["new"] and f.missing_categories == ["gone"]
    keys = ["a", "b", "gone", "new"]
    rc, cc = np.array([50, 30, 20, 0]), np.array([40, 40, 0, 5])
    assert f.chisquare_p_value == sps.chisquare(cc, rc * cc.sum() / rc.sum()).pvalue == 0  # a new category
    assert f.js == pytest.approx(distance.jensenshannon(rc / 100, cc / 85))
    r, c = np.where(rc == 0, 1e-4, rc / 100), np.where(cc == 0, 1e-4, cc / 85)
    assert f.psi == pytest.approx(float(np.sum((c - r) * np.log(c / r))))
    assert f.test == "chisquare" and f.drifted and len(keys) == 4


@pytest.mark.parametrize(("ref_rows", "feature", "test"), [
    (800, "x", "ks"), (800, "few", "chisquare"), (800, "cat", "chisquare"), (800, "flag", "z"),
    (1500, "x", "wasserstein"), (1500, "few", "jensenshannon"), (1500, "cat", "jensenshannon"),
    (1500, "flag", "jensenshannon"),
])
def test_default_test_follows_evidently(ref_rows: int, feature: str, test: str) -> None:
    ref, cur = _pair(ref_rows, 700)
    assert compare(ref, cur).feature(feature).test == test


def test_z_test_and_chisquare_numbers() -> None:
    ref, cur = _pair(800, 700)
    report = compare(ref, cur)
    flag = report.feature("flag")
    r, c = ref.column("flag").to_numpy(zero_copy_only=False), cur.column("flag").to_numpy(zero_copy_only=False)
    p1, p2 = 1 - r.mean(), 1 - c.mean()  # share of False, the first value in order
    pooled = (p1 * r.size + p2 * c.size) / (r.size + c.size)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / r.size + 1 / c.size))
    assert flag.statistic == pytest.approx(z) and flag.p_value == pytest.approx(2 * (1 - sps.norm.cdf(abs(z))))
    few = report.feature("few")
    rc = np.bincount(ref.column("few").to_numpy(), minlength=4)
    cc = np.bincount(cur.column("few").to_numpy(), minlength=4)
    assert few.p_value == pytest.approx(sps.chisquare(cc, rc * cc.sum() / rc.sum()).pvalue)


def test_constant_all_null_one_value_and_empty_current() -> None:
    ref = pa.table({"c": np.full(50, 2.0), "n": pa.nulls(50, pa.float64()), "v": np.arange(50.0)})
    same = compare(ref, ref)
    assert not same.feature("c").drifted and same.feature("c").wasserstein_norm == 0
    assert not same.feature("n").drifted and same.feature("n").note == "no non-null values on either side"
    moved = compare(ref, pa.table({"c": np.full(20, 3.0), "n": np.ones(20), "v": [7.0] * 20}))
    assert moved.feature("c").drifted and moved.feature("c").wasserstein_norm == pytest.approx(1 / 0.001)
    assert moved.feature("n").drifted and moved.feature("n").note == "every reference value is null"
    assert moved.feature("v").ks == pytest.approx(sps.ks_2samp(np.arange(50.0), [7.0] * 20).statistic)
    empty = compare(ref, ref.slice(0, 0))
    assert not empty.drifted and all(f.note == "current has no rows: nothing to compare" for f in empty.features)
    all_null = compare(ref, pa.table({"c": pa.nulls(5, pa.float64()), "n": pa.nulls(5, pa.float64()), "v": [1.0] * 5}))
    assert all_null.feature("c").drifted and all_null.feature("c").null_rate_cur == 1.0


def test_a_feature_missing_from_current_drifts_and_is_flagged() -> None:
    ref, cur = _pair(500, 400, shift=0.0)
    report = compare(ref, cur.drop_columns(["x"]), features=["x", "few"])
    x = report.feature("x")
    assert x.missing_in_current and x.drifted and x.test == "missing"
    assert report.overall["share"] == 0.5 and report.drifted  # at least half the features drift


def test_heavy_tails_match_scipy() -> None:
    ref, cur = _pair(5000, 4000)
    f = compare(ref, cur).feature("tail")
    r, c = ref.column("tail").to_numpy(), cur.column("tail").to_numpy()
    assert f.ks == pytest.approx(sps.ks_2samp(r, c).statistic)
    assert f.wasserstein_norm == pytest.approx(sps.wasserstein_distance(r, c) / np.std(r))


def test_thresholds_and_tests_are_overridable_per_feature() -> None:
    ref, cur = _pair(2000, 2000, shift=0.05)
    base = compare(ref, cur).feature("x")
    loose = compare(ref, cur, thresholds={"x": 0.001}, tests={"x": "psi", "cat": "chisquare"})
    assert loose.feature("x").test == "psi" and loose.feature("x").threshold == 0.001
    assert loose.feature("x").drifted == (base.psi >= 0.001)
    assert loose.feature("cat").test == "chisquare"


def test_multiple_testing_correction_adjusts_p_values() -> None:
    ref, cur = _pair(800, 700, shift=0.1)
    plain = compare(ref, cur)
    bonf = compare(ref, cur, correction="bonferroni")
    tested = [f for f in bonf.features if f.test in ("ks", "chisquare", "z")]
    for f in tested:
        assert f.p_value_adjusted == pytest.approx(min(1.0, f.p_value * len(tested)))
        assert f.drifted == (f.p_value_adjusted < f.threshold)
    assert bonf.overall["drifted_count"] <= plain.overall["drifted_count"]
    bh = compare(ref, cur, correction="bh")
    assert [f.p_value_adjusted for f in bh.features] == pytest.approx(
        list(sps.false_discovery_control([f.p_value for f in plain.features])))


def test_large_samples_with_tiny_effects_get_a_sample_size_note() -> None:
    rng = np.random.default_rng(SEED)
    ref = pa.table({"x": rng.normal(0, 1, 200_000)})
    cur = pa.table({"x": rng.normal(0.02, 1, 200_000)})
    f = compare(ref, cur, tests={"x": "ks"}).feature("x")
    assert f.drifted and f.wasserstein_norm < 0.1 and "large samples" in f.note
    assert f.psi_band == "stable"


def test_schema_contract_violations_and_dtype_mismatch() -> None:
    schema = parse_schema({"feature_set": "fs", "version": "1.0.0", "features": {
        "age": {"dtype": "int", "min": 0, "max": 120}, "region": {"dtype": "category", "allowed": ["n", "s"]}}})
    ref = pa.table({"age": [10, 20, 30, 40], "region": ["n", "s", "n", "s"]})
    cur = pa.table({"age": [5.0, -1.0, 150.0, 30.0], "region": ["n", "e", "e", "s"]})
    report = compare(ref, cur, schema=schema)
    age, region = report.feature("age"), report.feature("region")
    assert age.out_of_contract_cur == {"below_min": 1, "above_max": 1, "not_allowed": 0, "null_in_required": 0}
    assert age.out_of_contract_ref["below_min"] == 0 and age.dtype_mismatch
    assert region.out_of_contract_cur["not_allowed"] == 2 and not region.dtype_mismatch
    assert report.schema == "fs@1.0.0"


def test_parquet_paths_and_batch_iterables_give_the_exact_result(tmp_path: Path) -> None:
    ref, cur = _pair(3000, 2000)
    pq.write_table(ref, tmp_path / "ref.parquet", row_group_size=500)
    expected = compare(ref, cur).to_json()
    assert compare(tmp_path / "ref.parquet", cur).to_json() == expected
    assert compare(iter(ref.to_batches(max_chunksize=700)), cur).to_json() == expected


def test_a_parquet_file_and_a_directory_of_the_same_rows_agree(tmp_path: Path) -> None:
    ref, cur = _pair(3000, 2000)
    folder = tmp_path / "ref"
    folder.mkdir()
    pq.write_table(ref.slice(0, 1200), folder / "part-0.parquet")
    pq.write_table(ref.slice(1200), folder / "part-1.parquet")
    pq.write_table(ref, tmp_path / "ref.parquet", row_group_size=700)
    from_file = compare(tmp_path / "ref.parquet", cur).to_json()
    assert from_file == compare(folder, cur).to_json() == compare(ref, cur).to_json()


def test_integer_columns_counted_instead_of_sorted_give_the_same_numbers() -> None:
    """Above 10k values a narrow integer column is tallied; the numbers equal the sorted path and SciPy."""
    rng = np.random.default_rng(SEED)
    ref_ints, cur_ints = rng.integers(-20, 300, 60_000), rng.integers(-10, 320, 25_000)
    as_ints = compare(pa.table({"v": ref_ints}), pa.table({"v": cur_ints})).feature("v")
    as_floats = compare(pa.table({"v": ref_ints.astype(float)}), pa.table({"v": cur_ints.astype(float)})).feature("v")
    for measure in ("ks", "ks_p_value", "psi", "js", "statistic", "drifted", "test", "values_ref", "values_cur"):
        assert getattr(as_ints, measure) == getattr(as_floats, measure), measure
    assert as_ints.wasserstein_norm == pytest.approx(as_floats.wasserstein_norm, rel=1e-12)
    ks = sps.ks_2samp(ref_ints, cur_ints)
    assert (as_ints.ks, as_ints.ks_p_value) == pytest.approx((ks.statistic, ks.pvalue), rel=1e-12)
    assert as_ints.wasserstein_norm == pytest.approx(sps.wasserstein_distance(ref_ints, cur_ints) / np.std(ref_ints))
    chunked = pa.table({"v": pa.chunked_array([ref_ints[:7_000], ref_ints[7_000:]])})
    assert compare(chunked, pa.table({"v": cur_ints})).feature("v") == as_ints
    from lineage.drift.columns import NumericPartial

    counted, sorted_ = NumericPartial(), NumericPartial()
    counted.add(pa.array(ref_ints))
    sorted_.add(pa.array(ref_ints[:9_000]))
    values, counts = counted.counted_values()  # the path taken above
    assert counts.sum() == ref_ints.size and np.array_equal(values, np.unique(ref_ints))
    assert sorted_.counted_values() is None  # at or below 10k values SciPy's exact KS needs the raw values


def test_streaming_stays_within_its_stated_bounds(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    ref = pa.table({"x": rng.normal(100, 3, 300_000), "t": rng.standard_cauchy(300_000)})
    cur = pa.table({"x": rng.normal(100.2, 3, 100_000), "t": rng.standard_cauchy(100_000) * 1.1})
    pq.write_table(ref, tmp_path / "ref.parquet", row_group_size=50_000)
    pq.write_table(cur, tmp_path / "cur.parquet", row_group_size=50_000)
    exact = compare(tmp_path / "ref.parquet", tmp_path / "cur.parquet")
    approx = compare(tmp_path / "ref.parquet", tmp_path / "cur.parquet", streaming=True)
    assert approx.to_json()["mode"] == "streaming"
    for e, s in zip(exact.features, approx.features, strict=True):
        assert not s.exact and s.error_bound is not None
        assert s.ks <= e.ks + 1e-12 <= s.ks + s.error_bound["ks"] + 1e-12  # D~ <= D <= D~ + max bucket share
        assert abs(s.wasserstein_norm - e.wasserstein_norm) <= s.error_bound["wasserstein_norm"]
        assert s.drifted == e.drifted


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"reference_feature_set": "fs@1.0.0", "current_feature_set": "fs@2.0.0"}, "explicit feature list"),
    ({"features": ["nope"]}, "missing from both reference and current"),
    ({"kinds": {"cat": "numeric"}}, "not numeric"),
    ({"tests": {"cat": "ks"}}, "needs a numeric feature"),
    ({"tests": {"x": "magic"}}, "unknown test"),
    ({"correction": "holm"}, "unknown correction"),
])
def test_bad_input_is_one_clear_line(kwargs: dict, message: str) -> None:
    ref, cur = _pair(100, 100)
    with pytest.raises(InvalidInputError, match=message) as info:
        compare(ref, cur, **kwargs)
    assert "\n" not in str(info.value) and ":" in str(info.value)


def test_an_empty_reference_is_refused() -> None:
    ref, cur = _pair(100, 100)
    with pytest.raises(InvalidInputError, match="reference has no rows"):
        compare(ref.slice(0, 0), cur)


def test_different_feature_sets_compare_on_an_explicit_list() -> None:
    ref, cur = _pair(300, 300)
    report = compare(ref, cur, features=["x"], reference_feature_set="fs@1.0.0", current_feature_set="fs@2.0.0")
    assert [f.name for f in report.features] == ["x"] and report.reference_feature_set == "fs@1.0.0"


@pytest.mark.skipif(not EVIDENTLY_PYTHON.exists(),
                    reason=f"Evidently venv absent ({EVIDENTLY_PYTHON}): run bench/setup_evidently_venv.sh")
@pytest.mark.parametrize("ref_rows", [800, 5000])
def test_same_tests_numbers_and_verdicts_as_evidently(tmp_path: Path, ref_rows: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import drift as bench_drift

    ref, cur = bench_drift.make_tables(ref_rows, int(ref_rows * 0.6))
    pq.write_table(ref, tmp_path / "ref.parquet")
    pq.write_table(cur, tmp_path / "cur.parquet")
    done = subprocess.run(
        [str(EVIDENTLY_PYTHON), str(ROOT / "bench" / "drift.py"), "evidently", str(tmp_path / "ref.parquet"),
         str(tmp_path / "cur.parquet"), "--numeric", ",".join(bench_drift.numeric_names()),
         "--categorical", ",".join(bench_drift.categorical_names()), "--out", str(tmp_path / "ev.json")],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads((tmp_path / "ev.json").read_text())
    ours = compare(tmp_path / "ref.parquet", tmp_path / "cur.parquet")
    assert len(theirs["features"]) == len(ours.features) == 40
    for f in ours.features:
        e = theirs["features"][f.name]
        value = f.p_value if f.test in ("ks", "chisquare", "z") else f.statistic
        assert (f.test, f.drifted) == (e["test"], e["drifted"]), f.name
        assert value == pytest.approx(e["value"], rel=1e-9, abs=1e-12), f.name
    assert ours.overall["share"] == pytest.approx(theirs["share"])

