"""Alembic migrations shipped inside the package, applied by `lineage init` / `lineage migrate`."""
