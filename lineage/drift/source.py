"""Where profile and drift inputs come from: an Arrow table, a DataFrame, Parquet, or batches.

Parquet files and directories are opened with ``pyarrow.dataset`` and read batch by batch
with only the needed columns, so streaming mode never holds more than one batch of the
input. Every way an input can be unusable is one InvalidInputError line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from lineage.errors import InvalidInputError

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
    _dataset: ds.Dataset | None = None
    _batches: Iterator[pa.RecordBatch] | None = None

    def batches(self, columns: Sequence[str], batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The needed columns, batch by batch (a batch iterator input can be read only once)."""
        columns = list(columns)
        if self._table is not None:
            yield from self._table.select(columns).to_batches(max_chunksize=batch_rows)
        elif self._dataset is not None:
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
        if self._dataset is not None:
            return self._dataset.count_rows()
        raise ValueError("a batch iterator is counted by reading it")

    def table(self, columns: Sequence[str]) -> pa.Table:
        """The needed columns in memory (exact mode)."""
        columns = list(columns)
        if self._table is not None:
            return self._table.select(columns)
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
