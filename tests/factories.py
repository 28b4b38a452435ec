"""Deterministic data files for tests (seed 2010), written as real Parquet and CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def frame(rows: int = 200, seed: int = 2010) -> pd.DataFrame:
    """A small table with the column kinds real datasets have."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": np.arange(1, rows + 1, dtype=np.int64),
        "amount": rng.normal(50, 10, rows).round(2),
        "region": pd.Categorical(rng.choice(["north", "south", "east"], rows)),
        "name": [f"c{i}" for i in range(rows)],
        "signup": pd.date_range("2026-01-01", periods=rows, freq="h", tz="UTC"),
        "active": rng.random(rows) > 0.3,
    })


def write_parquet(path: Path, rows: int = 200, seed: int = 2010, **options: object) -> Path:
    pq.write_table(pa.Table.from_pandas(frame(rows, seed), preserve_index=False), path, **options)
    return path


def write_csv(path: Path, rows: int = 200, seed: int = 2010) -> Path:
    frame(rows, seed).drop(columns=["signup"]).to_csv(path, index=False, lineterminator="\n")
    return path
