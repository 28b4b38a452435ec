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
    truncated: bool = False  # the walk reached MAX_DEPTH (only a cycle can do that)

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
    upstream = direction == UPSTREAM
    with store.db.session() as session:  # one read transaction: every query sees the same state
        connection = session.connection()
        root_kind, root_row, _ = resolve(connection, ref, cutoff)
        params = {"kind": root_kind, "id": root_row, "max_depth": max_depth}
        if cutoff is not None:
            params["as_of"] = cutoff + EDGE_SLACK
        rows = _tuples(connection, _walk_statement(direction, cutoff is not None), params)
        root = f"{root_kind}:{root_row}"
        depths = {root: 0}
        edges = []
        truncated = False
        for parent, child, relation, transform, nearest, farthest in rows:
            edges.append(GraphEdge(parent, child, relation, transform))
            far = parent if upstream else child
            if depths.get(far, nearest + 1) > nearest:
                depths[far] = nearest
            truncated = truncated or farthest >= max_depth
        ids: dict[str, set[int]] = {}
        for node in depths:
            kind, _, row_id = node.partition(":")
            ids.setdefault(kind, set()).add(int(row_id))
        nodes = _load_nodes(connection, ids, depths, cutoff)
    shown = cutoff.replace(tzinfo=UTC) if cutoff is not None else None
    if shown is not None:
        nodes, edges = _existing_at(shown, nodes, edges)
    return _ordered(direction, root, nodes, edges, shown, truncated)


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
def walk_sql(direction: str, *, as_of: bool = False) -> str:
    """The one recursive query of a walk (also run directly by ``bench/graph.py`` as the floor).

    The recursion collects edges with the depth at which the walk met them; ``UNION``
    (not ``UNION ALL``) drops repeats and ``depth < :max_depth`` stops a cycle, which
    registration cannot create but a hand-edited database could. The result is the
    distinct edge set, ends as node ids (``kind:id``), with the shortest and longest
    depth of each edge (the longest tells whether the walk hit the limit).
    """
    near, far = ("child", "parent") if direction == UPSTREAM else ("parent", "child")
    when = " AND e.created_at <= :as_of" if as_of else ""
    columns = "e.parent_kind, e.parent_id, e.child_kind, e.child_id, e.relation, e.transform_ref"
    return (
        "WITH RECURSIVE walk(parent_kind, parent_id, child_kind, child_id, relation, transform_ref, depth) AS (\n"
        f"  SELECT {columns}, 1 FROM edge e\n"
        f"  WHERE e.{near}_kind = :kind AND e.{near}_id = :id{when}\n"
        "  UNION\n"
        f"  SELECT {columns}, w.depth + 1 FROM walk w\n"
        f"  JOIN edge e ON e.{near}_kind = w.{far}_kind AND e.{near}_id = w.{far}_id\n"
        f"  WHERE w.depth < :max_depth{when}\n"
        ")\n"
        "SELECT parent_kind || ':' || parent_id, child_kind || ':' || child_id, relation, MIN(transform_ref),\n"
        "  MIN(depth), MAX(depth)\n"
        "FROM walk GROUP BY parent_kind, parent_id, child_kind, child_id, relation"
    )


@lru_cache(maxsize=8)
def _walk_statement(direction: str, as_of: bool) -> Any:
    params = [bindparam("kind", type_=String()), bindparam("id", type_=Integer()),
              bindparam("max_depth", type_=Integer())]
    if as_of:
        params.append(bindparam("as_of", type_=DateTime()))
    return text(walk_sql(direction, as_of=as_of)).bindparams(*params)


@lru_cache(maxsize=16)
def _query(sql: str, *, as_of: bool = False) -> Any:
    """A text statement (built once) whose ``:as_of`` binds as a DateTime on each backend."""
    statement = text(sql)
    return statement.bindparams(bindparam("as_of", type_=DateTime())) if as_of else statement


def _in_ids(connection: Connection, column: str) -> str:
    """``column`` is one of the ids in the single ``:ids`` parameter (no limit on how many)."""
    if connection.dialect.name == "postgresql":
        return f"{column} = ANY(CAST(:ids AS INTEGER[]))"
    return f"{column} IN (SELECT value FROM json_each(:ids))"


def _ids_param(connection: Connection, ids: set[int]) -> Any:
    ordered = sorted(ids)
    return ordered if connection.dialect.name == "postgresql" else json.dumps(ordered)


def _tuples(connection: Connection, statement: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them: SQLAlchemy compiles, binds, runs its events and
    translates errors, but building a Row object per row would cost a fifth of the walk."""
    result = connection.execute(statement, params)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _utc_reader(connection: Connection) -> Callable[[Any], datetime]:
    """Stored naive UTC → aware UTC: SQLite hands back text, PostgreSQL a naive datetime."""
    if connection.dialect.name == "sqlite":
        return lambda value: datetime.fromisoformat(value + "+00:00")
    return lambda value: value.replace(tzinfo=UTC)


# -- SQL: node details, one batched query per kind --------------------------------------------
def _load_nodes(connection: Connection, ids: Mapping[str, set[int]], depths: Mapping[str, int],
                cutoff: datetime | None) -> list[GraphNode]:
    nodes: list[GraphNode] = []
    if ids.get(SNAPSHOT):
        nodes += _load_snapshots(connection, ids[SNAPSHOT], depths, cutoff)
    if ids.get(FEATURE_SET_VERSION):
        nodes += _load_feature_set_versions(connection, ids[FEATURE_SET_VERSION], depths)
    if ids.get(MODEL_VERSION):
        nodes += _load_model_versions(connection, ids[MODEL_VERSION], depths, cutoff)
    return nodes


def _load_snapshots(connection: Connection, ids: set[int], depths: Mapping[str, int],
                    cutoff: datetime | None) -> list[GraphNode]:
    """Snapshots with their tombstone (``purged``: at, by, reason) when their bytes were purged (by as_of)."""
    when = " AND t.purged_at <= :as_of" if cutoff is not None else ""
    statement = _query(
        "SELECT 'snapshot:' || s.id, d.name || '@' || s.version, s.sha256, s.created_at, d.name, s.version, "
        "s.stage, s.rows, s.note, t.purged_at, t.purged_by, t.reason FROM snapshot s "
        f"JOIN dataset d ON d.id = s.dataset_id LEFT JOIN snapshot_tombstone t ON t.snapshot_id = s.id{when} "
        f"WHERE {_in_ids(connection, 's.id')}",
        as_of=cutoff is not None,
    )
    utc = _utc_reader(connection)
    params: dict[str, Any] = {"ids": _ids_param(connection, ids)}
    if cutoff is not None:
        params["as_of"] = cutoff
    return [
        GraphNode(node_id, SNAPSHOT, ref, sha256, depths[node_id], utc(created_at), (),
                  {"dataset": dataset, "version": version, "stage": stage, "rows": rows, "note": note,
                   "purged": None if purged_at is None else {"at": format_time(utc(purged_at)), "by": purged_by,
                                                              "reason": reason}})
        for node_id, ref, sha256, created_at, dataset, version, stage, rows, note, purged_at, purged_by, reason
        in _tuples(connection, statement, params)
    ]


def _load_feature_set_versions(connection: Connection, ids: set[int], depths: Mapping[str, int]) -> list[GraphNode]:
    statement = _query(
        "SELECT v.id, f.name, v.version, v.set_hash, v.created_at, c.name, c.code_hash "
        "FROM feature_set_version v JOIN feature_set f ON f.id = v.feature_set_id "
        "LEFT JOIN feature_code c ON c.version_id = v.id "
        f"WHERE {_in_ids(connection, 'v.id')} ORDER BY v.id, c.position",
    )
    utc = _utc_reader(connection)
    nodes: dict[int, GraphNode] = {}
    for row_id, name, version, set_hash, created_at, feature, code_hash in \
            _tuples(connection, statement, {"ids": _ids_param(connection, ids)}):
        node = nodes.get(row_id)
        if node is None:
            node_id = f"{FEATURE_SET_VERSION}:{row_id}"
            node = nodes[row_id] = GraphNode(
                node_id, FEATURE_SET_VERSION, f"{name}@{version}", set_hash.removeprefix("sha256:"),
                depths[node_id], utc(created_at), (),
                {"feature_set": name, "version": version, "set_hash": set_hash, "code_hashes": {}},
            )
        if feature is not None:
            node.details["code_hashes"][feature] = code_hash
    return list(nodes.values())


_HELD = "a.id = (SELECT MAX(b.id) FROM alias_event b WHERE b.model_id = a.model_id AND b.alias = a.alias{when})"


def _load_model_versions(connection: Connection, ids: set[int], depths: Mapping[str, int],
                         cutoff: datetime | None) -> list[GraphNode]:
    """Model versions with the aliases they hold: an alias's holder is its latest event (up to as_of)."""
    when = " AND b.at <= :as_of" if cutoff is not None else ""
    statement = _query(
        "SELECT v.id, m.name, v.version, v.artifact_sha256, v.artifact_kind, v.artifact_name, v.artifact_size, "
        "v.metrics, v.created_at, a.alias FROM model_version v JOIN model m ON m.id = v.model_id "
        f"LEFT JOIN alias_event a ON a.model_version_id = v.id AND {_HELD.format(when=when)} "
        f"WHERE {_in_ids(connection, 'v.id')}",
        as_of=cutoff is not None,
    )
    utc = _utc_reader(connection)
    params: dict[str, Any] = {"ids": _ids_param(connection, ids)}
    if cutoff is not None:
        params["as_of"] = cutoff
    found: dict[int, tuple[Any, ...]] = {}
    aliases: dict[int, list[str]] = {}
    for row in _tuples(connection, statement, params):
        found.setdefault(row[0], row)
        if row[-1] is not None:
            aliases.setdefault(row[0], []).append(row[-1])
    nodes = []
    for row_id, name, version, sha256, kind, artifact_name, size, metrics, created_at, _ in found.values():
        node_id = f"{MODEL_VERSION}:{row_id}"
        nodes.append(GraphNode(
            node_id, MODEL_VERSION, f"{name}@{version}", sha256, depths[node_id],
            utc(created_at), tuple(sorted(aliases.get(row_id, ()))),
            {"model": name, "version": version, "metrics": json.loads(metrics),
             "artifact": {"sha256": sha256, "kind": kind, "name": artifact_name, "size_bytes": size}},
        ))
    return nodes


# -- time -------------------------------------------------------------------------------------
def _naive_utc(moment: datetime | None) -> datetime | None:
    """The database keeps naive UTC (invariant 6); a naive argument is taken as UTC."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
