"""Reading what a data file holds: format, rows, columns, Arrow schema, fingerprint.

This is the only module that parses user data files. Every way a file can be
unreadable becomes one InvalidInputError sentence naming the file and the fix,
raised before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from lineage.errors import InvalidInputError
from lineage.fingerprint import canonical_type, fingerprint_batches

BATCH_ROWS = 256 * 1024

FORMATS = ("parquet", "csv", "parquet-dir")


@dataclass(frozen=True)
class TableInfo:
    """What a data file holds, independent of how it is encoded."""

    format: str
    rows: int
    columns: int
    schema: list[dict[str, str]]  # [{"name", "type"}], types as Arrow prints them
    arrow_schema: str  # the full Arrow schema text (without pandas metadata)
    fingerprint: str


def detect_format(path: Path) -> str:
    """parquet, csv or parquet-dir; refuses anything else with what is accepted."""
    if path.is_dir():
        return "parquet-dir"
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".tsv"):
        return "csv"
    with open(path, "rb") as handle:
        if handle.read(4) == b"PAR1":
            return "parquet"
    raise InvalidInputError(
        f"{path} is neither Parquet nor CSV (by name or content): register a .parquet or .csv file, "
        "or a directory of Parquet files"
    )


def inspect(path: Path, data_format: str, members: list[Path] | None = None) -> TableInfo:
    """Read the table in batches and describe it; InvalidInputError when it is not readable."""
    try:
        if data_format == "csv":
            table = _read_csv(path)
            return _describe(data_format, table.schema, iter([table]))
        files = members if data_format == "parquet-dir" else [path]
        assert files
        schema = _parquet_schema(files)
        return _describe(data_format, schema, _parquet_batches(files, schema))
    except InvalidInputError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInputError(_unreadable(path, data_format, exc)) from None


def _describe(data_format: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch | pa.Table]) -> TableInfo:
    counted = _Counting(batches)
    fingerprint = fingerprint_batches(schema, counted)
    plain = schema.remove_metadata()
    return TableInfo(
        format=data_format,
        rows=counted.rows,
        columns=len(schema),
        schema=[{"name": field.name, "type": canonical_type(field.type)} for field in plain],
        arrow_schema=plain.to_string(show_schema_metadata=False),
        fingerprint=f"blake3:{fingerprint}",
    )


class _Counting:
    """Counts rows while batches stream through to the fingerprinter."""

    def __init__(self, batches: Iterator[pa.RecordBatch | pa.Table]) -> None:
        self._batches = batches
        self.rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch | pa.Table]:
        for batch in self._batches:
            self.rows += batch.num_rows
            yield batch


def _read_csv(path: Path) -> pa.Table:
    from pyarrow import csv

    parse = csv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    table = csv.read_csv(path, parse_options=parse)
    for field in table.schema:
        # Arrow falls back to binary for a column that is not valid UTF-8 text.
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            raise InvalidInputError(
                f"{path} is not valid UTF-8 text (column '{field.name}' holds undecodable bytes): "
                "re-encode the CSV as UTF-8"
            )
    return table


def _parquet_schema(files: list[Path]) -> pa.Schema:
    import pyarrow.parquet as pq

    schema = pq.read_schema(files[0])
    for other in files[1:]:
        other_schema = pq.read_schema(other)
        if not other_schema.remove_metadata().equals(schema.remove_metadata()):
            raise InvalidInputError(
                f"{other} has a different schema from {files[0]}: a directory snapshot needs "
                "Parquet files with one schema"
            )
    return schema


def _parquet_batches(files: list[Path], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    for file in files:
        with pq.ParquetFile(file) as parquet:
            yield from parquet.iter_batches(batch_size=BATCH_ROWS, use_threads=True)


def _unreadable(path: Path, data_format: str, exc: Exception) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if data_format == "csv":
        if "utf8" in reason.lower() or "utf-8" in reason.lower():
            return f"{path} is not valid UTF-8 text ({reason}): re-encode the CSV as UTF-8"
        return f"{path} is not a valid CSV file ({reason}): fix the file (every row needs the header's columns)"
    return f"{path} is not a readable Parquet file ({reason}): it may be truncated or not Parquet; re-export it"
