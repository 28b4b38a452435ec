"""Offline-vs-online drift: column profiles and reference-vs-current comparisons, with no database.

Pure statistics live in :mod:`lineage.drift.stats`; :func:`profile_table` summarises one
snapshot, :func:`compare` compares two. Storing profiles and reports, and the CLI, are the
callers' business: both round-trip through ``to_json``/``from_json``. See docs/drift.md.
"""

from lineage.numpy_setup import import_numpy_for_this_cpu

import_numpy_for_this_cpu()  # before NumPy loads: its sort dispatch is fixed at import (see that module)

from lineage.drift.compare import DEFAULT_THRESHOLDS, TESTS, compare  # noqa: E402
from lineage.drift.profile import ColumnProfile, ProfileAccumulator, profile_table  # noqa: E402
from lineage.drift.report import DriftReport, FeatureDrift  # noqa: E402

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
