"""Point-in-time correct joins of feature rows onto entity rows, and a check for time leakage.

A model must be trained on the feature values that were *known* at each label's time, never on
values written later: joining the latest value instead inflates offline metrics and the model
disappoints in production. :func:`point_in_time_join` attaches, to each entity row, the values of
the latest feature row of the same entity at or before its event time (optionally no older than a
``ttl``); :func:`leakage_check` tells whether an existing training frame used any feature value
from after its row's event time.

Both are pure functions over pandas DataFrames or pyarrow Tables, so the service, the CLI and
tests share one implementation. The join is vectorised numpy (no Python loop over rows or
entities) and gives exactly the values of ``pandas.merge_asof(direction="backward", by=entity,
tolerance=ttl)`` run on inputs sorted *stably* by time, without needing the inputs sorted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lineage.errors import InvalidInputError

MATCHED_TIMESTAMP = "feature_timestamp"
"""Default name of the output column holding the timestamp of the feature row each row used."""

_NAT = np.iinfo(np.int64).min  # NaT as int64
_UNITS = ("s", "ms", "us", "ns")  # coarse to fine
_NANOSECONDS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_U64 = np.uint64


def point_in_time_join(
    entity_rows: Any,
    feature_rows: Any,
    *,
    entity: str | Sequence[str],
    event_timestamp: str,
    feature_timestamp: str,
    features: Sequence[str] | None = None,
    ttl: dt.timedelta | None = None,
    matched_timestamp: str | None = MATCHED_TIMESTAMP,
) -> pd.DataFrame:
    """Each entity row with the feature values that were current at its event time.

    For every row of ``entity_rows`` the match is the feature row of the same entity (all the
    ``entity`` columns equal; a null key never matches) with the latest ``feature_timestamp`` at
    or before the row's ``event_timestamp``; an exact tie in time counts, a later row never does.
    With ``ttl``, a match older than ``event_timestamp - ttl`` is missing (stale values are not
    served online either). Among feature rows of one entity with equal timestamps the *last one
    in feature_rows order* wins: this is what ``merge_asof`` does on stably sorted input, and the
    analogue of Feast breaking such ties by the latest ``created`` time — put rows in write order
    to get the same rule. Feature rows with a null key or timestamp are ignored; entity rows
    with a null event time or key get nulls. A null *value* in the matched row stays null: the
    join picks rows, it never fills a column from an older row.

    Returns a new DataFrame: the entity rows in their original order with index ``0..n-1`` and
    all their columns, then the ``features`` (default: every feature_rows column other than the
    entity and timestamp columns), then, unless ``matched_timestamp`` is None, a column of that
    name holding the matched feature timestamp (null when nothing matched) so the result can be
    audited with :func:`leakage_check`. Missing values are nulls in a dtype that keeps the kind:
    numpy int and bool features always come back as pandas nullable ``Int*`` / ``boolean`` (even
    when nothing is missing, so the dtype never depends on the data); floats get NaN, datetimes
    NaT, categories and strings their NA, nullable and Arrow-backed dtypes keep their dtype.
    pyarrow Tables are read with nullable int and bool dtypes for the same reason.

    Raises InvalidInputError for a missing column, a non-timestamp time column, tz-aware and
    naive timestamps mixed, a negative ttl, or an output column name used twice.
    """
    keys = [entity] if isinstance(entity, str) else list(entity)
    if not keys:
        raise InvalidInputError("entity names no column; pass entity='customer_id' or a list of key columns")
    _require(entity_rows, "entity_rows", [*keys, event_timestamp])
    _require(feature_rows, "feature_rows", [*keys, feature_timestamp])
    if features is None:
        skip = {*keys, feature_timestamp}
        features = [c for c in _columns(feature_rows) if c not in skip]
    features = list(features)
    _require(feature_rows, "feature_rows", features)
    left = _as_frame(entity_rows)
    right = _as_frame(feature_rows, [*dict.fromkeys([*keys, feature_timestamp, *features])])
    extra = [matched_timestamp] if matched_timestamp is not None else []
    _refuse_duplicates([*left.columns, *features, *extra], matched_timestamp)

    left_time, right_time, unit = _common_times(left[event_timestamp], right[feature_timestamp],
                                                f"entity_rows[{event_timestamp!r}]",
                                                f"feature_rows[{feature_timestamp!r}]")
    ttl_units = _ttl_units(ttl, unit)
    if len(left) and len(right):
        left_code, right_code, n_codes = _entity_codes(left, right, keys)
        rows = _match(left_code, left_time, right_code, right_time, n_codes, ttl_units)
    else:
        rows = np.full(len(left), -1, dtype=np.int64)

    added = {name: _take(right[name], rows) for name in features}
    if matched_timestamp is not None:
        added[matched_timestamp] = _take(right[feature_timestamp], rows)
    out = left.reset_index(drop=True)
    return pd.concat([out, pd.DataFrame(added, index=out.index)], axis=1)


@dataclass(frozen=True)
class LeakageReport:
    """What :func:`leakage_check` found: how many rows used a feature value from their future.

    ``rows_checked`` counts rows with an event time (a row without one cannot be judged);
    ``by_column`` maps each feature timestamp column to its leaking rows (a row leaking through
    two columns counts once in ``leaking_rows``); ``examples`` are the first leaks in row order,
    each ``{"row": position, "column", "event_time", "feature_time"}`` with ISO 8601 times, so
    the report is JSON as it stands.
    """

    rows_checked: int
    leaking_rows: int
    by_column: dict[str, int]
    examples: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return self.leaking_rows == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows_checked": self.rows_checked,
            "leaking_rows": self.leaking_rows,
            "by_column": dict(self.by_column),
            "examples": [dict(example) for example in self.examples],
        }

    def summary_line(self) -> str:
        if self.ok:
            return f"no leakage: {self.rows_checked:,} rows checked, no feature time after its event time"
        columns = ", ".join(f"{name}: {count:,}" for name, count in self.by_column.items() if count)
        return (f"LEAKAGE: {self.leaking_rows:,} of {self.rows_checked:,} rows use a feature time after "
                f"their event time ({columns}); rebuild them with point_in_time_join")


def leakage_check(
    frame: Any,
    *,
    event_timestamp: str,
    feature_timestamps: str | Sequence[str],
    max_examples: int = 10,
) -> LeakageReport:
    """Flag rows where any feature timestamp is *after* the row's event (label) time.

    Equal times are not leakage, matching the join, which uses a value written at the event's
    own instant. A null on either side cannot leak. Vectorised: one comparison per column.
    """
    columns = [feature_timestamps] if isinstance(feature_timestamps, str) else list(feature_timestamps)
    if not columns:
        raise InvalidInputError("feature_timestamps names no column; pass the column(s) of feature times")
    _require(frame, "frame", [event_timestamp, *columns])
    data = _as_frame(frame, [*dict.fromkeys([event_timestamp, *columns])])
    events = data[event_timestamp]
    leaking = np.zeros(len(data), dtype=bool)
    by_column: dict[str, int] = {}
    candidates: list[tuple[int, int]] = []
    for index, column in enumerate(columns):
        event_time, feature_time, _ = _common_times(events, data[column], f"frame[{event_timestamp!r}]",
                                                    f"frame[{column!r}]")
        leaks = (event_time != _NAT) & (feature_time != _NAT) & (feature_time > event_time)
        leaking |= leaks
        by_column[column] = int(leaks.sum())
        candidates += [(int(row), index) for row in np.flatnonzero(leaks)[:max_examples]]
    examples = [{"row": row, "column": columns[index],
                 "event_time": _iso(events.iloc[row]), "feature_time": _iso(data[columns[index]].iloc[row])}
                for row, index in sorted(candidates)[:max(max_examples, 0)]]
    return LeakageReport(rows_checked=int(events.notna().sum()), leaking_rows=int(leaking.sum()),
                         by_column=by_column, examples=examples)


# -- inputs ---------------------------------------------------------------------------------------


def _columns(data: Any) -> list[Any]:
    if isinstance(data, pd.DataFrame):
        return list(data.columns)
    if _is_arrow_table(data):
        return list(data.column_names)
    raise InvalidInputError(f"expected a pandas DataFrame or a pyarrow Table, got {type(data).__name__}; "
                            "convert it with pandas.DataFrame(...) first")


def _require(data: Any, what: str, names: Sequence[str]) -> None:
    present = _columns(data)
    missing = [name for name in names if name not in present]
    if missing:
        shown = ", ".join(map(str, present[:20])) + (", ..." if len(present) > 20 else "")
        raise InvalidInputError(f"{what} has no column {', '.join(map(repr, missing))} (it has: {shown}); "
                                "pass the name of an existing column")


def _is_arrow_table(data: Any) -> bool:
    return type(data).__module__.startswith("pyarrow") and type(data).__name__ == "Table"


def _as_frame(data: Any, columns: list[Any] | None = None) -> pd.DataFrame:
    """A pandas view of the input; Arrow ints and bools become nullable so nulls never turn them to float."""
    if isinstance(data, pd.DataFrame):
        return data if columns is None else data[columns]
    import pyarrow as pa

    nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype()}
    table = data if columns is None else data.select(columns)
    return table.to_pandas(types_mapper=nullable.get)


def _refuse_duplicates(names: list[Any], matched_timestamp: str | None) -> None:
    seen: set[Any] = set()
    for name in names:
        if name in seen:
            fix = ("pass matched_timestamp='<another name>' (or None)" if name == matched_timestamp
                   else "leave it out of features=[...] or rename it in one of the inputs")
            raise InvalidInputError(f"the joined frame would have two columns named {name!r}; {fix}")
        seen.add(name)


def _ttl_units(ttl: dt.timedelta | None, unit: str) -> int | None:
    """The ttl in whole ``unit``s, rounded down: exact, since ages are whole units too.

    Counted in Python ints (a ``timedelta.max`` ttl does not overflow) and capped at the
    largest age the unsigned comparison in :func:`_match` can see.
    """
    if ttl is None:
        return None
    if not isinstance(ttl, dt.timedelta):
        raise InvalidInputError(f"ttl must be a datetime.timedelta, got {type(ttl).__name__}; "
                                "pass e.g. ttl=datetime.timedelta(days=7)")
    if isinstance(ttl, pd.Timedelta):
        nanoseconds = ttl.value
    else:
        nanoseconds = ((ttl.days * 86_400 + ttl.seconds) * 10**6 + ttl.microseconds) * 1_000
    if nanoseconds < 0:
        raise InvalidInputError(f"ttl must not be negative, got {ttl}; pass e.g. ttl=datetime.timedelta(days=7)")
    return min(nanoseconds // _NANOSECONDS[unit], 2**64 - 1)


def _datetimes(series: pd.Series, what: str) -> pd.Series:
    dtype = series.dtype
    arrow_type = getattr(dtype, "pyarrow_dtype", None)
    if arrow_type is not None and getattr(arrow_type, "unit", None) in _UNITS and hasattr(arrow_type, "tz"):
        target = pd.DatetimeTZDtype(arrow_type.unit, arrow_type.tz) if arrow_type.tz else f"datetime64[{arrow_type.unit}]"
        series = series.astype(target)
    elif not (isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M")):
        raise InvalidInputError(f"{what} holds {dtype}, not timestamps; convert it with pandas.to_datetime(...) first")
    return series


def _common_times(left: pd.Series, right: pd.Series, left_what: str,
                  right_what: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Both time columns as int64 counts of one unit since the epoch (UTC when tz-aware), NaT as int64 min.

    Naive and aware times are refused rather than guessed: treating naive times as UTC is wrong
    whenever they were local, and the error costs the user one line to fix. Two different time
    zones are fine (the instants compare correctly).
    """
    left, right = _datetimes(left, left_what), _datetimes(right, right_what)
    left_tz, right_tz = left.dt.tz, right.dt.tz
    if (left_tz is None) != (right_tz is None):
        aware, naive = (left_what, right_what) if left_tz is not None else (right_what, left_what)
        raise InvalidInputError(f"{aware} is tz-aware but {naive} is tz-naive; make both aware "
                                "(series.dt.tz_localize('UTC')) or both naive before joining")
    unit = max(left.dt.unit, right.dt.unit, key=_UNITS.index)
    try:
        return _epoch(left, unit), _epoch(right, unit), unit
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as error:
        raise InvalidInputError(f"{left_what} and {right_what} cannot share the unit {unit!r} ({error}); "
                                "convert both to one unit with series.dt.as_unit(...)") from error


def _epoch(series: pd.Series, unit: str) -> np.ndarray:
    series = series.dt.as_unit(unit)
    if series.dt.tz is not None:
        series = series.dt.tz_convert(None)
    return series.to_numpy().view(np.int64)


def _iso(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat()


# -- the join -------------------------------------------------------------------------------------


def _entity_codes(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """One int code per key tuple, shared by both sides (-1 for a null part); and the number of codes.

    Columns are coded one at a time and combined arithmetically; the combination is re-coded
    whenever the product of sizes could overflow or outgrow the rows, so any number of key
    columns works with one hash pass per column.
    """
    left_code = np.zeros(len(left), dtype=np.int64)
    right_code = np.zeros(len(right), dtype=np.int64)
    size, bound = 1, 2 * (len(left) + len(right)) + 1024
    for key in keys:
        left_part, right_part, part_size = _column_codes(left[key], right[key], bound)
        if size * part_size >= 2**62:
            left_code, right_code, size = _recode(left_code, right_code)
        left_code = np.where((left_code < 0) | (left_part < 0), -1, left_code * part_size + left_part)
        right_code = np.where((right_code < 0) | (right_part < 0), -1, right_code * part_size + right_part)
        size *= part_size
    if size > bound:
        left_code, right_code, size = _recode(left_code, right_code)
    return left_code, right_code, size


def _column_codes(left: pd.Series, right: pd.Series, bound: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes of one key column: plain integers in a dense range are their own codes (no hashing)."""
    if left.dtype.kind == "i" and right.dtype.kind == "i" and isinstance(left.dtype, np.dtype) \
            and isinstance(right.dtype, np.dtype):
        low = min(int(left.min()), int(right.min()))
        span = max(int(left.max()), int(right.max())) - low + 1
        if span <= bound:
            return left.to_numpy(np.int64) - low, right.to_numpy(np.int64) - low, span
    codes, uniques = pd.factorize(pd.concat([left, right], ignore_index=True))
    return codes[: len(left)].astype(np.int64), codes[len(left):].astype(np.int64), max(len(uniques), 1)


def _recode(left_code: np.ndarray, right_code: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    both = np.concatenate([left_code, right_code])
    codes, uniques = pd.factorize(both)
    codes[both < 0] = -1
    return codes[: len(left_code)].astype(np.int64), codes[len(left_code):].astype(np.int64), max(len(uniques), 1)


def _match(left_code: np.ndarray, left_time: np.ndarray, right_code: np.ndarray, right_time: np.ndarray,
           n_codes: int, ttl: int | None) -> np.ndarray:
    """For each entity row, the position in feature_rows of the row it takes, or -1.

    Feature rows are ordered by (entity code, time, position), so each entity owns one
    contiguous segment sorted by time with ties in input order. Every entity row then
    binary-searches its own segment for the last time <= its event time, all rows at once: the
    loop runs once per halving (log2 of the longest segment), not once per row or entity.
    """
    result = np.full(len(left_code), -1, dtype=np.int64)
    usable = (right_code >= 0) & (right_time != _NAT)
    kept = None if usable.all() else np.flatnonzero(usable)
    code, time = (right_code, right_time) if kept is None else (right_code[kept], right_time[kept])
    if not len(code):
        return result
    order = _segment_order(code, time)
    sorted_time = time[order]
    counts = np.bincount(code, minlength=n_codes)
    ends = np.cumsum(counts)
    queries = np.flatnonzero((left_code >= 0) & (left_time != _NAT))
    query_code = left_code[queries]
    length = counts[query_code]
    searched = length > 0  # an entity without feature rows has nothing to search
    queries, query_code, length = queries[searched], query_code[searched], length[searched]
    query_time = left_time[queries]
    last = _last_at_or_before(sorted_time, ends[query_code] - length, length, query_time)
    hit = last >= 0
    if ttl is not None:  # unsigned difference: exact even where the int64 difference would overflow
        age = query_time[hit].view(_U64) - sorted_time[last[hit]].view(_U64)
        hit[hit] = age <= _U64(ttl)
    taken = order[last[hit]]
    result[queries[hit]] = taken if kept is None else kept[taken]
    return result


def _last_at_or_before(values: np.ndarray, base: np.ndarray, length: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per query, the index of the last value <= its target in ``values[base:base + length]`` (sorted,
    length >= 1), or -1 if even the first is later.

    Branch-free halving: every query probes once per step, so each step is a handful of
    whole-array numpy operations and the loop runs ceil(log2(longest segment)) times.
    """
    base, length = base.copy(), length.copy()
    for _ in range(int(length.max() - 1).bit_length() if len(length) else 0):
        half = length >> 1
        probe = base + half
        base = np.where(values[probe] <= targets, probe, base)
        length -= half
    return np.where(values[base] <= targets, base, -1)


def _segment_order(code: np.ndarray, time: np.ndarray) -> np.ndarray:
    """The permutation sorting rows by (code, time, position).

    Sorting packed uint64 *values* with numpy's SIMD sort is several times faster than any
    argsort, so (code, time, position) are packed into one word, sorted, and the positions read
    back from the low bits. Times are first shrunk losslessly (offsets from the earliest, divided
    by their common step). When the three do not fit in 64 bits, it becomes a radix sort with
    wide digits: one packed sort per time digit, least significant first, then one by code, each
    pass packing the rank from the pass before so that every pass is stable.
    """
    rows = len(code)
    position_bits = (rows - 1).bit_length()
    code_bits = int(code.max()).bit_length()
    offset, time_bits = _compact_time(time)
    positions = np.arange(rows, dtype=_U64)
    if code_bits + time_bits + position_bits <= 64:
        offset <<= _U64(position_bits)
        return _sorted_positions(_pack(code, code_bits, offset, time_bits + position_bits) | positions, position_bits)
    digit_bits = 64 - position_bits
    order = positions.view(np.int64)  # positions sorted by the digits so far
    for shift in range(0, time_bits, digit_bits):
        digit = (offset if shift == 0 else offset[order]) >> _U64(shift)  # first pass: order is the identity
        digit &= _U64((1 << digit_bits) - 1)
        digit <<= _U64(position_bits)
        digit |= positions
        step = _sorted_positions(digit, position_bits)
        order = step if shift == 0 else order[step]
    return order[_sorted_positions(_pack(code[order], code_bits, positions, position_bits), position_bits)]


def _sorted_positions(packed: np.ndarray, position_bits: int) -> np.ndarray:
    """Sort packed words in place and return their low ``position_bits`` bits as int64 positions."""
    packed.sort()
    packed &= _U64((1 << position_bits) - 1)
    return packed.view(np.int64)


def _pack(code: np.ndarray, code_bits: int, low: np.ndarray, shift: int) -> np.ndarray:
    """``code << shift | low`` as uint64, where ``low`` already fits in the low ``shift`` bits."""
    if code_bits == 0:  # one entity: no code bits (and no shift by 64, which C leaves undefined)
        return low.copy()
    packed = code.astype(_U64)
    packed <<= _U64(shift)
    packed |= low
    return packed


def _compact_time(time: np.ndarray) -> tuple[np.ndarray, int]:
    """Times as uint64 offsets from the earliest, divided by their greatest common step, and their bit width.

    Real timestamps tick in whole seconds or minutes far more often than in nanoseconds, and
    dividing by the common step (one gcd pass) keeps the order while saving 30 bits or more.
    """
    low = int(time.min())
    offset = time.view(_U64) - np.array(low, dtype=np.int64).view(_U64)  # exact, even across 2**63
    span = int(time.max()) - low
    step = int(np.gcd.reduce(offset)) if span else 1
    if step > 1:
        offset //= _U64(step)
        span //= step
    return offset, span.bit_length()


def _take(values: pd.Series, rows: np.ndarray) -> Any:
    """``values`` at ``rows`` (-1 gives null), numpy ints and bools made nullable instead of float."""
    missing = rows < 0
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        data = values.to_numpy()
        taken = data[np.where(missing, 0, rows)] if len(data) else np.zeros(len(rows), dtype=dtype)
        if dtype.kind == "b":
            return pd.arrays.BooleanArray(taken, missing)
        return pd.arrays.IntegerArray(taken, missing)
    return values.array.take(rows, allow_fill=True)
