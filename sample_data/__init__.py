"""Deterministic sample customer snapshots for demonstrating Lineage end to end."""
