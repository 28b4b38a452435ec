"""Offline-vs-online drift: column profiles and reference-vs-current comparisons, with no database.

Pure statistics live in :mod:`lineage.drift.stats`; :func:`profile_table` summarises one
snapshot, :func:`compare` compares two. Storing profiles and reports, and the CLI, are the
callers' business: both round-trip through ``to_json``/``from_json``. See docs/drift.md.
"""

from lineage.drift.compare import DEFAULT_THRESHOLDS, TESTS, compare
from lineage.drift.profile import ColumnProfile, ProfileAccumulator, profile_table
from lineage.drift.report import DriftReport, FeatureDrift

__all__ = [
    "DEFAULT_THRESHOLDS",
    "TESTS",
    "ColumnProfile",
    "DriftReport",
    "FeatureDrift",
    "ProfileAccumulator",
    "compare",
    "profile_table",
]
