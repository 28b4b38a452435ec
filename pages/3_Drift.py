"""Drift: the production model's training features against what serving computed.

Defaults: the reference is the training features of the model holding ``production``,
the current side the latest ``online`` snapshot. Charts draw stored profiles only.
"""

from __future__ import annotations

import json

import streamlit as st

from lineage import views
from pages._support import call, store

st.title("Drift")
opened = store()
if opened is None:
    st.stop()

snapshots = [s.ref for s in opened.snapshots.list()]
if len(snapshots) < 2:
    st.info("Drift compares two snapshots: register a training features snapshot and an online log first.")
    st.stop()
default_reference, default_current = views.drift_defaults(opened)
wanted_reference = st.query_params.get("reference", default_reference)
wanted_current = st.query_params.get("current", default_current)
left, right = st.columns(2)
reference = left.selectbox("Reference (training)", snapshots,
                           index=snapshots.index(wanted_reference) if wanted_reference in snapshots else 0, key="reference")
current = right.selectbox("Current (serving)", snapshots,
                          index=snapshots.index(wanted_current) if wanted_current in snapshots else len(snapshots) - 1,
                          key="current")
feature_sets = ["(none)"] + [f.ref for f in opened.features.list()]
source = opened.features.materialized_from(reference)
feature_set = st.selectbox("Check against feature-set version", feature_sets,
                           index=feature_sets.index(source.ref) if source and source.ref in feature_sets else 0,
                           key="feature_set")
drift_share = st.slider("Dataset drifts when this share of features drifts", 0.05, 1.0, 0.5, 0.05, key="drift_share")
st.query_params.update({"reference": reference, "current": current})

report = call(lambda: opened.drift.compare(reference, current, drift_share=drift_share, save=False,
                                           feature_set=None if feature_set == "(none)" else feature_set))
if report is None:
    st.stop()
document = report.to_json()
overall = document["overall"]
columns = st.columns(3)
columns[0].metric("Verdict", "DRIFT" if overall["drifted"] else "no drift")
columns[1].metric("Drifted features", f"{overall['drifted_count']} of {overall['feature_count']}")
columns[2].metric("Share", f"{overall['share']:.0%}", help=f"threshold {overall['drift_share_threshold']:.0%}")

table = views.drift_table(report)
st.dataframe(table, hide_index=True, width="stretch", column_config={
    "null_rate_ref": st.column_config.ProgressColumn("null rate (ref)", min_value=0.0, max_value=1.0, format="%.3f"),
    "null_rate_cur": st.column_config.ProgressColumn("null rate (cur)", min_value=0.0, max_value=1.0, format="%.3f"),
})

import plotly.express as px  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

bars = go.Figure()
bars.add_bar(x=table["name"], y=table["psi"], name="PSI")
bars.add_bar(x=table["name"], y=table["js"], name="Jensen–Shannon")
bars.add_hline(y=0.1, line_dash="dash", annotation_text="0.1")
bars.add_hline(y=0.25, line_dash="dot", annotation_text="PSI significant (0.25)")
bars.update_layout(barmode="group", height=320, margin={"t": 30, "b": 20})
st.plotly_chart(bars, width="stretch")

feature = st.selectbox("Distribution of", list(table["name"]), key="feature")
profiles = call(lambda: (opened.drift.profile(reference), opened.drift.profile(current)))
if profiles is not None and feature in profiles[0] and feature in profiles[1]:
    import pandas as pd

    rows = pd.concat([views.distribution_rows(profiles[0][feature], "reference"),
                      views.distribution_rows(profiles[1][feature], "current")])
    if "category" in rows:
        figure = px.bar(rows, x="category", y="share", color="side", barmode="group")
    else:
        figure = go.Figure()
        for side, part in rows.groupby("side", sort=False):
            figure.add_bar(x=part["x"], y=part["share"], width=part["width"], name=side, opacity=0.55)
        figure.update_layout(barmode="overlay")
    figure.update_layout(height=360, margin={"t": 30, "b": 20}, yaxis_title="share of rows")
    st.plotly_chart(figure, width="stretch")

with st.container(horizontal=True):
    st.download_button("Download JSON", json.dumps(document, indent=2, default=str), file_name="drift.json",
                       mime="application/json", key="download_json")
    st.download_button("Download CSV", table.to_csv(index=False), file_name="drift.csv", mime="text/csv",
                       key="download_csv")
    if not opened.read_only and st.button("Save report", key="save_report"):
        saved = call(lambda: opened.drift.compare(reference, current, drift_share=drift_share, save=True,
                                                  feature_set=None if feature_set == "(none)" else feature_set))
        if saved is not None:
            st.success("Report saved and linked to both snapshots.")
