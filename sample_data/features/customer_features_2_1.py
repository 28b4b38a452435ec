"""customer_features 2.1.0: adds the average purchase value (a backward-compatible, minor change)."""

from __future__ import annotations

import pandas as pd

from lineage.features import FeatureSet
from sample_data.features import customer_features_2_0 as previous

customer_features = FeatureSet(
    "customer_features", entity="customer_id", timestamp="reference_date",
    features=[previous.age, previous.region],
)


@customer_features.feature(dtype="float", description="Mean value of a purchase; null for customers without one.")
def avg_purchase_value(df: pd.DataFrame) -> pd.Series:
    count = df["purchase_count"].astype("float64")
    return (df["purchase_total"] / count).where(count > 0)
