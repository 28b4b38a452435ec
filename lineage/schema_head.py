"""The Alembic revision this release expects, importable without SQLAlchemy.

``tests/test_db.py`` checks it equals the migration scripts' head.
"""

SCHEMA_HEAD = "0005"
