"""Alias reads: who holds each alias now, and since when, in a constant number of queries.

Aliases move by appending ``alias_event`` rows, never by updating one, so "who holds
``production`` now" is the latest event per (model, alias), and "since when" is the
start of the latest run of events naming that same version (re-promoting the holder
does not restart its holding period). Both are answered here for every model at
once, so registries and overviews never ask model by model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lineage.byte_order import byte_order
from lineage.entities import AliasMove
from lineage.tables import AliasEvent, FeatureSetRow, FeatureSetVersion, ModelRow, ModelVersion


def holding(history: Iterable[AliasMove]) -> dict[str, dict[str, Any]]:
    """Alias → the version holding it at the end of ``history`` (in event order), since when, by whom, why."""
    current: dict[str, dict[str, Any]] = {}
    for move in history:
        held = current.get(move.alias)
        if held is None or held["version"] != move.version:
            current[move.alias] = {"version": move.version, "since": move.at, "by": move.actor, "reason": move.reason}
    return current


def current_holders(session: Session, model_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
    """model_version id → the aliases it holds now, alphabetically (one query, using the model/alias index)."""
    latest = select(func.max(AliasEvent.id)).group_by(AliasEvent.model_id, AliasEvent.alias)
    if model_ids is not None:
        latest = latest.where(col(AliasEvent.model_id).in_(set(model_ids)))
    rows = session.exec(
        select(AliasEvent.model_version_id, AliasEvent.alias)
        .where(col(AliasEvent.id).in_(latest)).order_by(byte_order(col(AliasEvent.alias)))
    )
    holders: dict[int, list[str]] = {}
    for version_id, alias in rows:
        holders.setdefault(version_id, []).append(alias)
    return holders


def holders_of(session: Session, alias: str) -> list[dict[str, Any]]:
    """Every model whose ``alias`` is set: the holding version, since when, by whom, why, and its feature set.

    One query over that alias's events (all models), folded with ``holding``; sorted by model name.
    """
    from datetime import UTC

    rows = session.exec(
        select(AliasEvent, ModelRow.name, ModelVersion.version, FeatureSetRow.name, FeatureSetVersion.version)
        .join(ModelVersion, col(ModelVersion.id) == AliasEvent.model_version_id)
        .join(ModelRow, col(ModelRow.id) == AliasEvent.model_id)
        .outerjoin(FeatureSetVersion, col(FeatureSetVersion.id) == ModelVersion.feature_set_version_id)
        .outerjoin(FeatureSetRow, col(FeatureSetRow.id) == FeatureSetVersion.feature_set_id)
        .where(AliasEvent.alias == alias).order_by(col(AliasEvent.id))
    )
    history: dict[str, list[AliasMove]] = {}
    feature_sets: dict[tuple[str, str], str] = {}
    for event, model, version, fs_name, fs_version in rows:
        history.setdefault(model, []).append(
            AliasMove(model, event.alias, version, event.action, event.reason, event.at.replace(tzinfo=UTC), event.actor))
        feature_sets[(model, version)] = f"{fs_name}@{fs_version}" if fs_name else ""
    result = []
    for model in sorted(history):
        held = holding(history[model])[alias]
        result.append({"model": model, **held, "feature_set": feature_sets[(model, held["version"])]})
    return result
