"""Order text by its UTF-8 bytes on every backend, whatever the database's collation.

Why: ``ORDER BY name`` follows the database's collation. SQLite's default (BINARY)
compares UTF-8 bytes; a PostgreSQL database created with an ICU or ``en_US`` locale
sorts ``B`` after ``a`` and ignores punctuation, so lists differed between the two
backends, and a snapshot's file list disagreed with its manifest, which is sorted by
UTF-8 bytes (``lineage.manifest``). ``COLLATE "C"`` on PostgreSQL compares bytes too
(for UTF-8 that is code point order, the order of Python's ``sorted``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class byte_order(FunctionElement[Any]):  # noqa: N801 - reads as a function in queries
    """``byte_order(column)`` in an ORDER BY: the column, compared byte by byte."""

    inherit_cache = True


@compiles(byte_order)
def _as_is(element: byte_order, compiler: Any, **kw: Any) -> str:
    """SQLite (and others) already compare text bytewise by default."""
    return str(compiler.process(element.clauses, **kw))


@compiles(byte_order, "postgresql")
def _collate_c(element: byte_order, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'
