"""Directory manifests: one sorted, versioned text whose sha256 identifies a folder of Parquet files."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.errors import InvalidInputError
from lineage.manifest import MANIFEST_HEADER, ManifestEntry, member_files, parse_manifest, render_manifest
from tests.factories import write_parquet

SHA_A = hashlib.sha256(b"a").hexdigest()
SHA_B = hashlib.sha256(b"b").hexdigest()

# Paths whose UTF-8 byte order differs from a per-folder ("a/..." before "a-b") ordering.
PATHS = ["b.parquet", "a/z.parquet", "a-b.parquet", "a.parquet", "Z.parquet", "é.parquet", "a/b/c.parquet"]
BYTE_ORDER = ["Z.parquet", "a-b.parquet", "a.parquet", "a/b/c.parquet", "a/z.parquet", "b.parquet", "é.parquet"]


def entries(paths: list[str]) -> list[ManifestEntry]:
    return [ManifestEntry(path=path, size=len(path), sha256=SHA_A) for path in paths]


def test_manifest_is_sorted_by_utf8_byte_order_whatever_the_input_order() -> None:
    assert sorted(BYTE_ORDER, key=lambda path: path.encode("utf-8")) == BYTE_ORDER
    expected = render_manifest(entries(BYTE_ORDER))
    shuffler = random.Random(2010)
    for _ in range(5):
        shuffled = PATHS[:]
        shuffler.shuffle(shuffled)
        assert render_manifest(entries(shuffled)) == expected
    rendered_paths = [line.split("\t")[0] for line in expected.decode().splitlines()[1:]]
    assert rendered_paths == BYTE_ORDER


def test_manifest_starts_with_its_version_line_and_has_one_tab_separated_line_per_file() -> None:
    data = render_manifest([ManifestEntry("part-1.parquet", 10, SHA_B), ManifestEntry("part-0.parquet", 7, SHA_A)])
    assert data.startswith(b"lineage-manifest-v1\n")
    assert data == (
        f"{MANIFEST_HEADER}\npart-0.parquet\t7\t{SHA_A}\npart-1.parquet\t10\t{SHA_B}\n".encode()
    )


def test_empty_manifest_is_just_the_header() -> None:
    assert render_manifest([]) == b"lineage-manifest-v1\n"
    assert parse_manifest(b"lineage-manifest-v1\n") == []


def test_manifest_round_trips_through_parse_manifest() -> None:
    original = [ManifestEntry(path, index * 1000, SHA_B) for index, path in enumerate(PATHS)]
    parsed = parse_manifest(render_manifest(original))
    assert parsed == sorted(original, key=lambda entry: entry.path.encode("utf-8"))


@pytest.mark.parametrize("odd", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e"])
def test_manifest_round_trips_paths_with_unicode_line_boundaries(odd: str) -> None:
    """member_files only refuses tab, LF and CR; every other character must survive parsing."""
    original = [ManifestEntry(f"year{odd}2026/part.parquet", 5, SHA_A), ManifestEntry("x.parquet", 6, SHA_B)]
    assert parse_manifest(render_manifest(original)) == sorted(original, key=lambda e: e.path.encode())


PATH_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="\t\n\r", blacklist_categories=("Cs",)), min_size=1, max_size=12
)


@settings(max_examples=100, deadline=None)
@given(paths=st.lists(PATH_TEXT, unique=True, max_size=8), sizes=st.lists(st.integers(0, 2**62), min_size=8))
def test_any_manifest_round_trips_and_renders_independently_of_order(paths: list[str], sizes: list[int]) -> None:
    original = [ManifestEntry(path, size, SHA_A) for path, size in zip(paths, sizes, strict=False)]
    rendered = render_manifest(original)
    assert render_manifest(list(reversed(original))) == rendered
    assert parse_manifest(rendered) == sorted(original, key=lambda e: e.path.encode("utf-8"))


def test_parse_manifest_refuses_other_text() -> None:
    with pytest.raises(InvalidInputError, match="lineage-manifest-v1"):
        parse_manifest(b"part.parquet\t1\t" + SHA_A.encode() + b"\n")
    with pytest.raises(InvalidInputError):
        parse_manifest(b"")


def make_tree(root: Path, names: list[str]) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".parquet"):
            write_parquet(path, rows=5)
        else:
            path.write_bytes(b"")


def test_member_files_recurses_into_partitions_and_skips_hidden_and_non_parquet_entries(tmp_path: Path) -> None:
    make_tree(tmp_path, [
        "region=north/part-0.parquet",
        "region=south/day=1/part-0.parquet",
        "part-1.parquet",
        "_SUCCESS",
        "_common_metadata.parquet",
        ".part-1.parquet.crc",
        ".hidden.parquet",
        "_temporary/0/part-9.parquet",
        ".spark-staging/part-8.parquet",
        "region=east/_SUCCESS",
        "notes.txt",
        "data.csv",
        "part-2.parquet.tmp",
    ])
    (tmp_path / "folder.parquet").mkdir()  # a directory named like a file is not a member
    members = member_files(tmp_path)
    assert [relative for relative, _ in members] == [
        "part-1.parquet", "region=north/part-0.parquet", "region=south/day=1/part-0.parquet",
    ]
    assert all(path == tmp_path / relative and path.is_file() for relative, path in members)


def test_member_files_are_sorted_like_the_manifest(tmp_path: Path) -> None:
    make_tree(tmp_path, list(PATHS))
    assert [relative for relative, _ in member_files(tmp_path)] == BYTE_ORDER


@pytest.mark.parametrize("bad", ["tab\tname.parquet", "line\nbreak.parquet", "carriage\rreturn.parquet"])
def test_member_file_name_with_a_tab_or_line_break_is_refused(tmp_path: Path, bad: str) -> None:
    make_tree(tmp_path, ["ok.parquet", f"part=1/{bad}"])
    with pytest.raises(InvalidInputError, match="tab or line break") as raised:
        member_files(tmp_path)
    assert repr(f"part=1/{bad}") in str(raised.value)
