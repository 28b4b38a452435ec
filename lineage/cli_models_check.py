"""`lineage diff` and `lineage reproduce`: why did a model change, and can it be rebuilt?

Thin translators over lineage.models.lineage_diff and lineage.models.reproduce.
`reproduce` exits 0 when the model reproduces (bit for bit or by metrics) or its inputs
verify, 1 when it does not reproduce (a finding), 2 for bad input (an unknown ref).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from lineage.cli import _open_store, _print_json, _print_table, handles_errors


@click.command("diff")
@click.argument("a_ref", metavar="A")
@click.argument("b_ref", metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Print every section as JSON (stable keys).")
@handles_errors
def diff(a_ref: str, b_ref: str, as_json: bool) -> None:
    """Why model version B differs from A: data, feature set, code, params, seed, environment, metrics.

    A and B are model refs (churn@1.1.0, churn@production). The text form shows only
    what differs, then names the sections that are the same.
    """
    from lineage.models.lineage_diff import diff_models, render_text

    result = diff_models(_open_store(), a_ref, b_ref)
    if as_json:
        _print_json(result.to_json())
        return
    for line in render_text(result):
        click.echo(line)


@click.command("reproduce")
@click.argument("ref")
@click.option("--rerun", is_flag=True, help="Run the recorded training command again in a clean folder and compare.")
@click.option("--workdir", default=None, metavar="DIR", help="Keep the re-run's code and output in DIR (new or empty).")
@click.option("--timeout", default=600.0, show_default=True, metavar="SECONDS", help="Stop a re-run after this long (a positive number).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (stable keys).")
@handles_errors
def reproduce(ref: str, rerun: bool, workdir: str | None, timeout: float, as_json: bool) -> None:
    """Check that REF's data, feature code, commit and artifact are intact; with --rerun, rebuild it.

    Verdicts: reproducible (bit-identical artifact), metrics-match (same metrics, other
    bytes), inputs-verified (no --rerun, everything checks out) or not-reproducible with
    the first divergence: data, features, code, artifact, environment or training
    ("not-reproducible: input purged" when data it was built from was purged).
    Exit 0, or 1 when it is not reproducible.
    """
    from lineage.models.reproduce import reproduce as run_reproduce
    from lineage.models.rerun import check_timeout
    from lineage.user_paths import given_path

    check_timeout(timeout, what="--timeout")
    if workdir is not None:
        given_path(workdir, what="--workdir", fix="give a new or empty folder, or leave --workdir out")
    report = run_reproduce(_open_store(), ref, rerun=rerun, workdir=workdir, timeout=timeout)
    if as_json:
        _print_json(report.to_json())
    else:
        _print_report(report)
    if not report.ok:
        sys.exit(1)


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    from lineage.models.reproduce import summarise_environment

    click.echo(f"{report.ref}: {report.summary}")
    if report.first_divergence:
        click.echo(f"first divergence: {report.first_divergence}: {report.divergence_detail()}")
    _print_table(["CHECK", "OK", "DETAIL"], [
        [c.name, "ok" if c.ok else ("differs" if c.name == "environment" else "FAILED"), c.detail]
        for c in report.checks])
    if report.rerun is not None:
        click.echo("rerun")
        for line in _rerun_lines(report.rerun):
            click.echo(f"  {line}")
    elif report.verdict != "not-reproducible":
        click.echo("inputs verified; run with --rerun to rebuild the artifact and compare it")
    env_differs = any(c.name == "environment" and not c.ok for c in report.checks)
    if report.first_divergence != "environment" and env_differs:
        click.echo(f"environment differs: {summarise_environment(report.environment_diff)}")


def _rerun_lines(run: dict[str, Any]) -> list[str]:
    if run["status"] == "skipped":
        return [f"skipped: {run['reason']}"]
    lines = [f"code: {run['code_source']}, {run['code']}", f"command: {' '.join(run['command'])}"]
    if run["status"] != "ran":
        lines.append(f"failed: {run['reason']}")
        tail = run["stderr"].strip().splitlines()[-5:]
        lines.extend(f"| {line}" for line in tail)
        return lines
    sha = run["artifact_sha256"]
    same = "identical" if run["artifact_match"] else "DIFFERENT"
    lines.append(f"artifact: {same} (recorded {str(sha['recorded'])[:12]}, rerun {str(sha['rerun'])[:12]}) "
                 f"in {run['duration_seconds']:.1f} s")
    for name, metric in run["metrics"].items():
        mark = "=" if metric["match"] else "!="
        lines.append(f"{name}: recorded {metric['recorded']} {mark} rerun {metric['rerun']}")
    if run["seed"]["recorded"] != run["seed"]["rerun"]:
        lines.append(f"seed: recorded {run['seed']['recorded']}, the re-run used {run['seed']['rerun']}")
    if not run["inputs_match"]:
        lines.append("the re-run read other inputs or another feature set than the recorded ones")
    if run.get("workdir"):
        lines.append(f"kept in {run['workdir']}")
    return lines
