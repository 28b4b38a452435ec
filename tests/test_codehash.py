"""Feature code hashes change with meaning, never with layout, comments or docs."""

from __future__ import annotations

import hashlib
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.errors import FeatureCodeError
from lineage.features.codehash import FeatureCode, code_hash, normalised_source

BASE = '''
@feature(dtype="int", description="age in whole years")
def age(df):
    """Age at the snapshot date, clipped to a human range."""
    years = (df["snapshot_date"] - df["birth_date"]).dt.days // 365
    return years.clip(0, 130)
'''

SAME_MEANING = {
    "comments": '''
@feature(dtype="int", description="age in whole years")
def age(df):  # the feature
    """Age at the snapshot date, clipped to a human range."""
    # whole years, leap days ignored
    years = (df["snapshot_date"] - df["birth_date"]).dt.days // 365  # floor
    return years.clip(0, 130)
''',
    "blank lines": '''

@feature(dtype="int", description="age in whole years")
def age(df):

    """Age at the snapshot date, clipped to a human range."""

    years = (df["snapshot_date"] - df["birth_date"]).dt.days // 365


    return years.clip(0, 130)

''',
    "whitespace and line breaks": '''
@feature(dtype="int", description="age in whole years")
def age( df ):
  """Age at the snapshot date, clipped to a human range."""
  years = (
      df["snapshot_date"]
      - df["birth_date"]
  ).dt.days // 365
  return years.clip(
      0,
      130,
  )
''',
    "quote style": """
@feature(dtype='int', description='age in whole years')
def age(df):
    '''Age at the snapshot date, clipped to a human range.'''
    years = (df['snapshot_date'] - df['birth_date']).dt.days // 365
    return years.clip(0, 130)
""",
    "docstring reworded": '''
@feature(dtype="int", description="age in whole years")
def age(df):
    """Whole years between birth and the snapshot date.

    Clipped to 0..130 so typos in birth dates do not produce absurd ages.
    """
    years = (df["snapshot_date"] - df["birth_date"]).dt.days // 365
    return years.clip(0, 130)
''',
    "docstring removed": """
@feature(dtype="int", description="age in whole years")
def age(df):
    years = (df["snapshot_date"] - df["birth_date"]).dt.days // 365
    return years.clip(0, 130)
""",
    "bare string statement in the body": '''
@feature(dtype="int", description="age in whole years")
def age(df):
    """Age at the snapshot date, clipped to a human range."""
    years = (df["snapshot_date"] - df["birth_date"]).dt.days // 365
    """years: whole years, leap days ignored"""
    return years.clip(0, 130)
''',
    "registration metadata in the decorator": '''
@feature(dtype="int", description="age in years, whole", owner="risk-team")
def age(df):
    """Age at the snapshot date, clipped to a human range."""
    years = (df["snapshot_date"] - df["birth_date"]).dt.days // 365
    return years.clip(0, 130)
''',
    "indented as in a class or test body": textwrap.indent(BASE, "        "),
}

DIFFERENT_MEANING = {
    "a constant": BASE.replace("clip(0, 130)", "clip(0, 120)"),
    "an operator": BASE.replace("// 365", "/ 365"),
    "a column name": BASE.replace('df["birth_date"]', 'df["signup_date"]'),
    "the function name": BASE.replace("def age(", "def age_years("),
    "a parameter default": BASE.replace("def age(df)", "def age(df, cap=130)"),
    "an added statement": BASE.replace("    return years", "    years = years + 1\n    return years"),
    "a nested function's decorator": BASE.replace(
        "    return years.clip(0, 130)",
        "    @cache\n    def cap():\n        return 130\n    return years.clip(0, cap())",
    ),
}


@pytest.mark.parametrize("edit", SAME_MEANING, ids=str)
def test_code_hash_ignores_edits_that_do_not_change_meaning(edit: str) -> None:
    assert code_hash(SAME_MEANING[edit]) == code_hash(BASE)


@pytest.mark.parametrize("edit", DIFFERENT_MEANING, ids=str)
def test_code_hash_changes_with_any_semantic_edit(edit: str) -> None:
    assert code_hash(DIFFERENT_MEANING[edit]) != code_hash(BASE)


def test_a_nested_decorator_is_part_of_the_meaning() -> None:
    with_cache = DIFFERENT_MEANING["a nested function's decorator"]
    without_cache = with_cache.replace("    @cache\n", "")
    assert code_hash(with_cache) != code_hash(without_cache)


def test_code_hash_is_sha256_of_the_normalised_source_so_auditors_can_recompute_it() -> None:
    expected = hashlib.sha256(normalised_source(BASE).encode("utf-8")).hexdigest()
    assert code_hash(BASE) == f"sha256:{expected}"


def test_normalised_source_is_pinned_so_a_python_upgrade_cannot_silently_change_every_hash() -> None:
    source = 'def ratio(df):\n    """Doc."""\n    return df["a"] / df["b"] if df is not None else None\n'
    assert normalised_source(source) == (
        "Module(body=[FunctionDef(name='ratio', args=arguments(args=[arg(arg='df')]), "
        "body=[Return(value=IfExp(test=Compare(left=Name(id='df', ctx=Load()), ops=[IsNot()], "
        "comparators=[Constant(value=None)]), body=BinOp(left=Subscript(value=Name(id='df', ctx=Load()), "
        "slice=Constant(value='a'), ctx=Load()), op=Div(), right=Subscript(value=Name(id='df', ctx=Load()), "
        "slice=Constant(value='b'), ctx=Load())), orelse=Constant(value=None)))])])"
    )
    assert code_hash(source) == "sha256:" + hashlib.sha256(normalised_source(source).encode()).hexdigest()


def test_a_function_whose_body_is_only_a_docstring_equals_pass() -> None:
    assert code_hash('def f():\n    """Nothing yet."""\n') == code_hash("def f():\n    pass\n")


def test_unparsable_source_is_a_feature_code_error_naming_the_line() -> None:
    with pytest.raises(FeatureCodeError, match="line 2"):
        code_hash("def f():\n    return 1 +\n")


def tenure_days(df):  # noqa: ANN001, ANN201 - a feature function as users write them
    """Days since signup."""
    return (df["snapshot_date"] - df["signup_date"]).dt.days


def test_feature_code_from_function_reads_name_source_and_hash() -> None:
    code = FeatureCode.from_function(tenure_days)
    assert code.name == "tenure_days"
    assert code.source.startswith("def tenure_days(df):")
    assert code.code_hash == code_hash(code.source)


def test_feature_code_from_a_nested_function_is_dedented_and_hashes_like_top_level() -> None:
    def tenure_days(df):  # noqa: ANN001, ANN202
        # same logic, different comments
        return (df["snapshot_date"] - df["signup_date"]).dt.days

    nested = FeatureCode.from_function(tenure_days)
    assert nested.source.startswith("def tenure_days(df):")
    assert nested.code_hash == FeatureCode.from_function(globals()["tenure_days"]).code_hash


def test_feature_code_from_a_builtin_is_a_feature_code_error() -> None:
    with pytest.raises(FeatureCodeError, match="cannot read the source of feature function 'len'"):
        FeatureCode.from_function(len)


@given(
    st.lists(st.sampled_from(["# note", "", "   ", "# TODO: revisit"]), max_size=6),
    st.integers(min_value=0, max_value=2),
)
def test_comments_and_blank_lines_anywhere_never_change_the_hash(extra: list[str], where: int) -> None:
    lines = ["def score(df):", '    return df["x"] * 2 + 1']
    indented = [f"    {line}" if line.strip() else line for line in extra]
    edited = [*lines[:where], *indented, *lines[where:]] if where < 2 else [*lines, *extra]
    assert code_hash("\n".join(edited)) == code_hash("\n".join(lines))


@given(st.integers(), st.integers())
def test_two_constants_hash_equal_exactly_when_they_are_equal(a: int, b: int) -> None:
    def source(value: int) -> str:
        return f'def score(df):\n    return df["x"] * {value}\n'

    assert (code_hash(source(a)) == code_hash(source(b))) == (a == b)
