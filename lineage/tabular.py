"""Reading what a data file holds: format, rows, columns, Arrow schema, fingerprint.

This is the only module that parses user data files. Every way a file can be
unreadable becomes one InvalidInputError sentence naming the file and the fix,
raised before anything is written.

pyarrow is imported only when a table is actually read: ``detect_format`` and
``TableInfo`` work without it, so a command that finds the data already registered
never pays for loading Arrow.

Parquet is read one column chunk at a time, in batches of ``COLUMN_BATCH_ROWS`` rows,
without pre-buffering: memory stays at a few buffers of one column whatever the file
or row-group size.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lineage.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from lineage.fingerprint import Fingerprinter

BATCH_ROWS = 256 * 1024
"""Rows per record batch when a whole table is streamed (files whose columns cannot be read one by one)."""
COLUMN_BATCH_ROWS = 64 * 1024
"""Rows per batch when one column is read at a time."""
READ_BUFFER_BYTES = 1024 * 1024
"""Parquet read buffer: column chunks are read through a buffer of this size, not whole."""

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
    found = sniff_format(path)
    if found is not None:
        return found
    raise InvalidInputError(
        f"{path} is neither Parquet nor CSV (by name or content): register a .parquet or .csv file, "
        "or a directory of Parquet files"
    )


def sniff_format(path: Path, name: str | None = None) -> str | None:
    """parquet or csv by the file's name (``name``, default the path's), else by its content; None if neither.

    ``name`` serves bytes stored under another name, such as a content-addressed cache.
    """
    suffix = Path(name or path.name).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".tsv"):
        return "csv"
    with open(path, "rb") as handle:
        if handle.read(4) == b"PAR1":
            return "parquet"
    return None


def inspect(path: Path, data_format: str, members: list[Path] | None = None, *, name: str | None = None) -> TableInfo:
    """Read the table in batches and describe it; InvalidInputError when it is not readable.

    ``name``: the file's real name when ``path`` is a copy stored under another (it picks
    the CSV delimiter: tab for ``.tsv``).
    """
    import pyarrow as pa

    from lineage.fingerprint import Fingerprinter

    try:
        if data_format == "csv":
            table = _read_csv(path, name)
            fingerprinter = Fingerprinter(table.schema)
            fingerprinter.update(table)
            return _describe(data_format, table.schema, fingerprinter)
        files = members if data_format == "parquet-dir" else [path]
        assert files
        schema = _parquet_schema(files)
        fingerprinter = Fingerprinter(schema)
        if _by_column(schema):
            for file in files:
                with _member(file):
                    _feed_parquet_columns(file, schema, fingerprinter)
        else:
            for batch in _parquet_batches(files):
                fingerprinter.update(batch)
        return _describe(data_format, schema, fingerprinter)
    except InvalidInputError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInputError(_unreadable(path, data_format, exc)) from None
    finally:
        pa.default_memory_pool().release_unused()


def repeated_columns(names: list[str]) -> list[str]:
    """The column names that occur more than once, each once, in order of first repeat."""
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for name in names:
        if name in seen:
            repeated[name] = None
        seen.add(name)
    return list(repeated)


def require_distinct_columns(path: Path, info: TableInfo) -> None:
    """Refuse a table whose column names repeat, naming them.

    Why: every reader selects columns by name (profile, drift, features, schema
    contracts), so ``a,a`` is ambiguous there and pyarrow raises KeyError long after
    the snapshot was accepted. Refused at registration, before anything is visible.
    """
    repeated = repeated_columns([field["name"] for field in info.schema])
    if repeated:
        names = ", ".join(f"'{name}'" for name in repeated)
        raise InvalidInputError(
            f"{path} repeats the column name(s) {names}: give every column its own name and register it again"
        )


def _describe(data_format: str, schema: pa.Schema, fingerprinter: Fingerprinter) -> TableInfo:
    from lineage.fingerprint import canonical_type

    fingerprint = fingerprinter.hexdigest()
    plain = schema.remove_metadata()
    return TableInfo(
        format=data_format,
        rows=fingerprinter.rows,
        columns=len(schema),
        schema=[{"name": field.name, "type": canonical_type(field.type)} for field in plain],
        arrow_schema=plain.to_string(show_schema_metadata=False),
        fingerprint=f"blake3:{fingerprint}",
    )


def _read_csv(path: Path, name: str | None = None) -> pa.Table:
    from pyarrow import csv

    parse = csv.ParseOptions(delimiter="\t" if Path(name or path.name).suffix.lower() == ".tsv" else ",")
    table = csv.read_csv(path, parse_options=parse)
    require_utf8_csv(table, path)
    return table


def require_utf8_csv(table: pa.Table, shown: str | Path) -> None:
    """Refuse a table read from a CSV whose header or values are not UTF-8 text, naming the file as ``shown``.

    Why: Arrow reads such a file without complaint. Undecodable values become a binary
    column (a reader would report a misleading type mismatch); undecodable header bytes
    raise UnicodeDecodeError only later, whenever a column name is asked for. Every
    reader of CSV files (registration, validation of a path or an upload) calls this
    right after parsing, so they all refuse the file with this one sentence.
    """
    import pyarrow as pa

    try:
        fields = [(field.name, field.type) for field in table.schema]
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"{shown} is not valid UTF-8 text (the header row holds undecodable bytes): re-encode the CSV as UTF-8"
        ) from None
    for column, column_type in fields:
        if pa.types.is_binary(column_type) or pa.types.is_large_binary(column_type):
            raise InvalidInputError(
                f"{shown} is not valid UTF-8 text (column '{column}' holds undecodable bytes): "
                "re-encode the CSV as UTF-8"
            )


def _parquet_schema(files: list[Path]) -> pa.Schema:
    import pyarrow.parquet as pq

    with _member(files[0]):
        schema = pq.read_schema(files[0])
    for other in files[1:]:
        with _member(other):
            other_schema = pq.read_schema(other)
        if not other_schema.remove_metadata().equals(schema.remove_metadata()):
            raise InvalidInputError(
                f"{other} has a different schema from {files[0]}: a directory snapshot needs "
                "Parquet files with one schema"
            )
    return schema


def _open_parquet(file: Path):  # type: ignore[no-untyped-def]
    """A ParquetFile that reads through a small buffer instead of pre-buffering whole row groups."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(file, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)


def _by_column(schema: pa.Schema) -> bool:
    """Columns can be selected one by one by name: at least one, and no name used twice."""
    return len(schema) > 0 and len(set(schema.names)) == len(schema.names)


def _feed_parquet_columns(file: Path, schema: pa.Schema, fingerprinter: Fingerprinter) -> None:
    """Feed every column of ``file``, one column at a time, in row order, to the fingerprinter.

    Each column hasher keeps its state across row groups (and across the files of a
    directory), so the result is the fingerprint of the whole table, exactly as if it
    had been fed in record batches.
    """
    import pyarrow as pa

    pool = pa.default_memory_pool()
    with _open_parquet(file) as parquet:
        for index, name in enumerate(schema.names):
            for batch in parquet.iter_batches(batch_size=COLUMN_BATCH_ROWS, columns=[name], use_threads=False):
                if batch.num_columns != 1 or batch.schema.field(0).name != name:
                    raise ValueError(f"column '{name}' could not be read on its own")
                fingerprinter.update_column(index, batch.column(0))
            pool.release_unused()


def _parquet_batches(files: list[Path]) -> Iterator[pa.RecordBatch]:
    for file in files:
        with _member(file), _open_parquet(file) as parquet:
            yield from parquet.iter_batches(batch_size=BATCH_ROWS, use_threads=True)


@contextmanager
def _member(file: Path) -> Iterator[None]:
    """Word a failure to read this Parquet file with its own path.

    Why: for a folder, "FOLDER is not a readable Parquet file" sends the user looking for
    the bad file among many; the member's path says which one to re-export or move away.
    For a single file ``file`` is the path ``inspect`` was given, so nothing changes.
    """
    import pyarrow as pa

    try:
        yield
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidInputError(_unreadable(file, "parquet", exc)) from None


def _unreadable(path: Path, data_format: str, exc: Exception) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if data_format == "csv":
        if "utf8" in reason.lower() or "utf-8" in reason.lower():
            return f"{path} is not valid UTF-8 text ({reason}): re-encode the CSV as UTF-8"
        return f"{path} is not a valid CSV file ({reason}): fix the file (every row needs the header's columns)"
    return f"{path} is not a readable Parquet file ({reason}): it may be truncated or not Parquet; re-export it"
