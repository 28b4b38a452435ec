"""Names and references (invariant 7): refused with a sentence naming the problem, or accepted unchanged."""

from __future__ import annotations

import pytest

from lineage.errors import InvalidNameError, LineageError
from lineage.naming import MAX_NAME_LENGTH, Ref, parse_ref, validate_name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a/b", "path separator"),
        ("/abs", "path separator"),
        ("a\\b", "path separator"),
        ("..", "'..'"),
        ("a..b", "'..'"),
        ("a\x00b", "control character"),
        ("a\x07b", "control character"),
        ("a\x1bb", "control character"),
        ("a\x7fb", "control character"),
        ("a\u200bb", "control character"),  # zero-width space (format character)
        ("a\u202eb", "control character"),  # right-to-left override
        ("a\u2028b", "control character"),  # line separator
        ("a\nb", "control character"),
        (" leading", "leading or trailing spaces"),
        ("trailing ", "leading or trailing spaces"),
        ("\ttabbed", "leading or trailing spaces"),
        ("x" * (MAX_NAME_LENGTH + 1), f"{MAX_NAME_LENGTH + 1} characters long"),
        ("", "empty"),
        ("name@v1", "'@'"),
    ],
    ids=repr,
)
def test_validate_name_refuses_unsafe_names_naming_the_problem(name: str, problem: str) -> None:
    with pytest.raises(InvalidNameError) as raised:
        validate_name(name, what="dataset name")
    message = str(raised.value)
    assert problem in message
    assert message.startswith("dataset name")
    assert isinstance(raised.value, LineageError)


def test_refusal_message_shows_control_characters_escaped() -> None:
    with pytest.raises(InvalidNameError) as raised:
        validate_name("bad\x00name")
    assert "bad\\x00name" in str(raised.value)
    assert "\x00" not in str(raised.value)


def test_long_name_message_is_shortened_and_says_the_limit() -> None:
    with pytest.raises(InvalidNameError) as raised:
        validate_name("y" * 500)
    message = str(raised.value)
    assert "500 characters" in message and "at most 128" in message
    assert len(message) < 200


@pytest.mark.parametrize(
    "name", ["customers_raw", "2026_02_01.1", "v1.0", "a", "Customers-Raw", "données", "x" * MAX_NAME_LENGTH, "a.b.c"]
)
def test_validate_name_accepts_normal_names_unchanged(name: str) -> None:
    assert validate_name(name) == name


def test_non_string_name_is_refused_naming_its_type() -> None:
    with pytest.raises(InvalidNameError, match="must be text, not NoneType None"):
        validate_name(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidNameError, match="version must be text, not int 1"):
        validate_name(1, what="version")  # type: ignore[arg-type]


def test_parse_ref_splits_name_and_version() -> None:
    assert parse_ref("customers@v1.0") == Ref(name="customers", version="v1.0", sha256_prefix=None)
    assert str(parse_ref("customers@2026_02_01.1")) == "customers@2026_02_01.1"


def test_parse_ref_reads_a_bare_name_as_the_latest_version() -> None:
    assert parse_ref("customers_raw") == Ref(name="customers_raw", version=None, sha256_prefix=None)
    assert parse_ref("  customers_raw ") == Ref(name="customers_raw", version=None, sha256_prefix=None)


@pytest.mark.parametrize("prefix", ["deadbeef", "0123456789abcdef", "a" * 64])
def test_parse_ref_reads_8_to_64_lowercase_hex_characters_as_a_sha256_prefix(prefix: str) -> None:
    ref = parse_ref(prefix)
    assert ref.sha256_prefix == prefix
    assert ref.name == prefix and ref.version is None  # a dataset could also be named like that


@pytest.mark.parametrize(("text", "prefix"), [("DEADBEEF", "deadbeef"), ("E9554926635550A9", "e9554926635550a9"),
                                              ("AbCdEf0123456789", "abcdef0123456789")])
def test_parse_ref_reads_hex_in_capitals_as_the_lowercase_sha256_prefix(text: str, prefix: str) -> None:
    ref = parse_ref(text)
    assert ref.sha256_prefix == prefix  # digests are stored lowercase
    assert ref.name == text  # a dataset named like that is still found by its own spelling


@pytest.mark.parametrize("text", ["deadbee", "DEADBEE", "deadbeeg", "a" * 65])
def test_parse_ref_does_not_read_other_strings_as_hex_prefixes(text: str) -> None:
    assert parse_ref(text).sha256_prefix is None


@pytest.mark.parametrize("what", ["dataset name", "version", "model name", "alias"])
def test_a_name_in_decomposed_unicode_is_refused_with_its_composed_form(what: str) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "données")
    assert decomposed != "données"  # the source file holds the composed (NFC) form
    with pytest.raises(InvalidNameError) as raised:
        validate_name(decomposed, what=what, new=True)
    assert str(raised.value) == (f"{what} 'donne\\u0301es' is not in composed Unicode form (NFC): "
                                 "use the composed (NFC) form 'données'")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "reference is empty"),
        ("   ", "reference is empty"),
        ("@v1", "dataset name is empty"),
        ("customers@", "version is empty"),
        ("customers@v1@v2", "version 'v1@v2' contains '@'"),
        ("../etc@v1", "dataset name '../etc' contains a path separator"),
        ("customers@../v1", "version '../v1' contains a path separator"),
        ("a/b", "dataset name 'a/b' contains a path separator"),
    ],
)
def test_parse_ref_refuses_bad_references_naming_the_part(text: str, problem: str) -> None:
    with pytest.raises(InvalidNameError, match=problem.replace(".", r"\.")):
        parse_ref(text)


def test_only_new_names_must_be_composed_unicode_lookups_of_older_names_still_work() -> None:
    decomposed = "donne\u0301es"
    assert validate_name(decomposed, what="dataset name") == decomposed  # a lookup: stored before the rule
    with pytest.raises(InvalidNameError, match="NFC"):
        validate_name(decomposed, what="dataset name", new=True)
    assert parse_ref(f"{decomposed}@v1").name == decomposed
