"""The vocabulary of the lineage graph: node kinds, relations, and a pending edge.

Every relation lives in the one ``edge`` table, so trace (upstream) and impact
(downstream) stay one recursive query whatever kinds of node they cross.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SNAPSHOT = "snapshot"
FEATURE_SET_VERSION = "feature_set_version"

DERIVED_FROM = "derived_from"  # snapshot → snapshot, with the transform's code reference
MATERIALIZED = "materialized"  # feature-set version → the features snapshot it computed


@dataclass(frozen=True)
class Link:
    """An edge from a parent node to a row about to be inserted (the child is implied)."""

    parent_kind: str
    parent_id: int
    relation: str
    transform_ref: str = ""
    parent_ref: str = ""  # human-readable, for the audit payload

    def to_json(self) -> dict[str, Any]:
        return {"parent_kind": self.parent_kind, "parent": self.parent_ref, "relation": self.relation,
                "transform": self.transform_ref}
