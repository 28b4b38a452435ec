"""Generate the sample online feature log: what the serving side computed in March 2026.

It holds served ``customer_features`` rows with the skew real serving shows, so the
drift report has something to find:

* the region mix shifted (a marketing push in the south and east);
* ``avg_purchase_value`` about 15 % higher (prices rose);
* a few nulls in ``age``, a required feature (a serving bug);
* one region never seen in training (``north_east``, a new sales region).

Rows are derived from the training features (``customer_features`` 2.1.0 computed
on ``customers_clean_v1.0.parquet``) with one ``numpy.random.default_rng(2010)``,
so the file is byte-identical on every run. Run ``python sample_data/generate_online.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEED = 2010
SAMPLE_DIR = Path(__file__).resolve().parent
ONLINE_NAME = "customer_features_online_2026_03.parquet"
SERVED_ROWS = 2_000
REGION_WEIGHTS = {"central": 0.08, "east": 0.27, "north": 0.10, "south": 0.35, "unknown": 0.02, "west": 0.13,
                  "north_east": 0.05}
PRICE_RISE = 1.15
AGE_NULLS = 12


def training_features() -> pa.Table:
    """customer_features 2.1.0 on the clean sample, computed with the registered code."""
    from lineage.features.schema import load_schema
    from sample_data.features.customer_features_2_1 import customer_features

    schema = load_schema(SAMPLE_DIR / "schemas" / "customer_features_2.1.0.json")
    return customer_features.compute_batch(pq.read_table(SAMPLE_DIR / "customers_clean_v1.0.parquet"), schema)


def online_log(features: pa.Table) -> pa.Table:
    rng = np.random.default_rng(SEED)
    frame = features.to_pandas()
    served = frame.iloc[np.sort(rng.choice(len(frame), size=SERVED_ROWS, replace=False))].reset_index(drop=True)
    regions = list(REGION_WEIGHTS)
    served["region"] = rng.choice(regions, size=SERVED_ROWS, p=list(REGION_WEIGHTS.values()))
    served["avg_purchase_value"] = (served["avg_purchase_value"] * PRICE_RISE).round(3)
    ages = served["age"].astype("Int64")
    ages.iloc[np.sort(rng.choice(SERVED_ROWS, size=AGE_NULLS, replace=False))] = None
    served["age"] = ages
    seconds = np.sort(rng.integers(0, 31 * 24 * 3600, size=SERVED_ROWS))
    served["served_at"] = np.datetime64("2026-03-01T00:00:00", "us") + seconds.astype("timedelta64[s]")
    return pa.table({
        "customer_id": pa.array(served["customer_id"], pa.int64()),
        "served_at": pa.array(served["served_at"], pa.timestamp("us", tz="UTC")),
        "age": pa.array(served["age"], pa.int64()),
        "region": pa.array(served["region"], pa.string()).dictionary_encode(),
        "avg_purchase_value": pa.array(served["avg_purchase_value"], pa.float64()),
    })


def generate(out_dir: Path = SAMPLE_DIR) -> Path:
    path = out_dir / ONLINE_NAME
    pq.write_table(online_log(training_features()), path, compression="zstd", compression_level=3,
                   store_schema=True, write_statistics=True)
    return path


if __name__ == "__main__":
    print(generate())
