"""Lineage dashboard: the router and the Overview page.

Run with ``streamlit run app.py`` (the store comes from LINEAGE_* settings, by default
``./.lineage``). Pages are thin: they read widgets, call the ``lineage`` library and draw.
"""

from __future__ import annotations

import streamlit as st

from lineage.formatting import human_size
from pages._support import (
    StreamlitProgress,
    cached,
    call,
    forget_store,
    library_errors,
    snapshot_columns,
    store,
)

DATETIME = "YYYY-MM-DD HH:mm"


def overview() -> None:
    """Counts, the latest snapshots and the latest audit events."""
    from lineage import views

    st.title("Lineage")
    st.caption("Every model traceable to the exact data and feature logic it was built from.")
    opened = store(on_missing=_offer_demo)
    if opened is None:
        return
    data = cached(views.overview, opened, disk=True)  # disk: source files are re-checked every minute
    counts = data["counts"]
    columns = st.columns([1, 1, 1.2, 1.2, 2.2])  # the integrity column holds "never checked" and a button
    columns[0].metric("Datasets", f"{counts['datasets']:,}")
    columns[1].metric("Snapshots", f"{counts['snapshots']:,}", help=f"{human_size(counts['bytes'])} stored")
    columns[2].metric("Feature-set versions", f"{counts['feature_set_versions']:,}")
    columns[3].metric("Model versions", f"{counts['model_versions']:,}")
    _integrity(opened, data["integrity"], columns[4])
    for line in data["warnings"]:
        st.warning(line)
    st.caption(data["source_note"])
    st.subheader("In production")
    if data["holders"].empty:
        st.info("No model holds the `production` alias yet: promote one on the Models page.")
    else:
        st.dataframe(data["holders"], hide_index=True, width="stretch",
                     column_config={"since": st.column_config.DatetimeColumn("since", format=DATETIME)})
    st.subheader("Latest snapshots")
    if data["latest_snapshots"].empty:
        st.info("No snapshots yet: register one on the Snapshots page or with `lineage snapshot add`.")
    else:
        st.dataframe(data["latest_snapshots"], hide_index=True, width="stretch",
                     column_order=views.LATEST_SNAPSHOTS_ORDER, column_config=snapshot_columns())
    st.subheader("Latest audit events")
    st.dataframe(data["latest_events"], hide_index=True, width="stretch", height="content", column_config={
        "seq": st.column_config.NumberColumn("seq", width="small"),
        "at": st.column_config.DatetimeColumn("at", format="YYYY-MM-DD HH:mm:ss"),
        "subject": st.column_config.TextColumn("subject", width="medium"),
        "hash": st.column_config.TextColumn("hash", width="small"),
    })


def _integrity(opened, last, column) -> None:  # type: ignore[no-untyped-def]
    """The last integrity check (chain + blobs) and a button to run one now."""
    from lineage.integrity import last_verification, verify_store

    slot = column.empty()  # drawn after the button, so a check run now shows at once
    if column.button("Verify now", key="verify_store", help="Recompute the audit chain and re-hash every blob"):
        report = call(lambda: verify_store(opened, progress=StreamlitProgress()))
        last = last_verification(opened) or last
        if report is not None and report.ok:
            st.success(f"Audit chain intact ({report.chain.events} events) and {len(report.blobs)} blobs match their hashes.")
        elif report is not None:
            problems = [report.chain.problem] if not report.chain.ok else []
            problems += [f"{b.kind} {b.ref}: {b.problem}" for b in report.blobs if not b.ok]
            st.error("Integrity check failed: " + "; ".join(p for p in problems if p))
    if last is None:
        slot.metric("Integrity", "never checked")
    else:
        slot.metric("Integrity", "intact" if last["ok"] else "BROKEN",
                    help=f"last checked {last['at']:%Y-%m-%d %H:%M} UTC by {last['actor']}")


def _offer_demo() -> None:
    """On a store that does not exist yet, one button creates it with the sample data."""
    if st.button("Create the store and load the sample data", key="load_demo"):
        from lineage.demo import load_demo
        from lineage.store import Store

        loaded = call(lambda: load_demo(Store.init(), progress=StreamlitProgress()))
        if loaded is not None:
            forget_store()
            st.success(f"Loaded {len(loaded.snapshots)} sample snapshots and {len(loaded.feature_versions)} feature-set versions.")
            st.rerun()


st.set_page_config(page_title="Lineage", page_icon="🌳", layout="wide")  # an emoji favicon is drawn locally
navigation = st.navigation([
    st.Page(overview, title="Overview", icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("pages/1_Snapshots.py", title="Snapshots", icon=":material/database:", url_path="snapshots"),
    st.Page("pages/2_Feature_sets.py", title="Feature sets", icon=":material/functions:", url_path="features"),
    st.Page("pages/3_Drift.py", title="Drift", icon=":material/monitoring:", url_path="drift"),
    st.Page("pages/4_Models.py", title="Models", icon=":material/model_training:", url_path="models"),
    st.Page("pages/5_Lineage.py", title="Lineage", icon=":material/account_tree:", url_path="lineage"),
])
with library_errors():  # the last net: a library error no page expected (a damaged database) is one line
    navigation.run()
