"""`lineage profile` and `lineage drift`: distributions of a snapshot, and drift between two (over store.drift)."""

from __future__ import annotations

import sys

import click

from lineage.cli import _open_store, _print_json, _print_table, handles_errors
from lineage.numpy_setup import import_numpy_for_this_cpu


@click.command("profile")
@click.argument("ref")
@click.option("--refresh", is_flag=True, help="Recompute even if a profile is stored.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def profile(ref: str, refresh: bool, as_json: bool) -> None:
    """Per-column statistics of a snapshot (computed once, then stored)."""
    import_numpy_for_this_cpu()
    profiles = _open_store().drift.profile(ref, refresh=refresh)
    if as_json:
        _print_json({name: p.to_json() for name, p in profiles.items()})
        return
    rows = []
    for name, p in profiles.items():
        doc = p.to_json()
        quantiles = doc.get("quantiles") or {}
        rows.append([name, doc["kind"], doc["count"], doc["nulls"], doc["distinct"], _num(doc.get("min")),
                     _num(doc.get("mean")), _num(quantiles.get("p50")), _num(doc.get("max"))])
    _print_table(["COLUMN", "KIND", "COUNT", "NULLS", "DISTINCT", "MIN", "MEAN", "MEDIAN", "MAX"], rows)


def _num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


@click.command("drift")
@click.option("--reference", required=True, help="Snapshot ref, or a model ref/alias (its training features).")
@click.option("--current", required=True, help="Snapshot ref, e.g. an online log.")
@click.option("--feature-set", "feature_set", default=None, metavar="NAME@V", help="Check declared ranges and allowed values.")
@click.option("--features", default=None, help="Comma-separated features to compare (default: common features).")
@click.option("--drift-share", "drift_share", default=0.5, show_default=True, type=float,
              help="Share of drifted features at which the dataset drifts.")
@click.option("--fail-on-any", is_flag=True, help="Exit 1 when any feature drifts.")
@click.option("--correction", type=click.Choice(["bonferroni", "bh"]), default=None,
              help="Multiple-testing correction for the p-value tests.")
@click.option("--no-save", is_flag=True, help="Do not save the report in the store.")
@click.option("--streaming", is_flag=True, help="Bounded memory for data larger than memory (approximate; docs/drift.md).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def drift(reference: str, current: str, feature_set: str | None, features: str | None, drift_share: float,
          fail_on_any: bool, correction: str | None, no_save: bool, streaming: bool, as_json: bool) -> None:
    """Compare CURRENT against REFERENCE per feature; exit 1 when the dataset drifts (a pipeline gate)."""
    import_numpy_for_this_cpu()
    names = [f.strip() for f in features.split(",") if f.strip()] if features else None
    report = _open_store().drift.compare(reference, current, feature_set=feature_set, features=names,
                                         drift_share=drift_share, correction=correction, save=not no_save,
                                         streaming=streaming)
    document = report.to_json()
    if as_json:
        _print_json(document)
    else:
        overall = document["overall"]
        verdict = "DRIFT" if overall["drifted"] else "no drift"
        click.echo(f"{document['current']} vs {document['reference']}: {verdict} "
                   f"({overall['drifted_count']} of {overall['feature_count']} features, share {overall['share']:.2f})")
        _print_table(["FEATURE", "KIND", "TEST", "STATISTIC", "P_VALUE", "THRESHOLD", "DRIFTED", "PSI", "NEW"],
                     [[f["name"], f["kind"], f["test"], _num(f["statistic"]), _num(f["p_value"]), _num(f["threshold"]),
                       "yes" if f["drifted"] else "no", _num(f.get("psi")), ", ".join(f.get("new_categories") or [])]
                      for f in sorted(document["features"], key=lambda f: not f["drifted"])])
    if document["overall"]["drifted"] or (fail_on_any and any(f["drifted"] for f in document["features"])):
        sys.exit(1)
