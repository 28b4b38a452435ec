"""Feature-set schema files: the seed's JSON shape, validated with pydantic.

Short form (the seed)::

    {"feature_set": "customer_features", "version": "2.1.0",
     "features": {"age": "int", "avg_purchase_value": "float", "region": "category"}}

Long form per feature: ``{"dtype": "int", "nullable": false, "min": 0, "max": 130,
"allowed": [...], "default": ..., "description": "...", "owner": "...", "tags": [...]}``,
and optional top-level ``entity``, ``timestamp``, ``description``, ``owner``.
Features are required (not nullable) unless they say otherwise, as in the seed's
``FeatureSchema`` (``age: int``).
"""

from __future__ import annotations

import json
import keyword
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lineage.errors import InvalidInputError, LineageError
from lineage.features.semver import SemVer
from lineage.naming import validate_name
from lineage.stored_text import NAME_LIMIT, check_text

Dtype = Literal["int", "float", "bool", "string", "category", "datetime", "date"]
DTYPES: tuple[str, ...] = ("int", "float", "bool", "string", "category", "datetime", "date")
NUMERIC_DTYPES = ("int", "float")
ORDERED_DTYPES = ("int", "float", "datetime", "date")  # min/max make sense for these


def arrow_type(dtype: str) -> Any:
    """The Arrow type every materialised value of a dtype has (one mapping, used everywhere)."""
    import pyarrow as pa

    return {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "string": pa.string(),
        "category": pa.dictionary(pa.int32(), pa.string()),
        "datetime": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
    }[dtype]


Scalar = bool | int | float | str


class FeatureSpec(BaseModel):
    """One feature's contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dtype: Dtype
    nullable: bool = False
    min: Scalar | None = None
    max: Scalar | None = None
    allowed: list[Scalar] | None = None
    default: Scalar | None = None
    description: str = ""
    owner: str = ""
    tags: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> FeatureSpec:
        if (self.min is not None or self.max is not None) and self.dtype not in ORDERED_DTYPES:
            raise ValueError(f"min/max apply to {', '.join(ORDERED_DTYPES)} features, not {self.dtype}")
        if self.min is not None and self.max is not None and self.min > self.max:  # type: ignore[operator]
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        if self.allowed is not None and len(set(map(repr, self.allowed))) != len(self.allowed):
            raise ValueError("allowed values repeat")
        return self


class FeatureSetSchema(BaseModel):
    """A whole feature-set version's schema file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature_set: str
    version: str
    entity: str | None = None
    timestamp: str | None = None
    description: str = ""
    owner: str = ""
    features: dict[str, FeatureSpec]

    @field_validator("feature_set")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            return validate_name(value, what="feature_set", new=True)
        except LineageError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        try:
            SemVer.parse(value)
            check_text(value, what="version", limit=NAME_LIMIT, fix="use a shorter prerelease or build part")
        except LineageError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("features", mode="before")
    @classmethod
    def _expand_short_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {name: {"dtype": spec} if isinstance(spec, str) else spec for name, spec in value.items()}
        return value

    @field_validator("features")
    @classmethod
    def _feature_names(cls, value: dict[str, FeatureSpec]) -> dict[str, FeatureSpec]:
        if not value:
            raise ValueError("features is empty: list at least one feature")
        for name in value:
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"feature name '{name}' is not a Python identifier: use letters, digits and _")
            if len(name) > NAME_LIMIT:  # feature_code.name is VARCHAR(128)
                raise ValueError(f"feature name '{name[:40]}…' is {len(name)} characters: at most {NAME_LIMIT} fit; "
                                 "shorten it")
        return value

    @model_validator(mode="after")
    def _keys_are_not_features(self) -> FeatureSetSchema:
        for column in (self.entity, self.timestamp):
            if column is not None and column in self.features:
                raise ValueError(f"'{column}' is the entity or timestamp column and cannot also be a feature")
        return self

    @property
    def semver(self) -> SemVer:
        return SemVer.parse(self.version)

    @property
    def ref(self) -> str:
        return f"{self.feature_set}@{self.version}"

    def canonical(self) -> dict[str, Any]:
        """The long form with every default spelled out: what is stored, hashed and diffed."""
        return self.model_dump(mode="json")

    def arrow_schema(self) -> Any:
        """Arrow schema of a materialised snapshot: entity, timestamp, then features in file order."""
        import pyarrow as pa

        fields = []
        if self.entity:
            fields.append(pa.field(self.entity, pa.int64(), nullable=False))
        if self.timestamp:
            fields.append(pa.field(self.timestamp, pa.timestamp("us", tz="UTC"), nullable=False))
        fields += [pa.field(name, arrow_type(spec.dtype), nullable=spec.nullable) for name, spec in self.features.items()]
        return pa.schema(fields)


def parse_schema(data: Any, *, source: str = "schema") -> FeatureSetSchema:
    """Validate a decoded JSON value; one line per problem is too many, so name the first."""
    if isinstance(data, dict) and "features" not in data:
        raise InvalidInputError(f"{source} has no 'features': add \"features\": {{\"name\": \"dtype\", ...}}")
    try:
        return FeatureSetSchema.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(f"{source}: {_first_problem(exc)}") from None


def load_schema(path: str | Path) -> FeatureSetSchema:
    """Read and validate a schema file; every failure is one InvalidInputError line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"schema file {file} does not exist: check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"schema file {file} cannot be read ({exc}): give a UTF-8 JSON file") from None
    try:
        data = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except _DuplicateKeyError as exc:
        raise InvalidInputError(f"{file} names '{exc}' twice: each key (feature) may appear once") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{file} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): fix the file"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{file} holds a JSON {type(data).__name__}, not an object: see docs/features.md")
    return parse_schema(data, source=str(file))


class _DuplicateKeyError(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON allows repeated keys and keeps the last; a repeated feature is a mistake, not an override."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error" and where.endswith("dtype"):
        message = f"unknown dtype {error['input']!r}: use one of {', '.join(DTYPES)}"
    elif error["type"] == "extra_forbidden":
        message = f"unknown key '{error['loc'][-1]}': remove it or fix its spelling"
    elif error["type"] == "missing":
        message = "is required"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{where}: {message}{suffix}" if where else f"{message}{suffix}"
