"""customer_features 2.0.0: age and region of each customer at the reference date."""

from __future__ import annotations

import pandas as pd

from lineage.features import FeatureSet

customer_features = FeatureSet("customer_features", entity="customer_id", timestamp="reference_date")


@customer_features.feature(dtype="int", description="Age in whole years at the reference date.")
def age(df: pd.DataFrame) -> pd.Series:
    return (df["reference_date"] - df["birth_date"]).dt.days // 365


@customer_features.feature(dtype="category", description="Sales region of the customer.")
def region(df: pd.DataFrame) -> pd.Series:
    return df["region"].astype("string")
