"""Frozen copy of lineage/fingerprint.py as first released (lineage-fingerprint-v2), the test oracle.

The streaming implementation in lineage/fingerprint.py must give exactly these digests
for every table (tests/test_fingerprint_streaming.py). Do not edit: a new fingerprint
layout needs a new FINGERPRINT_VERSION, not a change here.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable

import blake3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FINGERPRINT_VERSION = "lineage-fingerprint-v2"
_CANONICAL_NAN = np.array([np.nan], dtype=np.float64).view(np.uint64)[0]
_CANONICAL_NAN32 = np.array([np.nan], dtype=np.float32).view(np.uint32)[0]


def canonical_type(data_type: pa.DataType) -> str:
    """The type as fingerprinted: dictionary index width and view/large layouts are encodings, not content."""
    if pa.types.is_dictionary(data_type):
        ordered = int(data_type.ordered)
        return f"dictionary<values={canonical_type(data_type.value_type)}, ordered={ordered}>"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return "string"
    if pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type) or pa.types.is_binary_view(data_type):
        return "binary"
    # Nested types: the child field names ("item" in Arrow, "element" after Parquet, the map's
    # entries name) and the large/view list layouts are encodings too, so recurse on the children.
    if (pa.types.is_list(data_type) or pa.types.is_large_list(data_type)
            or pa.types.is_list_view(data_type) or pa.types.is_large_list_view(data_type)):
        return f"list<{canonical_type(data_type.value_type)}>"
    if pa.types.is_fixed_size_list(data_type):
        return f"fixed_size_list<{canonical_type(data_type.value_type)}>[{data_type.list_size}]"
    if pa.types.is_map(data_type):
        keys_sorted = ", keys_sorted" if data_type.keys_sorted else ""
        return f"map<{canonical_type(data_type.key_type)}, {canonical_type(data_type.item_type)}{keys_sorted}>"
    if pa.types.is_struct(data_type):
        fields = ", ".join(f"{field.name}: {canonical_type(field.type)}" for field in data_type)
        return f"struct<{fields}>"
    return str(data_type)


def _new_hasher() -> blake3.blake3:
    return blake3.blake3(max_threads=blake3.blake3.AUTO)


class _ColumnHasher:
    """Feeds one column's chunks into three chunk-independent streams."""

    def __init__(self, name: str, data_type: pa.DataType) -> None:
        self.name = name
        self.type_text = canonical_type(data_type)
        self.null_positions = _new_hasher()  # u64 LE row index of every null
        self.lengths = _new_hasher()  # u64 LE byte length of every variable-width value
        self.values = _new_hasher()  # value bytes (nulls as zeros / empty)

    def update(self, chunk: pa.Array, row_offset: int) -> None:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_decode()
        if isinstance(chunk, pa.ChunkedArray):  # decoding can return either
            for piece in chunk.chunks:
                self.update(piece, row_offset)
                row_offset += len(piece)
            return
        if chunk.null_count:
            nulls = np.flatnonzero(~chunk.is_valid().to_numpy(zero_copy_only=False))
            self.null_positions.update((nulls.astype("<u8") + row_offset).tobytes())
        data_type = chunk.type
        if pa.types.is_null(data_type):
            return
        if pa.types.is_boolean(data_type):
            self.values.update(pc.fill_null(chunk, False).cast(pa.uint8()).to_numpy(zero_copy_only=False).tobytes())
        elif _is_variable_width(data_type):
            self._update_variable(chunk)
        elif _is_fixed_width(data_type):
            self._update_fixed(chunk)
        else:  # nested and rare types: a slower, still canonical, JSON form
            for value in chunk.to_pylist():
                self.values.update(json.dumps(value, sort_keys=True, default=str).encode() + b"\n")

    def _update_fixed(self, chunk: pa.Array) -> None:
        width = chunk.type.bit_width // 8
        buffer = chunk.buffers()[1]
        raw = np.frombuffer(buffer, dtype=np.uint8, count=(chunk.offset + len(chunk)) * width)
        raw = raw[chunk.offset * width :]
        needs_copy = chunk.null_count > 0 or pa.types.is_floating(chunk.type)
        if needs_copy:
            raw = raw.copy().reshape(len(chunk), width)
            if chunk.null_count:
                raw[~chunk.is_valid().to_numpy(zero_copy_only=False)] = 0
            if pa.types.is_float64(chunk.type):
                as_float = raw.reshape(-1).view(np.float64)
                as_float.view(np.uint64)[np.isnan(as_float)] = _CANONICAL_NAN
            elif pa.types.is_float32(chunk.type):
                as_float = raw.reshape(-1).view(np.float32)
                as_float.view(np.uint32)[np.isnan(as_float)] = _CANONICAL_NAN32
        self.values.update(memoryview(np.ascontiguousarray(raw).reshape(-1)))

    def _update_variable(self, chunk: pa.Array) -> None:
        if pa.types.is_string_view(chunk.type) or pa.types.is_binary_view(chunk.type):
            chunk = chunk.cast(pa.large_binary())  # first: if_else has no kernel for view types
        if chunk.null_count:
            chunk = pc.if_else(chunk.is_valid(), chunk, pa.scalar(b"" if pa.types.is_binary(chunk.type) or pa.types.is_large_binary(chunk.type) else "", chunk.type))
        offset_type = np.int64 if pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type) else np.int32
        offsets = np.frombuffer(chunk.buffers()[1], dtype=offset_type, count=chunk.offset + len(chunk) + 1)
        offsets = offsets[chunk.offset :]
        self.lengths.update(np.diff(offsets).astype("<u8").tobytes())
        data = chunk.buffers()[2]
        if data is not None and offsets[-1] > offsets[0]:
            self.values.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])

    def digest(self) -> bytes:
        header = _text(self.name) + _text(self.type_text)
        return header + self.null_positions.digest() + self.lengths.digest() + self.values.digest()


def _is_variable_width(data_type: pa.DataType) -> bool:
    return any(
        check(data_type)
        for check in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                      pa.types.is_large_binary, pa.types.is_string_view, pa.types.is_binary_view)
    )


def _is_fixed_width(data_type: pa.DataType) -> bool:
    try:
        return data_type.bit_width % 8 == 0 and data_type.num_fields == 0
    except ValueError:
        return False


def _text(value: str) -> bytes:
    encoded = value.encode("utf-8")
    return struct.pack("<I", len(encoded)) + encoded


class Fingerprinter:
    """Incremental fingerprint: feed record batches in row order, then read ``hexdigest``."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.rows = 0
        self._columns = [_ColumnHasher(field.name, field.type) for field in schema]

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        for hasher, column in zip(self._columns, batch.columns, strict=True):
            if isinstance(column, pa.ChunkedArray):
                offset = self.rows
                for piece in column.chunks:
                    hasher.update(piece, offset)
                    offset += len(piece)
            else:
                hasher.update(column, self.rows)
        self.rows += batch.num_rows

    def hexdigest(self) -> str:
        final = _new_hasher()
        final.update(FINGERPRINT_VERSION.encode() + b"\n")
        final.update(struct.pack("<QI", self.rows, len(self._columns)))
        for hasher in self._columns:
            final.update(hasher.digest())
        return final.hexdigest()


def fingerprint_batches(schema: pa.Schema, batches: Iterable[pa.RecordBatch | pa.Table]) -> str:
    """Fingerprint a stream of batches without holding the whole table."""
    fingerprinter = Fingerprinter(schema)
    for batch in batches:
        fingerprinter.update(batch)
    return fingerprinter.hexdigest()


def fingerprint_table(table: pa.Table) -> str:
    """Fingerprint an in-memory Arrow table."""
    return fingerprint_batches(table.schema, [table])
