"""Schema diffs classify every change exactly as the policy table in docs/feature-semver.md says."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.features.codehash import FeatureCode
from lineage.features.diff import (
    KINDS,
    SchemaChange,
    SchemaDiff,
    bump_problems,
    diff_schemas,
    required_version,
)
from lineage.features.schema import DTYPES, FeatureSetSchema, parse_schema
from lineage.features.semver import BUMPS, SemVer, stronger

DOC = Path(__file__).resolve().parents[1] / "docs" / "feature-semver.md"

Edit = Callable[[dict[str, Any]], None]


def base() -> dict[str, Any]:
    """customer_features 2.1.0 in the long form, with every kind of constraint present once."""
    return {
        "feature_set": "customer_features",
        "version": "2.1.0",
        "entity": "customer_id",
        "timestamp": "snapshot_date",
        "description": "Customer features for churn models",
        "owner": "risk-team",
        "features": {
            "age": {"dtype": "int", "min": 0, "max": 130, "description": "age in years", "owner": "ann"},
            "avg_purchase_value": {"dtype": "float", "nullable": True, "tags": ["money"]},
            "region": {"dtype": "category", "allowed": ["north", "south", "east", "west"]},
            "signup": {"dtype": "date", "min": "2000-01-01"},
            "churned": {"dtype": "bool", "default": False},
            "segment": {"dtype": "string"},
        },
    }


def build(edits: tuple[Edit, ...], version: str) -> FeatureSetSchema:
    data = base()
    for edit in edits:
        edit(data)
    data["version"] = version
    return parse_schema(data)


# Small, named edits so each case reads like the change it makes.
def put(feature: str, **fields: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["features"][feature].update(fields)

    return edit


def unset(feature: str, *names: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        for name in names:
            data["features"][feature].pop(name, None)

    return edit


def drop(feature: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        del data["features"][feature]

    return edit


def add(feature: str, spec: dict[str, Any]) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["features"][feature] = spec

    return edit


def rename(old: str, new: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["features"] = {(new if name == old else name): spec for name, spec in data["features"].items()}

    return edit


def reorder(*first: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        rest = {name: spec for name, spec in data["features"].items() if name not in first}
        data["features"] = {**{name: data["features"][name] for name in first}, **rest}

    return edit


def top(**fields: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data.update(fields)

    return edit


AGE_V1 = 'def age(df):\n    """Whole years."""\n    return (df["snapshot_date"] - df["birth_date"]).dt.days // 365\n'
AGE_V2 = 'def age(df):\n    """Whole years."""\n    return (df["snapshot_date"] - df["birth_date"]).dt.days // 366\n'


@dataclass(frozen=True)
class Case:
    label: str
    new: tuple[Edit, ...]
    expected: tuple[tuple[str | None, str, str], ...]  # (feature, kind, class) of every change
    old: tuple[Edit, ...] = ()
    code: tuple[str, str] | None = None  # sources of 'age' in old and new
    detail: str = ""  # a phrase the (first) change's detail must contain


# One entry per row of the policy table, keyed by the row's exact text in docs/feature-semver.md.
POLICY: dict[str, list[Case]] = {
    "remove a feature": [
        Case("region removed", (drop("region"),), (("region", "removed", "major"),)),
    ],
    "rename a feature (with or without an alias)": [
        Case(
            "region renamed area",
            (rename("region", "area"),),
            (("region", "removed", "major"), ("area", "added", "major")),
        ),
        Case(
            "renamed with the old name kept as a description",
            (rename("segment", "tier"), put("tier", description="alias: segment")),
            (("segment", "removed", "major"), ("tier", "added", "major")),
        ),
    ],
    "add a required feature (not nullable, no default)": [
        Case(
            "tenure_days int",
            (add("tenure_days", {"dtype": "int"}),),
            (("tenure_days", "added", "major"),),
            detail="old snapshots have no value",
        ),
    ],
    "dtype change that is not a lossless widening (`float`→`int`, `int`→`string`, `bool`→`int`, `string`→`category`, `datetime`→`date`…)": [
        Case(
            "float to int",
            (put("avg_purchase_value", dtype="int"),),
            (("avg_purchase_value", "dtype_changed", "major"),),
        ),
        Case(
            "int to string",
            (put("age", dtype="string"), unset("age", "min", "max")),
            (("age", "dtype_changed", "major"), ("age", "range_changed", "minor")),
        ),
        Case(
            "bool to int (a default False becoming 0 is reported too)",
            (put("churned", dtype="int", default=0),),
            (("churned", "dtype_changed", "major"), ("churned", "default_changed", "major")),
        ),
        Case("string to category", (put("segment", dtype="category"),), (("segment", "dtype_changed", "major"),)),
        Case(
            "datetime to date",
            (put("signup", dtype="date"),),
            (("signup", "dtype_changed", "major"),),
            old=(put("signup", dtype="datetime"),),
        ),
    ],
    "a nullable feature becomes required": [
        Case(
            "avg_purchase_value required",
            (put("avg_purchase_value", nullable=False),),
            (("avg_purchase_value", "nullability_changed", "major"),),
        ),
    ],
    "tighten a range: raise `min`, lower `max`, or add a bound where there was none": [
        Case("min raised", (put("age", min=18),), (("age", "range_changed", "major"),), detail="min raised 0 → 18"),
        Case("max lowered", (put("age", max=120),), (("age", "range_changed", "major"),)),
        Case("max added", (put("signup", max="2030-01-01"),), (("signup", "range_changed", "major"),)),
        Case("min added", (put("avg_purchase_value", min=0.0),), (("avg_purchase_value", "range_changed", "major"),)),
        Case("date min raised", (put("signup", min="2001-01-01"),), (("signup", "range_changed", "major"),)),
    ],
    "a range change that tightens one side and loosens the other": [
        Case("min raised, max raised", (put("age", min=18, max=150),), (("age", "range_changed", "major"),)),
        Case("min lowered, max lowered", (put("age", min=-1, max=100),), (("age", "range_changed", "major"),)),
        Case(
            "min removed, max added",
            (put("signup", max="2030-01-01"), unset("signup", "min")),
            (("signup", "range_changed", "major"),),
        ),
    ],
    "fewer allowed values: remove any value (even while adding others), or add an `allowed` list where there was none": [
        Case(
            "west removed",
            (put("region", allowed=["north", "south", "east"]),),
            (("region", "allowed_changed", "major"),),
            detail="lose ['west']",
        ),
        Case(
            "west replaced by central",
            (put("region", allowed=["north", "south", "east", "central"]),),
            (("region", "allowed_changed", "major"),),
        ),
        Case(
            "allowed list added",
            (put("segment", allowed=["retail", "business"]),),
            (("segment", "allowed_changed", "major"),),
        ),
    ],
    "change a feature's `default` (adding or removing one included)": [
        Case(
            "default false to true",
            (put("churned", default=True),),
            (("churned", "default_changed", "major"),),
            detail="new readers of old data get different values",
        ),
        Case("default added", (put("age", default=0),), (("age", "default_changed", "major"),)),
        Case("default removed", (unset("churned", "default"),), (("churned", "default_changed", "major"),)),
    ],
    "change a feature's code (normalised code hash differs)": [
        Case("365 to 366", (), (("age", "code_changed", "major"),), code=(AGE_V1, AGE_V2)),
    ],
    "change the entity key or the timestamp column (adding or removing one included)": [
        Case("entity renamed", (top(entity="account_id"),), ((None, "entity_changed", "major"),)),
        Case(
            "entity added", (top(entity="customer_id"),), ((None, "entity_changed", "major"),), old=(top(entity=None),)
        ),
        Case("timestamp renamed", (top(timestamp="as_of"),), ((None, "timestamp_changed", "major"),)),
        Case("timestamp removed", (top(timestamp=None),), ((None, "timestamp_changed", "major"),)),
    ],
    "add a nullable feature or one with a default": [
        Case(
            "nullable", (add("tenure_days", {"dtype": "int", "nullable": True}),), (("tenure_days", "added", "minor"),)
        ),
        Case(
            "with default", (add("tenure_days", {"dtype": "int", "default": 0}),), (("tenure_days", "added", "minor"),)
        ),
    ],
    "lossless widening (`int`→`float`, `date`→`datetime`)": [
        Case(
            "int to float",
            (put("age", dtype="float", min=0.0, max=130.0),),
            (("age", "dtype_changed", "minor"),),
            detail="dtype int → float (lossless widening",
        ),
        Case(
            "date to datetime, same bound as an instant",
            (put("signup", dtype="datetime", min="2000-01-01T00:00:00"),),
            (("signup", "dtype_changed", "minor"),),
        ),
    ],
    "a required feature becomes nullable": [
        Case("age nullable", (put("age", nullable=True),), (("age", "nullability_changed", "minor"),)),
    ],
    "loosen a range: lower or remove `min`, raise or remove `max`": [
        Case("min lowered", (put("age", min=-1),), (("age", "range_changed", "minor"),)),
        Case("min removed", (unset("age", "min"),), (("age", "range_changed", "minor"),)),
        Case("max raised", (put("age", max=150),), (("age", "range_changed", "minor"),)),
        Case("max removed", (unset("age", "max"),), (("age", "range_changed", "minor"),)),
        Case("date min lowered", (put("signup", min="1990-01-01"),), (("signup", "range_changed", "minor"),)),
    ],
    "more allowed values: only additions, or the `allowed` list removed": [
        Case(
            "central added",
            (put("region", allowed=["north", "south", "east", "west", "central"]),),
            (("region", "allowed_changed", "minor"),),
        ),
        Case("allowed list removed", (unset("region", "allowed"),), (("region", "allowed_changed", "minor"),)),
    ],
    "description, owner, tags, feature order, order of `allowed` values; the set's description and owner": [
        Case(
            "description", (put("age", description="age in whole years"),), (("age", "description_changed", "patch"),)
        ),
        Case("owner", (put("age", owner="bob"),), (("age", "owner_changed", "patch"),)),
        Case(
            "tags",
            (put("avg_purchase_value", tags=["money", "eur"]),),
            (("avg_purchase_value", "tags_changed", "patch"),),
        ),
        Case("feature order", (reorder("region", "age"),), ((None, "order_changed", "patch"),)),
        Case(
            "allowed values reordered",
            (put("region", allowed=["west", "east", "south", "north"]),),
            (("region", "allowed_changed", "patch"),),
        ),
        Case("set description", (top(description="Churn features"),), ((None, "set_description_changed", "patch"),)),
        Case("set owner", (top(owner="ml-platform"),), ((None, "set_owner_changed", "patch"),)),
    ],
}

CASES = [(row, case) for row, cases in POLICY.items() for case in cases]


def _case_id(row: str, case: Case) -> str:
    return f"{row} | {case.label}".replace("`", "").replace("→", "->").replace("…", "...")


def _diff(case: Case) -> SchemaDiff:
    old, new = build(case.old, "2.1.0"), build(case.new, "3.0.0")
    if case.code is None:
        return diff_schemas(old, new)
    old_code = {"age": FeatureCode.from_source("age", case.code[0])}
    new_code = {"age": FeatureCode.from_source("age", case.code[1])}
    return diff_schemas(old, new, old_code=old_code, new_code=new_code)


def _policy_rows() -> list[tuple[str, str]]:
    """(change, bump) of every row of the table in the product docs."""
    rows = re.findall(r"^\| (.+?) \| .+? \| (major|minor|patch) \| .+ \|$", DOC.read_text(), re.M)
    assert rows, "no policy table found in docs/feature-semver.md"
    return rows


def test_every_row_of_the_documented_policy_has_test_cases() -> None:
    assert [change for change, _ in _policy_rows()] == list(POLICY)


@pytest.mark.parametrize(("row", "case"), CASES, ids=[_case_id(row, case) for row, case in CASES])
def test_policy_row_classifies_the_change(row: str, case: Case) -> None:
    diff = _diff(case)
    assert [(c.feature, c.kind, c.change_class) for c in diff.changes] == list(case.expected)
    assert diff.required_bump == dict(_policy_rows())[row]
    assert all(change.detail and change.phrase for change in diff.changes)
    if case.detail:
        assert case.detail in diff.changes[0].detail


def test_a_rename_is_never_guessed_even_when_the_spec_is_identical() -> None:
    diff = diff_schemas(build((), "2.1.0"), build((rename("region", "area"),), "3.0.0"))
    assert {c.kind for c in diff.changes} == {"removed", "added"}
    assert "renamed" not in KINDS


def test_adding_a_feature_in_the_middle_is_not_a_reorder() -> None:
    def insert_first(data: dict[str, Any]) -> None:
        data["features"] = {"tenure_days": {"dtype": "int", "nullable": True}, **data["features"]}

    diff = diff_schemas(build((), "2.1.0"), build((insert_first,), "2.2.0"))
    assert [c.kind for c in diff.changes] == ["added"]


def test_a_required_feature_with_a_default_is_a_minor_addition() -> None:
    diff = diff_schemas(build((), "2.1.0"), build((add("tenure_days", {"dtype": "int", "default": 0}),), "2.2.0"))
    assert diff.required_bump == "minor"
    assert "new readers read old data as 0" in diff.changes[0].detail


def test_mixed_range_change_names_both_sides_and_is_major() -> None:
    diff = diff_schemas(build((), "2.1.0"), build((put("age", min=18, max=150),), "3.0.0"))
    (change,) = diff.changes
    assert change.change_class == "major"
    assert "min raised 0 → 18 (tightens)" in change.detail
    assert "max raised 130 → 150 (loosens)" in change.detail
    assert change.phrase == "tightens and loosens the range of 'age'"


def test_int_to_float_with_equal_bounds_is_only_the_widening() -> None:
    diff = diff_schemas(build((), "2.1.0"), build((put("age", dtype="float", min=0.0, max=130.0),), "2.2.0"))
    assert [c.kind for c in diff.changes] == ["dtype_changed"]


def test_set_level_changes_have_no_feature_and_come_first() -> None:
    edits = (top(entity="account_id", timestamp="as_of", description="new", owner="ml"), drop("segment"))
    diff = diff_schemas(build((), "2.1.0"), build(edits, "3.0.0"))
    assert [(c.feature, c.kind) for c in diff.changes] == [
        (None, "entity_changed"),
        (None, "timestamp_changed"),
        (None, "set_description_changed"),
        (None, "set_owner_changed"),
        ("segment", "removed"),
    ]
    assert diff.changes[0].detail == "entity key 'customer_id' → 'account_id': joins on the entity change"


def test_code_change_carries_a_unified_diff_labelled_with_both_versions() -> None:
    (change,) = _diff(POLICY["change a feature's code (normalised code hash differs)"][0]).changes
    assert change.code_diff.splitlines()[:2] == ["--- age@2.1.0", "+++ age@3.0.0"]
    assert '-    return (df["snapshot_date"] - df["birth_date"]).dt.days // 365' in change.code_diff
    assert '+    return (df["snapshot_date"] - df["birth_date"]).dt.days // 366' in change.code_diff


def test_reformatted_code_is_not_a_code_change() -> None:
    reformatted = AGE_V1.replace('"""Whole years."""', "# whole years").replace('"', "'")
    old = {"age": FeatureCode.from_source("age", AGE_V1)}
    new = {"age": FeatureCode.from_source("age", reformatted)}
    assert diff_schemas(build((), "2.1.0"), build((), "2.1.1"), old_code=old, new_code=new).changes == ()


def test_code_known_on_one_side_only_is_a_code_change() -> None:
    old = {"age": FeatureCode.from_source("age", AGE_V1)}
    diff = diff_schemas(build((), "2.1.0"), build((), "3.0.0"), old_code=old, new_code={})
    (change,) = diff.changes
    assert (change.kind, change.change_class) == ("code_changed", "major")
    assert change.code_diff.startswith("--- age@2.1.0\n+++ age@3.0.0\n")


def test_code_is_not_compared_when_either_side_is_unknown() -> None:
    old = {"age": FeatureCode.from_source("age", AGE_V1)}
    assert diff_schemas(build((), "2.1.0"), build((), "2.1.1"), old_code=old).changes == ()


def test_json_shape_is_what_features_diff_json_prints() -> None:
    diff = diff_schemas(build((), "2.1.0"), build((drop("region"), put("age", owner="bob")), "3.0.0"))
    assert diff.to_json() == {
        "from": "2.1.0",
        "to": "3.0.0",
        "required_bump": "major",
        "changes": [
            {
                "feature": "age",
                "kind": "owner_changed",
                "class": "patch",
                "detail": "owner 'ann' → 'bob'",
                "code_diff": "",
            },
            {
                "feature": "region",
                "kind": "removed",
                "class": "major",
                "detail": "feature 'region' (category) removed: models trained on it can no longer find it",
                "code_diff": "",
            },
        ],
    }
    assert json.loads(json.dumps(diff.to_json())) == diff.to_json()


def test_json_example_in_the_docs_is_real_output() -> None:
    example = re.search(r"```json\n(.*?)```", DOC.read_text(), re.S)
    assert example is not None
    diff = diff_schemas(build((), "2.1.0"), build((drop("region"),), "3.0.0"))
    assert json.loads(example.group(1)) == diff.to_json()


def test_no_changes_means_required_bump_none_and_empty_json_changes() -> None:
    diff = diff_schemas(build((), "2.1.0"), build((), "2.1.0"))
    assert diff.required_bump == "none"
    assert diff.to_json()["changes"] == []


# --- versions --------------------------------------------------------------------------------

V = SemVer.parse


def _removes_region() -> SchemaDiff:
    return diff_schemas(build((), "2.1.0"), build((drop("region"),), "2.2.0"))


def test_bump_problems_names_the_change_and_the_smallest_allowed_version() -> None:
    assert bump_problems("customer_features", V("2.1.0"), V("2.2.0"), _removes_region()) == [
        "customer_features 2.2.0 removes feature 'region' (major): use 3.0.0"
    ]


def test_bump_problems_lists_only_the_changes_stronger_than_the_bump_given() -> None:
    diff = diff_schemas(
        build((), "2.1.0"),
        build((drop("region"), put("age", nullable=True), put("age", owner="bob")), "2.1.1"),
        old_code={"age": FeatureCode.from_source("age", AGE_V1)},
        new_code={"age": FeatureCode.from_source("age", AGE_V2)},
    )
    assert bump_problems("customer_features", V("2.1.0"), V("2.1.1"), diff) == [
        "customer_features 2.1.1 makes feature 'age' nullable (minor): use 3.0.0",
        "customer_features 2.1.1 changes the code of feature 'age' (major): use 3.0.0",
        "customer_features 2.1.1 removes feature 'region' (major): use 3.0.0",
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (add("tenure_days", {"dtype": "int"}), "customer_features 2.2.0 adds required feature 'tenure_days' (major)"),
        (
            put("avg_purchase_value", dtype="int"),
            "customer_features 2.2.0 narrows the dtype of 'avg_purchase_value' from float to int (major)",
        ),
        (
            put("segment", dtype="category"),
            "customer_features 2.2.0 changes the dtype of 'segment' from string to category (major)",
        ),
        (put("age", min=18), "customer_features 2.2.0 tightens the range of 'age' (major)"),
        (put("region", allowed=["north"]), "customer_features 2.2.0 removes allowed values of 'region' (major)"),
        (put("churned", default=True), "customer_features 2.2.0 changes the default of 'churned' (major)"),
        (
            top(entity="account_id"),
            "customer_features 2.2.0 changes the entity key from 'customer_id' to 'account_id' (major)",
        ),
        (top(entity=None), "customer_features 2.2.0 removes the entity key 'customer_id' (major)"),
        (
            top(timestamp="as_of"),
            "customer_features 2.2.0 changes the timestamp column from 'snapshot_date' to 'as_of' (major)",
        ),
    ],
    ids=[
        "required feature",
        "narrowed dtype",
        "other dtype",
        "range",
        "allowed",
        "default",
        "entity",
        "entity removed",
        "timestamp",
    ],
)
def test_bump_problems_phrase_each_kind_of_major_change(edit: Edit, message: str) -> None:
    diff = diff_schemas(build((), "2.1.0"), build((edit,), "2.2.0"))
    assert bump_problems("customer_features", V("2.1.0"), V("2.2.0"), diff) == [f"{message}: use 3.0.0"]


@pytest.mark.parametrize("candidate", ["3.0.0", "4.0.0", "3.1.2"])
def test_a_bump_at_least_as_strong_as_required_has_no_problems(candidate: str) -> None:
    assert bump_problems("customer_features", V("2.1.0"), V(candidate), _removes_region()) == []


@pytest.mark.parametrize("candidate", ["2.1.0", "2.0.9", "1.0.0", "2.1.0-rc.1"])
def test_a_version_that_does_not_increase_is_refused_naming_the_smallest_allowed(candidate: str) -> None:
    assert bump_problems("customer_features", V("2.1.0"), V(candidate), _removes_region()) == [
        f"customer_features {candidate} is not above the latest 2.1.0: versions must increase, use 3.0.0 or higher, "
        "as the changes require"
    ]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ((), "2.1.1"),
        ((put("age", owner="bob"),), "2.1.1"),
        ((put("age", nullable=True),), "2.2.0"),
        ((drop("region"),), "3.0.0"),
    ],
    ids=["no change still needs a new patch", "patch", "minor", "major"],
)
def test_required_version_is_the_smallest_release_with_the_required_bump(
    edits: tuple[Edit, ...], expected: str
) -> None:
    diff = diff_schemas(build((), "2.1.0"), build(edits, "9.9.9"))
    assert required_version(V("2.1.0"), diff) == V(expected)


def test_required_version_resets_lower_parts() -> None:
    assert required_version(V("2.1.3"), _removes_region()) == V("3.0.0")


def test_a_hand_built_change_without_a_phrase_still_gets_a_readable_line() -> None:
    diff = SchemaDiff("2.1.0", "2.1.1", (SchemaChange("age", "removed", "major", "gone"),))
    assert bump_problems("customer_features", V("2.1.0"), V("2.1.1"), diff) == [
        "customer_features 2.1.1 makes a removed change to feature 'age' (major): use 3.0.0"
    ]


def test_change_json_keys_are_stable() -> None:
    change = SchemaChange("age", "removed", "major", "gone")
    assert list(change.to_json()) == ["feature", "kind", "class", "detail", "code_diff"]


# --- properties ------------------------------------------------------------------------------

NAMES = ["age", "region", "spend", "tenure", "score", "segment"]
WORDS = st.sampled_from(["", "ann", "bob", "risk", "money"])


@st.composite
def feature_specs(draw: st.DrawFn) -> dict[str, Any]:
    dtype = draw(st.sampled_from(DTYPES))
    spec: dict[str, Any] = {"dtype": dtype, "nullable": draw(st.booleans())}
    if dtype in ("int", "float"):
        bounds = draw(st.lists(st.integers(-5, 5), min_size=2, max_size=2))
        low, high = sorted(bounds)
        spec["min"] = draw(st.sampled_from([None, low]))
        spec["max"] = draw(st.sampled_from([None, high]))
    if dtype in ("int", "string", "category"):
        values = draw(st.lists(st.integers(0, 4), unique=True, max_size=4))
        spec["allowed"] = draw(st.sampled_from([None, [v if dtype == "int" else f"v{v}" for v in values]]))
    if dtype == "int":
        spec["default"] = draw(st.sampled_from([None, 0, 1]))
    spec["description"] = draw(WORDS)
    spec["owner"] = draw(WORDS)
    spec["tags"] = draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=2))
    return spec


@st.composite
def schemas(draw: st.DrawFn, min_features: int = 1) -> FeatureSetSchema:
    names = draw(st.permutations(NAMES))[: draw(st.integers(min_features, len(NAMES)))]
    return parse_schema(
        {
            "feature_set": "customer_features",
            "version": "1.0.0",
            "entity": draw(st.sampled_from([None, "customer_id", "account_id"])),
            "timestamp": draw(st.sampled_from([None, "snapshot_date"])),
            "description": draw(WORDS),
            "owner": draw(WORDS),
            "features": {name: draw(feature_specs()) for name in names},
        }
    )


def _with_feature(schema: FeatureSetSchema, name: str, spec: dict[str, Any] | None, version: str) -> FeatureSetSchema:
    """The schema with one feature replaced (or removed when spec is None), order kept."""
    data = copy.deepcopy(schema.canonical())
    if spec is None:
        del data["features"][name]
    else:
        data["features"][name] = spec
    data["version"] = version
    return parse_schema(data)


def _features(diff: SchemaDiff) -> set[str | None]:
    return {change.feature for change in diff.changes}


@given(schemas())
def test_diff_of_a_schema_with_itself_is_empty(schema: FeatureSetSchema) -> None:
    diff = diff_schemas(schema, schema)
    assert diff.changes == ()
    assert diff.required_bump == "none"
    assert bump_problems("customer_features", V("1.0.0"), V("1.0.1"), diff) == []


@given(schemas(), schemas())
def test_diff_both_ways_lists_the_same_features(a: FeatureSetSchema, b: FeatureSetSchema) -> None:
    forward, backward = diff_schemas(a, b), diff_schemas(b, a)
    assert _features(forward) == _features(backward)
    assert {c.kind for c in forward.changes} <= set(KINDS)


@given(st.data(), schemas(min_features=3))
def test_adding_a_change_never_lowers_the_required_bump(data: st.DataObject, a: FeatureSetSchema) -> None:
    first, second = data.draw(st.permutations(list(a.features)))[:2]
    spec_first = data.draw(st.one_of(st.none(), feature_specs()), label="first feature becomes")
    spec_second = data.draw(st.one_of(st.none(), feature_specs()), label="second feature becomes")
    b = _with_feature(a, first, spec_first, "1.1.0")
    c = _with_feature(b, second, spec_second, "1.2.0")
    one, both, only_second = diff_schemas(a, b), diff_schemas(a, c), diff_schemas(b, c)
    assert BUMPS.index(both.required_bump) >= BUMPS.index(one.required_bump)
    assert both.required_bump == stronger(one.required_bump, only_second.required_bump)


@given(schemas(), schemas(), st.sampled_from(["0.9.3", "1.0.0", "2.4.1"]))
def test_required_version_always_passes_and_anything_smaller_fails(
    a: FeatureSetSchema, b: FeatureSetSchema, previous: str
) -> None:
    diff = diff_schemas(a, b)
    smallest = required_version(V(previous), diff)
    assert smallest > V(previous)
    assert bump_problems("customer_features", V(previous), smallest, diff) == []
    weaker = [bump for bump in BUMPS[1:] if BUMPS.index(bump) < BUMPS.index(diff.required_bump)]
    for bump in weaker:
        assert bump_problems("customer_features", V(previous), V(previous).next(bump), diff)


@pytest.mark.parametrize(
    ("previous", "candidate", "bump"),
    [
        ("3.0.0-rc.1", "3.0.0", "major"),
        ("3.0.0-rc.1", "3.0.0-rc.2", "major"),
        ("3.0.0-rc.1", "3.0.1", "major"),
        ("1.2.0-beta", "1.2.0", "minor"),
        ("1.2.0-beta", "1.2.5", "minor"),
        ("1.2.0-beta", "2.0.0", "major"),
        ("1.2.3-rc.1", "1.2.3", "patch"),
        ("1.2.3-rc.1", "1.3.0", "minor"),
        ("2.1.0", "3.0.0-rc.1", "major"),
        ("2.1.0", "2.1.1", "patch"),
    ],
)
def test_the_release_of_a_prerelease_counts_as_the_bump_that_release_is(previous: str, candidate: str,
                                                                         bump: str) -> None:
    assert V(candidate).bump_from(V(previous)) == bump


@pytest.mark.parametrize(
    ("edits", "previous", "expected"),
    [
        ((), "3.0.0-rc.1", "3.0.0"),
        ((put("age", owner="bob"),), "3.0.0-rc.1", "3.0.0"),
        ((drop("region"),), "3.0.0-rc.1", "3.0.0"),
        ((put("age", nullable=True),), "1.2.3-rc.1", "1.3.0"),
        ((put("age", owner="bob"),), "1.2.3-rc.1", "1.2.3"),
    ],
)
def test_required_version_after_a_prerelease_is_its_release_when_that_suffices(
    edits: tuple[Edit, ...], previous: str, expected: str
) -> None:
    diff = diff_schemas(build((), previous), build(edits, "9.9.9"))
    assert required_version(V(previous), diff) == V(expected)
    assert bump_problems("customer_features", V(previous), V(expected), diff) == []


def test_a_patch_change_after_a_release_candidate_may_be_the_release_itself() -> None:
    diff = diff_schemas(build((), "3.0.0-rc.1"), build((put("age", owner="bob"),), "3.0.0"))
    assert bump_problems("customer_features", V("3.0.0-rc.1"), V("3.0.0"), diff) == []
    assert bump_problems("customer_features", V("1.2.3-rc.1"), V("1.2.3"), _removes_region()) == [
        "customer_features 1.2.3 removes feature 'region' (major): use 2.0.0"
    ]
