"""Lineage: a model's upstream graph to the raw snapshots, impact of a change, and "why did it change?".

``?ref=churn@1.2.0`` opens a trace directly; ``?impact=customers_clean@v1.0`` an impact view.
"""

from __future__ import annotations

import streamlit as st

from lineage import views
from pages._support import cached, call, graph_columns, store

st.title("Lineage")
opened = store()
if opened is None:
    st.stop()

models = cached(views.model_refs, opened)
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
        traced = call(lambda: cached(views.trace_view, opened, ref))
        if traced is not None:
            st.graphviz_chart(traced["dot"], width="stretch")
            st.dataframe(traced["nodes"], hide_index=True, width="stretch", column_order=views.GRAPH_TABLE_ORDER,
                         column_config=graph_columns())
            picked = st.selectbox("Node details", list(traced["nodes"]["ref"]), key="trace_node")
            node = next(n for n in traced["graph"].nodes if n.ref == picked)
            st.json({"id": node.id, "kind": node.kind, "ref": node.ref, "sha256": node.sha256,
                     "aliases": list(node.aliases), **dict(node.details)}, expanded=False)

with impact_tab:
    choices = cached(views.snapshot_refs, opened) + cached(views.feature_refs, opened)
    wanted_impact = st.query_params.get("impact")
    start = st.selectbox("Snapshot or feature-set version", choices,
                         index=choices.index(wanted_impact) if wanted_impact in choices else None,
                         placeholder="pick what would change", key="impact_ref")
    if start:
        reached = call(lambda: cached(views.impact_view, opened, start))
        if reached is not None:
            if reached["holders"]:
                st.warning("Serving depends on this: " + ", ".join(reached["holders"]))
            st.graphviz_chart(reached["dot"], width="stretch")
            st.dataframe(reached["nodes"], hide_index=True, width="stretch",
                         column_order=views.GRAPH_TABLE_ORDER, column_config=graph_columns())

with diff_tab:
    if len(models) < 2:
        st.info("Register two model versions to compare them.")
    else:
        left, right = st.columns(2)
        a = left.selectbox("From", models, index=len(models) - 2, key="diff_a")
        b = right.selectbox("To", models, index=len(models) - 1, key="diff_b")
        result = call(lambda: cached(views.lineage_diff_view, opened, a, b))
        if result is not None:
            st.code(result["text"], language="text")
            with st.expander("As JSON"):
                st.json(result["json"])
