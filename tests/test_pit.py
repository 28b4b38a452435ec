"""Point-in-time joins and the leakage check: known answers, then properties against a brute-force
reference (for each row, filter the feature rows, then take the latest) and ``pandas.merge_asof``."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.errors import InvalidInputError
from lineage.features.pit import LeakageReport, leakage_check, point_in_time_join

T0 = pd.Timestamp("2026-03-01", tz="UTC")


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def times(*minutes: float | None) -> pd.Series:
    return pd.Series([None if m is None else at(m) for m in minutes], dtype="datetime64[ns, UTC]")


def join(entity_rows, feature_rows, **options):
    options = {"entity": "customer_id", "event_timestamp": "event_time", "feature_timestamp": "ts", **options}
    return point_in_time_join(entity_rows, feature_rows, **options)


def history() -> pd.DataFrame:
    """Customer 1 changes tier at minutes 0, 10 and 20; customer 2 has one row at minute 5."""
    return pd.DataFrame({
        "customer_id": [1, 1, 1, 2],
        "ts": times(0, 10, 20, 5),
        "tier": [1, 2, 3, 7],
        "score": [0.1, 0.2, 0.3, 0.7],
    })


# -- known answers --------------------------------------------------------------------------------


def test_exact_match_at_event_time_is_used():
    labels = pd.DataFrame({"customer_id": [1, 1], "event_time": times(10, 20)})
    out = join(labels, history())
    assert out["tier"].tolist() == [2, 3]
    assert out["feature_timestamp"].tolist() == [at(10), at(20)]


def test_later_feature_rows_are_never_used():
    labels = pd.DataFrame({"customer_id": [1, 1, 1, 2], "event_time": times(9.99, 19, -1, 4)})
    out = join(labels, history())
    assert out["tier"].tolist() == [1, 2, pd.NA, pd.NA]
    assert out["score"].iloc[:2].tolist() == [0.1, 0.2]
    assert out["score"].iloc[2:].isna().all()
    assert out["feature_timestamp"].iloc[2:].isna().all()


def test_ttl_makes_older_values_missing_but_keeps_values_exactly_ttl_old():
    labels = pd.DataFrame({"customer_id": [1, 1, 1], "event_time": times(15, 25, 25.5)})
    out = join(labels, history(), ttl=dt.timedelta(minutes=5))
    assert out["tier"].tolist() == [2, 3, pd.NA]  # 15-10 = 5: kept; 25.5-20 > 5: expired
    assert out["feature_timestamp"].isna().tolist() == [False, False, True]


def test_zero_ttl_keeps_only_exact_matches():
    labels = pd.DataFrame({"customer_id": [1, 1], "event_time": times(10, 10.5)})
    assert join(labels, history(), ttl=dt.timedelta(0))["tier"].tolist() == [2, pd.NA]


def test_entity_without_feature_rows_gets_nulls():
    labels = pd.DataFrame({"customer_id": [3, 1], "event_time": times(30, 30)})
    out = join(labels, history())
    assert out["tier"].tolist() == [pd.NA, 3]
    assert np.isnan(out["score"].iloc[0])


def test_equal_feature_timestamps_for_one_entity_take_the_last_row_in_input_order():
    features = pd.DataFrame({"customer_id": [1, 1, 1, 1], "ts": times(10, 10, 10, 0), "tier": [5, 6, 7, 8]})
    labels = pd.DataFrame({"customer_id": [1], "event_time": times(10)})
    assert join(labels, features)["tier"].tolist() == [7]


def test_entity_rows_keep_their_order_and_columns_and_get_a_fresh_index():
    labels = pd.DataFrame(
        {"label": ["c", "a", "b", "d"], "customer_id": [2, 1, 1, 9], "event_time": times(30, 15, 3, 30)},
    ).set_axis([40, 10, 30, 20])
    out = join(labels, history())
    assert list(out.columns) == ["label", "customer_id", "event_time", "tier", "score", "feature_timestamp"]
    assert out.index.tolist() == [0, 1, 2, 3]
    assert out["label"].tolist() == ["c", "a", "b", "d"]
    assert out["tier"].tolist() == [7, 2, 1, pd.NA]
    assert labels.index.tolist() == [40, 10, 30, 20]  # the input is not modified


def test_multi_column_entity_key_matches_on_every_column():
    features = pd.DataFrame({
        "store": ["a", "a", "b", "b"], "sku": [1, 2, 1, 2], "ts": times(0, 0, 0, 0), "stock": [10, 20, 30, 40],
    })
    labels = pd.DataFrame({"store": ["b", "a", "b", "c"], "sku": [1, 2, 2, 1], "event_time": times(1, 1, 1, 1)})
    out = point_in_time_join(labels, features, entity=["store", "sku"], event_timestamp="event_time",
                             feature_timestamp="ts")
    assert out["stock"].tolist() == [30, 20, 40, pd.NA]


def test_int_and_bool_features_stay_integers_and_booleans_with_nulls():
    features = pd.DataFrame({"customer_id": [1], "ts": times(0), "visits": np.array([2**53 + 1], dtype=np.int64),
                             "small": np.array([7], dtype=np.int32), "active": [True]})
    labels = pd.DataFrame({"customer_id": [1, 1], "event_time": times(5, -5)})
    out = join(labels, features)
    assert str(out["visits"].dtype) == "Int64" and str(out["small"].dtype) == "Int32"
    assert str(out["active"].dtype) == "boolean"
    assert out["visits"].iloc[0] == 2**53 + 1  # exact: never went through float
    assert out["visits"].isna().tolist() == [False, True]
    assert out["active"].tolist() == [True, pd.NA]
    everyone_matches = join(labels.iloc[:1], features)
    assert str(everyone_matches["visits"].dtype) == "Int64"  # the dtype does not depend on the data


def test_other_dtypes_keep_their_kind_with_nulls():
    features = pd.DataFrame({
        "customer_id": [1], "ts": times(0), "region": pd.Categorical(["north"]), "name": ["x"],
        "seen": pd.Series([at(-60)], dtype="datetime64[us, UTC]"), "maybe": pd.array([4], dtype="Int16"),
    })
    labels = pd.DataFrame({"customer_id": [1, 2], "event_time": times(1, 1)})
    out = join(labels, features)
    assert isinstance(out["region"].dtype, pd.CategoricalDtype)
    assert str(out["seen"].dtype) == "datetime64[us, UTC]" and str(out["maybe"].dtype) == "Int16"
    assert out["name"].tolist()[0] == "x" and pd.isna(out["name"].iloc[1])
    assert out.iloc[1, 2:].isna().all()


def test_features_option_selects_columns_and_matched_timestamp_can_be_renamed_or_omitted():
    labels = pd.DataFrame({"customer_id": [1], "event_time": times(12)})
    out = join(labels, history(), features=["score"], matched_timestamp="tier_at")
    assert list(out.columns) == ["customer_id", "event_time", "score", "tier_at"]
    assert out["tier_at"].tolist() == [at(10)]
    assert list(join(labels, history(), matched_timestamp=None).columns) == [
        "customer_id", "event_time", "tier", "score"]


def test_null_event_times_and_keys_get_nulls_and_unusable_feature_rows_are_ignored():
    features = pd.DataFrame({"customer_id": [1.0, 1.0, np.nan], "ts": times(0, None, 0), "tier": [1, 2, 3]})
    labels = pd.DataFrame({"customer_id": [1.0, 1.0, np.nan], "event_time": times(None, 5, 5)})
    assert join(labels, features)["tier"].tolist() == [pd.NA, 1, pd.NA]


def test_empty_inputs_give_all_nulls_with_the_same_columns_and_dtypes():
    labels = pd.DataFrame({"customer_id": [1, 2], "event_time": times(1, 2)})
    empty_features = history().iloc[:0]
    out = join(labels, empty_features)
    assert out["tier"].isna().all() and str(out["tier"].dtype) == "Int64"
    no_labels = join(labels.iloc[:0], history())
    assert len(no_labels) == 0
    assert list(no_labels.columns) == list(out.columns)
    assert str(no_labels["tier"].dtype) == "Int64"


def test_arrow_tables_are_accepted_and_arrow_ints_with_nulls_stay_ints():
    features = pa.table({"customer_id": pa.array([1, 1], pa.int64()), "ts": pa.array([at(0), at(10)], pa.timestamp("us", tz="UTC")),
                         "tier": pa.array([None, 5], pa.int32())})
    labels = pa.table({"customer_id": [1, 1, 2], "event_time": pa.array([at(5), at(11), at(11)], pa.timestamp("ns", tz="UTC"))})
    out = join(labels, features)
    assert str(out["tier"].dtype) == "Int32"
    assert out["tier"].tolist() == [pd.NA, 5, pd.NA]
    assert out["feature_timestamp"].tolist() == [at(0), at(10), pd.NaT]
    assert str(out["customer_id"].dtype) == "Int64"


def test_times_in_different_zones_and_units_compare_as_instants():
    paris = pd.Series([at(10)], dtype="datetime64[s, UTC]").dt.tz_convert("Europe/Paris")
    labels = pd.DataFrame({"customer_id": [1], "event_time": paris})
    out = join(labels, history())
    assert out["tier"].tolist() == [2]
    assert str(out["feature_timestamp"].dtype) == "datetime64[ns, UTC]"


def test_naive_times_join_naive_times():
    features = history().assign(ts=history()["ts"].dt.tz_localize(None))
    labels = pd.DataFrame({"customer_id": [1], "event_time": times(12).dt.tz_localize(None)})
    assert join(labels, features)["tier"].tolist() == [2]


def test_mixing_tz_aware_and_naive_times_is_refused_with_the_fix():
    labels = pd.DataFrame({"customer_id": [1], "event_time": times(12).dt.tz_localize(None)})
    with pytest.raises(InvalidInputError, match=r"tz-aware but .*tz-naive.*tz_localize") as caught:
        join(labels, history())
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("options", "needle"), [
    ({"entity": "client"}, "entity_rows has no column 'client'"),
    ({"event_timestamp": "when"}, "entity_rows has no column 'when'"),
    ({"feature_timestamp": "when"}, "feature_rows has no column 'when'"),
    ({"features": ["tier", "churn"]}, "feature_rows has no column 'churn'"),
    ({"entity": []}, "entity names no column"),
    ({"ttl": dt.timedelta(minutes=-1)}, "ttl must not be negative"),
    ({"ttl": 3600}, "ttl must be a datetime.timedelta, got int"),
    ({"features": ["customer_id"]}, "two columns named 'customer_id'"),
    ({"matched_timestamp": "event_time"}, "pass matched_timestamp="),
])
def test_bad_arguments_are_refused_in_one_line(options, needle):
    labels = pd.DataFrame({"customer_id": [1], "event_time": times(12)})
    with pytest.raises(InvalidInputError) as caught:
        join(labels, history(), **options)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_non_timestamp_time_columns_and_other_input_types_are_refused():
    labels = pd.DataFrame({"customer_id": [1], "event_time": ["2026-03-01"]})
    with pytest.raises(InvalidInputError, match="not timestamps; convert it with pandas.to_datetime"):
        join(labels, history())
    with pytest.raises(InvalidInputError, match="expected a pandas DataFrame or a pyarrow Table"):
        join([{"customer_id": 1}], history())


def test_one_entity_and_times_spanning_centuries_take_the_wide_sort_path():
    """code 0 only, and nanosecond times over ~500 years: the radix passes, not the one-word sort."""
    ts = pd.Series([pd.Timestamp(t) for t in ("1700-01-01", "2200-01-01", "1950-06-01 00:00:00.000000001", "2200-01-01")],
                   dtype="datetime64[ns]")
    features = pd.DataFrame({"customer_id": [1, 1, 1, 1], "ts": ts, "tier": [1, 2, 3, 4]})
    labels = pd.DataFrame({"customer_id": [1, 1, 1], "event_time": pd.Series(
        [pd.Timestamp(t) for t in ("2000-01-01", "2250-01-01", "1690-01-01")], dtype="datetime64[ns]")})
    assert join(labels, features)["tier"].tolist() == [3, 4, pd.NA]
    many = pd.concat([features.assign(customer_id=k) for k in range(300)], ignore_index=True)
    assert join(labels.assign(customer_id=299), many)["tier"].tolist() == [3, 4, pd.NA]


# -- properties: brute force and merge_asof -------------------------------------------------------


def reference_rows(labels: pd.DataFrame, features: pd.DataFrame, keys: list[str], ttl: dt.timedelta | None) -> list:
    """For each entity row, filter the feature rows it may use, then take the latest (last on ties)."""
    chosen = []
    for _, row in labels.iterrows():
        best, best_time = pd.NA, None
        if not (pd.isna(row["event_time"]) or any(pd.isna(row[k]) for k in keys)):
            for position, feature in enumerate(features.itertuples(index=False)):
                feature_time = feature.ts
                if pd.isna(feature_time) or any(getattr(feature, k) != row[k] for k in keys):
                    continue
                if feature_time > row["event_time"]:
                    continue
                if ttl is not None and row["event_time"].value - feature_time.value > nanoseconds(ttl):
                    continue
                if best_time is None or feature_time >= best_time:
                    best, best_time = position, feature_time
        chosen.append(best)
    return chosen


def nanoseconds(delta: dt.timedelta) -> int:
    """Exact, in Python ints (``timedelta.max`` would overflow pandas)."""
    if isinstance(delta, pd.Timedelta):
        return delta.value
    return ((delta.days * 86_400 + delta.seconds) * 10**6 + delta.microseconds) * 1_000


@st.composite
def join_inputs(draw, nulls: bool = True, widest: int = 2**63 - 1):
    """Small inputs with many ties: few entities, times on a coarse grid or across the ns range
    (``widest`` bounds it: merge_asof's tolerance test overflows when two times are more than
    2**63 ns apart, and then matches a 300-year-old row with ttl=0)."""
    wide = draw(st.booleans())
    two_keys = draw(st.booleans())
    if wide:
        time_values = st.integers(-widest, widest)
    else:
        step = draw(st.sampled_from([1, 1_000, 60 * 10**9]))
        time_values = st.integers(0, 12).map(lambda k: 1_767_225_600 * 10**9 + k * step)
    as_time = st.one_of(st.none(), time_values) if nulls else time_values

    key_values = st.one_of(st.none(), st.integers(0, 3)) if nulls else st.integers(0, 3)

    def frame(size: int, time_name: str) -> pd.DataFrame:
        data: dict[str, object] = {"customer_id": pd.Series(draw(st.lists(key_values, min_size=size, max_size=size)),
                                                            dtype="float64" if nulls else "int64")}
        if two_keys:
            data["shop"] = pd.Series(draw(st.lists(st.sampled_from(["a", "b"]), min_size=size, max_size=size)), dtype="str")
        stamps = draw(st.lists(as_time, min_size=size, max_size=size))
        data[time_name] = pd.Series([pd.NaT if v is None else pd.Timestamp(v, tz="UTC") for v in stamps],
                                    dtype="datetime64[ns, UTC]")
        return pd.DataFrame(data)

    labels = frame(draw(st.integers(0, 20)), "event_time")
    features = frame(draw(st.integers(0, 30)), "ts")
    features["row"] = np.arange(len(features), dtype=np.int64)
    ttl = draw(st.one_of(st.none(), st.sampled_from([
        dt.timedelta(0), pd.Timedelta(1, "ns"), dt.timedelta(microseconds=1), dt.timedelta(minutes=3),
        dt.timedelta(days=40_000), dt.timedelta.max])))
    keys = ["customer_id", "shop"] if two_keys else ["customer_id"]
    return labels, features, keys, ttl


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(join_inputs())
def test_join_takes_the_same_row_as_the_brute_force_reference(inputs):
    labels, features, keys, ttl = inputs
    out = point_in_time_join(labels, features, entity=keys, event_timestamp="event_time", feature_timestamp="ts", ttl=ttl)
    expected = reference_rows(labels, features, keys, ttl)
    assert out["row"].tolist() == expected
    assert len(out) == len(labels)
    taken = [pd.NaT if pd.isna(r) else features["ts"].iloc[r] for r in expected]
    assert out["feature_timestamp"].tolist() == taken


@PROPERTY
@given(join_inputs(nulls=False, widest=2**62))
def test_join_gives_exactly_the_values_of_merge_asof_on_stably_sorted_input(inputs):
    labels, features, keys, ttl = inputs
    out = point_in_time_join(labels, features, entity=keys, event_timestamp="event_time", feature_timestamp="ts", ttl=ttl)
    left = labels.assign(_pos=np.arange(len(labels))).sort_values("event_time", kind="stable")
    right = features.sort_values("ts", kind="stable")
    baseline = pd.merge_asof(left, right, left_on="event_time", right_on="ts", by=keys, direction="backward",
                             allow_exact_matches=True,
                             tolerance=None if ttl in (None, dt.timedelta.max) else pd.Timedelta(ttl))
    baseline = baseline.sort_values("_pos").reset_index(drop=True)
    assert out["row"].astype("float64").fillna(-1).tolist() == baseline["row"].astype("float64").fillna(-1).tolist()
    assert out["feature_timestamp"].tolist() == baseline["ts"].tolist()


# -- leakage check --------------------------------------------------------------------------------


def test_leakage_check_counts_rows_with_a_feature_time_after_the_event_time():
    frame = pd.DataFrame({
        "event_time": times(10, 10, 10, None, 10),
        "tier_ts": times(5, 10, 11, 20, None),  # before, equal (fine), after (leak), no event, no feature
        "score_ts": times(11, 0, 12, 0, 30),  # rows 0, 2 and 4 leak
    })
    report = leakage_check(frame, event_timestamp="event_time", feature_timestamps=["tier_ts", "score_ts"])
    assert isinstance(report, LeakageReport)
    assert (report.rows_checked, report.leaking_rows) == (4, 3)
    assert report.by_column == {"tier_ts": 1, "score_ts": 3}
    assert not report.ok
    assert [(e["row"], e["column"]) for e in report.examples] == [
        (0, "score_ts"), (2, "tier_ts"), (2, "score_ts"), (4, "score_ts")]
    assert report.examples[1] == {"row": 2, "column": "tier_ts", "event_time": "2026-03-01T00:10:00+00:00",
                                  "feature_time": "2026-03-01T00:11:00+00:00"}
    assert json.loads(json.dumps(report.to_json()))["leaking_rows"] == 3
    assert report.summary_line().startswith("LEAKAGE: 3 of 4 rows")


def test_leakage_check_keeps_only_the_first_examples_in_row_order():
    frame = pd.DataFrame({"event_time": times(*[0] * 30), "a": times(*[1] * 30), "b": times(*[1] * 30)})
    report = leakage_check(frame, event_timestamp="event_time", feature_timestamps=("a", "b"), max_examples=3)
    assert report.leaking_rows == 30 and report.by_column == {"a": 30, "b": 30}
    assert [(e["row"], e["column"]) for e in report.examples] == [(0, "a"), (0, "b"), (1, "a")]


def test_leakage_check_refuses_mixed_time_zones_and_missing_columns():
    frame = pd.DataFrame({"event_time": times(0), "feature_ts": times(0).dt.tz_localize(None)})
    with pytest.raises(InvalidInputError, match="tz-aware but"):
        leakage_check(frame, event_timestamp="event_time", feature_timestamps="feature_ts")
    with pytest.raises(InvalidInputError, match="frame has no column 'nope'"):
        leakage_check(frame, event_timestamp="event_time", feature_timestamps="nope")


def labels_and_history(seed: int = 2010) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    history = pd.DataFrame({"customer_id": rng.integers(0, 50, 2_000), "ts": times(*rng.integers(0, 10_000, 2_000)),
                            "tier": rng.integers(0, 5, 2_000)})
    labels = pd.DataFrame({"customer_id": rng.integers(0, 55, 500), "event_time": times(*rng.integers(0, 10_000, 500))})
    return labels, history


def test_a_naive_latest_value_join_leaks_and_the_check_reports_the_exact_count():
    # Hand-made: customer 1's latest row (minute 20) is after labels at 5 and 15, not after 25;
    # customer 2's only row (minute 5) is after its label at 1. Three leaking rows.
    labels = pd.DataFrame({"customer_id": [1, 1, 1, 2, 3], "event_time": times(5, 15, 25, 1, 9)})
    latest = history().sort_values("ts").groupby("customer_id", as_index=False).last()
    naive = labels.merge(latest, on="customer_id", how="left")
    report = leakage_check(naive, event_timestamp="event_time", feature_timestamps="ts")
    assert (report.rows_checked, report.leaking_rows) == (5, 3)
    assert [e["row"] for e in report.examples] == [0, 1, 3]
    correct = join(labels, history())
    assert leakage_check(correct, event_timestamp="event_time", feature_timestamps="feature_timestamp").ok

    # Seeded, bigger: the expected count is computed row by row from the definition.
    labels, hist = labels_and_history()
    latest = hist.sort_values("ts", kind="stable").groupby("customer_id", as_index=False).last()
    naive = labels.merge(latest, on="customer_id", how="left")
    last_time = hist.groupby("customer_id")["ts"].max().to_dict()
    expected = sum(1 for c, t in zip(labels["customer_id"], labels["event_time"], strict=True)
                   if c in last_time and last_time[c] > t)
    report = leakage_check(naive, event_timestamp="event_time", feature_timestamps="ts")
    assert report.leaking_rows == expected > 0
    pit = join(labels, hist)
    assert leakage_check(pit, event_timestamp="event_time", feature_timestamps="feature_timestamp").ok


@PROPERTY
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 5)), st.one_of(st.none(), st.integers(0, 5))),
                max_size=30))
def test_leakage_count_matches_a_row_by_row_count(pairs):
    frame = pd.DataFrame({"event_time": times(*[e for e, _ in pairs]), "ts": times(*[f for _, f in pairs])})
    report = leakage_check(frame, event_timestamp="event_time", feature_timestamps="ts")
    assert report.leaking_rows == sum(1 for e, f in pairs if e is not None and f is not None and f > e)
    assert report.rows_checked == sum(1 for e, _ in pairs if e is not None)
    assert report.ok == (report.leaking_rows == 0)
    assert report.summary_line().startswith("no leakage" if report.ok else "LEAKAGE")
