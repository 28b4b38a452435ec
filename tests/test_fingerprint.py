"""The logical fingerprint: equal for equal content whatever the encoding, different otherwise.

Every "equal" test writes real Parquet / Feather files and reads them back, so the
buffers, chunking, dictionary widths and nested field names are whatever the
readers really produce.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from pathlib import Path

import blake3
import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.fingerprint import (
    FINGERPRINT_VERSION,
    Fingerprinter,
    canonical_type,
    fingerprint_batches,
    fingerprint_table,
)
from tests.factories import frame

UTC = dt.UTC


def sample_table(rows: int = 500) -> pa.Table:
    """Every column kind the fingerprint treats differently, with nulls, seed 2010."""
    rng = np.random.default_rng(2010)
    ints = rng.integers(-1000, 1000, rows)
    floats = rng.normal(0, 1, rows)
    floats[::17] = np.nan
    return pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64)),
        "amount": pa.array(floats),
        "score32": pa.array(floats.astype(np.float32)),
        "name": pa.array([None if i % 11 == 0 else f"name-{i}" * (i % 4) for i in range(rows)]),
        "region": pa.array(rng.choice(["north", "south", "east"], rows)).dictionary_encode(),
        "at": pa.array(
            [dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=int(i)) for i in range(rows)],
            pa.timestamp("us", tz="UTC"),
        ),
        "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=int(i % 300)) for i in range(rows)], pa.date32()),
        "active": pa.array([None if i % 13 == 0 else bool(v % 2) for i, v in enumerate(ints)]),
        "price": pa.array([decimal.Decimal(int(v)) / 100 for v in ints], pa.decimal128(10, 2)),
        "maybe": pa.array([None if i % 7 == 0 else int(v) for i, v in enumerate(ints)], pa.int64()),
    })


# -- equal across encodings ---------------------------------------------------------------

@pytest.mark.parametrize("compression", ["none", "snappy", "zstd", "gzip"])
@pytest.mark.parametrize("row_group_size", [13, 100, 10_000])
def test_fingerprint_is_equal_across_compression_and_row_groups(
    tmp_path: Path, compression: str, row_group_size: int
) -> None:
    table = sample_table()
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, compression=compression, row_group_size=row_group_size)
    parquet_file = pq.ParquetFile(path)
    assert parquet_file.metadata.num_row_groups == -(-table.num_rows // row_group_size)
    streamed = fingerprint_batches(parquet_file.schema_arrow, parquet_file.iter_batches(batch_size=33))
    assert fingerprint_table(pq.read_table(path)) == fingerprint_table(table)
    assert streamed == fingerprint_table(table)


@pytest.mark.parametrize("chunksize", [5, 64, 100_000])
@pytest.mark.parametrize("compression", ["uncompressed", "lz4", "zstd"])
def test_fingerprint_is_equal_for_feather_with_any_chunksize(tmp_path: Path, chunksize: int, compression: str) -> None:
    table = sample_table(300)
    path = tmp_path / "t.feather"
    feather.write_feather(table, path, chunksize=chunksize, compression=compression)
    read = feather.read_table(path)
    assert read.column("id").num_chunks == -(-table.num_rows // chunksize)
    assert fingerprint_table(read) == fingerprint_table(table)


def test_fingerprint_is_equal_for_parquet_and_feather_of_a_pandas_frame(tmp_path: Path) -> None:
    table = pa.Table.from_pandas(frame(), preserve_index=False)
    pq.write_table(table, tmp_path / "f.parquet", row_group_size=50)
    feather.write_feather(table, tmp_path / "f.feather", chunksize=64)
    from_parquet = pq.read_table(tmp_path / "f.parquet")
    from_feather = feather.read_table(tmp_path / "f.feather")
    assert pa.types.is_large_string(table.schema.field("name").type)  # pandas' own string dtype
    widened = table.cast(table.schema.set(2, pa.field("region", pa.dictionary(pa.int32(), pa.string()))))
    assert table.schema.field("region").type.index_type == pa.int8()
    assert fingerprint_table(from_parquet) == fingerprint_table(from_feather) == fingerprint_table(table)
    assert fingerprint_table(widened) == fingerprint_table(table)


def test_fingerprint_ignores_dictionary_index_width() -> None:
    values = pa.array(["b", "a", "c"])
    narrow = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2, 0], pa.int8()), values)
    wide = pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 2, 0], pa.int32()), values)
    assert fingerprint_table(pa.table({"c": narrow})) == fingerprint_table(pa.table({"c": wide}))


def test_fingerprint_ignores_dictionary_order_and_unused_entries_per_chunk() -> None:
    first = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["x", "y"]))
    other_order = pa.DictionaryArray.from_arrays(pa.array([2, 0], pa.int32()), pa.array(["y", "unused", "x"]))
    chunked = pa.chunked_array([first, other_order])
    plain = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 1], pa.int32()), pa.array(["x", "y"]))
    assert fingerprint_table(pa.table({"c": chunked})) == fingerprint_table(pa.table({"c": plain}))


def test_fingerprint_is_equal_for_string_and_large_string() -> None:
    values = ["a", None, "", "ccc"]
    assert fingerprint_table(pa.table({"s": pa.array(values, pa.string())})) == fingerprint_table(
        pa.table({"s": pa.array(values, pa.large_string())})
    )


def test_string_view_columns_with_nulls_fingerprint_like_strings(tmp_path: Path) -> None:
    """A Parquet file written from a string_view table is read back as string_view."""
    values = ["a", None, "", "a much longer string than twelve bytes", None]
    raw = [None if value is None else value.encode() for value in values]
    viewed = pa.table({"s": pa.array(values, pa.string_view()), "b": pa.array(raw, pa.binary_view())})
    pq.write_table(viewed, tmp_path / "v.parquet")
    read = pq.read_table(tmp_path / "v.parquet")
    assert pa.types.is_string_view(read.schema.field("s").type)
    plain = pa.table({"s": pa.array(values, pa.string()), "b": pa.array(raw, pa.binary())})
    assert fingerprint_table(read) == fingerprint_table(viewed.slice(0)) == fingerprint_table(plain)
    assert fingerprint_table(read.slice(1, 3)) == fingerprint_table(plain.slice(1, 3))


def test_fingerprint_ignores_bytes_hidden_under_nulls() -> None:
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    clean = pa.Array.from_buffers(pa.int64(), 3, [validity, pa.py_buffer(np.array([5, 0, 7], "<i8").tobytes())])
    dirty = pa.Array.from_buffers(pa.int64(), 3, [validity, pa.py_buffer(np.array([5, 99, 7], "<i8").tobytes())])
    offsets_clean = pa.py_buffer(np.array([0, 1, 1, 2], "<i4").tobytes())
    offsets_dirty = pa.py_buffer(np.array([0, 1, 4, 5], "<i4").tobytes())
    text_clean = pa.Array.from_buffers(pa.string(), 3, [validity, offsets_clean, pa.py_buffer(b"ab")])
    text_dirty = pa.Array.from_buffers(pa.string(), 3, [validity, offsets_dirty, pa.py_buffer(b"axyzb")])
    assert clean.to_pylist() == dirty.to_pylist() and text_clean.to_pylist() == text_dirty.to_pylist()
    assert fingerprint_table(pa.table({"i": clean, "s": text_clean})) == fingerprint_table(
        pa.table({"i": dirty, "s": text_dirty})
    )


def test_fingerprint_ignores_schema_metadata_and_nullability_flags() -> None:
    table = pa.table({"a": [1, 2, 3]})
    decorated = table.cast(pa.schema([pa.field("a", pa.int64(), nullable=False, metadata={b"k": b"v"})]))
    decorated = decorated.replace_schema_metadata({b"pandas": b"{}"})
    assert fingerprint_table(decorated) == fingerprint_table(table)


# -- different for different content ------------------------------------------------------

CHANGES = {
    "id": 10**12,
    "amount": 123.456,
    "score32": 7.25,
    "name": "changed",
    "at": dt.datetime(2030, 5, 5, 5, 5, tzinfo=UTC),
    "day": dt.date(2031, 1, 1),
    "price": decimal.Decimal("9999.99"),
    "maybe": 424242,
}


@pytest.mark.parametrize("column", [*CHANGES, "region", "active"])
def test_fingerprint_differs_when_any_single_value_changes(column: str) -> None:
    table = sample_table(50)
    values = table.column(column).to_pylist()
    row = 3
    if column == "region":
        values[row] = "west" if values[row] != "west" else "north"
        changed = pa.array(values).dictionary_encode()
    elif column == "active":
        values[row] = not values[row]
        changed = pa.array(values, pa.bool_())
    else:
        assert values[row] != CHANGES[column]
        values[row] = CHANGES[column]
        changed = pa.array(values, table.schema.field(column).type)
    index = table.schema.get_field_index(column)
    altered = table.set_column(index, table.schema.field(column), changed)
    assert altered.column(column).type == table.column(column).type
    assert fingerprint_table(altered) != fingerprint_table(table)


def test_fingerprint_differs_when_the_last_bit_of_a_float_changes() -> None:
    value = 0.1
    neighbour = np.nextafter(value, 1.0)
    assert fingerprint_table(pa.table({"x": [value]})) != fingerprint_table(pa.table({"x": [neighbour]}))


def test_fingerprint_differs_when_a_null_moves_to_another_row() -> None:
    before = pa.table({"n": pa.array([1, None, 1, 1], pa.int64())})
    after = pa.table({"n": pa.array([1, 1, None, 1], pa.int64())})
    assert fingerprint_table(before) != fingerprint_table(after)


def test_fingerprint_differs_for_null_and_zero() -> None:
    assert fingerprint_table(pa.table({"n": pa.array([None], pa.int64())})) != fingerprint_table(
        pa.table({"n": pa.array([0], pa.int64())})
    )


def test_fingerprint_differs_for_null_and_empty_string() -> None:
    assert fingerprint_table(pa.table({"s": pa.array([None, "a"])})) != fingerprint_table(
        pa.table({"s": pa.array(["", "a"])})
    )


def test_fingerprint_differs_when_string_boundaries_move() -> None:
    assert fingerprint_table(pa.table({"s": ["ab", "c"]})) != fingerprint_table(pa.table({"s": ["a", "bc"]}))


def test_fingerprint_differs_when_a_column_is_renamed() -> None:
    table = sample_table(20)
    renamed = table.rename_columns(["identifier", *table.column_names[1:]])
    assert fingerprint_table(renamed) != fingerprint_table(table)


@pytest.mark.parametrize(
    ("values", "old_type", "new_type"),
    [
        ([1, 2, 3], pa.int64(), pa.int32()),
        (["a", "b", "a"], pa.string(), pa.dictionary(pa.int32(), pa.string())),
        ([1.5, 2.5], pa.float64(), pa.float32()),
        ([dt.datetime(2026, 1, 1)], pa.timestamp("us", tz="UTC"), pa.timestamp("us", tz="Europe/Paris")),
        ([dt.datetime(2026, 1, 1)], pa.timestamp("us"), pa.timestamp("ns")),
    ],
)
def test_fingerprint_differs_when_a_type_changes(values: list, old_type: pa.DataType, new_type: pa.DataType) -> None:
    old = pa.table({"c": pa.array(values, old_type)})
    new = old.cast(pa.schema([pa.field("c", new_type)]))
    assert new.column("c").to_pylist() == old.column("c").to_pylist()  # same values, other type
    assert fingerprint_table(new) != fingerprint_table(old)


def test_fingerprint_differs_when_column_order_changes() -> None:
    table = pa.table({"a": [1, 2], "b": [1, 2]})
    assert fingerprint_table(table.select(["b", "a"])) != fingerprint_table(table)


def test_fingerprint_differs_when_a_row_is_appended() -> None:
    table = sample_table(30)
    longer = pa.concat_tables([table, table.slice(0, 1)])
    assert fingerprint_table(longer) != fingerprint_table(table)


def test_fingerprint_differs_when_an_empty_string_row_is_appended() -> None:
    # Appending "" adds no value bytes: only the row count and the lengths stream can tell.
    assert fingerprint_table(pa.table({"s": ["a"]})) != fingerprint_table(pa.table({"s": ["a", ""]}))


# -- NaN -------------------------------------------------------------------------------------

def _floats_from_bits(bits: list[int], dtype: str) -> pa.Array:
    unsigned = {"f8": "<u8", "f4": "<u4"}[dtype]
    return pa.array(np.array(bits, dtype=unsigned).view(dtype))


def test_every_nan_bit_pattern_fingerprints_as_one_nan() -> None:
    quiet, negative, payload = 0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000123
    one = _floats_from_bits([quiet, quiet, quiet], "f8")
    many = _floats_from_bits([quiet, negative, payload], "f8")
    assert all(np.isnan(many.to_numpy()))
    assert fingerprint_table(pa.table({"x": one})) == fingerprint_table(pa.table({"x": many}))
    one32 = _floats_from_bits([0x7FC00000, 0x7FC00000], "f4")
    many32 = _floats_from_bits([0x7FC00000, 0xFFC00001], "f4")
    assert fingerprint_table(pa.table({"x": one32})) == fingerprint_table(pa.table({"x": many32}))


def test_nan_and_null_fingerprint_differently() -> None:
    nan = pa.table({"x": pa.array([1.0, float("nan")])})
    null = pa.table({"x": pa.array([1.0, None], pa.float64())})
    assert fingerprint_table(nan) != fingerprint_table(null)


def test_nan_survives_a_parquet_round_trip_with_the_same_fingerprint(tmp_path: Path) -> None:
    table = pa.table({"x": _floats_from_bits([0xFFF8000000000000, 0x3FF0000000000000], "f8")})
    pq.write_table(table, tmp_path / "nan.parquet")
    assert fingerprint_table(pq.read_table(tmp_path / "nan.parquet")) == fingerprint_table(table)


# -- batches, slices, empty, nested -------------------------------------------------------------

ROW = st.fixed_dictionaries({
    "i": st.none() | st.integers(-(2**63), 2**63 - 1),
    "f": st.none() | st.floats(allow_nan=True, allow_infinity=True),
    "s": st.none() | st.text(max_size=5),
    "b": st.none() | st.booleans(),
})
SCHEMA = pa.schema([("i", pa.int64()), ("f", pa.float64()), ("s", pa.string()), ("b", pa.bool_())])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=40), cuts=st.lists(st.integers(0, 40), max_size=6), as_batches=st.booleans())
def test_fingerprint_of_batches_split_anywhere_equals_fingerprint_of_whole(
    rows: list[dict], cuts: list[int], as_batches: bool
) -> None:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    points = sorted({0, len(rows), *(min(cut, len(rows)) for cut in cuts)})
    pieces = [table.slice(start, stop - start) for start, stop in zip(points, points[1:], strict=False)]
    batches = [batch for piece in pieces for batch in piece.to_batches()]
    assert fingerprint_batches(SCHEMA, batches if as_batches else pieces) == fingerprint_table(table)
    # the same pieces glued into one chunked table, and that table made contiguous
    glued = pa.Table.from_batches(batches, SCHEMA)
    assert fingerprint_table(glued) == fingerprint_table(glued.combine_chunks()) == fingerprint_table(table)


def test_fingerprint_of_offset_slices_equals_freshly_built_data() -> None:
    table = sample_table(60)
    for start, length in [(1, 20), (5, 3), (13, 40), (59, 1), (7, 0)]:
        sliced = table.slice(start, length)
        fresh = pa.Table.from_pylist(sliced.to_pylist(), schema=table.schema)
        assert all(chunk.offset == 0 for column in fresh.columns for chunk in column.chunks)
        assert fingerprint_table(sliced) == fingerprint_table(fresh), (start, length)
        batch = table.combine_chunks().to_batches()[0].slice(start, length)
        assert fingerprint_batches(table.schema, [batch]) == fingerprint_table(fresh)


def test_empty_table_fingerprints_the_same_in_memory_and_from_files(tmp_path: Path) -> None:
    empty = sample_table(10).slice(0, 0)
    pq.write_table(empty, tmp_path / "e.parquet")
    feather.write_feather(empty, tmp_path / "e.feather")
    parquet_file = pq.ParquetFile(tmp_path / "e.parquet")
    streamed = fingerprint_batches(parquet_file.schema_arrow, parquet_file.iter_batches())
    in_memory = fingerprint_table(empty)
    assert streamed == in_memory == fingerprint_table(feather.read_table(tmp_path / "e.feather"))
    assert in_memory == fingerprint_batches(empty.schema, [])
    # still depends on the columns: an empty table with another schema differs
    assert in_memory != fingerprint_table(empty.drop_columns(["id"]))


def test_empty_table_fingerprint_is_the_documented_header_hash() -> None:
    """No columns, no rows: exactly the version line and the packed counts (docs/fingerprint.md)."""
    expected = blake3.blake3(FINGERPRINT_VERSION.encode() + b"\n" + struct.pack("<QI", 0, 0)).hexdigest()
    assert fingerprint_table(pa.table({})) == expected
    assert Fingerprinter(pa.schema([])).hexdigest() == expected
    assert expected == "3f08896b08cae8d3994e7f9809c951a61ad5c7a826ac3c1595054a09d0c623f8"


def test_one_column_fingerprint_matches_the_documented_canonical_form() -> None:
    """Recompute docs/fingerprint.md by hand for a small string column with a null."""
    table = pa.table({"s": pa.array(["ab", None, "", "cde"])})

    def text(value: str) -> bytes:
        return struct.pack("<I", len(value.encode())) + value.encode()

    nulls = blake3.blake3(struct.pack("<Q", 1)).digest()
    lengths = blake3.blake3(struct.pack("<4Q", 2, 0, 0, 3)).digest()
    values = blake3.blake3(b"abcde").digest()
    final = blake3.blake3(
        FINGERPRINT_VERSION.encode() + b"\n" + struct.pack("<QI", 4, 1) + text("s") + text("string")
        + nulls + lengths + values
    )
    assert fingerprint_table(table) == final.hexdigest()
    # pinned: a change here needs a new FINGERPRINT_VERSION and docs/fingerprint.md
    assert fingerprint_table(table) == "45a15a91c45f67d77f72dffcaea583bb64eac897e5d0b15a4cceba03f21db173"


NESTED = {
    "ints": pa.array([[1, 2], [], None, [3, None]], pa.list_(pa.int64())),
    "texts": pa.array([["a"], None, [], ["b", "c"]], pa.list_(pa.string())),
    "record": pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": "y"}, {"a": 2, "b": None}]),
    "pairs": pa.array([[("k", 1)], [], None, [("j", 2)]], pa.map_(pa.string(), pa.int64())),
}


def test_list_column_fingerprint_is_deterministic_and_value_sensitive() -> None:
    table = pa.table(NESTED)
    assert fingerprint_table(table) == fingerprint_table(pa.table(NESTED))
    changed = pa.array([[1, 2], [], None, [3, 4]], pa.list_(pa.int64()))
    assert fingerprint_table(table.set_column(0, "ints", changed)) != fingerprint_table(table)
    # an empty list and a null list are different values
    assert fingerprint_table(pa.table({"l": pa.array([[]], pa.list_(pa.int64()))})) != fingerprint_table(
        pa.table({"l": pa.array([None], pa.list_(pa.int64()))})
    )


def test_nested_columns_fingerprint_equal_across_parquet_feather_and_large_list(tmp_path: Path) -> None:
    table = pa.table(NESTED)
    pq.write_table(table, tmp_path / "n.parquet", row_group_size=2)
    feather.write_feather(table, tmp_path / "n.feather", chunksize=3)
    from_parquet = pq.read_table(tmp_path / "n.parquet")
    assert from_parquet.schema.field("ints").type.value_field.name == "element"  # Parquet renames "item"
    large = table.set_column(0, "ints", table.column("ints").cast(pa.large_list(pa.int64())))
    expected = fingerprint_table(table)
    assert fingerprint_table(from_parquet) == expected
    assert fingerprint_table(feather.read_table(tmp_path / "n.feather")) == expected
    assert fingerprint_table(large) == expected


def test_nested_dictionary_index_width_is_not_content() -> None:
    narrow = pa.array([["a"], ["b", "a"]], pa.list_(pa.string())).cast(pa.list_(pa.dictionary(pa.int8(), pa.string())))
    wide = narrow.cast(pa.list_(pa.dictionary(pa.int32(), pa.string())))
    assert canonical_type(narrow.type) == canonical_type(wide.type) == "list<dictionary<values=string, ordered=0>>"
    assert fingerprint_table(pa.table({"l": narrow})) == fingerprint_table(pa.table({"l": wide}))


def test_canonical_type_drops_encodings_but_keeps_content_types() -> None:
    assert canonical_type(pa.large_string()) == canonical_type(pa.string()) == "string"
    assert canonical_type(pa.large_binary()) == canonical_type(pa.binary()) == "binary"
    assert canonical_type(pa.dictionary(pa.int16(), pa.string(), ordered=True)) == (
        "dictionary<values=string, ordered=1>"
    )
    assert canonical_type(pa.timestamp("ms", tz="UTC")) == "timestamp[ms, tz=UTC]"
    assert canonical_type(pa.decimal128(10, 2)) == "decimal128(10, 2)"
    assert canonical_type(pa.list_(pa.int64())) == canonical_type(pa.large_list(pa.int64())) == "list<int64>"
