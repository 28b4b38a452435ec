"""Feature sets: every version with its change class, a side-by-side diff, and file validation.

``?set=customer_features&from=2.0.0&to=2.1.0`` opens a diff directly.
"""

from __future__ import annotations

import streamlit as st

from lineage import views
from pages._support import cached, call, default_following, store

st.title("Feature sets")
opened = store()
if opened is None:
    st.stop()

versions = cached(views.feature_set_rows, opened)
if versions.empty:
    st.info("No feature sets yet: register one with `lineage features register SCHEMA.json --module MODULE`.")
    st.stop()

names = sorted(versions["feature_set"].unique())
wanted = st.query_params.get("set")
name = st.selectbox("Feature set", names, index=names.index(wanted) if wanted in names else 0, key="set")
st.query_params["set"] = name
own = versions[versions["feature_set"] == name].reset_index(drop=True)
st.dataframe(own, hide_index=True, width="stretch",
             column_order=["ref", "features", "change", "previous", "author", "created_at", "git", "tag", "allow_breaking"],
             column_config={"ref": st.column_config.TextColumn("ref", width="medium"),
                            "features": st.column_config.NumberColumn("features", width="small"),
                            "change": st.column_config.TextColumn("change", width="small"),
                            "created_at": st.column_config.DatetimeColumn("created at", format="YYYY-MM-DD HH:mm"),
                            "allow_breaking": st.column_config.TextColumn("breaking allowed because")})

st.subheader("Compare two versions")
choices = list(own["version"])
set_changed = st.session_state.get("_compare_set", name) != name  # the URL's from/to were the last set's
st.session_state["_compare_set"] = name
linked = {} if set_changed else {p: st.query_params.get(p) for p in ("from", "to")}
default_from = linked.get("from") if linked.get("from") in choices else choices[-2] if len(choices) > 1 else choices[0]
default_to = linked.get("to") if linked.get("to") in choices else choices[-1]
default_following("from", default_from, name)  # previous → latest whenever another set is picked
default_following("to", default_to, name)
left, right = st.columns(2)
from_version = left.selectbox("From", choices, key="from")
to_version = right.selectbox("To", choices, key="to")
st.query_params.update({"from": from_version, "to": to_version})
diff = call(lambda: cached(views.feature_diff_view, opened, name, from_version, to_version))
if diff is not None:
    bump = diff["required_bump"]
    st.metric("Required bump", bump)
    if diff["changes"].empty:
        st.success(f"{from_version} and {to_version} have the same schema and code.")
    else:
        def colour(row):  # type: ignore[no-untyped-def]
            return [f"background-color: {views.CLASS_COLOURS.get(row['class'], '')}"] * len(row)

        st.dataframe(diff["side_by_side"].style.apply(colour, axis=1), hide_index=True, width="stretch")
        st.dataframe(diff["changes"].style.apply(colour, axis=1), hide_index=True, width="stretch",
                     column_config={"detail": st.column_config.TextColumn("detail", width="large")})
        for feature, code_diff in diff["code_diffs"]:
            with st.expander(f"Code change: {feature}", expanded=True):
                st.code(code_diff, language="diff")

st.subheader("Validate a file against a version")
default_following("validate_version", choices[-1], name)  # the latest version of whichever set is picked
with st.form("validate"):
    version = st.selectbox("Version", choices, key="validate_version")
    upload = st.file_uploader("Parquet or CSV file", type=["parquet", "csv"], key="validate_file")
    submitted = st.form_submit_button("Validate")
if submitted:
    if upload is None:
        st.error("Choose a file to validate.")
    else:
        from lineage.features.validation import read_uploaded

        table = call(lambda: read_uploaded(upload.name, upload.getvalue()))
        report = call(lambda: opened.features.validate(f"{name}@{version}", table)) if table is not None else None
        if report is not None:
            if report.ok:
                st.success(f"{upload.name}: {report.summary_line()}")
            else:
                st.error(f"{upload.name}: {report.summary_line()}")
                st.dataframe(views.violation_rows(report), hide_index=True, width="stretch")
