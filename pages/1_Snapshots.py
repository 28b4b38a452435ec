"""Snapshots: search and filter every dataset version, open one, check its bytes.

``?ref=dataset@version`` opens a snapshot directly (links from other pages use it).
"""

from __future__ import annotations

import streamlit as st

from lineage import views
from lineage.entities import STAGES
from pages._support import StreamlitProgress, cached, call, snapshot_columns, store

PAGE_SIZE = 25
NEW_DATASET = "(new dataset)"

st.title("Snapshots")
opened = store()
if opened is None:
    st.stop()

dataset_names = cached(views.dataset_names, opened)
with st.container(horizontal=True):
    text = st.text_input("Search", placeholder="ref, note or sha256 prefix", key="search")
    stages = st.multiselect("Stage", STAGES, key="stages")
    datasets = st.multiselect("Dataset", dataset_names, key="datasets")
matching = cached(views.snapshot_refs, opened, text, tuple(stages), tuple(datasets))
page_number = 1
_, pages = views.page_of(matching, 1, PAGE_SIZE)
if pages > 1:
    page_number = int(st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, key="page"))
shown, _ = views.page_of(matching, page_number, PAGE_SIZE)
st.caption(f"{len(matching)} of {cached(views.snapshot_total, opened)} snapshots")
st.dataframe(cached(views.snapshot_table, opened, tuple(shown)), hide_index=True, width="stretch",
             column_order=views.SNAPSHOT_TABLE_ORDER, column_config=snapshot_columns())


def register_form() -> None:
    """The register form (not shown on a read-only store)."""
    with st.form("register"):
        upload = st.file_uploader("Upload a Parquet or CSV file", type=["parquet", "csv"], key="register_file")
        server_path = st.text_input("…or a path on the server (file or folder of Parquet files)", key="register_path")
        left, right = st.columns(2)
        picked = left.selectbox("Dataset", [NEW_DATASET, *dataset_names], key="register_dataset")
        new_name = right.text_input("New dataset name", key="register_new_dataset")
        version = left.text_input("Version (empty: today's UTC date)", key="register_version")
        stage = right.selectbox("Stage", STAGES, key="register_stage")
        parents = st.multiselect("Derived from", cached(views.snapshot_refs, opened), key="register_parents")
        note = st.text_input("Note", key="register_note")
        submitted = st.form_submit_button("Register")
    if submitted:
        from pages._support import register_snapshot

        typed = new_name.strip()
        if picked != NEW_DATASET and typed:  # a form cannot disable one field as the other changes: refuse both
            st.error(f"Both a dataset ('{picked}') and a new dataset name ('{typed}') are given: pick "
                     f"'{NEW_DATASET}' to register under the typed name, or clear the name to use '{picked}'.")
            return
        dataset = typed if picked == NEW_DATASET else picked
        info = call(lambda: register_snapshot(opened, upload=upload, server_path=server_path, dataset=dataset,
                                              version=version.strip() or None, stage=stage, parents=parents, note=note))
        if info is not None:
            verb = "Registered" if info.created else "Already registered as"
            st.success(f"{verb} {info.ref} (sha256 {info.sha256[:12]}…, {info.rows:,} rows).")
            st.page_link("pages/1_Snapshots.py", label=f"Open {info.ref}", query_params={"ref": info.ref})


if not opened.read_only:
    with st.expander("Register a snapshot", expanded=st.query_params.get("register") == "1"):
        register_form()

refs = list(matching)
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
if detail["purged"]:
    st.warning(detail["purged"], icon=":material/delete_forever:")
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

if detail["purged"]:
    st.stop()  # no bytes left: nothing to verify or check
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
