"""Drift between a reference and a current snapshot, feature by feature, and overall.

Every feature gets every measure its kind allows (numeric: KS, PSI, Jensen–Shannon,
normalised Wasserstein; categorical: chi-square, PSI, Jensen–Shannon, new and missing
categories; both: null rates, dtypes, contract violations), and a verdict from one
*test*: by default Evidently's choice, so users moving from it get the same verdicts on
the same data (docs/drift.md has the table), or the one named in ``tests``.

Exact mode reads the needed columns into memory and sorts each numeric column once, in a
few threads (NumPy sorts without the GIL); streaming mode reads Parquet batch by batch
into mergeable sketches and reports an error bound next to every approximate figure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from lineage.drift import stats
from lineage.drift.blas import one_blas_thread
from lineage.drift.columns import (
    SMALL_DISTINCT_CAP,
    CategoricalPartial,
    Contract,
    NumericPartial,
    kind_of,
    logical_dtype,
)
from lineage.drift.ks_helper import KsHelper, helper_pays
from lineage.drift.profile import ProfileAccumulator, is_exact, weighted_values
from lineage.drift.report import DriftReport, FeatureDrift
from lineage.drift.source import Data, Source, open_source
from lineage.errors import InvalidInputError

TESTS = ("ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z")
NUMERIC_ONLY_TESTS = ("ks", "wasserstein")
P_VALUE_TESTS = ("ks", "chisquare", "z")
DEFAULT_THRESHOLDS = {"ks": 0.05, "chisquare": 0.05, "z": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1}
SMALL_REFERENCE_ROWS = 1000
"""Evidently's switch: up to this many reference values, p-value tests; above, distances."""
EFFECT_FLOOR = 0.1
"""A p-value test that drifts while JS and Wasserstein stay under this gets the sample-size note."""


@dataclass(frozen=True)
class _AwaitingKsPValue:
    """A numeric feature measured in full but for its asymptotic KS p-value.

    That p-value is SciPy's ``kstwo``, and scipy.stats may still be importing on its own
    thread. Rather than block a worker (and a core) on the import, the worker hands the
    feature back and the calling thread, which has nothing else to do, ``settle``s it.
    """

    finish: Callable[[float], FeatureDrift]
    ks: float
    n_ref: int
    n_cur: int

    def settle(self) -> FeatureDrift:
        return self.finish(stats.ks_pvalue(self.ks, self.n_ref, self.n_cur))


def _settled(result: FeatureDrift | _AwaitingKsPValue) -> FeatureDrift:
    return result.settle() if isinstance(result, _AwaitingKsPValue) else result


@dataclass
class _Side:
    partial: NumericPartial | CategoricalPartial | None
    dtype: str | None
    arrow_type: pa.DataType | None


def compare(
    reference: Data,
    current: Data,
    *,
    features: Sequence[str] | None = None,
    schema: Any | None = None,
    thresholds: Mapping[str, float] | None = None,
    tests: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    drift_share: float = 0.5,
    correction: str | None = None,
    streaming: bool = False,
    reference_name: str = "",
    current_name: str = "",
    reference_feature_set: str | None = None,
    current_feature_set: str | None = None,
) -> DriftReport:
    """Compare two snapshots on their common columns (or ``features``, or ``schema``'s features).

    ``reference``/``current``: a pyarrow Table, a pandas DataFrame, a Parquet file or
    directory, or an iterable of record batches. ``schema`` (a FeatureSetSchema) adds
    range/allowed-set checks. ``tests``/``thresholds`` override the test and threshold per
    feature; ``kinds`` forces 'numeric' or 'categorical' (a low-cardinality int as
    categorical, say). ``correction``: None, 'bonferroni' or 'bh' on the p-value tests.
    The dataset drifts when the share of drifted features is at least ``drift_share``.
    """
    if reference_feature_set and current_feature_set and reference_feature_set != current_feature_set and not features:
        raise InvalidInputError(
            f"reference is {reference_feature_set} and current is {current_feature_set}: "
            "pass an explicit feature list to compare snapshots of different feature sets"
        )
    if correction not in (None, *stats.CORRECTIONS):
        raise InvalidInputError(f"unknown correction {correction!r}: use one of {', '.join(stats.CORRECTIONS)} or none")
    if not 0 < drift_share <= 1:
        raise InvalidInputError(f"drift_share {drift_share} is not in (0, 1]: give a share such as 0.5")
    ref_source = open_source(reference, label="reference")
    cur_source = open_source(current, label="current")
    names = _feature_names(features, schema, ref_source.schema, cur_source.schema)
    tests = dict(tests or {})
    thresholds = dict(thresholds or {})
    kinds = dict(kinds or {})
    for option, mapping in (("tests", tests), ("thresholds", thresholds), ("kinds", kinds)):
        unknown = [k for k in mapping if k not in names]
        if unknown:
            raise InvalidInputError(f"{option} names {', '.join(unknown)}, not among the compared features: fix the name")
    for name, test in tests.items():
        if test not in TESTS:
            raise InvalidInputError(f"unknown test {test!r} for '{name}': use one of {', '.join(TESTS)}")
    ref_kinds = _resolve_kinds(names, ref_source.schema, kinds, "reference")
    cur_kinds = _resolve_kinds(names, cur_source.schema, kinds, "current")
    contracts = _contracts(schema, names)

    if streaming:
        stats.warm_up()
        ref_acc = ProfileAccumulator(ref_source.schema, list(ref_kinds), streaming=True, contracts=contracts,
                                     kinds=ref_kinds)
        for batch in ref_source.batches(list(ref_kinds)):
            ref_acc.update(batch)
        _refuse_empty_reference(ref_acc.rows)
        cur_acc = ProfileAccumulator(cur_source.schema, list(cur_kinds), streaming=True, contracts=contracts,
                                     kinds=cur_kinds, centers=ref_acc.centers)
        for batch in cur_source.batches(list(cur_kinds)):
            cur_acc.update(batch)
        results = [
            _settled(_feature(name, _side(ref_acc, ref_source.schema, name), _side(cur_acc, cur_source.schema, name),
                              tests.get(name), thresholds.get(name), schema, streaming=True))
            for name in names
        ]
    else:
        ref_source.materialise(list(ref_kinds))
        cur_source.materialise(list(cur_kinds))
        ref_rows = ref_source.count_rows()
        _refuse_empty_reference(ref_rows)
        numeric = any(kind == "numeric" for kind in ref_kinds.values())
        use_helper = numeric and helper_pays(ref_rows + cur_source.count_rows())
        helper: KsHelper | None = None

        def work(name: str) -> FeatureDrift | _AwaitingKsPValue:
            ref = _exact_side(ref_source, name, ref_kinds.get(name), contracts.get(name))
            cur = _exact_side(cur_source, name, cur_kinds.get(name), contracts.get(name))
            return _feature(name, ref, cur, tests.get(name), thresholds.get(name), schema, streaming=False)

        try:
            helper = KsHelper(stats.kstwo_sf) if use_helper else None
            stats.warm_up(scipy_stats=helper is None)
            # One worker more than the cores: sorts and reads release the GIL, the Python between them
            # (and SciPy's import on its own thread) does not, and a spare thread keeps both cores busy.
            # NumPy's BLAS gets one thread meanwhile (see blas.py).
            with one_blas_thread(), ThreadPoolExecutor(max_workers=min(4, (os.cpu_count() or 1) + 1)) as pool:
                measured: list[FeatureDrift | _AwaitingKsPValue] = []
                for result in pool.map(work, names):  # KS p-values are added here while the workers go on
                    if helper is not None and isinstance(result, _AwaitingKsPValue):
                        helper.submit(result.ks, stats.ks_asymptotic_n(result.n_ref, result.n_cur))
                        measured.append(result)
                    else:
                        measured.append(_settled(result))
            sfs = iter(helper.collect() if helper is not None else ())
            results = [r.finish(stats.clip_probability(next(sfs))) if isinstance(r, _AwaitingKsPValue) else r
                       for r in measured]
        finally:
            if helper is not None:
                helper.close()

    results = _apply_correction(results, correction)
    drifted = sum(1 for f in results if f.drifted)
    share = drifted / len(results)
    return DriftReport(
        reference=reference_name, current=current_name,
        overall={"drifted": share >= drift_share, "share": share, "drifted_count": drifted,
                 "feature_count": len(results), "drift_share_threshold": drift_share},
        features=results, mode="streaming" if streaming else "exact", correction=correction,
        reference_feature_set=reference_feature_set, current_feature_set=current_feature_set,
        schema=getattr(schema, "ref", None),
    )


def _feature_names(features: Sequence[str] | None, schema: Any, ref: pa.Schema, cur: pa.Schema) -> list[str]:
    if features is not None:
        names = list(features)
        if not names:
            raise InvalidInputError("the feature list is empty: name at least one feature, or pass none to compare all")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidInputError(f"feature(s) {', '.join(repeated)} listed twice: list each once")
    elif schema is not None:
        names = list(schema.features)
    else:
        names = [f.name for f in ref if f.name in cur.names and kind_of(f.type) and kind_of(cur.field(f.name).type)]
        if not names:
            raise InvalidInputError(
                "reference and current share no comparable column: check that they are snapshots of the same data"
            )
    absent = [n for n in names if n not in ref.names and n not in cur.names]
    if absent:
        raise InvalidInputError(
            f"feature(s) {', '.join(absent)} missing from both reference and current: check the names "
            f"(reference has {', '.join(ref.names[:20])})"
        )
    return names


def _resolve_kinds(names: list[str], schema: pa.Schema, kinds: Mapping[str, str], label: str) -> dict[str, str]:
    """Kind of each feature present on this side; a forced kind the column cannot take is refused."""
    resolved = {}
    for name in names:
        if name not in schema.names:
            continue
        natural = kind_of(schema.field(name).type)
        wanted = kinds.get(name, natural)
        if wanted not in ("numeric", "categorical", None):
            raise InvalidInputError(f"kind {wanted!r} for '{name}' is unknown: use 'numeric' or 'categorical'")
        if natural is None:
            raise InvalidInputError(
                f"'{name}' in {label} has type {schema.field(name).type}, which cannot be compared: leave it out of features"
            )
        if wanted == "numeric" and natural != "numeric":
            raise InvalidInputError(
                f"'{name}' in {label} is {schema.field(name).type}, not numeric: compare it as categorical instead"
            )
        resolved[name] = wanted
    return resolved


def _contracts(schema: Any, names: list[str]) -> dict[str, Contract]:
    if schema is None:
        return {}
    out = {}
    for name in names:
        spec = schema.features.get(name)
        if spec is None:
            continue
        number = (int, float)
        lo = spec.min if isinstance(spec.min, number) and not isinstance(spec.min, bool) else None
        hi = spec.max if isinstance(spec.max, number) and not isinstance(spec.max, bool) else None
        allowed = tuple(spec.allowed) if spec.allowed is not None else None
        if lo is not None or hi is not None or allowed is not None:
            out[name] = Contract(min=lo, max=hi, allowed=allowed)
    return out


def _refuse_empty_reference(rows: int) -> None:
    if rows == 0:
        raise InvalidInputError("the reference has no rows: compare against a snapshot with data")


def _exact_side(source: Source, name: str, kind: str | None, contract: Contract | None) -> _Side:
    if kind is None:
        return _Side(None, None, None)
    column = source.column(name)
    partial: NumericPartial | CategoricalPartial = NumericPartial() if kind == "numeric" else CategoricalPartial()
    for chunk in column.chunks:
        partial.add(chunk, contract)
    return _Side(partial, logical_dtype(column.type), column.type)


def _side(acc: ProfileAccumulator, schema: pa.Schema, name: str) -> _Side:
    if name not in acc.kinds:
        return _Side(None, None, None)
    arrow_type = schema.field(name).type
    return _Side(acc.partial(name), logical_dtype(arrow_type), arrow_type)


def _feature(name: str, ref: _Side, cur: _Side, test: str | None, threshold: float | None, schema: Any,
             *, streaming: bool) -> FeatureDrift | _AwaitingKsPValue:
    spec = schema.features.get(name) if schema is not None else None
    base: dict[str, Any] = {"dtype_ref": ref.dtype, "dtype_cur": cur.dtype}
    if ref.partial is not None:
        base.update(rows_ref=ref.partial.rows, null_rate_ref=_rate(ref.partial.nulls, ref.partial.rows))
    if cur.partial is not None:
        base.update(rows_cur=cur.partial.rows, null_rate_cur=_rate(cur.partial.nulls, cur.partial.rows))
    declared = spec.dtype if spec is not None else None
    base["dtype_mismatch"] = _dtype_mismatch(ref.dtype, cur.dtype, declared)
    if spec is not None:
        if ref.partial is not None:
            base["out_of_contract_ref"] = _violations(ref.partial, spec)
        if cur.partial is not None:
            base["out_of_contract_cur"] = _violations(cur.partial, spec)
    if base.get("null_rate_ref") is not None and base.get("null_rate_cur") is not None:
        base["null_rate_change"] = base["null_rate_cur"] - base["null_rate_ref"]
    if cur.partial is None or ref.partial is None:
        where = "current" if cur.partial is None else "reference"
        return FeatureDrift(name=name, kind=None, test="missing", statistic=None, p_value=None, threshold=None,
                            drifted=True, missing_in_current=cur.partial is None,
                            missing_in_reference=ref.partial is None, note=f"feature missing from {where}", **base)
    if type(ref.partial) is not type(cur.partial):
        return FeatureDrift(name=name, kind=None, test="dtype", statistic=None, p_value=None, threshold=None,
                            drifted=True, note=f"reference is {ref.arrow_type} and current is {cur.arrow_type}: "
                            "not comparable (force kinds={name: 'categorical'} to compare values)", **base)
    if isinstance(ref.partial, NumericPartial):
        assert isinstance(cur.partial, NumericPartial)
        return _numeric(name, ref.partial, cur.partial, test, threshold, base, streaming=streaming,
                        integer=pa.types.is_integer(ref.arrow_type) and pa.types.is_integer(cur.arrow_type))
    assert isinstance(cur.partial, CategoricalPartial)
    if test in NUMERIC_ONLY_TESTS:
        raise InvalidInputError(f"test '{test}' needs a numeric feature and '{name}' is categorical: "
                                "use chisquare, z, jensenshannon or psi")
    return _categorical(name, ref.partial, cur.partial, test, threshold, base)


def _numeric(name: str, ref_p: NumericPartial, cur_p: NumericPartial, test: str | None, threshold: float | None,
             base: dict[str, Any], *, streaming: bool, integer: bool) -> FeatureDrift | _AwaitingKsPValue:
    exact = is_exact(ref_p) and is_exact(cur_p)
    ref, cur = weighted_values(ref_p), weighted_values(cur_p)
    base.update(values_ref=ref.n, values_cur=cur.n, exact=exact)
    empty = _empty_verdict(name, "numeric", ref.n, cur.n, cur_p.rows, test, base)
    if empty is not None:
        return empty
    merged = stats.merge_ecdf(ref, cur)
    union_distinct = merged.values.size if exact else SMALL_DISTINCT_CAP + 1
    ref_distinct = stats.distinct_count(ref.values) if is_exact(ref_p) else SMALL_DISTINCT_CAP + 1
    ks_p: float | None = None
    if exact and ref.counts is None and cur.counts is None and max(ref.n, cur.n) <= stats.KS_EXACT_MAX_N:
        ks, ks_p = stats.ks_test(ref.values, cur.values, merged)  # SciPy's exact p-value on small samples
    else:
        ks = stats.ks_statistic(merged)
    w_norm = stats.wasserstein_norm(merged, ref_p.std)
    edges = stats.psi_edges(ref)
    psi = stats.psi(stats.right_closed_counts(ref, edges), stats.right_closed_counts(cur, edges))
    integer = integer and ref_p.integer and cur_p.integer
    ref_bins, cur_bins = stats.evidently_numeric_bins(ref, cur, ref_distinct=ref_distinct, integer=integer)
    js = stats.jensenshannon(ref_bins, cur_bins)
    chosen = test or _default_test("numeric", ref.n, union_distinct)
    measures = {"wasserstein": (w_norm, None), "psi": (psi, None), "jensenshannon": (js, None)}
    if chosen in ("chisquare", "z"):
        measures[chosen] = _value_test(chosen, ref_bins, cur_bins, name)
    error_bound = None
    if not exact:
        ref_sk, cur_sk = ref_p.sketch, cur_p.sketch
        ks_bound = max(ref_sk.max_bucket_share() if ref_sk else 0.0, cur_sk.max_bucket_share() if cur_sk else 0.0)
        w_bound = ((ref_sk.mean_abs_error_bound() if ref_sk and ref_p.small is None else 0.0)
                   + (cur_sk.mean_abs_error_bound() if cur_sk and cur_p.small is None else 0.0))
        error_bound = {"ks": ks_bound, "wasserstein_norm": w_bound / max(ref_p.std, stats.STD_FLOOR)}

    def finish(ks_p: float) -> FeatureDrift:
        return _verdict(name, "numeric", chosen, {"ks": (ks, ks_p), **measures}, threshold, base, ks=ks, ks_p=ks_p,
                        psi=psi, js=js, w_norm=w_norm, error_bound=error_bound)

    return finish(ks_p) if ks_p is not None else _AwaitingKsPValue(finish, ks, ref.n, cur.n)


def _categorical(name: str, ref_p: CategoricalPartial, cur_p: CategoricalPartial, test: str | None,
                 threshold: float | None, base: dict[str, Any]) -> FeatureDrift:
    ref_n, cur_n = ref_p.n, cur_p.n
    base.update(values_ref=ref_n, values_cur=cur_n,
                new_categories=_ordered([k for k in cur_p.counts if k not in ref_p.counts]),
                missing_categories=_ordered([k for k in ref_p.counts if k not in cur_p.counts]))
    empty = _empty_verdict(name, "categorical", ref_n, cur_n, cur_p.rows, test, base)
    if empty is not None:
        return empty
    keys = _ordered(list({**ref_p.counts, **cur_p.counts}))
    ref_counts = np.array([ref_p.counts.get(k, 0) for k in keys], dtype=np.int64)
    cur_counts = np.array([cur_p.counts.get(k, 0) for k in keys], dtype=np.int64)
    chi_stat, chi_p = stats.chisquare(ref_counts, cur_counts)
    psi = stats.psi(ref_counts, cur_counts)
    js = stats.jensenshannon(ref_counts, cur_counts)
    chosen = test or _default_test("categorical", ref_n, len(keys))
    measures = {"chisquare": (chi_stat, chi_p), "psi": (psi, None), "jensenshannon": (js, None)}
    if chosen == "z":
        measures["z"] = _value_test("z", ref_counts, cur_counts, name)
    return _verdict(name, "categorical", chosen, measures, threshold, base, psi=psi, js=js, chi_p=chi_p)


def _default_test(kind: str, ref_values: int, union_distinct: int) -> str:
    """Evidently 0.7's choice (``_get_default_stattest``), on non-null reference values."""
    if ref_values <= SMALL_REFERENCE_ROWS:
        if kind == "numeric" and union_distinct > 5:
            return "ks"
        return "chisquare" if union_distinct > 2 else "z"
    if kind == "numeric" and union_distinct > 5:
        return "wasserstein"
    return "jensenshannon"


def _value_test(test: str, ref_counts: np.ndarray, cur_counts: np.ndarray, name: str) -> tuple[float, float]:
    if test == "chisquare":
        return stats.chisquare(ref_counts, cur_counts)
    if ref_counts.size > 2:
        raise InvalidInputError(f"the Z-test compares two values and '{name}' has {ref_counts.size}: use chisquare")
    return stats.z_test(ref_counts, cur_counts)


def _verdict(name: str, kind: str, test: str, measures: Mapping[str, tuple[float, float | None]],
             threshold: float | None, base: dict[str, Any], *, ks: float | None = None, ks_p: float | None = None,
             psi: float | None = None, js: float | None = None, w_norm: float | None = None,
             chi_p: float | None = None, error_bound: dict[str, float] | None = None) -> FeatureDrift:
    statistic, p_value = measures[test]
    limit = DEFAULT_THRESHOLDS[test] if threshold is None else threshold
    drifted = (p_value < limit) if test in P_VALUE_TESTS else (statistic >= limit)
    note = ""
    if test in P_VALUE_TESTS and drifted and js is not None and js < EFFECT_FLOOR and (w_norm is None or w_norm < EFFECT_FLOOR):
        note = _sample_size_note(p_value, base, js, w_norm)
    return FeatureDrift(
        name=name, kind=kind, test=test, statistic=statistic, p_value=p_value, threshold=limit, drifted=bool(drifted),
        psi=psi, js=js, wasserstein_norm=w_norm, ks=ks, ks_p_value=ks_p, chisquare_p_value=chi_p,
        psi_band=stats.psi_band(psi), error_bound=error_bound, note=note, **base,
    )


def _sample_size_note(p_value: float | None, base: Mapping[str, Any], js: float, w_norm: float | None) -> str:
    sizes = f"{base.get('values_ref', 0):,} and {base.get('values_cur', 0):,} values"
    effect = f"JS {js:.3f}" + (f", Wasserstein {w_norm:.3f}" if w_norm is not None else "")
    return (f"p = {p_value:.2g} on {sizes}, but the effect is small ({effect}, both under {EFFECT_FLOOR}): "
            "large samples make tiny differences significant; judge by the distances")


def _empty_verdict(name: str, kind: str, ref_n: int, cur_n: int, cur_rows: int, test: str | None,
                   base: dict[str, Any]) -> FeatureDrift | None:
    """No distribution to test on one side: no rows in current (no verdict), or all null on one side (drift)."""
    if ref_n and cur_n:
        return None
    if cur_rows == 0:
        drifted, note = False, "current has no rows: nothing to compare"
    elif ref_n == 0 and cur_n == 0:
        drifted, note = False, "no non-null values on either side"
    elif cur_n == 0:
        drifted, note = True, "every current value is null"
    else:
        drifted, note = True, "every reference value is null"
    return FeatureDrift(name=name, kind=kind, test=test or "none", statistic=None, p_value=None, threshold=None,
                        drifted=drifted, note=note, **base)


def _apply_correction(results: list[FeatureDrift], correction: str | None) -> list[FeatureDrift]:
    if correction is None:
        return results
    tested = [i for i, f in enumerate(results) if f.test in P_VALUE_TESTS and f.p_value is not None]
    adjusted = stats.adjust_pvalues([results[i].p_value for i in tested], correction)  # type: ignore[misc]
    out = list(results)
    from dataclasses import replace

    for i, p in zip(tested, adjusted, strict=True):
        f = out[i]
        drifted = p < (f.threshold if f.threshold is not None else DEFAULT_THRESHOLDS[f.test])
        out[i] = replace(f, p_value_adjusted=p, drifted=bool(drifted), note=f.note if drifted else "")
    return out


def _violations(partial: NumericPartial | CategoricalPartial, spec: Any) -> dict[str, int]:
    if isinstance(partial, CategoricalPartial):
        return {"below_min": 0, "above_max": 0, "not_allowed": partial.not_allowed(spec.allowed),
                "null_in_required": 0 if spec.nullable else partial.nulls}
    return {"below_min": partial.below_min, "above_max": partial.above_max, "not_allowed": partial.not_allowed,
            "null_in_required": 0 if spec.nullable else partial.nulls}


_COMPATIBLE = {"category": "string"}


def _dtype_mismatch(ref: str | None, cur: str | None, declared: str | None) -> bool:
    seen = {_COMPATIBLE.get(d, d) for d in (ref, cur, declared) if d is not None}
    return len(seen) > 1


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _ordered(keys: list[Any]) -> list[Any]:
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=repr)

