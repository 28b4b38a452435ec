"""The audit chain's hash, without the database layer.

``hash = sha256(prev_hash || canonical_json(event))``. Kept apart from ``lineage.audit``
(which appends rows through SQLModel) so that code which only formats times or computes
a link — the entities, the SQLite quick path of ``snapshot add`` — does not import
SQLAlchemy, SQLModel and pydantic (about 40 MB and a quarter second per command).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def format_time(at: datetime) -> str:
    """ISO 8601 UTC with microseconds and a Z, the form used in hashes and JSON output."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *, prev_hash: str, seq: int, at: datetime, actor: str, action: str, subject: str, payload: str
) -> str:
    """The hash of one event, recomputable from its stored fields."""
    body = canonical_json(
        {
            "seq": seq,
            "at": format_time(at),
            "actor": actor,
            "action": action,
            "subject": subject,
            "payload": json.loads(payload),
        }
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()
