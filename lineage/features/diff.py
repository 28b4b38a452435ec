"""The changes between two feature-set versions, each classified by the bump it requires.

The classification is the policy in docs/feature-semver.md, judged for both kinds of reader:
models trained on the old version (old readers) and code on the new version re-reading old
snapshots (new readers). A diff requires the strongest bump among its changes. Everything
here is pure: schemas and code in, a :class:`SchemaDiff` or message lines out, so the service
that registers versions, the CLI (``lineage features diff``) and the dashboard all show the
same verdict.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from lineage.features.codehash import FeatureCode
from lineage.features.schema import FeatureSetSchema, FeatureSpec
from lineage.features.semver import BUMPS, SemVer, stronger

MAJOR, MINOR, PATCH = "major", "minor", "patch"

LOSSLESS_WIDENINGS = frozenset({("int", "float"), ("date", "datetime")})
"""The only dtype changes that are minor: every old value reads back unchanged as the new dtype."""

KINDS = (
    "added",
    "removed",
    "dtype_changed",
    "nullability_changed",
    "range_changed",
    "allowed_changed",
    "default_changed",
    "code_changed",
    "description_changed",
    "owner_changed",
    "tags_changed",
    "order_changed",
    "entity_changed",
    "timestamp_changed",
    "set_description_changed",
    "set_owner_changed",
)


@dataclass(frozen=True)
class SchemaChange:
    """One change, its class (the bump it requires) and a sentence saying what and why.

    ``phrase`` is the change as a verb phrase ("removes feature 'region'") for the refusal
    message of :func:`bump_problems`; it is not part of the JSON, which keeps its released keys.
    """

    feature: str | None  # None for changes to the set itself (entity, timestamp, order, ...)
    kind: str
    change_class: str  # "major" | "minor" | "patch"
    detail: str
    code_diff: str = ""
    phrase: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "class": self.change_class,
            "detail": self.detail,
            "code_diff": self.code_diff,
        }


@dataclass(frozen=True)
class SchemaDiff:
    """Every change from one version to another, in a stable order: the set's own changes, each
    old feature in file order (removed or changed), the added features, then the feature order."""

    from_version: str
    to_version: str
    changes: tuple[SchemaChange, ...]

    @property
    def required_bump(self) -> str:
        """The strongest class among the changes; ``none`` when nothing changed."""
        bump = "none"
        for change in self.changes:
            bump = stronger(bump, change.change_class)
        return bump

    def to_json(self) -> dict[str, Any]:
        """The shape printed by ``lineage features diff --json`` (keys are stable)."""
        return {
            "from": self.from_version,
            "to": self.to_version,
            "required_bump": self.required_bump,
            "changes": [change.to_json() for change in self.changes],
        }


def diff_schemas(
    old: FeatureSetSchema,
    new: FeatureSetSchema,
    *,
    old_code: Mapping[str, FeatureCode] | None = None,
    new_code: Mapping[str, FeatureCode] | None = None,
) -> SchemaDiff:
    """Classify every change from ``old`` to ``new``.

    Renames are never guessed: a feature missing from ``new`` is removed and a new name is
    added, because a wrong guess would hide a major change. Code is compared only when both
    code mappings are given; a feature whose code is known on one side only is a code change,
    since its values can no longer be shown to come from the same logic.
    """
    changes = [*_set_changes(old, new)]
    common = [name for name in old.features if name in new.features]
    for name, spec in old.features.items():
        if name not in new.features:
            changes.append(_removed(name, spec))
        else:
            changes.extend(_feature_changes(name, spec, new.features[name]))
            if old_code is not None and new_code is not None:
                changes.extend(_code_changes(name, old_code.get(name), new_code.get(name), old.version, new.version))
    changes.extend(_added(name, spec) for name, spec in new.features.items() if name not in old.features)
    new_order = [name for name in new.features if name in old.features]
    if new_order != common:
        changes.append(
            SchemaChange(
                None,
                "order_changed",
                PATCH,
                f"feature order {', '.join(common)} → {', '.join(new_order)}: no effect on values or readers",
                phrase="reorders its features",
            )
        )
    return SchemaDiff(old.version, new.version, tuple(changes))


def required_version(previous: SemVer, diff: SchemaDiff) -> SemVer:
    """The smallest version allowed after ``previous``.

    A diff with no changes still needs a new patch version: the registered name ``previous``
    is taken, and a version number is never reused (invariant 2).
    """
    bump = diff.required_bump
    return previous.next(PATCH if bump == "none" else bump)


def not_above_latest(feature_set: str, latest: SemVer, candidate: SemVer, diff: SchemaDiff) -> str:
    """The refusal of a version that does not sort above the latest registered one.

    Versions must increase (semver precedence), otherwise "the latest version" and each
    version's predecessor stop meaning anything and the bump check has nothing to compare
    with. The fix names the smallest version the changes since ``latest`` allow.
    """
    return (f"{feature_set} {candidate} is not above the latest {latest}: versions must increase, "
            f"use {required_version(latest, diff)} or higher, as the changes require")


def bump_problems(feature_set: str, previous: SemVer, candidate: SemVer, diff: SchemaDiff) -> list[str]:
    """Why ``candidate`` cannot follow ``previous``; empty when its bump covers every change.

    One line per change stronger than the candidate's bump, each naming the smallest allowed
    version, e.g. ``customer_features 2.2.0 removes feature 'region' (major): use 3.0.0``.
    """
    smallest = required_version(previous, diff)
    if not candidate > previous:
        return [not_above_latest(feature_set, previous, candidate, diff)]
    bump = candidate.bump_from(previous)
    if BUMPS.index(bump) >= BUMPS.index(diff.required_bump):
        return []
    return [
        f"{feature_set} {candidate} {_phrase(change)} ({change.change_class}): use {smallest}"
        for change in diff.changes
        if BUMPS.index(change.change_class) > BUMPS.index(bump)
    ]


def _phrase(change: SchemaChange) -> str:
    """The change's own phrase; a hand-built change without one still gets a readable line."""
    if change.phrase:
        return change.phrase
    where = f" to feature '{change.feature}'" if change.feature else ""
    return f"makes a {change.kind.replace('_', ' ')} change{where}"


# --- set-level changes -------------------------------------------------------------------


def _set_changes(old: FeatureSetSchema, new: FeatureSetSchema) -> Iterator[SchemaChange]:
    if old.entity != new.entity:
        yield SchemaChange(
            None,
            "entity_changed",
            MAJOR,
            f"entity key {_show(old.entity)} → {_show(new.entity)}: joins on the entity change",
            phrase=_column_phrase("entity key", old.entity, new.entity),
        )
    if old.timestamp != new.timestamp:
        yield SchemaChange(
            None,
            "timestamp_changed",
            MAJOR,
            f"timestamp column {_show(old.timestamp)} → {_show(new.timestamp)}: point-in-time joins change",
            phrase=_column_phrase("timestamp column", old.timestamp, new.timestamp),
        )
    if old.description != new.description:
        yield SchemaChange(
            None,
            "set_description_changed",
            PATCH,
            f"set description {_show(old.description)} → {_show(new.description)}",
            phrase="changes the set's description",
        )
    if old.owner != new.owner:
        yield SchemaChange(
            None,
            "set_owner_changed",
            PATCH,
            f"set owner {_show(old.owner)} → {_show(new.owner)}",
            phrase="changes the set's owner",
        )


def _column_phrase(what: str, old: str | None, new: str | None) -> str:
    if old is None:
        return f"adds the {what} {_show(new)}"
    if new is None:
        return f"removes the {what} {_show(old)}"
    return f"changes the {what} from {_show(old)} to {_show(new)}"


# --- whole features ----------------------------------------------------------------------


def _removed(name: str, spec: FeatureSpec) -> SchemaChange:
    return SchemaChange(
        name,
        "removed",
        MAJOR,
        f"feature '{name}' ({spec.dtype}) removed: models trained on it can no longer find it",
        phrase=f"removes feature '{name}'",
    )


def _added(name: str, spec: FeatureSpec) -> SchemaChange:
    if spec.default is not None:
        return SchemaChange(
            name,
            "added",
            MINOR,
            f"feature '{name}' ({spec.dtype}, default {_show(spec.default)}) added: "
            f"old readers ignore it, new readers read old data as {_show(spec.default)}",
            phrase=f"adds feature '{name}' with a default",
        )
    if spec.nullable:
        return SchemaChange(
            name,
            "added",
            MINOR,
            f"feature '{name}' ({spec.dtype}, nullable) added: old readers ignore it, new readers read old data as null",
            phrase=f"adds nullable feature '{name}'",
        )
    return SchemaChange(
        name,
        "added",
        MAJOR,
        f"feature '{name}' ({spec.dtype}) added as required with no default: old snapshots have no value for it",
        phrase=f"adds required feature '{name}'",
    )


# --- one feature's contract ---------------------------------------------------------------


def _feature_changes(name: str, old: FeatureSpec, new: FeatureSpec) -> Iterator[SchemaChange]:
    for check in _CHECKS:
        change = check(name, old, new)
        if change is not None:
            yield change


def _dtype(name: str, old: FeatureSpec, new: FeatureSpec) -> SchemaChange | None:
    if old.dtype == new.dtype:
        return None
    if (old.dtype, new.dtype) in LOSSLESS_WIDENINGS:
        return SchemaChange(
            name,
            "dtype_changed",
            MINOR,
            f"dtype {old.dtype} → {new.dtype} (lossless widening: consumers should re-read old data through the new schema)",
            phrase=f"widens the dtype of '{name}' from {old.dtype} to {new.dtype}",
        )
    verb = "narrows" if (new.dtype, old.dtype) in LOSSLESS_WIDENINGS else "changes"
    return SchemaChange(
        name,
        "dtype_changed",
        MAJOR,
        f"dtype {old.dtype} → {new.dtype} (not a lossless widening: values change or fail to convert)",
        phrase=f"{verb} the dtype of '{name}' from {old.dtype} to {new.dtype}",
    )


def _nullability(name: str, old: FeatureSpec, new: FeatureSpec) -> SchemaChange | None:
    if old.nullable == new.nullable:
        return None
    if new.nullable:
        return SchemaChange(
            name,
            "nullability_changed",
            MINOR,
            "required → nullable: old data stays valid",
            phrase=f"makes feature '{name}' nullable",
        )
    return SchemaChange(
        name,
        "nullability_changed",
        MAJOR,
        "nullable → required: old snapshots may hold nulls",
        phrase=f"makes feature '{name}' required",
    )


def _range(name: str, old: FeatureSpec, new: FeatureSpec) -> SchemaChange | None:
    sides = [
        _bound_change("min", old.min, new.min, old.dtype, new.dtype, tighter=lambda o, n: n > o),
        _bound_change("max", old.max, new.max, old.dtype, new.dtype, tighter=lambda o, n: n < o),
    ]
    moved = [side for side in sides if side is not None]
    if not moved:
        return None
    tightened = any(tightens for _, tightens in moved)
    loosened = any(not tightens for _, tightens in moved)
    verb = "tightens" if not loosened else "loosens" if not tightened else "tightens and loosens"
    return SchemaChange(
        name,
        "range_changed",
        MAJOR if tightened else MINOR,
        f"range {_range_text(old)} → {_range_text(new)}: {'; '.join(text for text, _ in moved)}"
        + (" — old values may now violate the contract" if tightened else " — old data stays valid"),
        phrase=f"{verb} the range of '{name}'",
    )


def _bound_change(
    side: str,
    old: Any,
    new: Any,
    old_dtype: str,
    new_dtype: str,
    *,
    tighter: Callable[[Any, Any], bool],
) -> tuple[str, bool] | None:
    """(what happened to one bound, whether it tightens), or None when the bound is unchanged."""
    if old is None and new is None:
        return None
    if old is None:
        return f"{side} {_show(new)} added (tightens)", True
    if new is None:
        return f"{side} {_show(old)} removed (loosens)", False
    before, after = _comparable(old, old_dtype), _comparable(new, new_dtype)
    try:
        if before == after:
            return None
        tightens = tighter(before, after)
    except TypeError:  # e.g. a number against a date: no order, so assume the worst
        return f"{side} {_show(old)} → {_show(new)} (not comparable, so treated as tightening)", True
    direction = "raised" if after > before else "lowered"
    return f"{side} {direction} {_show(old)} → {_show(new)} ({'tightens' if tightens else 'loosens'})", tightens


def _comparable(value: Any, dtype: str) -> Any:
    """Bounds as ordered values: ISO dates and datetimes become UTC datetimes, so
    ``"2020-01-01"`` as a date equals ``"2020-01-01T00:00:00"`` as a datetime."""
    if dtype in ("date", "datetime") and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def _allowed(name: str, old: FeatureSpec, new: FeatureSpec) -> SchemaChange | None:
    if old.allowed is None and new.allowed is None:
        return None
    if old.allowed is None:
        return SchemaChange(
            name,
            "allowed_changed",
            MAJOR,
            f"allowed values {_show_list(new.allowed)} added where any value was accepted: "
            "old values may now violate the contract",
            phrase=f"restricts '{name}' to allowed values",
        )
    if new.allowed is None:
        return SchemaChange(
            name,
            "allowed_changed",
            MINOR,
            f"allowed values {_show_list(old.allowed)} removed: any value is accepted, old data stays valid",
            phrase=f"drops the allowed values of '{name}'",
        )
    old_keys, new_keys = {_value_key(v): v for v in old.allowed}, {_value_key(v): v for v in new.allowed}
    lost = [value for key, value in old_keys.items() if key not in new_keys]
    gained = [value for key, value in new_keys.items() if key not in old_keys]
    if lost:
        extra = f" (and gain {_show_list(gained)})" if gained else ""
        return SchemaChange(
            name,
            "allowed_changed",
            MAJOR,
            f"allowed values lose {_show_list(lost)}{extra}: old values may now violate the contract",
            phrase=f"removes allowed values of '{name}'",
        )
    if gained:
        return SchemaChange(
            name,
            "allowed_changed",
            MINOR,
            f"allowed values gain {_show_list(gained)}: old data stays valid",
            phrase=f"adds allowed values to '{name}'",
        )
    if list(old_keys) != list(new_keys):
        return SchemaChange(
            name,
            "allowed_changed",
            PATCH,
            f"allowed values reordered {_show_list(old.allowed)} → {_show_list(new.allowed)}: same values",
            phrase=f"reorders the allowed values of '{name}'",
        )
    return None


def _default(name: str, old: FeatureSpec, new: FeatureSpec) -> SchemaChange | None:
    if _value_key(old.default) == _value_key(new.default):
        return None
    before = "null" if old.default is None else _show(old.default)
    after = "null" if new.default is None else _show(new.default)
    return SchemaChange(
        name,
        "default_changed",
        MAJOR,
        f"default {_show(old.default)} → {_show(new.default)}: new readers of old data get different values "
        f"({after} where they got {before})",
        phrase=f"changes the default of '{name}'",
    )


def _description(name: str, old: FeatureSpec, new: FeatureSpec) -> SchemaChange | None:
    if old.description == new.description:
        return None
    return SchemaChange(
        name,
        "description_changed",
        PATCH,
        f"description {_show(old.description)} → {_show(new.description)}",
        phrase=f"changes the description of '{name}'",
    )


def _owner(name: str, old: FeatureSpec, new: FeatureSpec) -> SchemaChange | None:
    if old.owner == new.owner:
        return None
    return SchemaChange(
        name,
        "owner_changed",
        PATCH,
        f"owner {_show(old.owner)} → {_show(new.owner)}",
        phrase=f"changes the owner of '{name}'",
    )


def _tags(name: str, old: FeatureSpec, new: FeatureSpec) -> SchemaChange | None:
    if old.tags == new.tags:
        return None
    return SchemaChange(
        name,
        "tags_changed",
        PATCH,
        f"tags {_show_list(old.tags)} → {_show_list(new.tags)}",
        phrase=f"changes the tags of '{name}'",
    )


_CHECKS: tuple[Callable[[str, FeatureSpec, FeatureSpec], SchemaChange | None], ...] = (
    _dtype,
    _nullability,
    _range,
    _allowed,
    _default,
    _description,
    _owner,
    _tags,
)


# --- code ---------------------------------------------------------------------------------


def _code_changes(
    name: str, old: FeatureCode | None, new: FeatureCode | None, old_version: str, new_version: str
) -> Iterator[SchemaChange]:
    if old is None and new is None:
        return
    if old is not None and new is not None and old.code_hash == new.code_hash:
        return
    old_hash = old.code_hash if old else "none"
    new_hash = new.code_hash if new else "none"
    yield SchemaChange(
        name,
        "code_changed",
        MAJOR,
        f"code {_short(old_hash)} → {_short(new_hash)}: same name, different logic; "
        "models trained on the old values are silently wrong",
        code_diff=_unified_diff(
            old.source if old else "", new.source if new else "", f"{name}@{old_version}", f"{name}@{new_version}"
        ),
        phrase=f"changes the code of feature '{name}'",
    )


def _unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="")
    text = "\n".join(lines)
    return f"{text}\n" if text else ""


# --- display ------------------------------------------------------------------------------


def _value_key(value: Any) -> tuple[str, Any]:
    """Equality as the data sees it: ``1`` equals ``1.0``, but ``True`` is not ``1``."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)  # 1 == 1.0 and hash(1) == hash(1.0)
    return (type(value).__name__, value)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _show_list(values: list[Any] | None) -> str:
    return "[" + ", ".join(_show(v) for v in values or []) + "]"


def _range_text(spec: FeatureSpec) -> str:
    low = "(-∞" if spec.min is None else f"[{_show(spec.min)}"
    high = "∞)" if spec.max is None else f"{_show(spec.max)}]"
    return f"{low}, {high}"


def _short(code_hash: str) -> str:
    algorithm, _, digest = code_hash.partition(":")
    return f"{algorithm}:{digest[:12]}" if digest else code_hash
