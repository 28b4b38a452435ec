"""`lineage trace` and `lineage impact`: the lineage graph from the command line (over lineage.graph)."""

from __future__ import annotations

import click

from lineage.cli import _open_store, _parse_time, _print_json, handles_errors

AS_OF_HELP = "The graph as it stood at this UTC time (ISO 8601, e.g. 2026-03-03T12:00:00Z)."


def graph_options(command):  # type: ignore[no-untyped-def]
    """REF, --as-of, --json and --dot: the same for trace and impact."""
    for option in reversed((
        click.argument("ref"),
        click.option("--as-of", "as_of", default=None, metavar="TIME", help=AS_OF_HELP),
        click.option("--json", "as_json", is_flag=True, help="Print the graph as JSON (root, nodes, edges)."),
        click.option("--dot", "as_dot", is_flag=True, help="Print Graphviz DOT (render with `dot -Tsvg`)."),
    )):
        command = option(command)
    return command


@click.command()
@graph_options
@handles_errors
def trace(ref: str, as_of: str | None, as_json: bool, as_dot: bool) -> None:
    """Everything REF was built from, back to the raw snapshots, each with its hash.

    REF is a model version (churn@1.2.0, churn@production), a feature-set version
    (customer_features@2.1.0) or a snapshot (dataset@version, dataset, sha256 prefix);
    a name that could be several is tried as a model, then a feature set, then a snapshot.
    """
    from lineage.graph import trace as trace_graph

    if as_json and as_dot:
        raise click.UsageError("give --json or --dot, not both")
    graph = trace_graph(_open_store(), ref, as_of=_parse_time(as_of, "--as-of"))
    _show(graph, as_json, as_dot)


@click.command()
@graph_options
@handles_errors
def impact(ref: str, as_of: str | None, as_json: bool, as_dot: bool) -> None:
    """Everything built from REF: derived snapshots, materialisations, model versions and their aliases.

    REF is a snapshot or a feature-set version (any trace REF works). Model versions
    that hold an alias (at --as-of, else now) are marked: they are what serving uses.
    """
    from lineage.graph import impact as impact_graph

    if as_json and as_dot:
        raise click.UsageError("give --json or --dot, not both")
    graph = impact_graph(_open_store(), ref, as_of=_parse_time(as_of, "--as-of"))
    _show(graph, as_json, as_dot)
    if not (as_json or as_dot):
        click.echo(_impact_summary(graph))


def _show(graph, as_json: bool, as_dot: bool) -> None:  # type: ignore[no-untyped-def]
    from lineage.graph_render import tree_lines

    if graph.truncated:
        from lineage.graph import MAX_DEPTH

        click.echo(f"warning: the edge table holds a cycle or lineage deeper than {MAX_DEPTH} levels (not shown); "
                   "registration creates neither: check the database", err=True)
    if as_json:
        _print_json(graph.to_json())
    elif as_dot:
        click.echo(graph.to_dot(), nl=False)
    else:
        if graph.as_of is not None:
            click.echo(f"as of {graph.as_of.strftime('%Y-%m-%d %H:%M:%SZ')}")
        for line in tree_lines(graph):
            click.echo(line)


def _impact_summary(graph) -> str:  # type: ignore[no-untyped-def]
    below = graph.nodes[1:]
    snapshots = [n for n in below if n.kind == "snapshot"]
    models = [n for n in below if n.kind == "model_version"]
    stages = ", ".join(f"{sum(1 for n in snapshots if n.stage == s)} {s}" for s in
                       dict.fromkeys(n.stage for n in snapshots))
    text = f"{len(snapshots)} snapshot(s){f' ({stages})' if stages else ''}, {len(models)} model version(s)"
    holders = graph.alias_holders()
    if holders:
        return text + "; holding an alias: " + ", ".join(f"{n.ref} [{', '.join(n.aliases)}]" for n in holders)
    return text + "; none holds an alias"
