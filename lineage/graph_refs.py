"""Which node a ref names, for trace and impact: a model version, feature-set version or snapshot.

Refs are typed by people, so one string can mean several kinds of node. Resolution tries
them in a fixed order, **model, then feature set, then snapshot**, and the first kind
whose name matches and whose version (or alias) exists wins:

* ``churn@1.2.0``, ``churn@production`` (the alias holder), ``churn`` (highest semver);
* ``customer_features@2.1.0``, ``customer_features`` (highest semver);
* ``customers_clean@v1.0``, ``customers_clean`` (its latest snapshot), or a sha256 prefix
  of 8+ hex characters.

With ``as_of``, "highest", "latest" and aliases are read as they were at that time, and a
version registered after it is not found. Each step is one small indexed query.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Connection

from lineage.edges import FEATURE_SET_VERSION, SNAPSHOT
from lineage.errors import AmbiguousRefError, InvalidNameError, NotFoundError
from lineage.naming import parse_ref, validate_name
from lineage.stored_text import is_storable

MODEL_VERSION = "model_version"  # the node kind lineage/models/service.py writes


@lru_cache(maxsize=32)
def _query(sql: str, *, as_of: bool = False, timed: bool = True) -> Any:
    """A text statement with typed parameters and ``created_at`` read as a datetime, built once."""
    statement = text(sql)
    if as_of:
        statement = statement.bindparams(bindparam("as_of", type_=DateTime()))
    return statement.columns(created_at=DateTime()) if timed else statement


def resolve(connection: Connection, ref: str, cutoff: datetime | None = None) -> tuple[str, int, str]:
    """``(kind, row id, canonical ref)`` of the node ``ref`` names, trying model, feature set, snapshot.

    The first kind whose name matches and whose version (or alias) exists wins; when
    none matches, the error of the first kind whose *name* exists is raised (it lists
    that name's versions), else one that says where to look.
    """
    text_ref = ref.strip() if isinstance(ref, str) else ref
    if not text_ref:
        raise InvalidNameError("reference is empty: give model@version, feature_set@version, dataset@version "
                               "or a sha256 prefix")
    name, _, wanted = text_ref.partition("@")
    problems: list[NotFoundError] = []
    if _valid(name):
        versions = _named_versions(connection, name)  # one query for both kinds
        for kind, pick in ((MODEL_VERSION, _resolve_model), (FEATURE_SET_VERSION, _resolve_feature_set)):
            rows = [row[1:] for row in versions if row[0] == kind]
            if not rows:
                continue
            try:
                return pick(connection, name, wanted, rows, cutoff)
            except NotFoundError as exc:
                problems.append(exc)
    try:
        found = _resolve_snapshot(connection, text_ref, cutoff)
    except NotFoundError as exc:
        found, problems = None, [*problems, exc]
    if found is not None:
        return found
    if problems:
        raise problems[0]
    raise NotFoundError(  # pragma: no cover - _resolve_snapshot raises when nothing matches
        f"nothing matches '{text_ref}': see `lineage model list`, `lineage features list`, `lineage snapshot list`")


def _valid(name: str) -> bool:
    try:
        validate_name(name)
    except InvalidNameError:
        return False
    return True


def _when(cutoff: datetime | None) -> str:
    return f" (as of {cutoff.isoformat(sep=' ', timespec='seconds')} UTC)" if cutoff else ""


def _pick_version(kind: str, what: str, name: str, wanted: str, rows: list[Any], cutoff: datetime | None,
                  alias_holder: int | None = None) -> tuple[str, int, str]:
    from lineage.features.semver import SemVer

    existing = [r for r in rows if cutoff is None or r[2] <= cutoff]
    if not wanted:
        if not existing:
            raise NotFoundError(f"{what} '{name}' had no version yet{_when(cutoff)}: pick a later --as-of")
        best = max(existing, key=lambda r: SemVer.parse(r[1]))
        return kind, best[0], f"{name}@{best[1]}"
    for row_id, version, created_at in rows:
        if version == wanted:
            if cutoff is not None and created_at > cutoff:
                raise NotFoundError(f"{name}@{version} was registered at {created_at.isoformat(sep=' ')} UTC, "
                                    f"after --as-of {cutoff.isoformat(sep=' ')}: pick a later time")
            return kind, row_id, f"{name}@{version}"
    if alias_holder is not None:
        version = next(r[1] for r in rows if r[0] == alias_holder)
        return kind, alias_holder, f"{name}@{version}"
    versions = ", ".join(sorted((r[1] for r in existing), key=SemVer.parse)) or "none"
    noun = "version or alias" if kind == MODEL_VERSION else "version"
    raise NotFoundError(f"{what} {name} has no {noun} '{wanted}'{_when(cutoff)} (versions: {versions})")


def _named_versions(connection: Connection, name: str) -> list[Any]:
    """``(kind, id, version, created_at)`` of every model version and feature-set version under ``name``."""
    return connection.execute(_query(
        "SELECT 'model_version', v.id, v.version, v.created_at FROM model_version v "
        "JOIN model m ON m.id = v.model_id WHERE m.name = :name "
        "UNION ALL SELECT 'feature_set_version', v.id, v.version, v.created_at FROM feature_set_version v "
        "JOIN feature_set f ON f.id = v.feature_set_id WHERE f.name = :name"), {"name": name}).all()


def _resolve_model(connection: Connection, name: str, wanted: str, rows: list[Any],
                   cutoff: datetime | None) -> tuple[str, int, str]:
    holder = None
    if wanted and all(r[1] != wanted for r in rows) and is_storable(wanted):  # else no alias holds it
        when = " AND a.at <= :as_of" if cutoff is not None else ""
        params: dict[str, Any] = {"name": name, "alias": wanted}
        if cutoff is not None:
            params["as_of"] = cutoff
        holder = connection.execute(_query(
            "SELECT a.model_version_id FROM alias_event a JOIN model m ON m.id = a.model_id "
            f"WHERE m.name = :name AND a.alias = :alias{when} ORDER BY a.id DESC LIMIT 1",
            as_of=cutoff is not None, timed=False), params).scalar()
    return _pick_version(MODEL_VERSION, "model", name, wanted, rows, cutoff, holder)


def _resolve_feature_set(connection: Connection, name: str, wanted: str, rows: list[Any],
                         cutoff: datetime | None) -> tuple[str, int, str]:
    return _pick_version(FEATURE_SET_VERSION, "feature set", name, wanted, rows, cutoff)


_SNAPSHOT_COLUMNS = "SELECT s.id, d.name, s.version, s.created_at FROM snapshot s JOIN dataset d ON d.id = s.dataset_id"


def _resolve_snapshot(connection: Connection, ref: str, cutoff: datetime | None) -> tuple[str, int, str] | None:
    """dataset@version, a sha256 prefix (8+ hex characters), or a dataset's latest snapshot."""
    parsed = parse_ref(ref)
    when = " AND s.created_at <= :as_of" if cutoff is not None else ""
    params: dict[str, Any] = {"as_of": cutoff} if cutoff is not None else {}
    if parsed.version is not None:
        row = connection.execute(_query(f"{_SNAPSHOT_COLUMNS} WHERE d.name = :name AND s.version = :version"),
                             {"name": parsed.name, "version": parsed.version}).first()
        if row is None:
            raise NotFoundError(f"no model version, feature-set version or snapshot '{ref}': see `lineage snapshot "
                                f"list --dataset {parsed.name}` (or `lineage model list`, `lineage features list`)")
        if cutoff is not None and row[3] > cutoff:
            raise NotFoundError(f"{ref} was registered at {row[3].isoformat(sep=' ')} UTC, after --as-of "
                                f"{cutoff.isoformat(sep=' ')}: pick a later time")
        return SNAPSHOT, row[0], f"{row[1]}@{row[2]}"
    if parsed.sha256_prefix is not None:  # a range, so the sha256 index serves it on both backends
        rows = connection.execute(_query(
            f"{_SNAPSHOT_COLUMNS} WHERE s.sha256 >= :low AND s.sha256 < :high{when} ORDER BY s.id LIMIT 10",
            as_of=cutoff is not None),
            {"low": parsed.sha256_prefix, "high": parsed.sha256_prefix + "g", **params}).all()
        if len(rows) > 1:
            names = ", ".join(sorted(f"{r[1]}@{r[2]}" for r in rows))
            raise AmbiguousRefError(f"sha256 prefix {parsed.sha256_prefix} matches {names}: give more characters")
        if rows:
            return SNAPSHOT, rows[0][0], f"{rows[0][1]}@{rows[0][2]}"
    row = connection.execute(_query(f"{_SNAPSHOT_COLUMNS} WHERE d.name = :name{when} ORDER BY s.id DESC LIMIT 1",
                                    as_of=cutoff is not None),
                             {"name": parsed.name, **params}).first()
    if row is None:
        raise NotFoundError(f"no model, feature set, snapshot or dataset matches '{ref}'{_when(cutoff)}: see "
                            "`lineage model list`, `lineage features list` and `lineage snapshot list`")
    return SNAPSHOT, row[0], f"{row[1]}@{row[2]}"
