"""A customer_features candidate that changes the age code and drops region.

Both are breaking changes (major): registering it as 2.2.0 is refused with the
smallest allowed version, 3.0.0. Used by the tests and the demo to show the refusal.
"""

from __future__ import annotations

import pandas as pd

from lineage.features import FeatureSet
from sample_data.features import customer_features_2_1 as previous

customer_features = FeatureSet(
    "customer_features", entity="customer_id", timestamp="reference_date",
    features=[previous.avg_purchase_value],
)


@customer_features.feature(dtype="int", description="Age in whole years at the reference date.")
def age(df: pd.DataFrame) -> pd.Series:
    return ((df["reference_date"] - df["birth_date"]).dt.days / 365.25).astype("int64")
