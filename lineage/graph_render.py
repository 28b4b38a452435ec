"""Pure renderings of a ``LineageGraph``: JSON, Graphviz DOT and an indented text tree.

They take the graph and return data or text (no I/O), so the CLI, the dashboard and
tests share them. Dataset notes and names are user text: DOT strings escape quotes,
backslashes and line breaks, so no label can break out of its quotes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineage.audit import format_time
from lineage.edges import FEATURE_SET_VERSION, SNAPSHOT

if TYPE_CHECKING:
    from lineage.graph import GraphNode, LineageGraph

MODEL_VERSION = "model_version"
SHORT = 12

FILL = {  # one colour per snapshot stage, feature set and model
    "raw": "#f4cccc",
    "processed": "#fff2cc",
    "features": "#d9ead3",
    "online": "#d0e0e3",
    FEATURE_SET_VERSION: "#cfe2f3",
    MODEL_VERSION: "#d9d2e9",
}
PURGED_FILL = "#ffffff"  # a purged snapshot is drawn hollow: its bytes are gone, its record stays
SHAPE = {SNAPSHOT: "cylinder", FEATURE_SET_VERSION: "component", MODEL_VERSION: "box3d"}
KIND_LABEL = {SNAPSHOT: "snapshot", FEATURE_SET_VERSION: "feature set", MODEL_VERSION: "model"}


# -- JSON -------------------------------------------------------------------------------------
def node_json(node: GraphNode, *, with_aliases: bool) -> dict[str, Any]:
    """``{"id", "kind", "ref", "sha256", "depth", "created_at", ...details}``; model versions
    (and, with ``with_aliases``, every node) also get ``aliases`` and ``holds_alias``."""
    value: dict[str, Any] = {"id": node.id, "kind": node.kind, "ref": node.ref, "sha256": node.sha256,
                             "depth": node.depth, "created_at": format_time(node.created_at), **node.details}
    if with_aliases or node.kind == MODEL_VERSION:
        value["aliases"] = list(node.aliases)
        value["holds_alias"] = node.holds_alias
    return value


def graph_json(graph: LineageGraph) -> dict[str, Any]:
    """The stable JSON shape of trace and impact."""
    impact = graph.direction == "downstream"
    return {
        "root": graph.root,
        "direction": graph.direction,
        "as_of": format_time(graph.as_of) if graph.as_of is not None else None,
        "truncated": graph.truncated,
        "nodes": [node_json(n, with_aliases=impact) for n in graph.nodes],
        "edges": [{"from": e.parent, "to": e.child, "relation": e.relation} for e in graph.edges],
    }


# -- DOT --------------------------------------------------------------------------------------
def dot_string(value: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, line breaks as ``\\n``, controls dropped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    escaped = "".join(ch if ch >= " " or ch == "\t" else " " for ch in escaped)
    return f'"{escaped}"'


def node_label(node: GraphNode) -> str:
    """ref, then what it is and its short hash, then the aliases it holds."""
    what = f"{node.stage} snapshot" if node.kind == SNAPSHOT else KIND_LABEL.get(node.kind, node.kind)
    lines = [node.ref, f"{what} {node.sha256[:SHORT]}"]
    if node.aliases:
        lines.append("[" + ", ".join(node.aliases) + "]")
    purged = node.details.get("purged")
    if purged:
        lines.append(f"purged {str(purged['at'])[:10]}")
    return "\n".join(lines)


def graph_dot(graph: LineageGraph, rankdir: str = "LR") -> str:
    """A digraph whose edges point the way data flowed (parent → child), left to right (or ``rankdir``)."""
    title = f"{'trace' if graph.direction == 'upstream' else 'impact'} of {graph.root_node.ref}"
    if graph.as_of is not None:
        title += f" as of {format_time(graph.as_of)}"
    lines = [
        "digraph lineage {",
        f"  graph [rankdir={rankdir}, labelloc=t, fontname=Helvetica, label={dot_string(title)}];",
        '  node [style="rounded,filled", fontname=Helvetica, fontsize=10];',
        "  edge [fontname=Helvetica, fontsize=9];",
    ]
    for node in graph.nodes:
        fill = FILL.get(node.stage if node.kind == SNAPSHOT else node.kind, "#eeeeee")
        purged = node.details.get("purged")
        attributes = [f"label={dot_string(node_label(node))}", f"shape={SHAPE.get(node.kind, 'box')}",
                      f'fillcolor="{PURGED_FILL if purged else fill}"']
        note = str(node.details.get("note") or "")
        if purged:  # bytes erased on purpose: dashed outline, the reason as tooltip
            attributes.append('style="rounded,filled,dashed"')
            note = f"bytes purged on {purged['at']} by {purged['by']}: {purged['reason']}" + (f"\n{note}" if note else "")
        if note:
            attributes.append(f"tooltip={dot_string(note)}")
        if node.id == graph.root:
            attributes.append("peripheries=2")
        if node.aliases:
            attributes.append("penwidth=2")
        lines.append(f"  {dot_string(node.id)} [{', '.join(attributes)}];")
    for edge in graph.edges:
        attributes = [f"label={dot_string(edge.relation)}"]
        if edge.transform:
            attributes.append(f"tooltip={dot_string(edge.transform)}")
        lines.append(f"  {dot_string(edge.parent)} -> {dot_string(edge.child)} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- text tree --------------------------------------------------------------------------------
def describe(node: GraphNode) -> str:
    """One line about a node: ref, kind (with stage), short hash, aliases."""
    what = f"{node.stage} snapshot" if node.kind == SNAPSHOT else KIND_LABEL.get(node.kind, node.kind)
    hash_name = "set hash" if node.kind == FEATURE_SET_VERSION else "sha256"
    text = f"{node.ref}  {what}  {hash_name} {node.sha256[:SHORT]}"
    if node.aliases:
        text += "  [" + ", ".join(node.aliases) + "]"
    purged = node.details.get("purged")
    if purged:
        text += f"  [purged {purged['at']} by {purged['by']}: {purged['reason']}]"
    return text


def tree_lines(graph: LineageGraph) -> list[str]:
    """The graph as an indented tree from the root; a node met again is shown, not expanded.

    Upstream, each node's children are its parents (what it was built from);
    downstream, what was built from it.
    """
    upstream = graph.direction == "upstream"
    position = {n.id: i for i, n in enumerate(graph.nodes)}
    nodes = {n.id: n for n in graph.nodes}
    branches: dict[str, list[tuple[str, str]]] = {}
    for edge in graph.edges:
        near, far = (edge.child, edge.parent) if upstream else (edge.parent, edge.child)
        branches.setdefault(near, []).append((far, edge.relation))
    for items in branches.values():
        items.sort(key=lambda item: (position[item[0]], item[1]))
    lines = [describe(graph.root_node)]
    expanded = {graph.root}
    stack = [(graph.root, "", 0)]  # explicit stack: lineage chains can be deeper than Python's recursion limit
    while stack:
        node_id, prefix, index = stack.pop()
        items = branches.get(node_id, [])
        if index >= len(items):
            continue
        stack.append((node_id, prefix, index + 1))
        far, relation = items[index]
        last = index == len(items) - 1
        seen = far in expanded
        suffix = "  (see above)" if seen and branches.get(far) else ""
        lines.append(f"{prefix}{'└── ' if last else '├── '}{relation}: {describe(nodes[far])}{suffix}")
        if not seen:
            expanded.add(far)
            stack.append((far, prefix + ("    " if last else "│   "), 0))
    return lines
