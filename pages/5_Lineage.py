"""Lineage: a model's upstream graph to the raw snapshots, impact of a change, and "why did it change?".

``?ref=churn@1.2.0`` opens a trace directly; ``?impact=customers_clean@v1.0`` an impact view.
"""

from __future__ import annotations

import streamlit as st

from lineage import views
from pages._support import call, store

st.title("Lineage")
opened = store()
if opened is None:
    st.stop()

from lineage.graph import impact, trace  # noqa: E402  (after the store check: imports are the page's cost)

models = views.model_refs(opened)
trace_tab, impact_tab, diff_tab = st.tabs(["Trace a model", "Impact of a change", "Why did the model change?"])

with trace_tab:
    if not models:
        st.info("No models yet: the trace starts from a model version (or give any ref below).")
    wanted = st.query_params.get("ref")
    options = models + ([wanted] if wanted and wanted not in models else [])
    ref = st.selectbox("Model version (or any snapshot / feature-set ref)", options,
                       index=options.index(wanted) if wanted in options else (len(options) - 1 if options else None),
                       key="trace_ref", accept_new_options=True)
    if ref:
        st.query_params["ref"] = ref
        graph = call(lambda: trace(opened, ref))
        if graph is not None:
            st.graphviz_chart(graph.to_dot(), width="stretch")
            nodes = views.graph_node_rows(graph)
            st.dataframe(nodes, hide_index=True, width="stretch")
            picked = st.selectbox("Node details", list(nodes["ref"]), key="trace_node")
            node = next(n for n in graph.nodes if n.ref == picked)
            st.json({"id": node.id, "kind": node.kind, "ref": node.ref, "sha256": node.sha256,
                     "aliases": list(node.aliases), **dict(node.details)}, expanded=False)

with impact_tab:
    snapshot_refs = [s.ref for s in opened.snapshots.list()]
    feature_refs = [f.ref for f in opened.features.list()]
    choices = snapshot_refs + feature_refs
    wanted_impact = st.query_params.get("impact")
    start = st.selectbox("Snapshot or feature-set version", choices,
                         index=choices.index(wanted_impact) if wanted_impact in choices else None,
                         placeholder="pick what would change", key="impact_ref")
    if start:
        graph = call(lambda: impact(opened, start))
        if graph is not None:
            holders = graph.alias_holders()
            if holders:
                st.warning("Serving depends on this: " + ", ".join(f"{n.ref} ({', '.join(n.aliases)})" for n in holders))
            st.graphviz_chart(graph.to_dot(), width="stretch")
            st.dataframe(views.graph_node_rows(graph), hide_index=True, width="stretch")

with diff_tab:
    if len(models) < 2:
        st.info("Register two model versions to compare them.")
    else:
        left, right = st.columns(2)
        a = left.selectbox("From", models, index=len(models) - 2, key="diff_a")
        b = right.selectbox("To", models, index=len(models) - 1, key="diff_b")
        result = call(lambda: views.lineage_diff_view(opened, a, b))
        if result is not None:
            st.code(result["text"], language="text")
            with st.expander("As JSON"):
                st.json(result["json"])
