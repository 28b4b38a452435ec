"""A small store with every shape the dashboard's batched reads must get right, built through the library.

Several datasets (names with upper case, ``%`` and ``_``), versions, stages, notes and parents;
two feature sets with several versions (code changes, a feature added, a patch with no
change); models with and without feature sets, inputs in several roles,
aliases moved, rolled back and re-promoted; and an aliased model whose training source file is
then overwritten on disk. Tests compare the batched reads with the per-item reads on it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lineage.store import Store
from tests.factories import write_csv, write_parquet

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SCHEMAS = SAMPLE / "schemas"
CODE = {"git_commit": "abc", "git_dirty": False, "entrypoint": "python train.py", "workdir": "/x"}
ENVIRONMENT = {"python": "3.11"}

MODULE = '''
import pandas as pd
from lineage.features import FeatureSet

small = FeatureSet("small", entity="customer_id", timestamp="reference_date")


@small.feature(dtype="int")
def age(df: pd.DataFrame) -> pd.Series:
    return ((df["reference_date"] - df["birth_date"]).dt.days // {days}).astype("int64")
{extra}'''
EXTRA = '''

@small.feature(dtype="float")
def spend(df: pd.DataFrame) -> pd.Series:
    return df["purchase_total"].astype("float64")
'''
# version -> (days divisor, with the 'spend' feature)
SMALL_VERSIONS = {"1.0.0": ("365", False), "1.1.0": ("365", True), "1.1.1": ("365.25", True),
                  "1.1.2": ("365.25", True), "2.0.0": ("365.2425", True)}


def build(store: Store, folder: Path) -> Store:
    """Fill ``store`` (empty) with the rich content; files go under ``folder``."""
    data = folder / "data"
    data.mkdir(parents=True)
    add = store.snapshots.add
    add(write_parquet(data / "o1.parquet", rows=40, seed=1), dataset="Orders_RAW", version="v1", note="first export")
    add(write_parquet(data / "o2.parquet", rows=50, seed=2), dataset="Orders_RAW", version="v2",
        note="Contains 100% of rows")
    add(write_csv(data / "p.csv", rows=30, seed=3), dataset="pct%_data", version="v1", note="percent_sign name")
    add(write_parquet(data / "c.parquet", rows=40, seed=4), dataset="clean", version="v1", stage="processed",
        parents=["Orders_RAW@v1"], transform="clean.py@abc")
    add(write_parquet(data / "c2.parquet", rows=45, seed=5), dataset="clean", version="v2", stage="processed",
        parents=["Orders_RAW@v1", "Orders_RAW@v2"])
    add(write_parquet(data / "on1.parquet", rows=20, seed=6), dataset="online_log", version="2026_01", stage="online")
    add(write_parquet(data / "on2.parquet", rows=25, seed=7), dataset="online_log", version="2026_02", stage="online")
    source = folder / "source_copy.parquet"
    shutil.copyfile(write_parquet(data / "s.parquet", rows=30, seed=8), source)
    add(source, dataset="source_copy", version="v1", stage="processed", note="its source is overwritten later")
    add(SAMPLE / "customers_clean_v1.0.parquet", dataset="customers_clean", version="v1.0", stage="processed")

    for schema, module in (("customer_features_2.0.0.json", "sample_data.features.customer_features_2_0"),
                           ("customer_features_2.1.0.json", "sample_data.features.customer_features_2_1")):
        store.features.register(SCHEMAS / schema, module)
    for index, (version, (days, extra)) in enumerate(SMALL_VERSIONS.items()):
        module = folder / f"small_features_{index}.py"
        module.write_text(MODULE.format(days=days, extra=EXTRA if extra else ""))
        features = {"age": "int", **({"spend": "float"} if extra else {})}
        store.features.register({"feature_set": "small", "version": version, "features": features}, str(module),
                                allow_breaking="test store: any bump")

    def model(ref: str, fs: str | None, inputs: list[str]) -> None:
        artifact = folder / f"{ref.replace('@', '-')}.bin"
        artifact.write_bytes(ref.encode())
        store.models.register(ref, artifact=artifact, inputs=inputs, feature_set=fs, seed=2010,
                              metrics={"auc": 0.5 + len(ref) / 100}, code=CODE, environment=ENVIRONMENT)

    model("churn@1.0.0", "customer_features@2.0.0", ["customers_clean@v1.0:train"])
    model("churn@1.1.0", "customer_features@2.1.0", ["customers_clean@v1.0:train", "clean@v1:validation"])
    model("churn@1.10.0", "customer_features@2.1.0", ["clean@v2:train"])  # semver order, not text order
    model("basket@0.1.0", "small@1.0.0", ["Orders_RAW@v1:train"])
    model("basket@0.2.0", "small@1.1.0", ["Orders_RAW@v2:train", "online_log@2026_01:features"])
    model("basket@0.3.0", "small@1.1.1", ["clean@v2:train"])
    model("basket@1.0.0", None, ["pct%_data@v1:train"])
    model("upsell@1.0.0", "small@1.1.0", ["source_copy@v1:train", "clean@v1:test"])
    model("idle@0.0.1", None, ["Orders_RAW@v1"])

    promote = store.models.promote
    promote("churn@1.0.0", alias="production", reason="first")
    promote("churn@1.1.0", alias="production", reason="better")
    store.models.rollback("churn", alias="production", reason="broke")
    promote("churn@1.0.0", alias="production", reason="again: the holding period does not restart")
    promote("churn@1.10.0", alias="staging", reason="try")
    promote("basket@0.2.0", alias="production", reason="live")
    promote("basket@0.3.0", alias="staging", reason="try")
    promote("basket@0.1.0", alias="staging", reason="back")
    promote("upsell@1.0.0", alias="production", reason="live")
    promote("upsell@1.0.0", alias="canary", reason="also")
    source.write_bytes(b"overwritten: other bytes")  # upsell's training source changed on disk
    return store
