"""``build_report(store, ref)``: everything an auditor needs about one model version, as plain JSON.

The dict holds only JSON-native values (it is round-tripped through canonical JSON), so
what is signed is exactly what a reader parses back. Building reads only: it writes no
audit event, so the audit head it records stays the head until the next change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lineage.audit import canonical_json, format_time

if TYPE_CHECKING:
    from lineage.entities import ModelVersionInfo
    from lineage.graph import GraphNode, LineageGraph
    from lineage.store import Store

REPORT_FORMAT = "lineage.reproducibility-report/1"
"""Bumped only if a key is renamed or removed (keys are added, never renamed)."""


def build_report(store: Store, ref: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The reproducibility report of ``ref`` (model@version or model@alias)."""
    from lineage.graph import trace
    from lineage.models.reproduce import last_reproduce, purged_in

    info = store.models.get(ref)
    graph = trace(store, info.ref)
    chain = store.audit.verify_chain()
    report: dict[str, Any] = {
        "report_format": REPORT_FORMAT,
        "generated_at": format_time(now or datetime.now(UTC)),
        "generated_by": store.actor,
        "model": {
            "ref": info.ref, "model": info.model, "version": info.version, "note": info.note,
            "run_id": info.run_id, "metrics": info.metrics, "artifact": info.artifact,
            "inputs": [i.to_json() for i in info.inputs], "aliases": info.aliases,
            "created_at": format_time(info.created_at), "created_by": info.created_by,
        },
        "linkage_record": info.linkage_record(),
        "trace": _trace(store, info, graph),
        "feature_set": _feature_set(store, info),
        "code": {key: info.code.get(key) for key in ("git_commit", "git_dirty", "entrypoint", "workdir")},
        "seed": info.seed,
        "params": info.params,
        "environment": info.environment,
        "reproduce": last_reproduce(store, info.ref),
        "purged_inputs": purged_in(graph),  # non-empty: not reproducible now, whatever the last verdict said
        "drift": _drift(store, info),
        "aliases": _aliases(store, info),
        "audit": {"head_hash": chain.head_hash, "events": chain.events, "chain_ok": chain.ok,
                  "first_broken_seq": chain.first_broken_seq},
    }
    return json.loads(canonical_json(report))


def _trace(store: Store, info: ModelVersionInfo, graph: LineageGraph) -> dict[str, Any]:
    """Every node with its hash and, for stored files, the sha256sum command that checks it."""
    from lineage.graph_refs import MODEL_VERSION

    nodes = []
    for node in graph.nodes:
        nodes.append({
            "id": node.id, "kind": node.kind, "ref": node.ref, "sha256": node.sha256, "depth": node.depth,
            "stage": node.stage or None, "note": str(node.details.get("note", "")),
            "aliases": list(node.aliases), "created_at": format_time(node.created_at),
            "purged": node.details.get("purged"),
            "check_commands": _check_commands(store, node, is_model=node.kind == MODEL_VERSION),
        })
    return {
        "root": info.ref, "direction": graph.direction, "truncated": graph.truncated, "nodes": nodes,
        "edges": [{"from": graph.node(e.parent).ref, "to": graph.node(e.child).ref, "relation": e.relation,
                   "transform": e.transform} for e in graph.edges],
    }


def _check_commands(store: Store, node: GraphNode, *, is_model: bool) -> list[str]:
    from lineage.checkcmd import sha256sum_check, snapshot_check_commands
    from lineage.edges import SNAPSHOT

    if node.kind == SNAPSHOT:
        return snapshot_check_commands(store.objects, store.snapshots.get(node.ref))
    if is_model and store.objects.is_local:
        artifact = store.models.get(node.ref).artifact
        commands = [sha256sum_check(artifact["sha256"], store.objects.key_path(artifact["sha256"]))]
        commands += [sha256sum_check(f["sha256"], store.objects.key_path(f["sha256"])) for f in artifact["files"]]
        return commands
    return []  # a feature-set version's hash covers its code, which is not a stored file


def _feature_set(store: Store, info: ModelVersionInfo) -> dict[str, Any] | None:
    if not info.feature_set:
        return None
    version = store.features.get(info.feature_set)
    return {
        "ref": version.ref, "feature_set": version.feature_set, "version": version.version,
        "schema": version.schema, "set_hash": version.set_hash,
        "features": [{"name": f.name, "dtype": f.dtype, "code_hash": f.code_hash} for f in version.features],
        "module": version.module, "git_commit": version.git_commit, "git_dirty": version.git_dirty,
    }


def _drift(store: Store, info: ModelVersionInfo) -> dict[str, Any] | None:
    """The newest saved drift report whose reference is one of the model's inputs (its serving data)."""
    inputs = {i.ref for i in info.inputs}
    for summary in store.drift.latest_reports(limit=500):
        if summary["reference"] not in inputs:
            continue
        full = store.drift.report_document(summary["id"])
        return {
            "report_id": summary["id"], "reference": summary["reference"], "current": summary["current"],
            "created_at": format_time(summary["created_at"]), "created_by": summary["created_by"],
            "drifted": summary["drifted"], "share": summary["share"], "overall": full["overall"],
            "features": [{key: f.get(key) for key in ("name", "kind", "test", "statistic", "p_value", "threshold",
                                                      "drifted", "psi")} for f in full["features"]],
        }
    return None


def _aliases(store: Store, info: ModelVersionInfo) -> dict[str, Any]:
    aliases = store.models.aliases(info.model)
    return {
        "current": {name: {"version": held["version"], "since": format_time(held["since"]), "by": held["by"],
                           "reason": held["reason"]} for name, held in sorted(aliases["current"].items())},
        "history": [move.to_json() for move in aliases["history"]],
    }
