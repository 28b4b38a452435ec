"""Ready-to-render tables for the dashboard, built from service entities (no Streamlit here).

Pages stay thin: they call these and draw the result. Every function takes plain
entities or the store and returns DataFrames or dicts, so it is testable without a page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineage.formatting import human_size, short_hash

if TYPE_CHECKING:
    import pandas as pd

    from lineage.entities import SnapshotInfo, VerifyResult
    from lineage.store import Store

SNAPSHOT_TABLE_ORDER = ["ref", "stage", "rows", "size", "sha256", "created_at", "created_by"]
"""The columns snapshot tables show by default (parents, note and the rest are in the detail view)."""
LATEST_SNAPSHOTS_ORDER = ["ref", "stage", "rows", "size", "created_at"]
SNAPSHOT_COLUMNS = ["ref", "dataset", "version", "stage", "rows", "columns", "size", "sha256",
                    "created_at", "created_by", "parents"]


def snapshot_rows(snapshots: list[SnapshotInfo]) -> pd.DataFrame:
    """One row per snapshot with the columns the tables show."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "ref": s.ref, "dataset": s.dataset, "version": s.version, "stage": s.stage,
                "rows": s.rows, "columns": s.columns, "size": human_size(s.size_bytes),
                "sha256": short_hash(s.sha256), "created_at": s.created_at, "created_by": s.created_by,
                "parents": ", ".join(s.parents),
            }
            for s in snapshots
        ],
        columns=SNAPSHOT_COLUMNS,
    )


def page_of(items: list[Any], page: int, page_size: int) -> tuple[list[Any], int]:
    """The items of one 1-based page, and the number of pages (at least 1)."""
    pages = max(1, -(-len(items) // page_size))
    page = min(max(page, 1), pages)
    return items[(page - 1) * page_size: page * page_size], pages


def snapshot_detail(store: Store, snapshot: SnapshotInfo) -> dict[str, Any]:
    """Everything the detail view shows: facts, schema, files and the commands to check them."""
    import pandas as pd

    from lineage.checkcmd import snapshot_check_commands

    facts = [
        ("ref", snapshot.ref), ("stage", snapshot.stage), ("format", snapshot.format),
        (snapshot.hash_algorithm, snapshot.sha256),
        ("size", f"{snapshot.size_bytes:,} bytes ({human_size(snapshot.size_bytes)})"),
        ("rows", f"{snapshot.rows:,}"), ("columns", str(snapshot.columns)),
        ("fingerprint", snapshot.fingerprint), ("parents", ", ".join(snapshot.parents) or "—"),
        ("transform", snapshot.transform or "—"), ("source", snapshot.source_uri),
        ("stored", _stored_text(snapshot)),
        ("note", snapshot.note or "—"),
        ("created", f"{snapshot.created_at:%Y-%m-%d %H:%M:%S} UTC by {snapshot.created_by}"),
    ]
    if snapshot.purged is not None:
        facts.append(("purged", f"{snapshot.purged.at:%Y-%m-%d %H:%M:%S} UTC by {snapshot.purged.by}: "
                                f"{snapshot.purged.reason}"))
    return {
        "facts": pd.DataFrame(facts, columns=["field", "value"]),
        "schema": pd.DataFrame(snapshot.schema, columns=["name", "type"]),
        "files": pd.DataFrame(
            [{"path": f["path"], "size": human_size(f["size_bytes"]), "sha256": f["sha256"]}
             for f in snapshot.files],
            columns=["path", "size", "sha256"],
        ),
        "check_commands": snapshot_check_commands(store.objects, snapshot),
        "purged": purged_notice(snapshot),
    }


def _stored_text(snapshot: SnapshotInfo) -> str:
    """Whether the store holds the bytes now: a purged copy is gone, whatever the registration did."""
    if snapshot.purged is not None:
        return "no: bytes purged (see below)"
    return "yes" if snapshot.stored else "no (recorded with --no-copy)"


def purged_notice(snapshot: SnapshotInfo) -> str | None:
    """The notice a purged snapshot's page shows instead of its verify and check actions; None if intact."""
    tombstone = snapshot.purged
    if tombstone is None:
        return None
    return (f"Bytes purged on {tombstone.at:%Y-%m-%d %H:%M:%S} UTC by {tombstone.by}: {tombstone.reason}. "
            f"{tombstone.blobs} blob(s), {human_size(tombstone.bytes)} erased; the hashes, lineage and audit "
            "trail remain. Models built from it are no longer reproducible.")


def verify_rows(results: list[VerifyResult]) -> pd.DataFrame:
    """Verify results as a table: problems first."""
    import pandas as pd

    frame = pd.DataFrame(
        [{"ref": r.ref, "ok": r.ok, "problem": r.problem or "", "source": r.source_status,
          "source problem": r.source_problem or ""} for r in results],
        columns=["ref", "ok", "problem", "source", "source problem"],
    )
    return frame.sort_values("ok", kind="stable").reset_index(drop=True)


OVERVIEW_WARNINGS = 10
"""The Overview shows at most this many warnings; its note says how many there are in all."""


def overview(store: Store, latest: int = 20) -> dict[str, Any]:
    """Counts, production holders, integrity, warnings, the latest snapshots and audit events.

    A constant number of queries however big the store is (see ``warnings`` for the bound
    on source-file checks).
    """
    import pandas as pd

    events = store.audit.log(limit=latest, newest_first=True)
    counts = {**store.snapshots.counts(), "feature_set_versions": store.features.count(),
              "model_versions": store.models.count()}
    health = warnings(store, limit=OVERVIEW_WARNINGS)
    return {
        "counts": counts,
        "holders": alias_holders(store, "production"),
        "integrity": _last_integrity(store),
        "warnings": health["lines"],
        "source_note": health["note"],
        "latest_snapshots": snapshot_rows(store.snapshots.list(newest_first=True, limit=latest)),
        "latest_events": pd.DataFrame(
            [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
              "hash": short_hash(e.hash)} for e in events],
            columns=["seq", "at", "actor", "action", "subject", "hash"],
        ),
    }


# -- feature sets ----------------------------------------------------------------------------
CLASS_COLOURS = {"major": "#f8d7da", "minor": "#fff3cd", "patch": "#d1e7dd"}


def feature_set_rows(store: Store, name: str | None = None) -> pd.DataFrame:
    """Every feature-set version with its change class and author."""
    import pandas as pd

    return pd.DataFrame(
        [{"ref": v.ref, "feature_set": v.feature_set, "version": v.version, "features": len(v.features),
          "change": v.change_class or "first", "previous": v.previous or "", "author": v.created_by,
          "created_at": v.created_at, "git": (v.git_commit[:10] + ("+dirty" if v.git_dirty else "")) or "",
          "tag": v.released_tag, "allow_breaking": v.allow_breaking}
         for v in store.features.list(name)],
        columns=["ref", "feature_set", "version", "features", "change", "previous", "author", "created_at", "git",
                 "tag", "allow_breaking"],
    )


def feature_diff_view(store: Store, name: str, from_version: str, to_version: str) -> dict[str, Any]:
    """A diff ready to draw: required bump, one row per change, side-by-side specs, code diffs."""
    import pandas as pd

    diff = store.features.diff(name, from_version, to_version)
    old, new = store.features.get(f"{name}@{from_version}"), store.features.get(f"{name}@{to_version}")
    names = list(dict.fromkeys([*old.schema["features"], *new.schema["features"]]))
    classes: dict[str, str] = {}
    for change in diff.changes:
        if change.feature:
            from lineage.features.semver import stronger

            classes[change.feature] = stronger(classes.get(change.feature, "none"), change.change_class)
    side = pd.DataFrame(
        [{"feature": feature, "class": classes.get(feature, ""),
          f"{from_version}": _spec_text(old.schema["features"].get(feature)),
          f"{to_version}": _spec_text(new.schema["features"].get(feature))} for feature in names],
        columns=["feature", "class", f"{from_version}", f"{to_version}"],
    )
    return {
        "required_bump": diff.required_bump,
        "changes": pd.DataFrame([{"feature": c.feature or "(set)", "kind": c.kind, "class": c.change_class,
                                  "detail": c.detail} for c in diff.changes],
                                columns=["feature", "kind", "class", "detail"]),
        "side_by_side": side,
        "code_diffs": [(c.feature or "", c.code_diff) for c in diff.changes if c.code_diff],
        "json": diff.to_json(),
    }


def _spec_text(spec: dict[str, Any] | None) -> str:
    if spec is None:
        return "—"
    parts = [spec["dtype"], "nullable" if spec.get("nullable") else "required"]
    if spec.get("min") is not None or spec.get("max") is not None:
        parts.append(f"[{spec.get('min', '')}, {spec.get('max', '')}]")
    if spec.get("allowed"):
        parts.append(f"{len(spec['allowed'])} allowed")
    return ", ".join(parts)


def violation_rows(report: Any, limit: int = 200) -> pd.DataFrame:
    """A batch validation report's violations (at most ``limit`` per feature and reason)."""
    import pandas as pd

    return pd.DataFrame(report.to_json(limit_per_kind=limit)["violations"], columns=["row", "feature", "reason", "detail"])


# -- models ------------------------------------------------------------------------------------
def model_registry(store: Store) -> dict[str, pd.DataFrame]:
    """The Models page's data from one read of the summaries: the registry rows and the staleness table.

    Staleness also reads training sources on disk, so callers refresh it now and then
    even when the store has not changed.
    """
    summaries = store.models.summaries()
    return {"rows": model_rows(store, summaries=summaries), "stale": stale_table(store, summaries=summaries)}


def model_rows(store: Store, name: str | None = None, *, summaries: list[Any] | None = None) -> pd.DataFrame:
    """The registry: one row per model version with metrics, feature set and aliases."""
    import pandas as pd

    every = store.models.summaries() if summaries is None else summaries
    infos = [s for s in every if name is None or s.model == name]
    metric_names = sorted({k for i in infos for k in i.metrics})
    return pd.DataFrame(
        [{"ref": i.ref, "model": i.model, "version": i.version, "feature_set": i.feature_set,
          "aliases": ", ".join(i.aliases), "seed": i.seed, **{m: i.metrics.get(m) for m in metric_names},
          "artifact": short_hash(i.artifact_sha256), "created_at": i.created_at, "created_by": i.created_by}
         for i in infos],
        columns=["ref", "model", "version", "feature_set", "aliases", "seed", *metric_names, "artifact",
                 "created_at", "created_by"],
    )


def alias_timeline(store: Store, model: str) -> pd.DataFrame:
    """Holding periods per alias (start, end, version) for a timeline chart; the last one is open."""
    from datetime import UTC, datetime

    import pandas as pd

    history = store.models.aliases(model)["history"]
    rows = []
    now = datetime.now(UTC)
    for index, move in enumerate(history):
        following = next((m for m in history[index + 1:] if m.alias == move.alias), None)
        rows.append({"alias": move.alias, "version": move.version, "action": move.action, "reason": move.reason,
                     "actor": move.actor, "start": move.at, "end": following.at if following else now,
                     "current": following is None})
    return pd.DataFrame(rows, columns=["alias", "version", "action", "reason", "actor", "start", "end", "current"])


def open_until_now(timeline: pd.DataFrame) -> pd.DataFrame:
    """The timeline with every current holding period drawn up to this moment (cached timelines age)."""
    from datetime import UTC, datetime

    if timeline.empty:
        return timeline
    timeline = timeline.copy()
    timeline.loc[timeline["current"], "end"] = datetime.now(UTC)
    return timeline


def promotion_preview(store: Store, model: str, alias: str, version: str) -> dict[str, Any]:
    """What promoting ``model@version`` to ``alias`` changes, before anyone confirms it."""
    held = store.models.aliases(model)["current"].get(alias)
    target = store.models.get(f"{model}@{version}")
    current = store.models.get(f"{model}@{held['version']}") if held else None
    lines = [f"{model}@{alias}: {held['version'] if held else '(unset)'} → {version}"]
    if current is not None and current.feature_set != target.feature_set:
        lines.append(f"serving must switch feature set: {current.feature_set or '—'} → {target.feature_set or '—'}")
    if current is not None:
        for metric in sorted(set(current.metrics) | set(target.metrics)):
            lines.append(f"{metric}: {current.metrics.get(metric)} → {target.metrics.get(metric)}")
    return {"lines": lines, "unchanged": bool(held and held["version"] == version)}


def rollback_preview(store: Store, model: str, alias: str, to: str | None) -> dict[str, Any]:
    """Where a rollback would move ``alias`` (the previous holder, or ``to``) and what changes."""
    aliases = store.models.aliases(model)
    held = aliases["current"].get(alias)
    if held is None:
        return {"target": None, "lines": [f"alias '{alias}' has never been set"]}
    target = to
    if target is None:
        earlier = [m for m in aliases["history"] if m.alias == alias and m.version != held["version"]]
        target = earlier[-1].version if earlier else None
    if target is None:
        return {"target": None, "lines": [f"alias '{alias}' has had no other holder: pick a version"]}
    preview = promotion_preview(store, model, alias, target)
    return {"target": target, "lines": preview["lines"]}


# -- lineage graph -------------------------------------------------------------------------------
GRAPH_TABLE_ORDER = ["ref", "kind", "stage", "sha256", "depth", "aliases"]
"""The node-table columns a page shows by default (``id`` is the internal row id)."""


TOP_DOWN_WIDEST = 4
"""Graphs with at most this many nodes at one depth are drawn top-down on pages."""


def graph_dot(graph: Any) -> str:
    """DOT for a page, laid out so the drawing is scaled up to the page's width, not down.

    A page is wide and scrolls down, so the drawing's width decides how small it gets:
    left-to-right needs one column per rank (a pipeline's length), top-down one per node
    of the widest rank. Pipelines are longer than they are wide, so top-down wins unless
    some depth holds more than ``TOP_DOWN_WIDEST`` nodes (a big impact fan-out, which
    left-to-right stacks downwards). The CLI keeps left-to-right.
    """
    from collections import Counter

    from lineage.graph_render import graph_dot as render

    widest = max(Counter(node.depth for node in graph.nodes).values(), default=1)
    return render(graph, rankdir="TB" if widest <= TOP_DOWN_WIDEST else "LR")


def graph_node_rows(graph: Any) -> pd.DataFrame:
    """The nodes of a trace or impact graph as a table (the chart's companion)."""
    import pandas as pd

    return pd.DataFrame(
        [{"id": n.id, "kind": n.kind, "ref": n.ref, "stage": n.stage, "sha256": short_hash(n.sha256),
          "depth": n.depth, "aliases": ", ".join(n.aliases), "created_at": n.created_at,
          "purged": _purged_cell(n.details.get("purged"))} for n in graph.nodes],
        columns=["id", "kind", "ref", "stage", "sha256", "depth", "aliases", "created_at", "purged"],
    )


def _purged_cell(purged: dict[str, Any] | None) -> str:
    return f"{purged['at'][:10]} by {purged['by']}: {purged['reason']}" if purged else ""


def model_refs(store: Store) -> list[str]:
    """Every model version ref, newest semver last (for pickers; one light query)."""
    return store.models.refs()


def feature_refs(store: Store) -> list[str]:
    """Every feature-set version ref, by set then semver (for pickers; one light query)."""
    return store.features.refs()


def snapshot_refs(store: Store, text: str = "", stages: tuple[str, ...] = (), datasets: tuple[str, ...] = ()) -> list[str]:
    """Refs of the snapshots matching the filters, by dataset then registration (for pickers and tables)."""
    return store.snapshots.search(text=text, stages=stages, datasets=datasets)


def snapshot_table(store: Store, refs: tuple[str, ...]) -> pd.DataFrame:
    """The table rows of just these snapshots (one page of a listing)."""
    return snapshot_rows(store.snapshots.get_many(refs))


def snapshot_total(store: Store) -> int:
    """How many snapshots the store holds (one count)."""
    return store.snapshots.counts()["snapshots"]


def dataset_names(store: Store) -> list[str]:
    """Every dataset name, sorted (one light query)."""
    return store.snapshots.dataset_names()


def stale_table(store: Store, *, summaries: list[Any] | None = None) -> pd.DataFrame:
    """Every staleness warning, newest model versions first: model, aliases, kind and the sentence."""
    import pandas as pd

    return pd.DataFrame(
        [{"model": w["model"], "aliases": ", ".join(w["aliases"]), "kind": w["kind"], "detail": w["detail"]}
         for w in store.models.staleness(summaries)],
        columns=["model", "aliases", "kind", "detail"],
    )


def trace_view(store: Store, ref: str) -> dict[str, Any]:
    """The upstream lineage graph of ``ref`` (see lineage/graph.py), its DOT and its node table."""
    from lineage.graph import trace

    return _graph_view(trace(store, ref))


def impact_view(store: Store, ref: str) -> dict[str, Any]:
    """The downstream lineage graph of ``ref``, its DOT, its node table and the alias holders it reaches."""
    from lineage.graph import impact

    return _graph_view(impact(store, ref))


def _graph_view(graph: Any) -> dict[str, Any]:
    return {"graph": graph, "dot": graph_dot(graph), "nodes": graph_node_rows(graph),
            "holders": [f"{n.ref} ({', '.join(n.aliases)})" for n in graph.alias_holders()]}


def lineage_diff_view(store: Store, a: str, b: str) -> dict[str, Any]:
    """A model lineage diff as JSON plus its readable text."""
    from lineage.models.lineage_diff import diff_models, render_text

    diff = diff_models(store, a, b)
    return {"json": diff.to_json(), "text": "\n".join(render_text(diff))}


# -- overview health ---------------------------------------------------------------------------
def alias_holders(store: Store, alias: str) -> pd.DataFrame:
    """Which version of each model holds ``alias``, since when and by whom (one query for all models)."""
    import pandas as pd

    return pd.DataFrame(
        [{"model": h["model"], "version": h["version"], "since": h["since"], "by": h["by"],
          "feature_set": h["feature_set"], "reason": h["reason"]} for h in store.models.holders(alias)],
        columns=["model", "version", "since", "by", "feature_set", "reason"],
    )


def _last_integrity(store: Store) -> dict[str, Any] | None:
    from lineage.integrity import last_verification

    return last_verification(store)


SOURCE_CHECK_NEWEST = 50
"""The Overview checks the source files of this many newest snapshots (plus every input of a
model holding an alias): a bounded cost per render, however many snapshots the store holds."""


def warnings(store: Store, limit: int = 50, newest: int = SOURCE_CHECK_NEWEST) -> dict[str, Any]:
    """Stale models, snapshots whose source changed on disk, and saved drift reports that drifted.

    Source files are checked for the inputs of models holding an alias (what serving and
    retraining rely on) and for the ``newest`` snapshots, each with ``source_change`` (a
    ``stat`` and the hash cache; a file is hashed only when the cache cannot answer). The
    ``note`` says exactly which were checked; ``lineage snapshot verify --all`` checks all.
    """
    from lineage.models.staleness import source_change

    stale = store.models.staleness()
    lines = [f"{w['model']} is stale: {w['detail']}" for w in stale if w["kind"] == "feature_code_changed"]
    lines += [f"{w['model']}: {w['detail']}" for w in stale if w["kind"] == "input_purged"]
    lines.extend(drift_warnings(store))
    lines.extend(w["detail"] for w in stale if w["kind"] == "training_source_changed")
    covered = {w["snapshot"] for w in stale if w["kind"] == "training_source_changed"}
    recent = store.snapshots.list(newest_first=True, limit=newest)
    for snapshot in recent:
        if snapshot.ref in covered or snapshot.purged is not None:
            continue  # already reported, or erased on purpose (its dependent models are listed above)
        problem = source_change(store, snapshot)
        if problem is not None:
            lines.append(f"source of {snapshot.ref} changed: {problem} (the stored snapshot is intact)")
    total = store.snapshots.counts()["snapshots"]
    note = (f"Source files checked: the inputs of models holding an alias and the {len(recent)} newest of "
            f"{total:,} snapshots. `lineage snapshot verify --all` checks every one.")
    shown = lines[:limit]
    if len(lines) > limit:
        note += (f" Showing {limit} of {len(lines):,} warnings: the Models page and `lineage model stale` list "
                 "every stale model.")
    return {"lines": shown, "note": note}


def drift_warnings(store: Store) -> list[str]:
    """Saved drift reports whose overall verdict is drift (filled in once drift reports exist)."""
    drift = getattr(store, "drift", None)
    if drift is None:
        return []
    return [f"drift: {r['current']} vs {r['reference']}: {r['share']:.0%} of features drifted"
            for r in drift.latest_reports() if r["drifted"]]


# -- drift ---------------------------------------------------------------------------------------
DRIFT_TABLE_ORDER = ["name", "drifted", "test", "statistic", "p_value", "threshold", "psi", "js", "null_rate_ref",
                     "null_rate_cur"]
"""The columns the Drift page shows by default (the downloads carry every one of DRIFT_COLUMNS)."""
DRIFT_COLUMNS = ["name", "kind", "test", "statistic", "p_value", "threshold", "drifted", "psi", "psi_band", "js",
                 "wasserstein_norm", "ks", "null_rate_ref", "null_rate_cur", "new_categories", "missing_categories"]


def drift_defaults(store: Store) -> tuple[str | None, str | None]:
    """Reference: the production model's training features; current: the latest online snapshot."""
    reference = None
    holders = store.models.holders("production")
    if holders:
        first = holders[0]
        reference = store.drift.resolve_reference(f"{first['model']}@{first['version']}").ref
    online = store.snapshots.list(newest_first=True, stage="online", limit=1)
    return reference, online[0].ref if online else None


def materialized_from(store: Store, ref: str) -> Any:
    """The feature-set version that computed snapshot ``ref``, or None."""
    return store.features.materialized_from(ref)


def shared_features(store: Store, reference: str, current: str) -> tuple[str, ...] | None:
    """The declared features both snapshots' feature-set versions share, in the reference's order.

    None when the two do not come from two different feature-set versions (then ``compare``
    chooses the features itself). Otherwise the comparison needs an explicit feature list,
    and these are the features it can take.
    """
    ref_set = store.features.materialized_from(store.drift.resolve_reference(reference).ref)
    cur_set = store.features.materialized_from(current)
    if ref_set is None or cur_set is None or ref_set.ref == cur_set.ref:
        return None
    return tuple(name for name in ref_set.schema["features"] if name in cur_set.schema["features"])


def drift_report(store: Store, reference: str, current: str, drift_share: float, feature_set: str | None,
                 features: tuple[str, ...] | None = None) -> Any:
    """An unsaved drift comparison of two snapshots (the page saves only on request)."""
    return store.drift.compare(reference, current, drift_share=drift_share, save=False, feature_set=feature_set,
                               features=list(features) if features else None)


def distribution_views(store: Store, reference: str, current: str) -> dict[str, pd.DataFrame]:
    """Chart rows per feature present on both sides, from the snapshots' profiles.

    Profiles are read when stored and otherwise computed without being stored (looking
    writes nothing); one call per pair, so picking another feature rescans nothing.
    """
    import pandas as pd

    before, after = store.drift.profile(reference, save=False), store.drift.profile(current, save=False)
    return {name: pd.concat([distribution_rows(before[name], "reference"), distribution_rows(after[name], "current")])
            for name in before if name in after}


def drift_table(report: Any) -> pd.DataFrame:
    """One row per feature, drifted first, then by statistic."""
    import pandas as pd

    frame = pd.DataFrame(report.to_json()["features"])
    for column in DRIFT_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame = frame[DRIFT_COLUMNS]
    frame["new_categories"] = frame["new_categories"].map(lambda v: ", ".join(v) if isinstance(v, list) else v)
    frame["missing_categories"] = frame["missing_categories"].map(lambda v: ", ".join(v) if isinstance(v, list) else v)
    return frame.sort_values(["drifted", "statistic"], ascending=[False, False], kind="stable").reset_index(drop=True)


def distribution_rows(profile: Any, side: str) -> pd.DataFrame:
    """A stored profile as chart rows: numeric bins (left, width, share) or category shares."""
    import pandas as pd

    doc = profile.to_json()
    histogram = doc.get("histogram") or {}
    if doc["kind"] == "numeric" and "edges" in histogram:
        edges, counts = histogram["edges"], histogram["counts"]
        total = sum(counts) or 1
        return pd.DataFrame({"side": side, "x": [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)],
                             "width": [b - a for a, b in zip(edges, edges[1:], strict=False)],
                             "share": [c / total for c in counts]})
    top = histogram.get("top", [])
    pairs = [(item[0], item[1]) if isinstance(item, list | tuple) else (item["value"], item["count"]) for item in top]
    if histogram.get("other"):
        pairs.append(("other", histogram["other"]))
    total = sum(c for _, c in pairs) or 1
    return pd.DataFrame({"side": side, "category": [str(v) for v, _ in pairs], "share": [c / total for _, c in pairs]})
