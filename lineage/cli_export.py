"""`lineage export openlineage`: the store's history as OpenLineage RunEvents (JSON lines)."""

from __future__ import annotations

import sys

import click

from lineage.cli import _check_output_file, _open_store, _parse_time, handles_errors


@click.group("export")
def export() -> None:
    """Export lineage to other tools' formats."""


@export.command("openlineage")
@click.option("-o", "--output", "output", default=None, type=click.Path(dir_okay=False),
              help="Write JSON lines to this file (default: stdout).")
@click.option("--since", default=None, help="Only registrations at or after this time (ISO 8601, UTC).")
@click.option("--url", default=None, help="Also POST each event to this OpenLineage HTTP endpoint.")
@click.option("--namespace", default=None, help="Namespace of jobs and datasets (default: lineage://<store>).")
@handles_errors
def export_openlineage(output: str | None, since: str | None, url: str | None, namespace: str | None) -> None:
    """Snapshot registrations, derivations, materialisations and training runs as OpenLineage RunEvents."""
    from lineage.openlineage import export_items, export_lines, posting, write_jsonl
    from lineage.openlineage_io import check_endpoint, check_namespace

    moment = _parse_time(since, "--since")
    if output is not None:
        _check_output_file(output)
    if url is not None:
        check_endpoint(url)
    if namespace is not None:
        check_namespace(namespace)
    store = _open_store()
    if output and not url:  # the workers' slices are appended in bulk, not re-read line by line
        count = write_jsonl(export_items(store, since=moment, namespace=namespace), output)
        click.echo(f"wrote {count} OpenLineage events to {output}", err=True)
        return
    lines = export_lines(store, since=moment, namespace=namespace)  # streamed: flat memory
    if url:
        lines = posting(lines, url)
    if output:
        count = write_jsonl(lines, output)
        click.echo(f"wrote {count} OpenLineage events to {output}", err=True)
    elif url:
        count = sum(1 for _ in lines)
    else:
        for line in lines:
            sys.stdout.write(line + "\n")
    if url:
        click.echo(f"posted {count} OpenLineage events to {url}", err=True)
