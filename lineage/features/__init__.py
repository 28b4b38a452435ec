"""Feature definitions as code, versioned schemas, contracts, diffs and point-in-time joins.

``from lineage.features import FeatureSet`` is all a feature module needs.
"""

from lineage.features.definition import Feature, FeatureSet

__all__ = ["Feature", "FeatureSet"]
