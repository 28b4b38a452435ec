"""Lineage: trace every model to the exact data and feature logic it was built from.

``from lineage import Store`` is the entry point. Heavy modules load lazily so the
CLI starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Store", "__version__"]

if TYPE_CHECKING:
    from lineage.store import Store


def __getattr__(name: str) -> Any:
    if name == "Store":
        from lineage.store import Store

        return Store
    raise AttributeError(name)
