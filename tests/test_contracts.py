"""Schema contracts: one online row (generated pydantic model) and a whole batch (pyarrow.compute).

The two paths read the schema in one place; the hypothesis property at the end checks
that they find the same (row, feature, reason) triples on random small tables.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.errors import InvalidInputError, SchemaViolationError
from lineage.features.contracts import (
    REASONS,
    BatchReport,
    Violation,
    row_model,
    row_violations,
    validate_batch,
    validate_row,
)
from lineage.features.schema import FeatureSetSchema, parse_schema

UTC = dt.UTC
SEED_SCHEMA = {"feature_set": "customer_features", "version": "2.1.0",
               "features": {"age": "int", "avg_purchase_value": "float", "region": "category"}}
REGIONS = ["north", "south", "east", "west"]


def contract() -> FeatureSetSchema:
    """Every dtype, with constraints, plus entity and timestamp columns."""
    return parse_schema({
        "feature_set": "customer_features", "version": "3.0.0", "entity": "customer_id", "timestamp": "event_time",
        "features": {
            "age": {"dtype": "int", "min": 0, "max": 130},
            "avg_purchase_value": {"dtype": "float", "min": 0},
            "discount": {"dtype": "float", "min": 0, "max": 1, "nullable": True},
            "is_active": "bool",
            "email_domain": {"dtype": "string", "nullable": True},
            "region": {"dtype": "category", "allowed": REGIONS},
            "last_login": {"dtype": "datetime", "min": "2000-01-01T00:00:00Z", "max": "2030-01-01T00:00:00Z"},
            "birth_date": {"dtype": "date", "min": "1900-01-01", "nullable": True},
        },
    })


def good_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "customer_id": 1, "event_time": dt.datetime(2026, 1, 1, tzinfo=UTC), "age": 35, "avg_purchase_value": 52.3,
        "discount": 0.1, "is_active": True, "email_domain": "example.com", "region": "north",
        "last_login": dt.datetime(2025, 6, 1, tzinfo=UTC), "birth_date": dt.date(1990, 5, 17),
    }
    row.update(changes)
    return row


def good_table(rows: int = 6) -> pa.Table:
    """``rows`` valid rows with the exact Arrow types of ``contract().arrow_schema()``."""
    return pa.Table.from_pylist([good_row(customer_id=i, age=20 + i) for i in range(rows)],
                                schema=contract().arrow_schema())


def with_column(table: pa.Table, name: str, values: list[object], type_: pa.DataType | None = None) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(index, name, pa.array(values, type_ or table.schema.field(name).type))


def triples(violations: object) -> set[tuple[int | None, str, str]]:
    return {(v.row, v.feature, v.reason) for v in violations}  # type: ignore[attr-defined]


# --- one row ---------------------------------------------------------------------------------

def test_seed_example_row_is_accepted() -> None:
    schema = parse_schema(SEED_SCHEMA)
    row = validate_row(schema, {"age": 35, "avg_purchase_value": 52.3, "region": "north"})
    assert (row.age, row.avg_purchase_value, row.region) == (35, 52.3, "north")  # type: ignore[attr-defined]
    assert row_violations(schema, {"age": 35, "avg_purchase_value": 52.3, "region": "north"}) == []


def test_row_model_is_named_after_the_feature_set_and_has_one_field_per_column() -> None:
    model = row_model(contract())
    assert model.__name__ == "CustomerFeaturesRow"
    assert list(model.model_fields) == ["customer_id", "event_time", *contract().features]
    assert model.model_json_schema()["properties"]["age"] | {"title": ""} == {
        "type": "integer", "minimum": 0, "maximum": 130, "title": ""}


def test_row_model_is_cached_per_schema_content() -> None:
    assert row_model(contract()) is row_model(contract())
    assert row_model(contract()) is not row_model(parse_schema(SEED_SCHEMA))


@pytest.mark.parametrize("value", ["42", True, 42.5, 42.0, None])
def test_int_feature_refuses_strings_bools_and_floats(value: object) -> None:
    [violation] = row_violations(contract(), good_row(age=value))
    assert (violation.feature, violation.reason) == ("age", "null" if value is None else "wrong_type")


def test_float_feature_accepts_an_int_but_not_a_bool_or_a_string() -> None:
    assert validate_row(contract(), good_row(avg_purchase_value=52)).avg_purchase_value == 52  # type: ignore[attr-defined]
    assert triples(row_violations(contract(), good_row(avg_purchase_value=True, age=np.int64(3)))) == {
        (None, "avg_purchase_value", "wrong_type")}


def test_numpy_scalars_count_as_their_python_values() -> None:
    row = good_row(age=np.int64(40), avg_purchase_value=np.float32(2.5), is_active=np.bool_(False))
    assert row_violations(contract(), row) == []


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, pd.NaT])
def test_nullable_feature_accepts_null_markers_and_may_be_left_out(missing: object) -> None:
    assert row_violations(contract(), good_row(discount=missing, birth_date=missing)) == []
    row = good_row()
    del row["discount"], row["email_domain"]
    assert validate_row(contract(), row).discount is None  # type: ignore[attr-defined]


def test_nan_in_a_required_float_is_null() -> None:
    assert triples(row_violations(contract(), good_row(avg_purchase_value=float("nan")))) == {
        (None, "avg_purchase_value", "null")}


def test_default_fills_a_missing_key_but_not_an_explicit_null() -> None:
    schema = parse_schema({"feature_set": "s", "version": "1.0.0",
                           "features": {"visits": {"dtype": "int", "default": 0}}})
    assert validate_row(schema, {}).visits == 0  # type: ignore[attr-defined]
    assert triples(row_violations(schema, {"visits": None})) == {(None, "visits", "null")}


@pytest.mark.parametrize(
    ("changes", "feature", "reason"),
    [
        ({"age": -3}, "age", "below_min"),
        ({"age": 131}, "age", "above_max"),
        ({"discount": 1.5}, "discount", "above_max"),
        ({"avg_purchase_value": -0.01}, "avg_purchase_value", "below_min"),
        ({"region": "mars"}, "region", "not_allowed"),
        ({"region": 5}, "region", "wrong_type"),
        ({"is_active": 1}, "is_active", "wrong_type"),
        ({"is_active": None}, "is_active", "null"),
        ({"customer_id": None}, "customer_id", "null"),
        ({"event_time": "2026-01-01T00:00:00Z"}, "event_time", "wrong_type"),
        ({"last_login": dt.datetime(1999, 12, 31, 23, 59, tzinfo=UTC)}, "last_login", "below_min"),
        ({"last_login": dt.datetime(2030, 1, 1, 0, 1)}, "last_login", "above_max"),  # naive is read as UTC
        ({"birth_date": dt.date(1899, 12, 31)}, "birth_date", "below_min"),
        ({"birth_date": dt.datetime(1990, 5, 17)}, "birth_date", "wrong_type"),
        ({"colour": "red"}, "colour", "extra_column"),
    ],
)
def test_each_violation_kind_is_found_in_a_row(changes: dict[str, object], feature: str, reason: str) -> None:
    assert triples(row_violations(contract(), good_row(**changes), row_number=7)) == {(7, feature, reason)}
    with pytest.raises(SchemaViolationError, match=f"{feature}: "):
        validate_row(contract(), good_row(**changes))


@pytest.mark.parametrize("key", ["customer_id", "event_time", "age"])
def test_a_missing_required_key_is_a_missing_column(key: str) -> None:
    row = good_row()
    del row[key]
    assert triples(row_violations(contract(), row)) == {(None, key, "missing_column")}


def test_validate_row_lists_every_problem_on_one_line() -> None:
    with pytest.raises(SchemaViolationError) as caught:
        validate_row(contract(), good_row(age=-3, region="mars"))
    message = str(caught.value)
    assert "age: must be >= 0 (got -3); region: 'mars' is not allowed (allowed: north, south, east, west)" in message
    assert "customer_features@3.0.0" in message and "\n" not in message


def test_row_violation_details_match_the_batch_wording() -> None:
    [violation] = row_violations(contract(), good_row(age=-3))
    assert violation == Violation(None, "age", "below_min", "value -3 < min 0")


def test_a_row_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="mapping"):
        row_violations(contract(), [1, 2, 3])  # type: ignore[arg-type]


def test_feature_names_that_shadow_model_attributes_are_still_validated() -> None:
    schema = parse_schema({"feature_set": "odd-names.v2", "version": "1.0.0",
                           "features": {"json": {"dtype": "int", "min": 0}, "copy": "float"}})
    assert row_model(schema).__name__ == "OddNamesV2Row"
    assert validate_row(schema, {"json": 1, "copy": 2.0})
    assert triples(row_violations(schema, {"json": -1, "copy": 2.0})) == {(None, "json", "below_min")}


# --- a batch ---------------------------------------------------------------------------------

def test_a_valid_table_and_its_dataframe_pass() -> None:
    for data in (good_table(), good_table().to_pandas()):
        report = validate_batch(data, contract())
        assert report.ok and report.rows_checked == 6 and list(report.violations) == []
        assert report.summary_line() == "customer_features@3.0.0: 6 rows checked, no violations"


def test_seed_example_frame_passes() -> None:
    frame = pd.DataFrame({"age": [35, 41], "avg_purchase_value": [52.3, 10], "region": ["north", "south"]})
    assert validate_batch(frame, parse_schema(SEED_SCHEMA)).ok


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("age", [20, -3, 22, 131, None, 25], {(1, "below_min"), (3, "above_max"), (4, "null")}),
        ("avg_purchase_value", [1.0, float("nan"), -0.5, None, 2.0, 3.0], {(1, "null"), (2, "below_min"), (3, "null")}),
        ("discount", [None, float("nan"), 1.5, -1.0, 0.0, 1.0], {(2, "above_max"), (3, "below_min")}),
        ("is_active", [True, None, False, True, True, True], {(1, "null")}),
        ("region", ["north", "mars", None, "south", "venus", "east"], {(1, "not_allowed"), (2, "null"), (4, "not_allowed")}),
        ("customer_id", [1, 2, None, 4, 5, 6], {(2, "null")}),
        ("event_time", [dt.datetime(2026, 1, 1, tzinfo=UTC)] * 5 + [None], {(5, "null")}),
        ("last_login", [dt.datetime(1999, 1, 1, tzinfo=UTC), dt.datetime(2031, 1, 1, tzinfo=UTC)] + [
            dt.datetime(2020, 1, 1, tzinfo=UTC)] * 4, {(0, "below_min"), (1, "above_max")}),
        ("birth_date", [dt.date(1850, 1, 1), None, dt.date(2000, 1, 1)] * 2, {(0, "below_min"), (3, "below_min")}),
    ],
)
def test_each_value_violation_kind_is_found_in_a_batch(column: str, values: list[object],
                                                       expected: set[tuple[int, str]]) -> None:
    table = with_column(good_table(), column, values)
    report = validate_batch(table, contract())
    assert triples(report.violations) == {(row, column, reason) for row, reason in expected}
    rows_as_dicts = table.to_pylist()
    by_row = set().union(*(triples(row_violations(contract(), r, row_number=i)) for i, r in enumerate(rows_as_dicts)))
    assert by_row == triples(report.violations)


def test_missing_extra_and_duplicate_columns_are_column_level() -> None:
    table = good_table().drop_columns(["age", "event_time"]).append_column("colour", pa.array(["red"] * 6))
    table = table.append_column("region", table.column("region"))
    report = validate_batch(table, contract())
    assert triples(report.violations) == {(None, "event_time", "missing_column"), (None, "age", "missing_column"),
                                          (None, "colour", "extra_column"), (None, "region", "extra_column")}
    details = {v.feature: v.detail for v in report.violations}
    assert details["age"] == "column missing (expected int64)" and "duplicate" in details["region"]


@pytest.mark.parametrize(
    ("column", "arrow_type", "values"),
    [
        ("age", pa.float64(), [1.0] * 6),
        ("age", pa.string(), ["1"] * 6),
        ("age", pa.bool_(), [True] * 6),
        ("avg_purchase_value", pa.string(), ["1.5"] * 6),
        ("is_active", pa.int8(), [1] * 6),
        ("email_domain", pa.dictionary(pa.int8(), pa.string()), ["a"] * 6),
        ("region", pa.int64(), [1] * 6),
        ("region", pa.dictionary(pa.int8(), pa.int64()), [1] * 6),
        ("last_login", pa.string(), ["2026-01-01"] * 6),
        ("last_login", pa.date32(), [dt.date(2026, 1, 1)] * 6),
        ("birth_date", pa.timestamp("us"), [dt.datetime(2026, 1, 1)] * 6),
        ("customer_id", pa.string(), ["c1"] * 6),
    ],
)
def test_an_incompatible_arrow_type_is_a_wrong_type(column: str, arrow_type: pa.DataType, values: list[object]) -> None:
    report = validate_batch(with_column(good_table(), column, values, arrow_type), contract())
    [violation] = report.violations
    assert (violation.row, violation.feature, violation.reason) == (None, column, "wrong_type")
    assert str(arrow_type) in violation.detail


@pytest.mark.parametrize(
    ("column", "arrow_type", "values"),
    [
        ("age", pa.int8(), [1] * 6),
        ("age", pa.uint16(), [1] * 6),
        ("avg_purchase_value", pa.int32(), [1] * 6),
        ("avg_purchase_value", pa.float32(), [1.5] * 6),
        ("email_domain", pa.large_string(), ["a"] * 6),
        ("region", pa.string(), ["north"] * 6),
        ("region", pa.dictionary(pa.int8(), pa.large_string()), ["north"] * 6),
        ("last_login", pa.timestamp("ns"), [dt.datetime(2026, 1, 1)] * 6),
        ("last_login", pa.timestamp("s", tz="Europe/Paris"), [dt.datetime(2026, 1, 1, tzinfo=UTC)] * 6),
        ("birth_date", pa.date64(), [dt.date(2000, 1, 1)] * 6),
        ("discount", pa.null(), [None] * 6),
    ],
)
def test_compatible_arrow_types_are_accepted(column: str, arrow_type: pa.DataType, values: list[object]) -> None:
    assert validate_batch(with_column(good_table(), column, values, arrow_type), contract()).ok


def test_bounds_apply_across_arrow_units_and_time_zones() -> None:
    table = with_column(good_table(), "last_login", [dt.datetime(2031, 1, 1)] + [dt.datetime(2001, 1, 1)] * 5,
                        pa.timestamp("ns"))
    table = with_column(table, "age", [131, 0, 1, 2, 3, 130], pa.uint8())
    assert triples(validate_batch(table, contract()).violations) == {(0, "last_login", "above_max"),
                                                                     (0, "age", "above_max")}


def test_nullable_features_with_nulls_pass_in_table_and_dataframe() -> None:
    table = with_column(good_table(), "discount", [None, float("nan"), None, 0.5, None, None])
    table = with_column(table, "email_domain", [None] * 6)
    table = with_column(table, "birth_date", [None, dt.date(2000, 1, 1)] * 3)
    assert validate_batch(table, contract()).ok
    assert validate_batch(table.to_pandas(), contract()).ok


def test_chunked_columns_give_the_same_report_as_one_chunk() -> None:
    table = with_column(good_table(), "age", [20, -3, 22, 131, None, 25])
    table = with_column(table, "region", pa.array(["north", "mars", "east", "south", "venus", "east"]).dictionary_encode(),
                        pa.dictionary(pa.int32(), pa.string()))
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1, 3), table.slice(4, 0), table.slice(4)])
    assert chunked.column("age").num_chunks > 1
    whole, split = validate_batch(table, contract()), validate_batch(chunked, contract())
    assert whole.to_json() == split.to_json()
    assert triples(split.violations) == {(1, "age", "below_min"), (3, "age", "above_max"), (4, "age", "null"),
                                         (1, "region", "not_allowed"), (4, "region", "not_allowed")}


def test_dictionary_chunks_with_different_dictionaries_are_each_checked() -> None:
    first = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], pa.int8()), pa.array(["north", "mars"]))
    second = pa.DictionaryArray.from_arrays(pa.array([1, 0, 1], pa.int8()), pa.array(["venus", "south"]))
    table = good_table()
    table = table.set_column(table.column_names.index("region"), "region", pa.chunked_array([first, second]))
    assert triples(validate_batch(table, contract()).violations) == {(1, "region", "not_allowed"),
                                                                     (4, "region", "not_allowed")}


def test_dataframe_and_table_inputs_give_the_same_report() -> None:
    table = with_column(good_table(), "age", [20, -3, 22, 131, 30, 25])
    table = with_column(table, "region", ["north", "mars", "east", "south", "west", "east"])
    frame = table.to_pandas()
    frame["region"] = frame["region"].astype("category")
    assert validate_batch(frame, contract()).to_json() == validate_batch(table, contract()).to_json()


def test_pandas_int_column_with_nan_is_a_wrong_type_with_a_hint() -> None:
    frame = good_table().to_pandas()
    frame["age"] = [20, None, 22, 23, 24, 25]  # float64 with NaN
    [violation] = validate_batch(frame, contract()).violations
    assert violation.reason == "wrong_type" and "'Int64'" in violation.detail
    frame["age"] = pd.array([20, None, 22, 23, 24, 25], dtype="Int64")
    assert triples(validate_batch(frame, contract()).violations) == {(1, "age", "null")}


def test_dataframe_column_arrow_cannot_convert_is_a_wrong_type_and_the_rest_is_checked() -> None:
    frame = good_table().to_pandas()
    frame["email_domain"] = ["a.com", 3, "b.com", "c.com", "d.com", "e.com"]
    frame["age"] = [20, -1, 22, 23, 24, 25]
    assert triples(validate_batch(frame, contract()).violations) == {(None, "email_domain", "wrong_type"),
                                                                     (1, "age", "below_min")}


def test_dataframe_with_a_duplicated_column_reports_the_duplicate() -> None:
    frame = good_table().to_pandas()
    frame = pd.concat([frame, frame[["age"]]], axis=1)
    assert triples(validate_batch(frame, contract()).violations) == {(None, "age", "extra_column")}


def test_allowed_values_of_another_type_never_match_in_either_path() -> None:
    schema = parse_schema({"feature_set": "s", "version": "1.0.0", "features": {
        "n": {"dtype": "int", "allowed": [1, "a", True]},
        "e": {"dtype": "string", "allowed": [], "nullable": True},
    }})
    rows = [{"n": 1, "e": None}, {"n": 2, "e": "x"}]
    table = pa.Table.from_pylist(rows, schema=pa.schema([("n", pa.int64()), ("e", pa.string())]))
    expected = {(1, "n", "not_allowed"), (1, "e", "not_allowed")}
    assert triples(validate_batch(table, schema).violations) == expected
    assert set().union(*(triples(row_violations(schema, r, row_number=i)) for i, r in enumerate(rows))) == expected


def test_anything_but_a_table_or_dataframe_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="DataFrame or a pyarrow Table"):
        validate_batch([good_row()], contract())  # type: ignore[arg-type]


def test_an_empty_table_passes() -> None:
    report = validate_batch(good_table().slice(0, 0), contract())
    assert report.ok and report.rows_checked == 0


# --- the report ------------------------------------------------------------------------------

def broken_report() -> BatchReport:
    table = with_column(good_table(), "age", [-1, -2, 200, -4, 22, -6])
    table = with_column(table, "region", ["mars", "north", "mars", "east", "west", "east"])
    return validate_batch(table.drop_columns(["is_active"]), contract())


def test_report_json_has_counts_and_rows_ascending_within_a_kind() -> None:
    report = broken_report().to_json()
    assert report["ok"] is False and report["rows_checked"] == 6 and report["violation_count"] == 8
    assert report["counts"] == [
        {"feature": "is_active", "reason": "missing_column", "count": 1},
        {"feature": "age", "reason": "below_min", "count": 4},
        {"feature": "age", "reason": "above_max", "count": 1},
        {"feature": "region", "reason": "not_allowed", "count": 2},
    ]
    assert [v["row"] for v in report["violations"] if v["reason"] == "below_min"] == [0, 1, 3, 5]
    assert report["violations"][1] == {"row": 0, "feature": "age", "reason": "below_min", "detail": "value -1 < min 0"}
    assert report["violations"][-1]["detail"] == "value 'mars' not in allowed (north, south, east, west)"


def test_report_json_limit_applies_per_kind() -> None:
    report = broken_report().to_json(limit_per_kind=1)
    assert report["violation_count"] == 8
    assert [(v["feature"], v["reason"], v["row"]) for v in report["violations"]] == [
        ("is_active", "missing_column", None), ("age", "below_min", 0), ("age", "above_max", 2),
        ("region", "not_allowed", 0)]


def test_violations_can_be_indexed_sliced_and_iterated_alike() -> None:
    violations = broken_report().violations
    assert len(violations) == 8
    assert [violations[i] for i in range(8)] == list(violations) == violations[:]
    assert violations[-1] == violations[7] and violations[2:4] == list(violations)[2:4]
    with pytest.raises(IndexError):
        violations[8]


def test_summary_line_counts_kinds() -> None:
    assert broken_report().summary_line() == (
        "customer_features@3.0.0: 6 rows checked, 8 violations: is_active missing_column 1, "
        "age below_min 4, age above_max 1, region not_allowed 2")


def test_a_million_violations_are_kept_as_row_arrays() -> None:
    schema = parse_schema({"feature_set": "big", "version": "1.0.0", "features": {"x": {"dtype": "int", "min": 0}}})
    report = validate_batch(pa.table({"x": pa.array(np.full(1_000_000, -1, dtype=np.int64))}), schema)
    assert len(report.violations) == 1_000_000 and report.counts()[0]["count"] == 1_000_000
    assert report.violations[999_999] == Violation(999_999, "x", "below_min", "value -1 < min 0")
    assert len(report.to_json(limit_per_kind=3)["violations"]) == 3


def test_every_reason_is_one_of_the_documented_kinds() -> None:
    assert set(REASONS) == {"missing_column", "extra_column", "wrong_type", "null", "below_min", "above_max",
                            "not_allowed"}


# --- the two paths agree -------------------------------------------------------------------

PROPERTY_SCHEMA = parse_schema({
    "feature_set": "prop", "version": "1.0.0", "entity": "id",
    "features": {
        "n": {"dtype": "int", "min": -5, "max": 5},
        "x": {"dtype": "float", "min": 0.5, "max": 2.5, "nullable": True},
        "y": {"dtype": "float", "max": 0},
        "flag": "bool",
        "code": {"dtype": "string", "allowed": ["a", "b"], "nullable": True},
        "region": {"dtype": "category", "allowed": ["north", "south"]},
        "when": {"dtype": "datetime", "min": "2020-01-01T00:00:00Z", "nullable": True},
        "day": {"dtype": "date", "max": "2030-12-31"},
    },
})


def maybe(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), values)


ROW = st.fixed_dictionaries({
    "id": maybe(st.integers(-3, 3)),
    "n": maybe(st.integers(-8, 8)),
    "x": maybe(st.one_of(st.floats(allow_nan=True), st.sampled_from([0.5, 2.5, 0.4999, 2.5001]))),
    "y": maybe(st.one_of(st.floats(-2, 2), st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan]))),
    "flag": maybe(st.booleans()),
    "code": maybe(st.sampled_from(["a", "b", "c", ""])),
    "region": maybe(st.sampled_from(["north", "south", "mars"])),
    "when": maybe(st.datetimes(dt.datetime(2019, 12, 31, 23), dt.datetime(2020, 1, 1, 1), timezones=st.just(UTC))),
    "day": maybe(st.dates(dt.date(2030, 12, 30), dt.date(2031, 1, 2))),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=12), cuts=st.lists(st.integers(0, 12), max_size=3),
       as_dictionary=st.booleans())
def test_batch_and_row_by_row_find_the_same_violations(rows: list[dict[str, object]], cuts: list[int],
                                                       as_dictionary: bool) -> None:
    table = pa.Table.from_pylist(rows, schema=PROPERTY_SCHEMA.arrow_schema().remove_metadata())
    if not as_dictionary:
        table = table.set_column(table.column_names.index("region"), "region", table.column("region").cast(pa.string()))
    bounds = sorted({0, len(rows), *(min(c, len(rows)) for c in cuts)})
    table = pa.concat_tables([table.slice(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False)] or [table])
    batch = triples(validate_batch(table, PROPERTY_SCHEMA).violations)
    one_by_one = set().union(*(triples(row_violations(PROPERTY_SCHEMA, row, row_number=i))
                               for i, row in enumerate(table.to_pylist())))
    assert batch == one_by_one


@pytest.mark.parametrize("bound", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
def test_datetime_bound_whose_offset_leaves_the_calendar_is_refused_in_one_line(bound: str) -> None:
    schema = parse_schema({"feature_set": "f", "version": "1.0.0",
                           "features": {"seen": {"dtype": "datetime", "min": bound}}})
    table = pa.table({"seen": pa.array([dt.datetime(2026, 1, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))})
    with pytest.raises(InvalidInputError, match="outside the years 1 to 9999 once converted to UTC"):
        validate_batch(table, schema)
