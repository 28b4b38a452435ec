"""Trace (upstream) and impact (downstream) over the lineage graph, now or as of a past instant.

Every relation is a row of the one ``edge`` table, so each question is answered by one
recursive query over it (``ix_edge_child`` walks up, ``ix_edge_parent`` walks down),
followed by at most one batched query per node kind for the node details: the number
of statements never grows with the graph (no N+1). Records are append-only and carry
their time, so ``as_of`` bounds the walk by the edges' ``created_at``, drops nodes
registered after T and reads aliases from the events up to T: the graph as it stood at T.

Refs name a model version, a feature-set version or a snapshot; when a name could be
several kinds, resolution tries **model, then feature set, then snapshot** (see
``lineage/graph_refs.py``). SQL is text that runs unchanged on SQLite and PostgreSQL,
except the id-list filter; rendering (JSON, DOT, tree) is pure and lives in
``lineage/graph_render.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import DateTime, Integer, String, bindparam, text
from sqlalchemy.engine import Connection

from lineage.audit import format_time
from lineage.db import driver_rows
from lineage.edges import FEATURE_SET_VERSION, SNAPSHOT
from lineage.graph_refs import MODEL_VERSION, resolve

if TYPE_CHECKING:
    from lineage.store import Store

UPSTREAM, DOWNSTREAM = "upstream", "downstream"
MAX_DEPTH = 1000
"""The walk stops here: far deeper than any real pipeline, so reaching it means a cycle."""
EDGE_SLACK = timedelta(seconds=1)
"""An edge is written in its child's registration transaction, a moment *after* the child's
own timestamp. As of T, the walk admits edges up to T + EDGE_SLACK and then drops every node
registered after T, so a node registered exactly at T keeps its edges."""


# -- entities ---------------------------------------------------------------------------------
# Nodes and edges are immutable named tuples rather than frozen dataclasses: a graph can hold
# thousands of them, and building a named tuple costs a quarter of a frozen dataclass.
class GraphNode(NamedTuple):
    """One node: its id (``kind:row_id``), ref, content hash and kind-specific details.

    ``sha256`` is the snapshot's bytes, the model's artifact, or the feature-set
    version's set hash (without its ``sha256:`` prefix). ``depth`` is the shortest
    distance from the root. ``aliases`` are the aliases a model version holds (at
    ``as_of`` when given). ``details`` holds the kind-specific JSON fields (read-only).
    """

    id: str
    kind: str
    ref: str
    sha256: str
    depth: int
    created_at: datetime
    aliases: tuple[str, ...]
    details: Mapping[str, Any]

    @property
    def holds_alias(self) -> bool:
        return bool(self.aliases)

    @property
    def stage(self) -> str:
        """The snapshot stage (raw, processed, features, online), "" for other kinds."""
        return str(self.details.get("stage", ""))


class GraphEdge(NamedTuple):
    """A lineage edge from a parent node to a child node (data flows parent → child)."""

    parent: str
    child: str
    relation: str
    transform: str = ""


@dataclass(frozen=True)
class LineageGraph:
    """The answer of ``trace`` or ``impact``: nodes and edges in a deterministic order.

    Nodes are ordered by depth, then kind, then ref (the root first); edges by the
    positions of their parent and child, then relation.
    """

    direction: str  # "upstream" (trace) or "downstream" (impact)
    root: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    as_of: datetime | None = None
    truncated: bool = False  # nodes lay deeper than max_depth, or the edges hold a cycle

    def node(self, node_id: str) -> GraphNode:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    @property
    def root_node(self) -> GraphNode:
        return self.nodes[0]

    def alias_holders(self) -> list[GraphNode]:
        """The model versions in the graph that hold an alias (now, or at ``as_of``)."""
        return [n for n in self.nodes if n.aliases]

    def to_json(self) -> dict[str, Any]:
        """``{"root", "direction", "as_of", "truncated", "nodes": [...], "edges": [{"from", "to", "relation"}]}``."""
        from lineage.graph_render import graph_json

        return graph_json(self)

    def to_dot(self) -> str:
        """Graphviz DOT: nodes coloured by kind and stage, labelled with ref and short hash."""
        from lineage.graph_render import graph_dot

        return graph_dot(self)


# -- public API -------------------------------------------------------------------------------
def trace(store: Store, ref: str, *, as_of: datetime | None = None, max_depth: int = MAX_DEPTH) -> LineageGraph:
    """Everything ``ref`` was built from, through any depth of parents, back to raw snapshots.

    For a model version: its artifact, feature-set version (with code hashes), features
    snapshot, and the processed and raw snapshots behind them, each with its hash.
    """
    return _graph(store, ref, UPSTREAM, as_of, max_depth)


def impact(store: Store, ref: str, *, as_of: datetime | None = None, max_depth: int = MAX_DEPTH) -> LineageGraph:
    """Everything built from ``ref``: derived snapshots, materialisations and model versions.

    Model versions that hold an alias (now, or at ``as_of``) carry it: they are what
    a change to ``ref`` would reach in serving.
    """
    return _graph(store, ref, DOWNSTREAM, as_of, max_depth)


def _graph(store: Store, ref: str, direction: str, as_of: datetime | None, max_depth: int) -> LineageGraph:
    cutoff = _naive_utc(as_of)
    with store.db.engine.connect() as connection, connection.begin():  # one read transaction
        root_kind, root_row, _ = resolve(connection, ref, cutoff)
        params: dict[str, Any] = {"kind": root_kind, "id": root_row}
        if cutoff is not None:
            params["as_of"] = edge_cutoff(cutoff)
            params["alias_as_of"] = cutoff
        rows = _tuples(connection, _graph_statement(direction, cutoff is not None), params)
        root = f"{root_kind}:{root_row}"
        nodes, edges, truncated = _build(root, direction, rows, _utc_reader(connection), max_depth)
    shown = cutoff.replace(tzinfo=UTC) if cutoff is not None else None
    if shown is not None:
        nodes, edges = _existing_at(shown, nodes, edges)
    return _ordered(direction, root, nodes, edges, shown, truncated)


def _build(root: str, direction: str, rows: list[tuple[Any, ...]], utc: Callable[[Any], datetime],
           max_depth: int) -> tuple[list[GraphNode], list[GraphEdge], bool]:
    """Edges and nodes from the one statement's tagged rows (see ``graph_sql``).

    Depths are the shortest distances from the root, found by a breadth-first pass over
    the edges; nodes deeper than ``max_depth`` are cut (``truncated``), as is a cycle.
    """
    found: dict[tuple[str, str, str], str] = {}
    snapshots, feature_sets, models = [], [], []
    for row in rows:
        tag = row[0]
        if tag == _EDGE:
            key = (row[1], row[2], row[3])
            transform = found.get(key)
            if transform is None or row[4] < transform:  # a relation recorded twice shows once
                found[key] = row[4]
        elif tag == _SNAPSHOT:
            snapshots.append(row)
        elif tag == _FEATURE_SET_VERSION:
            feature_sets.append(row)
        else:
            models.append(row)
    edges = [GraphEdge(parent, child, relation, transform) for (parent, child, relation), transform in found.items()]
    depths, truncated = _depths(root, edges, direction == UPSTREAM, max_depth)
    if truncated:
        edges = [e for e in edges if e.parent in depths and e.child in depths]
    nodes = [
        GraphNode(node_id, SNAPSHOT, ref, c, depth, utc(created_at), (),
                  {"dataset": a, "version": b, "stage": d, "rows": number, "note": e,
                   "purged": None if purged_at is None else
                   {"at": format_time(utc(purged_at)), "by": purged_by, "reason": reason}})
        for _, a, b, c, d, e, node_id, ref, _, number, created_at, purged_at, purged_by, reason in snapshots
        if (depth := depths.get(node_id)) is not None
    ]
    by_version: dict[int, tuple[GraphNode, list[tuple[int, str, str]]]] = {}
    for _, a, b, c, d, e, _, _, row_id, number, created_at, *_ in feature_sets:
        entry = by_version.get(row_id)
        if entry is None:
            node_id = f"{FEATURE_SET_VERSION}:{row_id}"
            if node_id not in depths:
                continue
            entry = by_version[row_id] = (GraphNode(
                node_id, FEATURE_SET_VERSION, f"{a}@{b}", c.removeprefix("sha256:"), depths[node_id],
                utc(created_at), (), {"feature_set": a, "version": b, "set_hash": c, "code_hashes": {}}), [])
        if d is not None:
            entry[1].append((number, d, e))
    for node, codes in by_version.values():
        node.details["code_hashes"].update((feature, code) for _, feature, code in sorted(codes))
        nodes.append(node)
    held: dict[int, list[str]] = {}
    first: dict[int, tuple[Any, ...]] = {}
    for row in models:
        first.setdefault(row[8], row)
        if row[7] is not None:
            held.setdefault(row[8], []).append(row[7])
    for _, name, version, sha256, kind, artifact_name, metrics, _, row_id, size, created_at, *_ in first.values():
        node_id = f"{MODEL_VERSION}:{row_id}"
        if node_id in depths:
            nodes.append(GraphNode(
                node_id, MODEL_VERSION, f"{name}@{version}", sha256, depths[node_id], utc(created_at),
                tuple(sorted(held.get(row_id, ()))),
                {"model": name, "version": version, "metrics": json.loads(metrics),
                 "artifact": {"sha256": sha256, "kind": kind, "name": artifact_name, "size_bytes": size}},
            ))
    return nodes, edges, truncated


def _depths(root: str, edges: list[GraphEdge], upstream: bool, max_depth: int) -> tuple[dict[str, int], bool]:
    """Shortest distance of every node from the root (breadth first), and whether the walk was cut.

    It is cut when a node lies deeper than ``max_depth`` or the edges hold a cycle, which
    registration cannot create but a hand-edited database could (every node still shows once).
    """
    onward: dict[str, list[str]] = {}
    for edge in edges:
        near, far = (edge.child, edge.parent) if upstream else (edge.parent, edge.child)
        onward.setdefault(near, []).append(far)
    depths = {root: 0}
    level = [root]
    depth = 0
    looks_back = False  # an edge to a node no deeper than its start: needed by a cycle, common in diamonds
    while level and depth < max_depth:
        depth += 1
        following = []
        for node in level:
            for far in onward.get(node, ()):
                seen = depths.get(far)
                if seen is None:
                    depths[far] = depth
                    following.append(far)
                elif seen < depth:
                    looks_back = True
        level = following
    cut = any(far not in depths for node in level for far in onward.get(node, ()))
    return depths, cut or (looks_back and _has_cycle(onward))


def _has_cycle(onward: Mapping[str, list[str]]) -> bool:
    """Whether following the edges can come back to a node (Kahn's algorithm: O(edges))."""
    waiting: dict[str, int] = {}
    for targets in onward.values():
        for far in targets:
            waiting[far] = waiting.get(far, 0) + 1
    ready = [node for node in onward if not waiting.get(node)]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for far in onward.get(node, ()):
            waiting[far] -= 1
            if not waiting[far]:
                ready.append(far)
    return removed < len(set(onward) | set(waiting))


# -- pure graph functions ---------------------------------------------------------------------
def _existing_at(moment: datetime, nodes: list[GraphNode], edges: list[GraphEdge]) -> tuple[list[GraphNode], list[GraphEdge]]:
    """The nodes registered by ``moment`` and the edges between them.

    Children are registered after their parents, so whatever hangs below a dropped node
    was registered later still and goes too: the depths of the kept nodes stay right.
    """
    kept = [n for n in nodes if n.created_at <= moment]
    if len(kept) == len(nodes):
        return nodes, edges
    ids = {n.id for n in kept}
    return kept, [e for e in edges if e.parent in ids and e.child in ids]


def _ordered(direction: str, root: str, nodes: list[GraphNode], edges: list[GraphEdge],
             as_of: datetime | None, truncated: bool) -> LineageGraph:
    """Nodes by depth (the root alone at 0), kind, ref; edges by parent id, child id, relation."""
    nodes.sort(key=_NODE_ORDER)
    edges.sort()
    return LineageGraph(direction, root, tuple(nodes), tuple(edges), as_of, truncated)


_NODE_ORDER = attrgetter("depth", "kind", "ref", "id")


# -- SQL: the walk ----------------------------------------------------------------------------
def _reached_cte(direction: str, as_of: bool) -> tuple[str, str]:
    """The recursive set of nodes reachable from ``:kind``/``:id`` and the join to their edges.

    The recursion collects *nodes*, not paths: ``UNION`` keeps each node once, so every
    node is expanded once however many paths lead to it, and a cycle (which registration
    cannot create but a hand-edited database could) ends the recursion instead of
    looping. Depths are computed afterwards from the edges (``_depths``).
    """
    near, far = ("child", "parent") if direction == UPSTREAM else ("parent", "child")
    when = " AND e.created_at <= :as_of" if as_of else ""
    join = f"JOIN edge e ON e.{near}_kind = r.kind AND e.{near}_id = r.id{when}"
    cte = (
        "WITH RECURSIVE reached(kind, id) AS (\n"
        "  SELECT CAST(:kind AS VARCHAR(32)), CAST(:id AS INTEGER)\n"
        "  UNION\n"
        f"  SELECT e.{far}_kind, e.{far}_id FROM reached r {join}\n"
        ")\n"
    )
    return cte, join


_EDGE_COLUMNS = "e.parent_kind || ':' || e.parent_id, e.child_kind || ':' || e.child_id, e.relation, e.transform_ref"


def walk_sql(direction: str, *, as_of: bool = False) -> str:
    """The one recursive query of a walk (also run directly by ``bench/graph.py`` as the floor).

    Its rows are the edges between the reached nodes, ends as node ids (``kind:id``),
    with relation and transform reference.
    """
    cte, join = _reached_cte(direction, as_of)
    return f"{cte}SELECT {_EDGE_COLUMNS} FROM reached r {join}"


# -- SQL: walk and node details in one statement -----------------------------------------------
_EDGE, _SNAPSHOT, _FEATURE_SET_VERSION, _MODEL_VERSION = 0, 1, 2, 3
_NULLS = "CAST(NULL AS TEXT)"
_NO_TOMBSTONE = "CAST(NULL AS TIMESTAMP), CAST(NULL AS TEXT), CAST(NULL AS TEXT)"


def graph_sql(direction: str, *, as_of: bool = False) -> str:
    """The walk (``walk_sql``) and every reached node's details as one statement of tagged rows.

    One statement is one consistent read on both backends and keeps the node ids in the
    database: they never travel to Python and back. Every row has the same fourteen
    columns ``(tag, a…g, row_id, number, created_at, purged_at, purged_by, reason)``:

    * tag 0, an edge: parent id, child id, relation, transform;
    * tag 1, a snapshot: dataset, version, sha256, stage, note, node id, ref; ``number`` its
      rows; the last three its tombstone when its bytes were purged (by ``as_of``);
    * tag 2, a feature-set version, once per feature: name, version, set hash,
      feature, code hash; ``number`` the feature's position;
    * tag 3, a model version, once per alias it holds: name, version, artifact sha256,
      kind, name, metrics JSON, alias; ``number`` the artifact size.
    """
    cte, join = _reached_cte(direction, as_of)
    held_when = " AND b.at <= :alias_as_of" if as_of else ""
    purged_when = " AND t.purged_at <= :alias_as_of" if as_of else ""
    return (
        f"{cte}"
        f"SELECT {_EDGE}, {_EDGE_COLUMNS}, {_NULLS}, {_NULLS}, {_NULLS},\n"
        f"  CAST(NULL AS INTEGER), CAST(NULL AS BIGINT), CAST(NULL AS TIMESTAMP), {_NO_TOMBSTONE} FROM reached r {join}\n"
        f"UNION ALL SELECT {_SNAPSHOT}, d.name, s.version, s.sha256, s.stage, s.note, '{SNAPSHOT}:' || s.id,\n"
        "  d.name || '@' || s.version, s.id, s.rows, s.created_at, t.purged_at, t.purged_by, t.reason\n"
        "  FROM reached n JOIN snapshot s ON s.id = n.id JOIN dataset d ON d.id = s.dataset_id\n"
        f"  LEFT JOIN snapshot_tombstone t ON t.snapshot_id = s.id{purged_when} WHERE n.kind = '{SNAPSHOT}'\n"
        f"UNION ALL SELECT {_FEATURE_SET_VERSION}, f.name, v.version, v.set_hash, c.name, c.code_hash, {_NULLS}, {_NULLS},\n"
        f"  v.id, c.position, v.created_at, {_NO_TOMBSTONE}\n"
        "  FROM reached n JOIN feature_set_version v ON v.id = n.id JOIN feature_set f ON f.id = v.feature_set_id\n"
        f"  LEFT JOIN feature_code c ON c.version_id = v.id WHERE n.kind = '{FEATURE_SET_VERSION}'\n"
        f"UNION ALL SELECT {_MODEL_VERSION}, m.name, v.version, v.artifact_sha256, v.artifact_kind, v.artifact_name,\n"
        f"  v.metrics, a.alias, v.id, v.artifact_size, v.created_at, {_NO_TOMBSTONE}\n"
        "  FROM reached n JOIN model_version v ON v.id = n.id JOIN model m ON m.id = v.model_id\n"
        "  LEFT JOIN alias_event a ON a.model_version_id = v.id AND a.id = (SELECT MAX(b.id) FROM alias_event b\n"
        f"    WHERE b.model_id = a.model_id AND b.alias = a.alias{held_when})\n"
        f"  WHERE n.kind = '{MODEL_VERSION}'"
    )


@lru_cache(maxsize=8)
def _graph_statement(direction: str, as_of: bool) -> Any:
    params = [bindparam("kind", type_=String()), bindparam("id", type_=Integer())]
    if as_of:
        params += [bindparam("as_of", type_=DateTime()), bindparam("alias_as_of", type_=DateTime())]
    return text(graph_sql(direction, as_of=as_of)).bindparams(*params)


def _tuples(connection: Connection, statement: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them: SQLAlchemy compiles, binds, runs its events and
    translates errors, but building a Row object per row would cost a fifth of the walk."""
    return driver_rows(connection.execute(statement, params))


def _utc_reader(connection: Connection) -> Callable[[Any], datetime]:
    """Stored naive UTC → aware UTC: SQLite hands back text, PostgreSQL a naive datetime."""
    if connection.dialect.name == "sqlite":
        return lambda value: datetime.fromisoformat(value + "+00:00")
    return lambda value: value.replace(tzinfo=UTC)


# -- time -------------------------------------------------------------------------------------
def _naive_utc(moment: datetime | None) -> datetime | None:
    """The database keeps naive UTC (invariant 6); a naive argument is taken as UTC."""
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        from lineage.errors import InvalidInputError

        raise InvalidInputError(f"as_of must be a datetime (naive means UTC), not {type(moment).__name__} {moment!r}: "
                                "e.g. datetime.fromisoformat('2026-03-03T12:00:00+00:00')")
    if not moment.tzinfo:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # past year 9999 or before year 1 in UTC: after, or before, everything registered
        return datetime.max if moment.year == datetime.max.year else datetime.min


def edge_cutoff(cutoff: datetime) -> datetime:
    """``cutoff + EDGE_SLACK``, clamped to the last representable instant.

    Why: ``--as-of 9999-12-31T23:59:59Z`` is a valid question (everything registered so
    far), but adding the slack to it overflows ``datetime``.
    """
    if cutoff > datetime.max - EDGE_SLACK:
        return datetime.max
    return cutoff + EDGE_SLACK
