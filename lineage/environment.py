"""The software environment a training run used, and how two environments differ.

Recorded with every model version: Python version and implementation, platform, and
the exact version of every installed distribution, so a lineage diff can say which
package changed between two models and reproduce can say what differs now.
"""

from __future__ import annotations

import platform
import sys
from typing import Any


def capture() -> dict[str, Any]:
    """The current interpreter's environment (stable key order, packages sorted by name)."""
    from importlib import metadata

    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").strip()
        if name:
            packages[_normalise(name)] = dist.version
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
        "packages": dict(sorted(packages.items())),
    }


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed from ``old`` to ``new``: interpreter fields and packages added/removed/changed."""
    fields = {
        key: {"from": old.get(key), "to": new.get(key)}
        for key in ("python", "implementation", "platform", "machine")
        if old.get(key) != new.get(key)
    }
    before, after = old.get("packages", {}), new.get("packages", {})
    return {
        "fields": fields,
        "added": {name: after[name] for name in sorted(after.keys() - before.keys())},
        "removed": {name: before[name] for name in sorted(before.keys() - after.keys())},
        "changed": {name: {"from": before[name], "to": after[name]}
                    for name in sorted(before.keys() & after.keys()) if before[name] != after[name]},
    }


def is_empty(difference: dict[str, Any]) -> bool:
    return not any(difference[key] for key in ("fields", "added", "removed", "changed"))


def _normalise(name: str) -> str:
    """PEP 503 normalised project name, so ``Scikit_Learn`` and ``scikit-learn`` compare equal."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()
