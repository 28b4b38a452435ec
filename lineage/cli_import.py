"""`lineage import dvc`: register what a DVC repository tracks, checked against DVC's md5."""

from __future__ import annotations

import sys

import click

from lineage.cli import _open_store, _print_json, _progress, handles_errors


@click.group("import")
def import_group() -> None:
    """Import data and lineage recorded by other tools."""


@import_group.command("dvc")
@click.argument("repo_path", metavar="REPO_PATH")
@click.option("--prefix", default="", help="Put this before every dataset name (e.g. churn_ for several repos).")
@click.option("--no-copy", is_flag=True, help="Record the workspace files where they lie instead of copying them.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome for every output as JSON.")
@handles_errors
def import_dvc_command(repo_path: str, prefix: str, no_copy: bool, as_json: bool) -> None:
    """Register each file or folder tracked by the DVC repository at REPO_PATH as a snapshot.

    Reads its .dvc files and dvc.lock stages, checks the bytes against DVC's md5 and links
    pipeline outputs to their inputs. Exit 1, writing nothing, when any output's bytes do
    not match what DVC recorded.
    """
    from lineage.dvc_import import import_dvc
    from lineage.dvc_import.result import MISMATCH

    result = import_dvc(_open_store(), repo_path, copy=not no_copy, prefix=prefix, progress=_progress(as_json))
    if as_json:
        _print_json(result.to_json())
    else:
        for out in result.outs:
            if out.ref:
                parents = f"  from {', '.join(out.parents)}" if out.parents else ""
                click.echo(f"{out.status:<11} {out.ref}  sha256 {(out.sha256 or '')[:12]}  md5 {(out.md5 or '')[:12]}  "
                           f"({out.source}){parents}")
            elif out.status == MISMATCH:
                click.echo(f"MISMATCH    {out.path} ({out.declared_in}): {out.detail}")
            else:
                click.echo(f"{out.status:<11} {out.path}: {out.detail}")
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    if not result.ok:
        bad = result.count(MISMATCH)
        click.echo(f"nothing was imported: {bad} output{'s' if bad != 1 else ''} do{'es' if bad == 1 else ''} "
                   "not match the md5 DVC recorded", err=True)
        sys.exit(1)
