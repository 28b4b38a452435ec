"""`lineage features …`: feature-set versions from the command line (a thin layer over store.features)."""

from __future__ import annotations

import sys

import click

from lineage.cli import _open_store, _print_json, _print_table, _progress, handles_errors


@click.group()
def features() -> None:
    """Register, diff, release, materialise, validate and parity-check feature-set versions."""


@features.command("register")
@click.argument("schema_file", metavar="SCHEMA.json")
@click.option("--module", "module", required=True, help="Module (dotted name or .py path) defining the feature set.")
@click.option("--allow-breaking", "allow_breaking", default="", metavar="REASON",
              help="Register despite a bump smaller than the changes require; the reason is audited.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def features_register(schema_file: str, module: str, allow_breaking: str, as_json: bool) -> None:
    """Register the feature-set version SCHEMA.json describes, computed by MODULE."""
    info = _open_store().features.register(schema_file, module, allow_breaking=allow_breaking)
    if as_json:
        _print_json(info.to_json())
        return
    verb = "registered" if info.created else "already registered as"
    change = f"  {info.change_class} change over {info.previous}" if info.previous else "  first version"
    click.echo(f"{verb} {info.ref}  {len(info.features)} features  {info.set_hash[:19]}{change}")
    if info.allow_breaking:
        click.echo(f"breaking change allowed: {info.allow_breaking}")
    if info.git_dirty:
        click.echo("warning: registered from a dirty work tree; commit and register a new version to release it")
    for affected in info.affected:
        click.echo(f"affects {affected}")


@features.command("list")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def features_list(as_json: bool) -> None:
    """List every feature-set version."""
    infos = _open_store().features.list()
    if as_json:
        _print_json([i.to_json() for i in infos])
        return
    _print_table(
        ["REF", "FEATURES", "CHANGE", "COMMIT", "TAG", "CREATED_AT", "CREATED_BY"],
        [[i.ref, len(i.features), i.change_class or "first", (i.git_commit[:10] or "-") + ("+dirty" if i.git_dirty else ""),
          i.released_tag or "-", i.created_at.strftime("%Y-%m-%d %H:%M:%SZ"), i.created_by] for i in infos],
    )


@features.command("show")
@click.argument("ref", metavar="NAME[@VERSION]")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def features_show(ref: str, as_json: bool) -> None:
    """Show one feature-set version (the highest when no version is given)."""
    info = _open_store().features.get(ref)
    if as_json:
        _print_json(info.to_json())
        return
    for key, value in (("ref", info.ref), ("entity", info.schema.get("entity") or "-"),
                       ("timestamp", info.schema.get("timestamp") or "-"), ("set hash", info.set_hash),
                       ("module", f"{info.module} ({info.module_path})"),
                       ("git", (info.git_commit or "-") + (" (dirty)" if info.git_dirty else "")),
                       ("previous", info.previous or "-"), ("change", info.change_class or "first version"),
                       ("tag", info.released_tag or "-"),
                       ("created", f"{info.created_at.isoformat()} by {info.created_by}")):
        click.echo(f"{key:<10} {value}")
    if info.allow_breaking:
        click.echo(f"{'breaking':<10} allowed: {info.allow_breaking}")
    _print_table(["FEATURE", "DTYPE", "NULLABLE", "CODE_HASH", "DESCRIPTION"],
                 [[f.name, f.dtype, info.schema["features"][f.name]["nullable"], f.code_hash[:19],
                   info.schema["features"][f.name]["description"]] for f in info.features])


@features.command("diff")
@click.argument("name")
@click.argument("from_version", metavar="V1")
@click.argument("to_version", metavar="V2")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def features_diff(name: str, from_version: str, to_version: str, as_json: bool) -> None:
    """Every change from V1 to V2 of feature set NAME, classified major/minor/patch."""
    diff = _open_store().features.diff(name, from_version, to_version)
    if as_json:
        _print_json(diff.to_json())
        return
    click.echo(f"{name} {from_version} -> {to_version}: requires a {diff.required_bump} bump")
    for change in diff.changes:
        click.echo(f"  {change.change_class:<5} {change.feature or '(set)'}: {change.detail}")
        if change.code_diff:
            click.echo("\n".join("        " + line for line in change.code_diff.rstrip().splitlines()))


@features.command("release")
@click.argument("ref", metavar="NAME@VERSION")
@handles_errors
def features_release(ref: str) -> None:
    """Tag the commit the version was registered from as <feature_set>/v<version>."""
    info = _open_store().features.release(ref)
    click.echo(f"released {info.ref} as git tag {info.released_tag} at {info.git_commit[:12]}")


@features.command("materialize")
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--snapshot", "snapshot_ref", required=True, help="The registered snapshot to compute on.")
@click.option("--dataset", default=None, help="Dataset of the result (default: <feature set>_values).")
@click.option("--version", "version", default=None, help="Version of the result (default: <fs version>-<dataset>-<version>).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def features_materialize(ref: str, snapshot_ref: str, dataset: str | None, version: str | None, as_json: bool) -> None:
    """Compute NAME@VERSION on a snapshot and register the result as a features snapshot."""
    from lineage.features.materialize import materialize

    info = materialize(_open_store(), ref, snapshot_ref, dataset=dataset, version=version,
                       progress=_progress(as_json))
    if as_json:
        _print_json(info.to_json())
        return
    verb = "registered" if info.created else "already registered as"
    click.echo(f"{verb} {info.ref}  sha256 {info.sha256}  {info.rows} rows x {info.columns} columns")


@features.command("validate")
@click.argument("ref", metavar="NAME@VERSION")
@click.argument("data_file", metavar="DATAFILE")
@click.option("--limit", default=50, show_default=True, help="Violations listed per feature and reason (0: counts only).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def features_validate(ref: str, data_file: str, limit: int, as_json: bool) -> None:
    """Check DATAFILE against the version's schema contract; exit 1 listing the violations."""
    from lineage.features.contracts import require_limit
    from lineage.features.validation import validate_file

    require_limit(limit)  # before reading anything
    report = validate_file(_open_store(), ref, data_file)
    if as_json:
        _print_json(report.to_json(limit_per_kind=limit))
    else:
        click.echo(report.summary_line())
        for violation in report.to_json(limit_per_kind=limit)["violations"]:
            row = "-" if violation["row"] is None else violation["row"]
            click.echo(f"  row {row}  {violation['feature']}  {violation['reason']}: {violation['detail']}")
    if not report.ok:
        sys.exit(1)


@features.command("parity")
@click.argument("ref", metavar="NAME@VERSION")
@click.option("--snapshot", "snapshot_ref", required=True, help="The registered snapshot whose rows are compared.")
@click.option("--sample", default=200, show_default=True, help="How many random rows to compute both ways.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def features_parity(ref: str, snapshot_ref: str, sample: int, as_json: bool) -> None:
    """Compute sample rows offline (batch) and online (one record); exit 1 on any mismatch."""
    from lineage.features.parity import parity

    report = parity(_open_store(), ref, snapshot_ref, sample=sample)
    if as_json:
        _print_json(report.to_json())
    else:
        state = "parity ok" if report.ok else f"{len(report.mismatches)} MISMATCHES"
        click.echo(f"{report.feature_set} on {report.snapshot}: {report.rows_checked} rows, {state}")
        for m in report.mismatches[:50]:
            click.echo(f"  {m.entity}  {m.feature}: offline {m.offline!r} online {m.online!r}")
    if not report.ok:
        sys.exit(1)
