"""Streaming the fingerprint column by column gives exactly the released v2 digests.

``lineage.tabular`` reads Parquet one column chunk at a time (no pre-buffering) and the
hashers slice long chunks; the oracle is a frozen copy of the whole-table implementation
(tests/_fingerprint_reference.py). Every comparison is digest for digest.
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lineage.fingerprint as fingerprint_module
import lineage.tabular as tabular
from lineage.fingerprint import Fingerprinter, fingerprint_batches, fingerprint_table
from tests import _fingerprint_reference as reference
from tests.factories import frame

UTC = dt.UTC


def wide_table(rows: int = 700, seed: int = 2010) -> pa.Table:
    """Every kind of column the hashers treat differently, with nulls in each."""
    rng = np.random.default_rng(seed)
    ints = rng.integers(-(2**40), 2**40, rows)
    floats = rng.normal(0, 1, rows)
    floats[::9] = np.nan
    floats[::13] = -np.nan
    null_every = [i % 7 == 0 for i in range(rows)]

    def masked(values: list, every: int = 7) -> list:
        return [None if i % every == 0 else v for i, v in enumerate(values)]

    words = [f"w{i % 37}" * (i % 3) for i in range(rows)]
    return pa.table({
        "i64": pa.array(ints),
        "i64_nulls": pa.array(masked(ints.tolist()), pa.int64()),
        "i8": pa.array((ints % 100).astype(np.int8)),
        "u32_nulls": pa.array(masked((ints % 1000).astype(np.uint32).tolist(), 5), pa.uint32()),
        "f64": pa.array(floats),
        "f64_nulls": pa.array(floats, mask=np.array(null_every)),
        "f32": pa.array(floats.astype(np.float32)),
        "f32_nulls": pa.array(floats.astype(np.float32), mask=np.array(null_every)),
        "f16": pa.array(floats.astype(np.float16)),
        "bool": pa.array(ints % 3 == 0),
        "bool_nulls": pa.array(masked((ints % 2 == 0).tolist(), 4), pa.bool_()),
        "text": pa.array(words),
        "text_nulls": pa.array(masked(words, 6)),
        "large_text": pa.array(masked(words, 8), pa.large_string()),
        "blob": pa.array(masked([w.encode() for w in words], 3), pa.binary()),
        "category": pa.array(masked(rng.choice(["north", "south", "east"], rows).tolist(), 10)).dictionary_encode(),
        "at": pa.array([dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=int(i)) for i in range(rows)],
                       pa.timestamp("us", tz="UTC")),
        "day_nulls": pa.array(masked([dt.date(2026, 1, 1) + dt.timedelta(days=i % 400) for i in range(rows)]),
                              pa.date32()),
        "price": pa.array(masked([decimal.Decimal(int(v % 10**6)) / 100 for v in ints]), pa.decimal128(12, 2)),
        "fixed": pa.array(masked([bytes([i % 256]) * 4 for i in range(rows)]), pa.binary(4)),
        "nothing": pa.nulls(rows),
        "listed": pa.array(masked([[int(v % 5)] * (i % 3) for i, v in enumerate(ints)]), pa.list_(pa.int64())),
        "record": pa.array(masked([{"a": int(v % 9), "b": str(i)} for i, v in enumerate(ints)])),
    })


def oracle(table: pa.Table) -> str:
    return reference.fingerprint_table(table)


@pytest.fixture
def tiny_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Slice and batch boundaries every few rows, so row groups, batches and slices all misalign."""
    monkeypatch.setattr(fingerprint_module, "SLICE_ROWS", 29)
    monkeypatch.setattr(tabular, "COLUMN_BATCH_ROWS", 41)


@pytest.mark.parametrize("slice_rows", [1, 29, 64 * 1024])
def test_in_memory_fingerprint_equals_the_released_implementation(
    monkeypatch: pytest.MonkeyPatch, slice_rows: int
) -> None:
    monkeypatch.setattr(fingerprint_module, "SLICE_ROWS", slice_rows)
    table = wide_table(150 if slice_rows == 1 else 700)
    assert fingerprint_table(table) == oracle(table)
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=97))
    assert fingerprint_table(chunked) == oracle(table)
    for start, length in [(1, 50), (13, 80), (0, 0), (149, 1)]:
        assert fingerprint_table(table.slice(start, length)) == oracle(table.slice(start, length))


def test_garbage_under_nulls_and_nan_payloads_match_the_released_implementation() -> None:
    validity = pa.py_buffer(np.packbits([1, 0, 1, 0, 1], bitorder="little").tobytes())
    ints = pa.Array.from_buffers(pa.int64(), 5, [validity, pa.py_buffer(np.array([5, 99, 7, -1, 3], "<i8").tobytes())])
    nan_bits = np.array([0x7FF8000000000000, 0xFFF8000000000123, 0x3FF0000000000000, 0x7FF0000000000001, 0],
                        dtype="<u8")
    floats = pa.Array.from_buffers(pa.float64(), 5, [validity, pa.py_buffer(nan_bits.tobytes())])
    offsets = pa.py_buffer(np.array([0, 1, 4, 5, 9, 9], "<i4").tobytes())
    texts = pa.Array.from_buffers(pa.string(), 5, [validity, offsets, pa.py_buffer(b"axyzbgarb")])
    bools = pa.Array.from_buffers(pa.bool_(), 5, [validity, pa.py_buffer(bytes([0b11111]))])
    table = pa.table({"i": ints, "f": floats, "s": texts, "b": bools})
    assert fingerprint_table(table) == oracle(table)
    assert fingerprint_table(table.slice(1, 3)) == oracle(table.slice(1, 3))


def test_string_view_columns_match_the_released_implementation() -> None:
    values = ["a", None, "", "a much longer string than twelve bytes", None]
    table = pa.table({"s": pa.array(values, pa.string_view()),
                      "b": pa.array([None if v is None else v.encode() for v in values], pa.binary_view())})
    assert fingerprint_table(table) == oracle(table)
    assert fingerprint_table(table.slice(1, 3)) == oracle(table.slice(1, 3))


@pytest.mark.parametrize("row_group_size", [1, 50, 333, 10_000])
@pytest.mark.parametrize("compression", ["none", "snappy", "zstd"])
def test_parquet_read_column_by_column_equals_the_whole_table_fingerprint(
    tmp_path: Path, tiny_slices: None, row_group_size: int, compression: str
) -> None:
    table = wide_table(1000 if row_group_size > 1 else 120)
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=row_group_size, compression=compression)
    assert pq.ParquetFile(path).metadata.num_row_groups == -(-table.num_rows // row_group_size)
    info = tabular.inspect(path, "parquet")
    expected = oracle(pq.read_table(path))
    assert info.fingerprint == f"blake3:{expected}"
    assert info.rows == table.num_rows and info.columns == table.num_columns
    # the old way of reading (whole record batches, pre-buffered) gives the same digest
    old_way = pq.ParquetFile(path)
    assert reference.fingerprint_batches(old_way.schema_arrow, old_way.iter_batches(batch_size=256 * 1024)) == expected


def test_parquet_fingerprint_equals_feather_and_in_memory(tmp_path: Path, tiny_slices: None) -> None:
    table = pa.Table.from_pandas(frame(500), preserve_index=False)
    pq.write_table(table, tmp_path / "f.parquet", row_group_size=64)
    feather.write_feather(table, tmp_path / "f.feather", chunksize=77)
    expected = oracle(table)
    assert tabular.inspect(tmp_path / "f.parquet", "parquet").fingerprint == f"blake3:{expected}"
    assert fingerprint_table(feather.read_table(tmp_path / "f.feather")) == expected


def test_parquet_directory_is_fed_file_after_file_per_column(tmp_path: Path, tiny_slices: None) -> None:
    table = wide_table(900)
    folder = tmp_path / "parts"
    folder.mkdir()
    members = []
    for number, start in enumerate(range(0, 900, 250)):
        member = folder / f"part-{number}.parquet"
        pq.write_table(table.slice(start, 250), member, row_group_size=60)
        members.append(member)
    info = tabular.inspect(folder, "parquet-dir", members)
    assert info.fingerprint == f"blake3:{oracle(table)}"
    assert info.rows == 900


def test_duplicate_column_names_fall_back_to_whole_batches(tmp_path: Path) -> None:
    table = pa.Table.from_arrays([pa.array([1, 2, 3]), pa.array(["a", None, "c"])], names=["x", "x"])
    pq.write_table(table, tmp_path / "dup.parquet", row_group_size=2)
    assert tabular.inspect(tmp_path / "dup.parquet", "parquet").fingerprint == f"blake3:{oracle(table)}"


def test_empty_parquet_file_matches_the_released_implementation(tmp_path: Path) -> None:
    empty = wide_table(10).slice(0, 0)
    pq.write_table(empty, tmp_path / "e.parquet")
    info = tabular.inspect(tmp_path / "e.parquet", "parquet")
    assert info.fingerprint == f"blake3:{oracle(empty)}" and info.rows == 0


def test_columns_fed_unevenly_are_refused() -> None:
    fingerprinter = Fingerprinter(pa.schema([("a", pa.int64()), ("b", pa.int64())]))
    fingerprinter.update_column(0, pa.array([1, 2]))
    fingerprinter.update_column(1, pa.array([1]))
    with pytest.raises(ValueError, match="different numbers of rows"):
        fingerprinter.hexdigest()


ROW = st.fixed_dictionaries({
    "i": st.none() | st.integers(-(2**63), 2**63 - 1),
    "f": st.none() | st.floats(allow_nan=True, allow_infinity=True),
    "g": st.none() | st.floats(width=32, allow_nan=True),
    "s": st.none() | st.text(max_size=5),
    "b": st.none() | st.booleans(),
    "c": st.none() | st.sampled_from(["x", "y", "z"]),
})
SCHEMA = pa.schema([("i", pa.int64()), ("f", pa.float64()), ("g", pa.float32()), ("s", pa.string()),
                    ("b", pa.bool_()), ("c", pa.dictionary(pa.int32(), pa.string()))])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, max_size=60), cuts=st.lists(st.integers(0, 60), max_size=5),
       slice_rows=st.integers(1, 70))
def test_any_split_and_any_slice_size_gives_the_released_digest(rows: list[dict], cuts: list[int], slice_rows: int) -> None:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    points = sorted({0, len(rows), *(min(cut, len(rows)) for cut in cuts)})
    pieces = [table.slice(start, stop - start) for start, stop in zip(points, points[1:], strict=False)]
    expected = oracle(table)
    saved = fingerprint_module.SLICE_ROWS
    fingerprint_module.SLICE_ROWS = slice_rows
    try:
        assert fingerprint_batches(SCHEMA, pieces) == expected
        by_column = Fingerprinter(SCHEMA)
        for index in reversed(range(len(SCHEMA))):  # any column order, each in row order
            for piece in pieces:
                by_column.update_column(index, piece.column(index))
        assert by_column.hexdigest() == expected
    finally:
        fingerprint_module.SLICE_ROWS = saved
