"""Where profile and drift inputs come from: an Arrow table, a DataFrame, Parquet, or batches.

A Parquet file is opened with ``pyarrow.parquet.ParquetFile`` and a directory with
``pyarrow.dataset``; both are read with only the needed columns, batch by batch in streaming
mode, so it never holds more than one batch of the input. ``pyarrow.dataset`` is imported
only for directories: it imports pandas, a fifth of a second before a single file's first
byte is read. Every way an input can be unusable is one InvalidInputError line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from lineage.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow.dataset as ds

BATCH_ROWS = 64 * 1024
"""Rows per batch read from Parquet in streaming mode (bounded memory: one batch of the needed columns)."""

Data = Any
"""pa.Table | pa.RecordBatch | pandas.DataFrame | str | Path | Iterable[pa.RecordBatch]."""


@dataclass
class Source:
    """An opened input: its schema now, its rows once (batches) or all at once (table)."""

    label: str
    schema: pa.Schema
    _table: pa.Table | None = None
    _file: pq.ParquetFile | None = None
    _path: Path | None = None
    _dataset: ds.Dataset | None = None
    _batches: Iterator[pa.RecordBatch] | None = None

    def batches(self, columns: Sequence[str], batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The needed columns, batch by batch (a batch iterator input can be read only once)."""
        columns = list(columns)
        if self._table is not None:
            yield from self._table.select(columns).to_batches(max_chunksize=batch_rows)
        elif self._file is not None:
            try:
                yield from self._file.iter_batches(batch_size=batch_rows, columns=columns, use_threads=False)
            except (OSError, pa.ArrowException) as exc:
                raise InvalidInputError(f"{self.label} cannot be read ({exc}): check the Parquet file") from None
        elif self._dataset is not None:
            import pyarrow.dataset as ds

            try:
                # no read-ahead and no pre-buffering: either holds many row groups of many files at once
                yield from self._dataset.to_batches(
                    columns=columns, batch_size=batch_rows, batch_readahead=0, fragment_readahead=0, use_threads=False,
                    fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))
            except (OSError, pa.ArrowException) as exc:
                raise InvalidInputError(f"{self.label} cannot be read ({exc}): check the Parquet files") from None
        elif self._batches is not None:
            batches, self._batches = self._batches, None
            for batch in batches:
                yield pa.record_batch([batch.column(name) for name in columns], names=columns)

    def materialise(self, columns: Sequence[str]) -> None:
        """Make a one-shot batch iterator re-readable by keeping its needed columns (exact mode only)."""
        if self._batches is not None:
            self._table = self.table(columns)
            self._batches = None

    def column(self, name: str) -> pa.ChunkedArray:
        """One whole column (exact mode): Parquet is read one column at a time, so peak memory is a column's."""
        if self._table is not None:
            return self._table.column(name)
        return self.table([name]).column(0)

    def count_rows(self) -> int:
        if self._table is not None:
            return self._table.num_rows
        if self._file is not None:
            return self._file.metadata.num_rows
        if self._dataset is not None:
            return self._dataset.count_rows()
        raise ValueError("a batch iterator is counted by reading it")

    def table(self, columns: Sequence[str]) -> pa.Table:
        """The needed columns in memory (exact mode)."""
        columns = list(columns)
        if self._table is not None:
            return self._table.select(columns)
        if self._file is not None:
            try:
                # a reader of its own per call: exact mode reads columns from several threads at once,
                # and one ParquetFile is not safe to share between them (the footer is parsed once)
                with pq.ParquetFile(self._path, metadata=self._file.metadata) as reader:
                    return reader.read(columns=columns)
            except (OSError, pa.ArrowException) as exc:
                raise InvalidInputError(f"{self.label} cannot be read ({exc}): check the Parquet file") from None
        if self._dataset is not None:
            try:
                return self._dataset.to_table(columns=columns)
            except (OSError, pa.ArrowException) as exc:
                raise InvalidInputError(f"{self.label} cannot be read ({exc}): check the Parquet files") from None
        fields = [self.schema.field(name) for name in columns]
        return pa.Table.from_batches(list(self.batches(columns)), schema=pa.schema(fields))


def open_source(data: Data, *, label: str) -> Source:
    """Open one side of a comparison (``label`` names it in messages: 'reference', 'current')."""
    if isinstance(data, pa.Table):
        return Source(label, data.schema, _table=data)
    if isinstance(data, pa.RecordBatch):
        return Source(label, data.schema, _table=pa.Table.from_batches([data]))
    if _is_dataframe(data):
        try:
            table = pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise InvalidInputError(f"{label} DataFrame cannot be converted to Arrow ({exc}): fix its dtypes") from None
        return Source(label, table.schema, _table=table)
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.exists():
            raise InvalidInputError(f"{label} {path} does not exist: give a Parquet file or directory")
        if path.is_file():
            try:
                parquet_file = pq.ParquetFile(path)
            except (OSError, pa.ArrowException) as exc:
                raise InvalidInputError(f"{label} {path} is not readable Parquet ({exc}): give a Parquet file or directory") from None
            return Source(f"{label} {path}", parquet_file.schema_arrow, _file=parquet_file, _path=path)
        import pyarrow.dataset as ds

        try:
            dataset = ds.dataset(path, format="parquet")
        except (OSError, pa.ArrowException) as exc:
            raise InvalidInputError(f"{label} {path} is not readable Parquet ({exc}): give a Parquet file or directory") from None
        return Source(f"{label} {path}", dataset.schema, _dataset=dataset)
    if isinstance(data, Iterable):
        batches = iter(data)
        first = next(batches, None)
        if first is None:
            return Source(label, pa.schema([]), _table=pa.table({}))
        if not isinstance(first, pa.RecordBatch | pa.Table):
            raise InvalidInputError(f"{label} yields {type(first).__name__}, not Arrow record batches: pass pa.RecordBatch items")
        return Source(label, first.schema, _batches=_as_batches(itertools.chain([first], batches)))
    raise InvalidInputError(
        f"{label} is a {type(data).__name__}: pass a pyarrow Table, a pandas DataFrame, a Parquet path or record batches"
    )


def _as_batches(items: Iterable[pa.RecordBatch | pa.Table]) -> Iterator[pa.RecordBatch]:
    for item in items:
        if isinstance(item, pa.Table):
            yield from item.to_batches()
        else:
            yield item


def _is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "columns") and hasattr(data, "dtypes")
