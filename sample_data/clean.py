"""The cleaning transform that turns a raw customer export into a model-ready table.

Lineage records ``sample_data.clean.clean_customers`` as the *transform code
reference* of ``customers_clean_v1.0.parquet``.  That is why the transform is a
plain, importable, side-effect-free module function: anyone holding the raw
snapshot and this module can rebuild the clean table and verify it matches.

Dtype decisions (documented here because they are part of the output contract):

* ``birth_date`` / ``reference_date``: ``datetime64[ms]`` at midnight in pandas,
  stored as Parquet ``date32`` (see ``CLEAN_SCHEMA``) so every reader sees a
  calendar date rather than a timestamp.  ``read_clean_customers`` converts
  back with ``date_as_object=False``, which round-trips to the same frame.
* ``region`` / ``signup_channel``: pandas ``category`` with alphabetically
  sorted categories (stored as a Parquet dictionary column).  They are
  low-cardinality labels; a category makes that explicit and keeps the file
  small, and sorting keeps the encoding independent of row order.
* ``churned``: ``int8`` 0/1 rather than ``bool`` so it stays numeric, like the
  raw export, and can be fed straight to most model libraries.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

RAW_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "birth_date",
    "reference_date",
    "region",
    "signup_channel",
    "purchase_total",
    "purchase_count",
    "last_purchase_days",
    "churned",
)

UNKNOWN_REGION = "unknown"

# Explicit raw read dtypes: type inference must not depend on the file's content.
RAW_READ_DTYPES: dict[str, str] = {
    "customer_id": "int64",
    "birth_date": "str",
    "reference_date": "str",
    "region": "str",
    "signup_channel": "str",
    "purchase_total": "float64",
    "purchase_count": "int64",
    "last_purchase_days": "int64",
    "churned": "int64",
}

CLEAN_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.int64(), nullable=False),
        pa.field("birth_date", pa.date32(), nullable=False),
        pa.field("reference_date", pa.date32(), nullable=False),
        pa.field("region", pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field(
            "signup_channel", pa.dictionary(pa.int8(), pa.string()), nullable=False
        ),
        pa.field("purchase_total", pa.float64(), nullable=False),
        pa.field("purchase_count", pa.int64(), nullable=False),
        pa.field("last_purchase_days", pa.int64(), nullable=False),
        pa.field("churned", pa.int8(), nullable=False),
    ]
)


def read_raw_customers(path: str | Path) -> pd.DataFrame:
    """Read a raw customer CSV with fixed dtypes.

    Only empty fields count as missing, so a value such as ``"NA"`` could never
    be silently turned into a missing region.
    """
    return pd.read_csv(
        path,
        dtype=RAW_READ_DTYPES,
        keep_default_na=False,
        na_values=[""],
    )


def clean_customers(raw: pd.DataFrame) -> pd.DataFrame:
    """Return the cleaned customer table for one raw export; ``raw`` is not modified.

    Steps, in an order chosen so each one sees already-fixed data:

    1. keep exactly the raw columns (fails loudly if one is missing);
    2. normalise ``region`` (strip + lower-case) and label missing ones ``unknown``;
    3. drop rows whose ``purchase_total`` is negative (sign typos) or missing;
    4. drop duplicate customers, keeping the first row in file order;
    5. apply explicit dtypes, sort by ``customer_id`` and drop the index.
    """
    df = raw.loc[:, list(RAW_COLUMNS)].copy()
    df["region"] = _normalise_region(df["region"])
    df = df[df["purchase_total"].ge(0)]
    df = df.drop_duplicates(subset="customer_id", keep="first")
    df = _apply_clean_dtypes(df)
    return df.sort_values("customer_id", kind="stable").reset_index(drop=True)


def _normalise_region(region: pd.Series) -> pd.Series:
    """Fold whitespace/case variants (``" North"``) together and name the gaps.

    Missing regions become ``"unknown"`` rather than being dropped: the rest of
    the row is still valid training data.
    """
    normalised = region.astype("str").str.strip().str.lower()
    is_missing = region.isna() | normalised.eq("")
    return normalised.mask(is_missing, UNKNOWN_REGION)


def _as_category(values: pd.Series) -> pd.Series:
    """Categorical with sorted categories, so encoding never depends on row order."""
    categories = sorted(values.unique())
    return values.astype(pd.CategoricalDtype(categories=categories, ordered=False))


def _as_date(values: pd.Series) -> pd.Series:
    """Parse ``YYYY-MM-DD`` strictly into midnight ``datetime64[ms]`` dates."""
    return pd.to_datetime(values, format="%Y-%m-%d").astype("datetime64[ms]")


def _apply_clean_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """Pin every column to the documented dtype instead of trusting inference."""
    return pd.DataFrame(
        {
            "customer_id": df["customer_id"].astype("int64"),
            "birth_date": _as_date(df["birth_date"]),
            "reference_date": _as_date(df["reference_date"]),
            "region": _as_category(df["region"].astype("str")),
            "signup_channel": _as_category(df["signup_channel"].astype("str")),
            "purchase_total": df["purchase_total"].astype("float64"),
            "purchase_count": df["purchase_count"].astype("int64"),
            "last_purchase_days": df["last_purchase_days"].astype("int64"),
            "churned": df["churned"].astype("int8"),
        }
    )


def to_arrow_table(clean: pd.DataFrame) -> pa.Table:
    """Convert a cleaned frame to an Arrow table with ``CLEAN_SCHEMA``.

    The pandas schema metadata is dropped on purpose: it embeds the pandas
    version, which would make the Parquet bytes change with an unrelated
    library upgrade.  ``CLEAN_SCHEMA`` already carries every type we need.
    """
    table = pa.Table.from_pandas(clean, schema=CLEAN_SCHEMA, preserve_index=False)
    return table.replace_schema_metadata(None)


def read_clean_customers(path: str | Path) -> pd.DataFrame:
    """Read a clean Parquet file back into exactly what ``clean_customers`` returns."""
    return pq.read_table(path).to_pandas(date_as_object=False)
