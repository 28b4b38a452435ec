"""Schema contracts: does one online row, or a whole batch, satisfy a feature-set version?

Two paths, because online serving and offline tables need different costs:

* one row (online): ``row_model(schema)`` generates the pydantic model of a row (the
  seed's ``FeatureSchema``), ``validate_row`` raises ``SchemaViolationError``,
  ``row_violations`` lists the problems without raising;
* a batch (offline): ``validate_batch`` checks whole Arrow columns with
  ``pyarrow.compute`` (no Python loop over rows) and returns a ``BatchReport``.

Both read the schema through ``_columns``, the one place that resolves bounds, allowed
values and null rules, so the two paths cannot drift apart; a hypothesis test checks
that they find the same (row, feature, reason) triples. NaN counts as null in both,
as pandas and ``pa.Table.from_pandas`` treat it.
"""

from __future__ import annotations

import json
import keyword
import math
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, overload

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lineage.errors import InvalidInputError, SchemaViolationError
from lineage.features.schema import FeatureSetSchema, arrow_type

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

REASONS = ("missing_column", "extra_column", "wrong_type", "null", "below_min", "above_max", "not_allowed")
"""Every kind of violation, column-level first; JSON output uses these words."""

_SHOWN_ALLOWED = 10  # allowed values listed in a message before "..."
_CACHE_LIMIT = 256


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken promise: which row (None for a whole column), which feature, what kind, in words."""

    row: int | None
    feature: str
    reason: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "feature": self.feature, "reason": self.reason, "detail": self.detail}


# --- one reading of the schema ---------------------------------------------------------------

@dataclass(frozen=True)
class _Column:
    """A column the contract requires: the entity, the timestamp or a feature, bounds resolved."""

    name: str
    dtype: str
    nullable: bool = False
    min: Any = None
    max: Any = None
    allowed: tuple[Any, ...] | None = None
    default: Any = None  # None: no default (the schema cannot say "default null")


def _columns(schema: FeatureSetSchema) -> tuple[_Column, ...]:
    """Entity, timestamp, then features in file order: the order of ``schema.arrow_schema()``."""
    columns = []
    if schema.entity:
        columns.append(_Column(schema.entity, "int"))
    if schema.timestamp:
        columns.append(_Column(schema.timestamp, "datetime"))
    for name, spec in schema.features.items():
        def coerce(value: Any, what: str, name: str = name, dtype: str = spec.dtype) -> Any:
            return _coerce(value, dtype, f"{what} of feature '{name}' in {schema.ref}")

        columns.append(_Column(
            name, spec.dtype, spec.nullable, coerce(spec.min, "min"), coerce(spec.max, "max"),
            None if spec.allowed is None else tuple(
                v for v in (coerce(v, "allowed value") for v in spec.allowed) if _can_be(spec.dtype, v)),
            coerce(spec.default, "default"),
        ))
    return tuple(columns)


def _can_be(dtype: str, value: Any) -> bool:
    """Whether an allowed value can ever match a value of ``dtype``; the others are dropped, so
    that ``allowed: [1, "a"]`` on an int means ``[1]`` to both paths (and ``True`` never equals ``1``)."""
    if dtype in ("int", "float"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, {"bool": bool, "string": str, "category": str, "datetime": datetime, "date": date}[dtype])


def _coerce(value: Any, dtype: str, where: str) -> Any:
    """Schema files are JSON, so datetime and date bounds arrive as ISO strings; parse them once."""
    if value is None or dtype not in ("datetime", "date"):
        return value
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value)) if dtype == "datetime" else date.fromisoformat(value)
        except ValueError:
            pass
        except OverflowError:  # its offset moves it before year 1 or after 9999 in UTC
            raise InvalidInputError(f"{where} is {value!r}, outside the years 1 to 9999 once converted to UTC: "
                                    "give a time between \"0001-01-01T00:00:00Z\" and \"9999-12-31T23:59:59Z\"") from None
    example = "2026-01-31T00:00:00Z" if dtype == "datetime" else "2026-01-31"
    raise InvalidInputError(f"{where} is {value!r}, not an ISO 8601 {dtype}: write it like \"{example}\"")


def _utc(value: datetime) -> datetime:
    """Time is UTC (invariant 6): a naive datetime is read as UTC, an aware one converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _show(value: Any) -> str:
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return repr(value)


def _show_allowed(allowed: tuple[Any, ...]) -> str:
    shown = ", ".join(v.isoformat() if isinstance(v, date) else str(v) for v in allowed[:_SHOWN_ALLOWED])
    return shown + (f", ... ({len(allowed) - _SHOWN_ALLOWED} more)" if len(allowed) > _SHOWN_ALLOWED else "")


_NULL_DETAIL = "null in a required column"


def _value_detail(column: _Column, reason: str, value: Any) -> str:
    """The detail of a value-level violation; the same words in the row and the batch report."""
    return _NULL_DETAIL if reason == "null" else f"value {_show(value)}{_detail_tail(column, reason)}"


def _detail_tail(column: _Column, reason: str) -> str:
    """What follows the value in a detail; a batch computes it once per (feature, reason)."""
    if reason == "below_min":
        return f" < min {_show(column.min)}"
    if reason == "above_max":
        return f" > max {_show(column.max)}"
    return f" not in allowed ({_show_allowed(column.allowed or ())})"


# --- one row: the generated pydantic model ---------------------------------------------------

_PYTHON_TYPES: dict[str, Any] = {
    "int": StrictInt, "float": StrictFloat, "bool": StrictBool, "string": StrictStr, "category": StrictStr,
    "datetime": Annotated[datetime, Strict()], "date": Annotated[date, Strict()],
}
_TYPE_WORDS = {"int": "an int", "float": "a float or an int", "bool": "a bool", "string": "a str",
               "category": "a str", "datetime": "a datetime", "date": "a date (not a datetime)"}


@dataclass(frozen=True)
class _Contract:
    model: type[BaseModel]
    columns: dict[str, _Column]


_by_identity: dict[int, tuple[FeatureSetSchema, _Contract]] = {}
_by_content: dict[str, _Contract] = {}


def _contract(schema: FeatureSetSchema) -> _Contract:
    """Cached per schema content. Schemas hold dicts, so they cannot be hashed; the identity
    shortcut saves re-serialising the schema for every online row (the entry keeps the schema
    alive, so its id cannot be reused while cached)."""
    hit = _by_identity.get(id(schema))
    if hit is not None:
        return hit[1]
    key = json.dumps(schema.canonical(), sort_keys=True)
    contract = _by_content.get(key)
    if contract is None:
        columns = _columns(schema)
        contract = _Contract(_build_model(schema, columns), {c.name: c for c in columns})
        if len(_by_content) >= _CACHE_LIMIT:
            _by_content.clear()
        _by_content[key] = contract
    if len(_by_identity) >= _CACHE_LIMIT:
        _by_identity.clear()
    _by_identity[id(schema)] = (schema, contract)
    return contract


def row_model(schema: FeatureSetSchema) -> type[BaseModel]:
    """The pydantic model of ONE online row of ``schema``, e.g. ``CustomerFeaturesRow``.

    It is a contract, so it is strict, deliberately: a value must already have the
    feature's type, because a serving path that silently turns ``"42"`` into ``42`` hides
    exactly the offline/online skew the contract exists to catch.

    * int: ``int`` only: ``"42"``, ``True`` and ``42.5`` (even ``42.0``) are wrong types;
    * float: ``float`` or ``int`` (every int is a valid float), never ``bool`` or ``str``;
    * bool: ``bool`` only (not ``0``/``1``); string and category: ``str`` only;
    * datetime: ``datetime`` only (not an ISO string); naive values are read as UTC;
      date: ``date`` only (a ``datetime`` is refused: it carries a time);
    * NaN, ``pandas.NA`` and ``NaT`` are null, and numpy scalars count as their Python
      value, because rows often come from pandas;
    * nullable features are ``Optional[...] = None``; a feature with a default may be left out;
      min/max become ``ge``/``le``; ``allowed`` is checked after the type, so ``5`` for a
      category is a wrong type, not an unknown category; unknown keys are refused.

    The entity (int) and timestamp (datetime) columns are required fields when the schema
    names them. Models are cached per schema content: equal schemas share one class.
    """
    return _contract(schema).model


def _build_model(schema: FeatureSetSchema, columns: tuple[_Column, ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for column in columns:
        attribute = _attribute_name(column.name, fields)
        fields[attribute] = _field(column)
    parts = [part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", schema.feature_set) if part]
    name = "".join(parts)
    name = f"{name if name[:1].isalpha() else 'FeatureSet' + name}Row"
    model = create_model(name, __base__=_RowBase, __doc__=(
        f"One online row of {schema.ref}, generated by lineage.features.contracts.row_model."), **fields)
    model.__module__ = __name__
    return model


def _attribute_name(name: str, taken: Mapping[str, Any]) -> str:
    """A safe attribute for a column; the column's own name stays the key (the alias).

    Needed for names pydantic would not treat as fields (``_x``) or that would shadow
    ``BaseModel`` (``json``, ``copy``) or are not identifiers (an entity named ``"user id"``).
    """
    candidate = name
    while (not candidate.isidentifier() or keyword.iskeyword(candidate) or candidate.startswith("_")
           or hasattr(BaseModel, candidate) or candidate in taken):
        candidate = "f_" + re.sub(r"\W", "_", candidate.lstrip("_"))
    return candidate


def _field(column: _Column) -> tuple[Any, Any]:
    metadata: list[Any] = []
    if column.dtype == "datetime":  # ge/le would compare naive with aware datetimes and fail
        if column.min is not None or column.max is not None:
            metadata.append(AfterValidator(partial(_check_datetime_bounds, column.min, column.max)))
    elif column.dtype == "int":  # pydantic wants int bounds for an int; x >= 0.5 means x >= 1
        metadata.append(Field(ge=None if column.min is None else math.ceil(column.min),
                              le=None if column.max is None else math.floor(column.max)))
    elif column.min is not None or column.max is not None:
        metadata.append(Field(ge=column.min, le=column.max))
    if column.allowed is not None:
        metadata.append(AfterValidator(partial(_check_allowed, frozenset(column.allowed))))
        metadata.append(Field(json_schema_extra={"enum": [v.isoformat() if isinstance(v, date) else v
                                                          for v in column.allowed]}))
    value_type = Annotated[(_PYTHON_TYPES[column.dtype], *metadata)] if metadata else _PYTHON_TYPES[column.dtype]
    if column.nullable:
        value_type = value_type | None
    default = column.default if column.default is not None else (None if column.nullable else ...)
    return value_type, Field(default, alias=column.name)


_PLAIN_TYPES = frozenset({int, str, bool, datetime, date, type(None)})


def _normalise(value: Any) -> Any:
    """Missing markers become None, numpy scalars their Python value; nothing else is converted."""
    if isinstance(value, float) and math.isnan(value):
        return None
    pandas = sys.modules.get("pandas")
    if pandas is not None and (value is pandas.NaT or value is pandas.NA):
        return None
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.bool_ | numpy.integer | numpy.floating):
        return _normalise(value.item())
    return value


class _RowBase(BaseModel):
    """Base of every generated row model: the contract's config, and one normalising pass per row.

    One model-level pass, not a validator per field: it runs for every online row, and a
    row of plain Python values (the common case) is passed through untouched and uncopied.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _normalise_values(cls, data: Any) -> Any:
        plain = _PLAIN_TYPES
        if isinstance(data, Mapping) and not all(
                type(v) in plain or (type(v) is float and v == v) for v in data.values()):  # v != v: NaN
            return {key: _normalise(value) for key, value in data.items()}
        return data


def _check_datetime_bounds(low: datetime | None, high: datetime | None, value: datetime) -> datetime:
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # aware ones compare as is
    if low is not None and moment < low:
        raise PydanticCustomError("below_min", "must be >= {bound}", {"bound": low.isoformat()})
    if high is not None and moment > high:
        raise PydanticCustomError("above_max", "must be <= {bound}", {"bound": high.isoformat()})
    return value


def _check_allowed(allowed: frozenset[Any], value: Any) -> Any:
    if (_utc(value) if isinstance(value, datetime) else value) not in allowed:
        raise PydanticCustomError("not_allowed", "value is not allowed")
    return value


def validate_row(schema: FeatureSetSchema, row: Mapping[str, Any]) -> BaseModel:
    """The row as an instance of ``row_model(schema)``, or SchemaViolationError naming every problem.

    The message lists all field-level problems on one line (``age: must be >= 0 (got -3);
    region: 'mars' is not allowed (allowed: north, south)``), because a caller fixing one
    at a time would need as many round trips as there are problems.
    """
    contract = _contract(schema)
    _require_mapping(row)
    try:
        return contract.model.model_validate(row)
    except ValidationError as exc:
        found = [_row_violation(contract, error, None) for error in exc.errors()]
    listed = "; ".join(f"{violation.feature}: {phrase}" for violation, phrase in found)
    raise SchemaViolationError(
        f"row does not satisfy {schema.ref}: {listed}. Fix the row, or publish a schema version that allows it"
    ) from None


def row_violations(schema: FeatureSetSchema, row: Mapping[str, Any], *, row_number: int | None = None
                   ) -> list[Violation]:
    """Every problem of one row, without raising; ``row_number`` fills ``Violation.row``."""
    contract = _contract(schema)
    _require_mapping(row)
    try:
        contract.model.model_validate(row)
    except ValidationError as exc:
        return [_row_violation(contract, error, row_number)[0] for error in exc.errors()]
    return []


def _require_mapping(row: Any) -> None:
    if not isinstance(row, Mapping):
        raise InvalidInputError(f"a row must be a mapping of column names to values, not {type(row).__name__}: "
                                "pass one dict per row")


def _row_violation(contract: _Contract, error: Any, row: int | None) -> tuple[Violation, str]:
    """Translate one pydantic error into a Violation and the phrase the error message uses."""
    name = str(error["loc"][0]) if error["loc"] else ""
    kind, value = error["type"], error.get("input")
    column = contract.columns.get(name)
    if kind == "extra_forbidden" or column is None:
        return Violation(row, name, "extra_column", "key not in the schema"), "is not in the schema (unknown key)"
    if kind == "missing":
        return Violation(row, name, "missing_column", "required key missing"), "is missing (required)"
    reason = {"greater_than_equal": "below_min", "less_than_equal": "above_max", "below_min": "below_min",
              "above_max": "above_max", "not_allowed": "not_allowed"}.get(kind, "null" if value is None else "wrong_type")
    if reason == "wrong_type":
        words = _TYPE_WORDS[column.dtype]
        got = f"{type(value).__name__} {_show(value)}"
        return Violation(row, name, reason, f"expected {words}, got {got}"), f"must be {words} (got {got})"
    phrase = {
        "null": "must not be null (the feature is not nullable)",
        "below_min": f"must be >= {_show(column.min)} (got {_show(value)})",
        "above_max": f"must be <= {_show(column.max)} (got {_show(value)})",
        "not_allowed": f"{_show(value)} is not allowed (allowed: {_show_allowed(column.allowed or ())})",
    }[reason]
    return Violation(row, name, reason, _value_detail(column, reason, value)), phrase


# --- a batch: whole columns with pyarrow.compute ---------------------------------------------

@dataclass(frozen=True)
class _RowGroup:
    """The rows with one kind of problem in one column: indices, and the column to describe them."""

    column: _Column
    reason: str
    rows: np.ndarray
    values: pa.ChunkedArray

    def violations(self, start: int = 0, stop: int | None = None, step: int = 65_536) -> Iterator[Violation]:
        """Materialised a slice of ``step`` rows at a time: taking one value per row would be slow."""
        rows, name, reason = self.rows[start:stop], self.column.name, self.reason
        tail = "" if reason == "null" else _detail_tail(self.column, reason)
        for offset in range(0, len(rows), step):
            chunk = rows[offset:offset + step].tolist()
            if reason == "null":
                yield from [Violation(index, name, reason, _NULL_DETAIL) for index in chunk]
            else:
                values = self.values.take(chunk).to_pylist()
                yield from [Violation(index, name, reason, f"value {_show(value)}{tail}")
                            for index, value in zip(chunk, values, strict=True)]


class Violations(Sequence[Violation]):
    """All violations of a batch, column-level first; Violation objects are built on access."""

    def __init__(self, column_level: Sequence[Violation], groups: Sequence[_RowGroup]) -> None:
        self._column_level = tuple(column_level)
        self._groups = tuple(groups)
        self._ends: list[int] = []
        total = len(self._column_level)
        for group in self._groups:
            total += len(group.rows)
            self._ends.append(total)

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else len(self._column_level)

    def __iter__(self) -> Iterator[Violation]:
        yield from self._column_level
        for group in self._groups:
            yield from group.violations()

    @overload
    def __getitem__(self, index: int) -> Violation: ...
    @overload
    def __getitem__(self, index: slice) -> list[Violation]: ...

    def __getitem__(self, index: int | slice) -> Violation | list[Violation]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"violation {index} out of range ({len(self)} violations)")
        if index < len(self._column_level):
            return self._column_level[index]
        start = len(self._column_level)
        for group, end in zip(self._groups, self._ends, strict=True):
            if index < end:
                return next(group.violations(index - start, index - start + 1))
            start = end
        raise AssertionError("unreachable")


class BatchReport:
    """What ``validate_batch`` found. Row indices are kept as numpy arrays per (feature, reason),
    so a million violations cost megabytes, not a million Python objects."""

    def __init__(self, schema_ref: str, rows_checked: int, column_level: Sequence[Violation],
                 groups: Sequence[_RowGroup]) -> None:
        self.schema_ref = schema_ref
        self.rows_checked = rows_checked
        self._column_level = tuple(column_level)
        self._groups = tuple(groups)
        self.violations = Violations(self._column_level, self._groups)

    @property
    def ok(self) -> bool:
        return not self.violations

    def counts(self) -> list[dict[str, Any]]:
        """One entry per (feature, reason), column-level problems first."""
        return ([{"feature": v.feature, "reason": v.reason, "count": 1} for v in self._column_level]
                + [{"feature": g.column.name, "reason": g.reason, "count": len(g.rows)} for g in self._groups])

    def to_json(self, limit_per_kind: int | None = None) -> dict[str, Any]:
        """The report as JSON; ``limit_per_kind`` keeps the first rows of each (feature, reason)."""
        require_limit(limit_per_kind)
        listed = [v.to_json() for v in self._column_level]
        for group in self._groups:
            listed += [v.to_json() for v in group.violations(0, limit_per_kind)]
        return {"ok": self.ok, "rows_checked": self.rows_checked, "violation_count": len(self.violations),
                "counts": self.counts(), "violations": listed}

    def summary_line(self) -> str:
        head = f"{self.schema_ref}: {self.rows_checked:,} rows checked"
        if self.ok:
            return f"{head}, no violations"
        kinds = [f"{c['feature']} {c['reason']} {c['count']:,}" for c in self.counts()]
        more = f", ... ({len(kinds) - 5} more kinds)" if len(kinds) > 5 else ""
        return f"{head}, {len(self.violations):,} violations: {', '.join(kinds[:5])}{more}"

    def __repr__(self) -> str:
        return f"<BatchReport {self.summary_line()}>"


def require_limit(limit: object) -> int | None:
    """Violations listed per kind: None (all) or a whole number >= 0 (0 lists counts only).

    A negative limit would slice from the end (``-1`` hides the last row of each kind).
    """
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInputError(
            f"limit {limit!r} is not a whole number >= 0: pass e.g. --limit 50 (0 lists only the counts)"
        )
    return limit


def validate_batch(data: pd.DataFrame | pa.Table, schema: FeatureSetSchema) -> BatchReport:
    """Find EVERY violation of ``schema`` in a table, column by column, with no loop over rows.

    Column-level: missing, extra (or duplicated) and wrong-typed columns; a missing column is
    reported even when the feature has a default, because a batch is what gets materialised
    (``schema.arrow_schema()``), while defaults are a convenience of the online row. Type
    compatibility is by Arrow type family (any integer for int, integer or floating for float,
    any timestamp for datetime, ...), and an all-null column (Arrow ``null``) fits any dtype.
    Value-level, on compatible columns only: nulls (and NaN) in required columns, values below
    min, above max, or not in allowed. A DataFrame is converted with
    ``pa.Table.from_pandas(preserve_index=False)``; columns it cannot convert are wrong types.
    """
    import numpy as np

    contract = _contract(schema)
    table, unconvertible = _as_table(data)
    names = table.column_names
    column_level: list[Violation] = []
    groups: list[_RowGroup] = []
    for column in contract.columns.values():
        if column.name in unconvertible:
            column_level.append(Violation(None, column.name, "wrong_type", unconvertible[column.name]))
            continue
        if column.name not in names:
            expected = "int64" if column.dtype == "int" else str(arrow_type(column.dtype))
            column_level.append(Violation(None, column.name, "missing_column", f"column missing (expected {expected})"))
            continue
        values = table.column(names.index(column.name))
        if not _compatible(column.dtype, values.type):
            column_level.append(Violation(None, column.name, "wrong_type", _type_detail(column.dtype, values.type)))
            continue
        for reason, mask in _masks(column, values):
            rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            if rows.size:
                groups.append(_RowGroup(column, reason, rows, values))
    seen: set[str] = set()
    for position, name in enumerate(names):
        if name in seen:
            column_level.append(Violation(None, name, "extra_column", f"duplicate column (position {position})"))
        elif name not in contract.columns:
            column_level.append(Violation(None, name, "extra_column",
                                          f"column not in the schema (Arrow type {table.schema.field(position).type})"))
        seen.add(name)
    return BatchReport(schema.ref, table.num_rows, column_level, groups)


def _as_table(data: Any) -> tuple[pa.Table, dict[str, str]]:
    """The data as an Arrow table, plus the DataFrame columns Arrow could not convert (with why)."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return data, {}
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data]), {}
    pandas = sys.modules.get("pandas")
    if pandas is None or not isinstance(data, pandas.DataFrame):
        raise InvalidInputError(f"validate_batch takes a pandas DataFrame or a pyarrow Table, not {type(data).__name__}")
    problems = (pa.ArrowException, ValueError, TypeError)  # mixed object columns, duplicate names
    try:
        return pa.Table.from_pandas(data, preserve_index=False), {}
    except problems:
        pass  # find which columns, keep the others
    kept, unconvertible = [], {}
    for position in range(data.shape[1]):
        part = data.iloc[:, [position]]
        try:
            kept.append(pa.Table.from_pandas(part, preserve_index=False))
        except problems as exc:
            unconvertible[str(data.columns[position])] = (
                f"column cannot be converted to Arrow ({exc}): give every value the feature's type")
    arrays = [t.column(0) for t in kept]
    return pa.table(arrays, names=[t.column_names[0] for t in kept]) if kept else pa.table({}), unconvertible


def _compatible(dtype: str, arrow: pa.DataType) -> bool:
    import pyarrow.types as t

    strings = (t.is_string(arrow) or t.is_large_string(arrow) or t.is_string_view(arrow))
    return t.is_null(arrow) or {
        "int": t.is_integer(arrow),
        "float": t.is_floating(arrow) or t.is_integer(arrow),
        "bool": t.is_boolean(arrow),
        "string": strings,
        "category": strings or (t.is_dictionary(arrow) and _compatible("string", arrow.value_type)
                                and not t.is_null(arrow.value_type)),
        "datetime": t.is_timestamp(arrow),
        "date": t.is_date32(arrow) or t.is_date64(arrow),
    }[dtype]


def _type_detail(dtype: str, arrow: pa.DataType) -> str:
    expected = {"int": "an integer type", "float": "a floating or integer type", "bool": "bool",
                "string": "string or large_string", "category": "dictionary<string> or string",
                "datetime": "a timestamp type", "date": "date32 or date64"}[dtype]
    hint = (" (a pandas int column with NaN becomes float64: use the 'Int64' dtype)"
            if dtype == "int" and str(arrow) in ("double", "float") else "")
    return f"Arrow type {arrow} is not compatible with dtype {dtype}: expected {expected}{hint}"


def _masks(column: _Column, values: pa.ChunkedArray) -> Iterator[tuple[str, pa.ChunkedArray]]:
    """(reason, boolean mask without nulls) per value-level check that applies to the column."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as t

    missing = pc.is_null(values, nan_is_null=t.is_floating(values.type))
    if not column.nullable:
        yield "null", missing
    if t.is_null(values.type):
        return
    for reason, bound, compare in (("below_min", column.min, pc.less), ("above_max", column.max, pc.greater)):
        if bound is not None:
            yield reason, pc.fill_null(compare(values, _arrow_scalar(bound, values.type)), False)
    if column.allowed is not None:
        if t.is_dictionary(values.type):  # check each dictionary once, then spread by index
            chunks = [pc.fill_null(pc.take(pc.invert(pc.is_in(chunk.dictionary, value_set=_value_set(
                column.allowed, chunk.dictionary.type))), chunk.indices), False) for chunk in values.chunks]
            yield "not_allowed", pa.chunked_array(chunks, type=pa.bool_())
        else:
            outside = pc.invert(pc.is_in(values, value_set=_value_set(column.allowed, values.type)))
            yield "not_allowed", pc.fill_null(pc.and_(outside, pc.invert(missing)), False)


def _arrow_scalar(value: Any, arrow: pa.DataType) -> Any:
    """A bound as a scalar Arrow can compare with the column (timestamps need the column's zone)."""
    import pyarrow as pa

    if isinstance(value, datetime):
        return pa.scalar(value if arrow.tz else value.replace(tzinfo=None), pa.timestamp("us", tz=arrow.tz))
    if isinstance(value, date):
        return pa.scalar(value, pa.date32())
    if isinstance(value, int) and pa.types.is_integer(arrow):
        try:  # same type as the column: compared without casting a million values to int64
            return pa.scalar(value, arrow)
        except (pa.ArrowInvalid, OverflowError):
            pass  # e.g. min -1 for a uint8 column: Arrow finds a common type
    return value


def _value_set(allowed: tuple[Any, ...], arrow: pa.DataType) -> pa.Array:
    """The allowed values as one Arrow array (``_can_be`` made them all of one kind)."""
    import pyarrow as pa

    if not allowed:
        return pa.array([], arrow)
    if isinstance(allowed[0], date):
        return pa.array([_arrow_scalar(v, arrow) for v in allowed])
    return pa.array(allowed, pa.string()) if isinstance(allowed[0], str) else pa.array(allowed)
