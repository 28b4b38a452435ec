"""Feature definitions as code: a feature set and the functions that compute its features.

Example (an ordinary module, never ``__main__`` or a notebook cell)::

    customer_features = FeatureSet("customer_features", entity="customer_id", timestamp="reference_date")

    @customer_features.feature(dtype="int", description="Age in whole years at the reference date")
    def age(df: pd.DataFrame) -> pd.Series:
        return (df["reference_date"] - df["birth_date"]).dt.days // 365

Each feature is a function from a DataFrame to a Series. The same functions compute a
batch (``compute_batch``) and a single entity record (``compute_online``): both go
through one Arrow → pandas conversion and one output cast, so offline and online
values come from one code path.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineage.errors import FeatureCodeError, InvalidInputError
from lineage.features.schema import DTYPES
from lineage.naming import validate_name

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from lineage.features.schema import FeatureSetSchema

FeatureFunction = Callable[["pd.DataFrame"], "pd.Series"]


@dataclass(frozen=True)
class Feature:
    """One feature: its name (the function's), dtype, description and function."""

    name: str
    dtype: str
    description: str
    function: FeatureFunction

    @property
    def module(self) -> str:
        return self.function.__module__

    def source(self) -> str:
        """The function's source text, as registered and diffed."""
        try:
            return inspect.getsource(self.function)
        except (OSError, TypeError) as exc:
            raise FeatureCodeError(
                f"the source of feature '{self.name}' cannot be read ({exc}): define it in a .py module file"
            ) from None

    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        return self.function(frame)


class FeatureSet:
    """A named set of features over one entity key and (optionally) an event-timestamp column."""

    def __init__(
        self, name: str, *, entity: str, timestamp: str | None = None, features: Iterable[Feature] = (),
        description: str = "",
    ) -> None:
        self.name = validate_name(name, what="feature set name", new=True)
        self.entity = entity
        self.timestamp = timestamp
        self.description = description
        self._features: dict[str, Feature] = {}
        for feature in features:
            self.add(feature)

    # -- defining -------------------------------------------------------------------------
    def feature(self, *, dtype: str, description: str = "") -> Callable[[FeatureFunction], Feature]:
        """Decorator registering a function as a feature of this set."""

        def register(function: FeatureFunction) -> Feature:
            feature = Feature(name=function.__name__, dtype=dtype, description=description, function=function)
            self.add(feature)
            return feature

        return register

    def add(self, *features: Feature) -> None:
        """Add features defined elsewhere (e.g. reuse a previous version's unchanged features)."""
        for feature in features:
            if feature.dtype not in DTYPES:
                raise FeatureCodeError(
                    f"feature '{feature.name}' has unknown dtype '{feature.dtype}': use one of {', '.join(DTYPES)}"
                )
            if feature.name in self._features:
                raise FeatureCodeError(f"feature '{feature.name}' is defined twice in feature set '{self.name}'")
            self._features[feature.name] = feature

    @property
    def features(self) -> dict[str, Feature]:
        return dict(self._features)

    # -- computing ------------------------------------------------------------------------
    def compute_batch(self, data: pa.Table | pd.DataFrame, schema: FeatureSetSchema) -> pa.Table:
        """Every feature of ``schema`` for every row: entity, timestamp, then features, typed by the schema.

        Rows are sorted by (entity, timestamp) with a stable sort so the output, and the
        sha256 of its Parquet file, depend only on the input values.
        """
        import pyarrow as pa

        table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
        frame = _to_frame(table)
        self._check_inputs(frame)
        out = _compute(self, frame, schema)
        keys = [(c, "ascending") for c in (schema.entity, schema.timestamp) if c]
        if keys:
            out = out.sort_by(keys)  # Arrow's sort is stable
        return out

    def compute_online(self, record: Mapping[str, Any], schema: FeatureSetSchema) -> dict[str, Any]:
        """The features of one entity record (dict in, dict out) through the batch code path."""
        import pyarrow as pa

        try:
            table = pa.Table.from_pylist([dict(record)])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInputError(f"online record cannot be read as one row ({exc}): give plain values") from None
        frame = _to_frame(table)
        self._check_inputs(frame)
        return _compute(self, frame, schema).to_pylist()[0]

    def _check_inputs(self, frame: pd.DataFrame) -> None:
        for column in (self.entity, self.timestamp):
            if column and column not in frame.columns:
                raise InvalidInputError(
                    f"input has no '{column}' column, which feature set '{self.name}' needs: add it"
                )


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """One conversion for batch and online inputs: dates become datetime64, categories stay categories."""
    return table.to_pandas(date_as_object=False, types_mapper=None)


def _compute(feature_set: FeatureSet, frame: pd.DataFrame, schema: FeatureSetSchema) -> pa.Table:
    import pyarrow as pa

    columns: dict[str, pa.Array] = {}
    if schema.entity:
        columns[schema.entity] = pa.array(frame[schema.entity], type=pa.int64())
    if schema.timestamp:
        columns[schema.timestamp] = _timestamps(frame[schema.timestamp])
    for name, spec in schema.features.items():
        feature = feature_set.features.get(name)
        if feature is None:
            raise FeatureCodeError(f"schema feature '{name}' has no code in feature set '{feature_set.name}'")
        try:
            values = feature(frame)
        except Exception as exc:  # user code: name the feature, keep the cause
            raise FeatureCodeError(f"feature '{name}' failed: {type(exc).__name__}: {exc}") from exc
        columns[name] = _cast(values, spec.dtype, name, len(frame))
    return pa.table(columns, schema=schema.arrow_schema())


def _timestamps(values: pd.Series) -> pa.Array:
    import pandas as pd
    import pyarrow as pa

    stamps = pd.to_datetime(values)
    if getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize("UTC")
    return pa.array(stamps.dt.tz_convert("UTC"), type=pa.timestamp("us", tz="UTC"))


def _cast(values: Any, dtype: str, name: str, length: int) -> pa.Array:
    """Cast a feature's output to its declared Arrow type, refusing silent truncation."""
    import pandas as pd
    import pyarrow as pa

    from lineage.features.schema import arrow_type

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if len(series) != length:
        raise FeatureCodeError(f"feature '{name}' returned {len(series)} values for {length} rows: return one per row")
    series = series.reset_index(drop=True)
    try:
        if dtype == "datetime":
            return _timestamps(series)
        if dtype == "category":
            return pa.array(series.astype("string"), type=pa.string()).dictionary_encode().cast(arrow_type(dtype))
        if dtype == "date":
            return pa.array(pd.to_datetime(series).dt.date, type=pa.date32())
        return pa.array(series, from_pandas=True).cast(arrow_type(dtype), safe=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as exc:
        raise FeatureCodeError(f"feature '{name}' values are not {dtype}: {exc}") from None
