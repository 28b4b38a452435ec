"""Models: the registry, alias timelines, promote and roll back with a reason, staleness warnings.

After a promote or rollback the page reruns, so the registry, timeline and previews show
the new holder; the outcome is carried over the rerun in session state (``FLASH``).
"""

from __future__ import annotations

import streamlit as st

from lineage import views
from pages._support import cached, call, confirmed_form, store

st.title("Models")
opened = store()
if opened is None:
    st.stop()

SHOWN_WARNINGS = 5
FLASH = "models_flash"
flash = st.session_state.pop(FLASH, None)  # {"form": ..., "success": ..., "warning": ...} from the last write
if flash is not None:  # the move is done: the next one needs its own reason and confirmation
    st.session_state[f"{flash['form']}_reason"] = ""
    st.session_state[f"{flash['form']}_confirm"] = False


def show_outcome(form: str) -> None:
    """The last write's messages, under the form that made it."""
    if flash is not None and flash["form"] == form:
        st.success(flash["success"])
        if flash.get("warning"):
            st.warning(flash["warning"])


def done(form: str, success: str, warning: str | None = None) -> None:
    """Remember the outcome and rerun, so everything above the form is drawn from the new state."""
    st.session_state[FLASH] = {"form": form, "success": success, "warning": warning}
    st.rerun()


data = cached(views.model_registry, opened, disk=True)  # disk: staleness reads training sources on disk
stale = data["stale"]
for line in stale["detail"][:SHOWN_WARNINGS]:
    st.warning(line)
if len(stale) > SHOWN_WARNINGS:
    with st.expander(f"All {len(stale):,} staleness warnings ({stale['model'].nunique():,} model versions)"):
        st.dataframe(stale, hide_index=True, width="stretch",
                     column_config={"detail": st.column_config.TextColumn("detail", width="large")})

registry = data["rows"]
if registry.empty:
    st.info("No models yet: train one through `store.runs.track(...)` (see sample_data/train.py) "
            "or `lineage model register`.")
    st.stop()
st.dataframe(registry, hide_index=True, width="stretch",
             column_order=[c for c in registry.columns if c not in ("model", "version", "seed", "artifact", "created_by")],
             column_config={"created_at": st.column_config.DatetimeColumn("created at", format="YYYY-MM-DD HH:mm")})

names = sorted(registry["model"].unique())
wanted = st.query_params.get("model")
model = st.selectbox("Model", names, index=names.index(wanted) if wanted in names else 0, key="model")
st.query_params["model"] = model
versions = list(registry[registry["model"] == model]["version"])

timeline = views.open_until_now(cached(views.alias_timeline, opened, model))
st.subheader("Alias history")
if timeline.empty:
    st.info(f"No alias has pointed at {model} yet.")
else:
    import plotly.graph_objects as go

    figure = go.Figure()  # horizontal bars from start to end (plotly express' timeline costs 5x more to build)
    for version, part in timeline.groupby("version", sort=False):
        figure.add_bar(y=part["alias"], base=part["start"], x=(part["end"] - part["start"]).dt.total_seconds() * 1000,
                       orientation="h", name=version, customdata=part[["action", "reason", "actor"]],
                       hovertemplate="%{y}: " + version + " (%{customdata[0]} by %{customdata[2]})<br>%{customdata[1]}")
    figure.update_layout(height=220 + 30 * timeline["alias"].nunique(), margin={"t": 20, "b": 20}, barmode="overlay",
                         xaxis={"type": "date"}, yaxis_title="alias", legend_title_text="version")
    st.plotly_chart(figure, width="stretch")
    st.dataframe(timeline.drop(columns=["end"]), hide_index=True, width="stretch", column_config={
        "reason": st.column_config.TextColumn("reason", width="medium"),
        "start": st.column_config.DatetimeColumn("start", format="YYYY-MM-DD HH:mm:ss"),
    })

if opened.read_only:
    st.caption("Read-only store: promote and rollback are not available.")
    st.stop()

st.subheader("Promote")
promote_version = st.selectbox("Version", versions, index=len(versions) - 1, key="promote_version")
promote_alias = st.text_input("Alias", value="production", key="promote_alias")
preview = call(lambda: cached(views.promotion_preview, opened, model, promote_alias, promote_version)) if promote_alias else None
if preview:
    st.markdown("\n".join(f"- {line}" for line in preview["lines"]))
    if preview["unchanged"]:
        st.info(f"{model}@{promote_version} already holds '{promote_alias}'.")
reason = confirmed_form("promote", "promote")
if reason is not None:
    move = call(lambda: opened.models.promote(f"{model}@{promote_version}", alias=promote_alias, reason=reason))
    if move is not None:
        was = f" (was {move.previous})" if move.previous and move.previous != move.version else ""
        done("promote", f"{move.model}@{move.alias} now points at {move.version}{was}.")
show_outcome("promote")

st.subheader("Roll back")
holders = sorted(timeline["alias"].unique()) if not timeline.empty else []
if not holders:
    st.caption("Nothing to roll back: no alias has been set.")
else:
    rollback_alias = st.selectbox("Alias", holders, key="rollback_alias")
    target = st.selectbox("To version", ["(the previous holder)", *versions], key="rollback_to")
    to = None if target == "(the previous holder)" else target
    plan = call(lambda: cached(views.rollback_preview, opened, model, rollback_alias, to))
    if plan:
        st.markdown("\n".join(f"- {line}" for line in plan["lines"]))
    reason = confirmed_form("rollback", "roll back")
    if reason is not None and to is None and plan is not None and plan["target"] is None:
        # checked here so the message names this page's picker, not the CLI's --to
        st.error(f"'{rollback_alias}' of {model} has had no other holder to go back to: pick one in To version.")
    elif reason is not None:
        result = call(lambda: opened.models.rollback(model, alias=rollback_alias, reason=reason, to=to))
        if result is not None:
            switch = result["feature_set_switch"]
            done("rollback", f"{model}@{rollback_alias}: {result['from_version']} → {result['to_version']}.",
                 f"Serving must switch feature set: {switch['from']} → {switch['to']}." if switch else None)
    show_outcome("rollback")
