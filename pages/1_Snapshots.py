"""Snapshots: search and filter every dataset version, open one, check its bytes.

``?ref=dataset@version`` opens a snapshot directly (links from other pages use it).
"""

from __future__ import annotations

import streamlit as st

from lineage import views
from lineage.entities import STAGES
from pages._support import StreamlitProgress, call, store

PAGE_SIZE = 25

st.title("Snapshots")
opened = store()
if opened is None:
    st.stop()

snapshots = opened.snapshots.list()
with st.container(horizontal=True):
    text = st.text_input("Search", placeholder="ref, note or sha256 prefix", key="search")
    stages = st.multiselect("Stage", STAGES, key="stages")
    datasets = st.multiselect("Dataset", sorted({s.dataset for s in snapshots}), key="datasets")
matching = views.filter_snapshots(snapshots, text=text, stages=stages, datasets=datasets)
page_number = 1
if len(matching) > PAGE_SIZE:
    pages = -(-len(matching) // PAGE_SIZE)
    page_number = int(st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, key="page"))
shown, _ = views.page_of(matching, page_number, PAGE_SIZE)
st.caption(f"{len(matching)} of {len(snapshots)} snapshots")
st.dataframe(views.snapshot_rows(shown), hide_index=True, width="stretch", column_order=views.SNAPSHOT_TABLE_ORDER)

refs = [s.ref for s in matching]
wanted = st.query_params.get("ref")
if wanted and wanted not in refs:
    found = call(lambda: opened.snapshots.get(wanted))
    if found is not None:
        refs.insert(0, found.ref)
        wanted = found.ref
choice = st.selectbox("Open snapshot", refs, index=refs.index(wanted) if wanted in refs else None,
                      placeholder="pick a snapshot", key="open_ref")
if choice is None:
    st.stop()
st.query_params["ref"] = choice
snapshot = call(lambda: opened.snapshots.get(choice))
if snapshot is None:
    st.stop()

detail = views.snapshot_detail(opened, snapshot)
st.header(snapshot.ref)
st.dataframe(detail["facts"], hide_index=True, width="stretch", height="content",
             column_config={"field": st.column_config.TextColumn(width="small"),
                            "value": st.column_config.TextColumn(width="large")})
st.markdown("**Schema**")
st.dataframe(detail["schema"], hide_index=True, width="stretch", height="content")
if not detail["files"].empty:
    st.markdown("**Files** (the sha256 above is of the manifest listing them)")
    st.dataframe(detail["files"], hide_index=True, width="stretch")
if detail["check_commands"]:
    st.markdown("**Check the bytes yourself** (prints `OK` for each; exits non-zero on a mismatch)")
    st.code("\n".join(detail["check_commands"]), language="bash", wrap_lines=True)

if st.button("Verify now", key="verify", help="Re-read the stored bytes and the original source"):
    results = call(lambda: opened.snapshots.verify(snapshot.ref, progress=StreamlitProgress()))
    if results is not None:
        result = results[0]
        if result.ok:
            st.success(f"{result.ref}: stored bytes match {snapshot.sha256}. Source: {result.source_status}.")
        else:
            st.error(f"{result.ref}: {result.problem}")
        if result.source_problem:
            st.warning(f"Source: {result.source_problem}")
