"""Validate a data file against a registered feature-set version's contract."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lineage.errors import InvalidInputError

if TYPE_CHECKING:
    from lineage.features.contracts import BatchReport
    from lineage.store import Store


def validate_file(store: Store, feature_ref: str, path: str | Path) -> BatchReport:
    """Every violation of the schema contract in a Parquet or CSV file (findings, not errors)."""
    from lineage.features.contracts import validate_batch
    from lineage.features.schema import parse_schema

    info = store.features.get(feature_ref)
    return validate_batch(read_data_file(Path(path)), parse_schema(info.schema))


def read_data_file(path: Path):  # type: ignore[no-untyped-def]
    """A Parquet or CSV file as an Arrow table; unreadable files are bad input (exit 2)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyarrow import csv

    from lineage.tabular import detect_format, require_utf8_csv

    if not path.exists():
        raise InvalidInputError(f"{path} does not exist: check the path")
    data_format = detect_format(path)
    try:
        if data_format == "csv":
            table = csv.read_csv(path)
            require_utf8_csv(table, path)
            return table
        if data_format == "parquet":
            return pq.read_table(path)
        return pq.read_table(path)  # a directory of Parquet files
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(f"{path} cannot be read as {data_format} ({exc}): give a valid file") from None


def read_uploaded(name: str, data: bytes):  # type: ignore[no-untyped-def]
    """An uploaded Parquet or CSV file (bytes) as an Arrow table; anything else is bad input."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyarrow import csv

    from lineage.tabular import require_utf8_csv

    lowered = name.lower()
    try:
        if lowered.endswith((".parquet", ".pq")) or data[:4] == b"PAR1":
            return pq.read_table(io.BytesIO(data))
        if lowered.endswith((".csv", ".tsv")):
            delimiter = "\t" if lowered.endswith(".tsv") else ","
            table = csv.read_csv(io.BytesIO(data), parse_options=csv.ParseOptions(delimiter=delimiter))
            require_utf8_csv(table, name)
            return table
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(f"{name} cannot be read ({exc}): upload a valid Parquet or CSV file") from None
    raise InvalidInputError(f"{name} is neither Parquet nor CSV: upload a .parquet or .csv file")
