"""The drift report: per-feature verdicts and the overall one, as JSON and as a DataFrame.

The JSON keys of the issue are stable; extras are added after them, never renamed:
``{"reference", "current", "overall": {"drifted", "share", ...}, "features": [{"name",
"kind", "test", "statistic", "p_value", "threshold", "drifted", "psi", "js",
"wasserstein_norm", "ks", "null_rate_ref", "null_rate_cur", "new_categories",
"missing_categories", ...extras}]}``. NaN and infinity are written as null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

REPORT_VERSION = 1


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's comparison: the chosen test's statistic, p-value, threshold and verdict, plus every measure."""

    name: str
    kind: str | None
    test: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool
    psi: float | None = None
    js: float | None = None
    wasserstein_norm: float | None = None
    ks: float | None = None
    null_rate_ref: float | None = None
    null_rate_cur: float | None = None
    new_categories: list[Any] = field(default_factory=list)
    missing_categories: list[Any] = field(default_factory=list)
    # extras (add, never rename)
    ks_p_value: float | None = None
    chisquare_p_value: float | None = None
    p_value_adjusted: float | None = None
    psi_band: str | None = None
    null_rate_change: float | None = None
    rows_ref: int = 0
    rows_cur: int = 0
    values_ref: int = 0
    values_cur: int = 0
    dtype_ref: str | None = None
    dtype_cur: str | None = None
    dtype_mismatch: bool = False
    missing_in_current: bool = False
    missing_in_reference: bool = False
    out_of_contract_ref: dict[str, int] | None = None
    out_of_contract_cur: dict[str, int] | None = None
    exact: bool = True
    error_bound: dict[str, float] | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: _clean(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class DriftReport:
    """A reference-vs-current comparison. ``overall``: drifted, share, drifted_count, feature_count, drift_share_threshold."""

    reference: str
    current: str
    overall: dict[str, Any]
    features: list[FeatureDrift]
    mode: str = "exact"
    correction: str | None = None
    reference_feature_set: str | None = None
    current_feature_set: str | None = None
    schema: str | None = None

    @property
    def drifted(self) -> bool:
        return bool(self.overall["drifted"])

    def feature(self, name: str) -> FeatureDrift:
        return next(f for f in self.features if f.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "reference": self.reference,
            "current": self.current,
            "overall": {k: _clean(v) for k, v in self.overall.items()},
            "features": [f.to_json() for f in self.features],
            "mode": self.mode,
            "correction": self.correction,
            "reference_feature_set": self.reference_feature_set,
            "current_feature_set": self.current_feature_set,
            "schema": self.schema,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DriftReport:
        """Reload a saved report; keys a newer version added are ignored."""
        known = {f.name for f in fields(FeatureDrift)}
        features = [FeatureDrift(**{k: v for k, v in item.items() if k in known}) for item in data["features"]]
        return cls(
            reference=data["reference"], current=data["current"], overall=dict(data["overall"]), features=features,
            mode=data.get("mode", "exact"), correction=data.get("correction"),
            reference_feature_set=data.get("reference_feature_set"),
            current_feature_set=data.get("current_feature_set"), schema=data.get("schema"),
        )

    def to_frame(self) -> Any:
        """One row per feature, the JSON feature keys as columns (pandas)."""
        import pandas as pd

        columns = [f.name for f in fields(FeatureDrift)]
        return pd.DataFrame([f.to_json() for f in self.features], columns=columns)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return _clean(value.item())
    return value
