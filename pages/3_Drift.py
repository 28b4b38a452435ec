"""Drift: the production model's training features against what serving computed.

Defaults: the reference is the training features of the model holding ``production``,
the current side the latest ``online`` snapshot, the feature-set version the one that computed
the reference. Looking writes nothing: profiles are read when stored, else computed unsaved;
only "Save report" writes.
"""

from __future__ import annotations

import json

import streamlit as st

from lineage import views
from pages._support import cached, call, default_following, store

st.title("Drift")
opened = store()
if opened is None:
    st.stop()

snapshots = cached(views.snapshot_refs, opened)
if len(snapshots) < 2:
    st.info("Drift compares two snapshots: register a training features snapshot and an online log first.")
    st.stop()
default_reference, default_current = call(lambda: cached(views.drift_defaults, opened)) or (None, None)
wanted_reference = st.query_params.get("reference", default_reference)
wanted_current = st.query_params.get("current", default_current)
left, right = st.columns(2)
reference = left.selectbox("Reference (training)", snapshots,
                           index=snapshots.index(wanted_reference) if wanted_reference in snapshots else 0, key="reference")
current = right.selectbox("Current (serving)", snapshots,
                          index=snapshots.index(wanted_current) if wanted_current in snapshots else len(snapshots) - 1,
                          key="current")
feature_sets = ["(none)", *cached(views.feature_refs, opened)]
source = call(lambda: cached(views.materialized_from, opened, reference))
default_following("feature_set", source.ref if source and source.ref in feature_sets else "(none)", reference)
feature_set = st.selectbox("Check against feature-set version", feature_sets, key="feature_set")
drift_share = st.slider("Dataset drifts when this share of features drifts", 0.05, 1.0, 0.5, 0.05, key="drift_share")
st.query_params.update({"reference": reference, "current": current})

features = None  # compare picks them, unless the snapshots come from two feature-set versions
shared = call(lambda: cached(views.shared_features, opened, reference, current))
if shared is not None:
    if not shared:
        st.info("The two snapshots come from feature-set versions that declare no feature in common: "
                "pick snapshots of the same features.")
        st.stop()
    default_following("drift_features", list(shared), (reference, current))
    picked = st.multiselect("Features to compare (both feature-set versions declare them)", list(shared),
                            key="drift_features")
    if not picked:
        st.info("Pick at least one feature to compare.")
        st.stop()
    features = tuple(picked)

report = call(lambda: cached(views.drift_report, opened, reference, current, drift_share,
                             None if feature_set == "(none)" else feature_set, features))
if report is None:
    st.stop()
document = report.to_json()
overall = document["overall"]
columns = st.columns(3)
columns[0].metric("Verdict", "DRIFT" if overall["drifted"] else "no drift")
columns[1].metric("Drifted features", f"{overall['drifted_count']} of {overall['feature_count']}")
columns[2].metric("Share", f"{overall['share']:.0%}", help=f"threshold {overall['drift_share_threshold']:.0%}")

table = views.drift_table(report)
st.dataframe(table, hide_index=True, width="stretch", column_order=views.DRIFT_TABLE_ORDER, column_config={
    "drifted": st.column_config.CheckboxColumn("drifted", width="small"),
    "p_value": st.column_config.NumberColumn("p", format="%.4f", width="small"),
    "statistic": st.column_config.NumberColumn("statistic", format="%.4f", width="small"),
    "threshold": st.column_config.NumberColumn("threshold", width="small"),
    "psi": st.column_config.NumberColumn("PSI", format="%.4f", width="small"),
    "js": st.column_config.NumberColumn("JS", format="%.4f", width="small"),
    "null_rate_ref": st.column_config.ProgressColumn("nulls (ref)", min_value=0.0, max_value=1.0, format="%.3f",
                                                     width="small"),
    "null_rate_cur": st.column_config.ProgressColumn("nulls (cur)", min_value=0.0, max_value=1.0, format="%.3f",
                                                     width="small"),
})
st.caption("Every column (PSI band, Wasserstein, KS, new and missing categories, …) is in the CSV and JSON "
           "downloads below.")

import plotly.graph_objects as go  # noqa: E402  (graph_objects: plotly express costs 5x more per figure)

bars = go.Figure()
bars.add_bar(x=table["name"], y=table["psi"], name="PSI")
bars.add_bar(x=table["name"], y=table["js"], name="Jensen–Shannon")
lines = [(0.1, "dash", "0.1"), (0.25, "dot", "PSI significant (0.25)")]
bars.update_layout(
    barmode="group", height=320, margin={"t": 30, "b": 20},
    shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y, "line": {"dash": dash, "width": 1}}
            for y, dash, _ in lines],
    annotations=[{"xref": "paper", "x": 1, "y": y, "text": text, "showarrow": False, "xanchor": "right",
                  "yanchor": "bottom"} for y, _, text in lines],
)
st.plotly_chart(bars, width="stretch")

feature = st.selectbox("Distribution of", list(table["name"]), key="feature")
distributions = call(lambda: cached(views.distribution_views, opened, reference, current))
rows = distributions.get(feature) if distributions is not None else None
if rows is not None:
    figure = go.Figure()
    for side, part in rows.groupby("side", sort=False):
        if "category" in rows:
            figure.add_bar(x=part["category"], y=part["share"], name=side)
        else:
            figure.add_bar(x=part["x"], y=part["share"], width=part["width"], name=side, opacity=0.55)
    figure.update_layout(barmode="group" if "category" in rows else "overlay")
    figure.update_layout(height=360, margin={"t": 30, "b": 20}, yaxis_title="share of rows")
    st.plotly_chart(figure, width="stretch")

with st.container(horizontal=True):
    st.download_button("Download JSON", json.dumps(document, indent=2, default=str), file_name="drift.json",
                       mime="application/json", key="download_json")
    st.download_button("Download CSV", table.to_csv(index=False), file_name="drift.csv", mime="text/csv",
                       key="download_csv")
    if not opened.read_only and st.button("Save report", key="save_report"):
        saved = call(lambda: opened.drift.compare(reference, current, drift_share=drift_share, save=True,
                                                  feature_set=None if feature_set == "(none)" else feature_set,
                                                  features=list(features) if features else None))
        if saved is not None:
            st.success("Report saved and linked to both snapshots.")
