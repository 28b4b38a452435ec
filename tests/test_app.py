"""The dashboard run in-process with Streamlit's AppTest against real tmp-dir stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lineage.demo import load_demo
from lineage.store import Store

APP = "../app.py"  # resolved against this file
SNAPSHOTS_PAGE = "pages/1_Snapshots.py"  # relative to the main script


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Caches are shared by every AppTest in the process: never let a store leak between tests."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


_DEMO: dict[str, Path] = {}


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo store (with trained models) built per session; tests get copies of it."""
    if "home" not in _DEMO:
        home = tmp_path_factory.mktemp("demo") / "home"
        with Store.init(home, db_url=None, store_url=None, read_only=False, user="tester") as opened:
            load_demo(opened)
        _DEMO["home"] = home
    return _DEMO["home"]


@pytest.fixture
def demo_env(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A private copy of the demo store (pages are backend-agnostic; the library tests run both)."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(demo_template, home)
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    return {"LINEAGE_HOME": str(home)}


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def test_overview_shows_counts_latest_snapshots_and_events(demo_env: dict[str, str]) -> None:
    at = run_app()
    assert at.title[0].value == "Lineage"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Datasets"] == "4" and metrics["Snapshots"] == "6"
    assert metrics["Feature-set versions"] == "2" and metrics["Model versions"] == "2"
    holders = at.dataframe[0].value
    assert list(zip(holders["model"], holders["version"], strict=True)) == [("churn", "1.2.0")]
    latest = at.dataframe[1].value
    assert set(latest["ref"]) >= {"customers_raw@2026_03_01", "customers_clean@v1.0", "customers_raw@2026_02_01"}
    events = at.dataframe[2].value
    actions = list(events["action"])
    assert "model.promote" in actions and "model.register" in actions
    assert list(events["seq"]) == sorted(events["seq"], reverse=True)


def test_overview_reflects_a_new_snapshot(demo_env: dict[str, str], tmp_path: Path) -> None:
    from tests.factories import write_parquet

    with Store.open() as opened:
        opened.snapshots.add(write_parquet(tmp_path / "extra.parquet"), dataset="extra", version="v1")
    at = run_app()
    assert {m.label: m.value for m in at.metric}["Snapshots"] == "7"
    assert at.dataframe[1].value["ref"].iloc[0] == "extra@v1"


def test_missing_store_offers_the_demo_and_loads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "nothing-here"
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    at = run_app()
    assert "lineage init" in at.info[0].value
    assert not (home / "lineage.db").exists()  # looking never creates a store
    at.button(key="load_demo").click().run(timeout=180)  # loading trains two models: slow on a busy machine
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Snapshots"] == "6"


def test_read_only_store_cannot_be_created_from_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_HOME", str(tmp_path / "ro"))
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    at = run_app()
    at.button(key="load_demo").click().run()
    assert not at.exception
    assert "read-only" in at.error[0].value
    assert not (tmp_path / "ro" / "lineage.db").exists()


def test_snapshots_page_filters_and_opens_a_snapshot(demo_env: dict[str, str]) -> None:
    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    assert not at.exception
    assert at.caption[0].value == "6 of 6 snapshots"
    at.multiselect(key="stages").select("processed").run()
    assert at.caption[0].value == "1 of 6 snapshots"
    assert list(at.dataframe[0].value["ref"]) == ["customers_clean@v1.0"]
    at.selectbox(key="open_ref").select("customers_clean@v1.0").run()
    assert at.header[0].value == "customers_clean@v1.0"
    assert at.query_params["ref"] == "customers_clean@v1.0"
    schema = at.dataframe[2].value
    assert "customer_id" in list(schema["name"])
    with Store.open() as opened:
        digest = opened.snapshots.get("customers_clean@v1.0").sha256
    assert digest in at.code[0].value and "sha256sum -c" in at.code[0].value


def test_search_by_sha256_prefix(demo_env: dict[str, str]) -> None:
    with Store.open() as opened:
        digest = opened.snapshots.get("customers_raw@2026_03_01").sha256
    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    at.text_input(key="search").input(digest[:10]).run()
    assert list(at.dataframe[0].value["ref"]) == ["customers_raw@2026_03_01"]


def test_verify_button_reports_a_tampered_blob(demo_env: dict[str, str]) -> None:
    with Store.open() as opened:
        info = opened.snapshots.get("customers_clean@v1.0")
        blob = Path(opened.objects.key_path(info.sha256))
    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    at.selectbox(key="open_ref").select("customers_clean@v1.0").run()
    at.button(key="verify").click().run()
    assert "stored bytes match" in at.success[0].value
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    at.button(key="verify").click().run()
    assert not at.exception
    assert "customers_clean@v1.0" in at.error[0].value


def test_a_purged_snapshot_shows_the_notice_and_no_verify_or_check_actions(demo_env: dict[str, str]) -> None:
    from lineage.purge import purge

    with Store.open() as opened:
        purge(opened, "customers_raw@2026_03_01", reason="erasure request #17", yes=True)
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["ref"] = "customers_raw@2026_03_01"
    at.run()
    at.switch_page(SNAPSHOTS_PAGE).run()
    assert not at.exception
    notice = at.warning[0].value
    assert "Bytes purged on" in notice and "erasure request #17" in notice and "tester" in notice
    assert not [b for b in at.button if b.key == "verify"] and not at.code
    facts = at.dataframe[1].value
    assert "purged" in list(facts["field"])


def test_unknown_ref_in_the_url_is_one_error_line(demo_env: dict[str, str]) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["ref"] = "nope@v9"
    at.run()
    at.switch_page(SNAPSHOTS_PAGE).run()
    assert not at.exception
    assert len(at.error) == 1 and "nope" in at.error[0].value


def test_feature_sets_page_shows_versions_diff_and_validates_an_upload(demo_env: dict[str, str], tmp_path: Path) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    at = run_app()
    at.switch_page("pages/2_Feature_sets.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["version"]) == ["2.0.0", "2.1.0"]
    assert at.metric[0].value == "minor"
    changes = at.dataframe[2].value
    assert list(changes["feature"]) == ["avg_purchase_value"] and list(changes["class"]) == ["minor"]
    bad = io.BytesIO()
    pq.write_table(pa.table({"customer_id": [1], "reference_date": pa.array([0], pa.timestamp("us", "UTC")),
                             "age": [7], "region": ["mars"]}), bad)
    at.selectbox(key="validate_version").select("2.0.0")
    at.file_uploader(key="validate_file").upload("bad.parquet", bad.getvalue(), "application/octet-stream")
    at.button[0].click().run()
    assert not at.exception
    assert "bad.parquet" in at.error[0].value
    assert set(at.dataframe[-1].value["reason"]) >= {"below_min", "not_allowed"}


def test_feature_sets_page_refuses_an_unreadable_upload(demo_env: dict[str, str]) -> None:
    at = run_app()
    at.switch_page("pages/2_Feature_sets.py").run()
    at.file_uploader(key="validate_file").upload("junk.csv", b"a,b\n1,2,3\n", "text/csv")
    at.button[0].click().run()
    assert not at.exception and len(at.error) == 1 and "junk.csv" in at.error[0].value


def test_models_page_promotes_with_confirmation_and_rolls_back(demo_env: dict[str, str]) -> None:
    at = run_app()
    at.switch_page("pages/4_Models.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["ref"]) == ["churn@1.1.0", "churn@1.2.0"]
    at.selectbox(key="promote_version").select("1.1.0").run()
    assert "serving must switch feature set" in at.markdown[0].value
    at.text_input(key="promote_reason").input("try the old one")
    at.button[0].click().run()  # no confirmation
    assert "Tick the confirmation" in at.error[0].value
    with Store.open() as opened:
        assert opened.models.get("churn@production").version == "1.2.0"
    at.text_input(key="promote_reason").input("try the old one")
    at.checkbox(key="promote_confirm").check()
    at.button[0].click().run()
    assert "now points at 1.1.0" in at.success[0].value
    at.text_input(key="rollback_reason").input("back again")
    at.checkbox(key="rollback_confirm").check()
    at.button[1].click().run()
    assert not at.exception
    assert "1.1.0 → 1.2.0" in at.success[0].value
    with Store.open() as opened:
        assert opened.models.get("churn@production").version == "1.2.0"
        assert opened.audit.log(action="model.rollback")[-1].payload["reason"] == "back again"


def test_models_page_hides_forms_when_read_only(demo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    at = run_app()
    at.switch_page("pages/4_Models.py").run()
    assert not at.exception and len(at.button) == 0
    assert "Read-only" in at.caption[0].value


def test_lineage_page_traces_shows_impact_and_explains_a_model_change(demo_env: dict[str, str]) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ref"] = "churn@1.2.0"
    at.run()
    at.switch_page("pages/5_Lineage.py").run()
    assert not at.exception
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "churn@1.2.0" in dot and "customers_clean@v1.0" in dot and "customer_features@2.1.0" in dot
    kinds = set(at.dataframe[0].value["kind"])
    assert kinds == {"model_version", "feature_set_version", "snapshot"}
    at.selectbox(key="impact_ref").select("customers_clean@v1.0").run()
    assert "churn@1.2.0 (production)" in at.warning[0].value
    text = at.code[0].value
    assert text.startswith("churn@1.1.0 -> churn@1.2.0") and "avg_purchase_value" in text


def test_lineage_page_unknown_ref_is_one_error(demo_env: dict[str, str]) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ref"] = "nope@1.0.0"
    at.run()
    at.switch_page("pages/5_Lineage.py").run()
    assert not at.exception and len(at.error) == 1 and "nope" in at.error[0].value


def test_overview_runs_the_integrity_check_and_shows_its_result(demo_env: dict[str, str]) -> None:
    at = run_app()
    assert {m.label: m.value for m in at.metric}["Integrity"] == "never checked"
    at.button(key="verify_store").click().run()
    assert not at.exception and "blobs match their hashes" in at.success[0].value
    assert {m.label: m.value for m in at.metric}["Integrity"] == "intact"
    with Store.open() as opened:
        blob = Path(opened.objects.key_path(opened.snapshots.get("customers_raw@2026_03_01").sha256))
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    at.button(key="verify_store").click().run()
    assert "customers_raw@2026_03_01" in at.error[0].value
    assert {m.label: m.value for m in at.metric}["Integrity"] == "BROKEN"


def test_overview_warns_about_models_trained_on_changed_feature_code(demo_env: dict[str, str]) -> None:
    import json

    schema = json.loads((Path(__file__).resolve().parents[1] / "sample_data" / "schemas" /
                         "customer_features_3.0.0_candidate.json").read_text())
    schema["version"] = "3.0.0"
    with Store.open() as opened:
        opened.features.register(schema, "sample_data.features.customer_features_3_0_candidate")
    at = run_app()
    assert any("churn@1.2.0" in w.value and "customer_features@3.0.0" in w.value for w in at.warning)


def test_drift_page_defaults_to_production_features_vs_latest_online_log(demo_env: dict[str, str]) -> None:
    at = run_app()
    assert any("67% of features drifted" in w.value for w in at.warning)  # the demo saved a drifting report
    at.switch_page("pages/3_Drift.py").run()
    assert not at.exception
    assert at.selectbox(key="reference").value == "customer_features_values@2.1.0-customers_clean-v1.0"
    assert at.selectbox(key="current").value == "customer_features_online@2026_03"
    assert {m.label: m.value for m in at.metric}["Verdict"] == "DRIFT"
    table = at.dataframe[0].value
    assert list(table["drifted"])[:2] == [True, True] and set(table["name"][:2]) == {"region", "avg_purchase_value"}
    charts = at.get("plotly_chart")
    assert len(charts) == 2 and "PSI" in charts[0].proto.spec
    at.selectbox(key="feature").select("region").run()
    assert "north_east" in at.get("plotly_chart")[1].proto.spec
    with Store.open() as opened:
        before = len(opened.drift.latest_reports())
    at.button(key="save_report").click().run()
    assert "Report saved" in at.success[0].value
    with Store.open() as opened:
        assert len(opened.drift.latest_reports()) == before + 1


def _register(at: AppTest, *, name: str | None = None, data: bytes = b"", path: str = "", dataset: str = "uploaded",
              version: str = "v1", parents: list[str] | None = None) -> AppTest:
    if name is not None:
        at.file_uploader(key="register_file").upload(name, data, "application/octet-stream")
    at.text_input(key="register_path").input(path)
    at.text_input(key="register_new_dataset").input(dataset)
    at.text_input(key="register_version").input(version)
    if parents:
        at.multiselect(key="register_parents").set_value(parents)
    submit = next(b for b in at.button if b.label == "Register")
    return submit.click().run()


def test_register_form_uploads_a_file_and_links_its_parent(demo_env: dict[str, str], tmp_path: Path) -> None:
    from tests.factories import write_parquet

    data = write_parquet(tmp_path / "upload.parquet").read_bytes()
    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    at = _register(at, name="upload.parquet", data=data, parents=["customers_clean@v1.0"])
    assert not at.exception
    assert at.success[0].value.startswith("Registered uploaded@v1")
    with Store.open() as opened:
        info = opened.snapshots.get("uploaded@v1")
        assert info.parents == ["customers_clean@v1.0"] and info.source_uri == "upload:upload.parquet"
        assert opened.snapshots.verify("uploaded@v1")[0].ok


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"name": "ragged.csv", "data": b"a,b\n1,2\n3,4,5\n"}, "ragged.csv"),
        ({"name": "x.parquet", "data": b"not parquet at all"}, "x.parquet"),
        ({}, "exactly one"),
        ({"name": "a.csv", "data": b"a\n1\n", "dataset": "bad/name"}, "path separator"),
        ({"path": "/no/such/file.parquet"}, "does not exist"),
    ],
    ids=["ragged-csv", "not-parquet", "no-source", "bad-dataset", "missing-path"],
)
def test_register_form_bad_input_is_one_error_and_writes_nothing(demo_env: dict[str, str], kwargs: dict,
                                                                 expected: str) -> None:
    from tests.test_cli_bad_input import store_state

    home = Path(demo_env["LINEAGE_HOME"])
    before = store_state(home)
    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    at = _register(at, **kwargs)
    assert not at.exception
    assert len(at.error) == 1 and expected in at.error[0].value, [e.value for e in at.error]
    assert store_state(home) == before


def test_register_form_is_hidden_when_read_only(demo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_READ_ONLY", "1")
    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    assert not at.exception and not [b for b in at.button if b.label == "Register"]


def test_new_registrations_appear_on_the_next_render_despite_caching(demo_env: dict[str, str], tmp_path: Path) -> None:
    """Pages cache query results keyed on the audit head: a write anywhere shows on the very next render."""
    from tests.factories import write_parquet

    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    assert at.caption[0].value == "6 of 6 snapshots"
    at.run()  # served from the cache
    assert at.caption[0].value == "6 of 6 snapshots"
    with Store.open() as opened:  # another user registers a snapshot and promotes a model
        opened.snapshots.add(write_parquet(tmp_path / "late.parquet"), dataset="late", version="v1")
        opened.models.promote("churn@1.1.0", alias="staging", reason="try it")
    at.run()
    assert at.caption[0].value == "7 of 7 snapshots"
    assert "late@v1" in at.selectbox(key="open_ref").options
    assert "late" in at.multiselect(key="datasets").options
    at.switch_page("pages/4_Models.py").run()
    registry = at.dataframe[0].value
    assert dict(zip(registry["ref"], registry["aliases"], strict=True))["churn@1.1.0"] == "staging"


def test_a_rerender_without_writes_reuses_every_query_result(demo_env: dict[str, str]) -> None:
    """After the first render, a plain re-render reads only the audit head (one primary-key read per cached call)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statements: list[str] = []

    def record(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        statements.append(statement)

    at = run_app()
    event.listen(Engine, "before_cursor_execute", record)
    try:
        at.run()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert not at.exception
    queries = [s for s in statements if s != "BEGIN"]  # SQLite's explicit transaction start
    assert queries and all("FROM audit_head" in s for s in queries), statements


DRIFT_PAGE = "pages/3_Drift.py"
FEATURES_V2_1 = "customer_features_values@2.1.0-customers_clean-v1.0"
FEATURES_V2_0 = "customer_features_values@2.0.0-customers_clean-v1.0"


def test_drift_page_feature_set_picker_follows_the_chosen_reference(demo_env: dict[str, str]) -> None:
    """Raw snapshots were computed by no feature set: the picker must not keep the previous reference's."""
    at = run_app()
    at.switch_page(DRIFT_PAGE).run()
    assert at.selectbox(key="feature_set").value == "customer_features@2.1.0"
    at.selectbox(key="reference").select("customers_raw@2026_02_01")
    at.selectbox(key="current").select("customers_raw@2026_03_01").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="feature_set").value == "(none)"
    assert {m.label: m.value for m in at.metric}["Drifted features"].endswith("of 9")
    at.selectbox(key="feature_set").select("customer_features@2.0.0").run()  # the user's own choice is kept...
    at.selectbox(key="current").select("customers_clean@v1.0").run()
    assert at.selectbox(key="feature_set").value == "customer_features@2.0.0"
    at.selectbox(key="reference").select(FEATURES_V2_1).run()  # ...until the reference changes
    assert at.selectbox(key="feature_set").value == "customer_features@2.1.0"


def test_drift_page_compares_two_feature_set_versions_on_the_features_they_share(demo_env: dict[str, str]) -> None:
    at = run_app()
    at.switch_page(DRIFT_PAGE).run()
    at.selectbox(key="current").select(FEATURES_V2_0).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    chosen = at.multiselect(key="drift_features")
    assert chosen.options == ["age", "region"] and chosen.value == ["age", "region"]
    assert set(at.dataframe[0].value["name"]) == {"age", "region"}
    chosen.unselect("age").run()
    assert not at.error and list(at.dataframe[0].value["name"]) == ["region"]
    at.multiselect(key="drift_features").unselect("region").run()
    assert not at.exception and not at.error and "Pick at least one feature" in at.info[0].value
    at.selectbox(key="current").select("customer_features_online@2026_03").run()  # one feature set: no picker
    assert not at.error and not [m for m in at.multiselect if m.key == "drift_features"]


def test_opening_the_drift_page_writes_nothing(demo_env: dict[str, str]) -> None:
    """Looking is not saving: profiles for the distribution chart are computed, not stored, until a report is saved."""
    from tests.test_cli_bad_input import store_state

    home = Path(demo_env["LINEAGE_HOME"])
    before = store_state(home)
    at = run_app()
    at.switch_page(DRIFT_PAGE).run()
    at.selectbox(key="feature").select("region").run()
    assert not at.exception and "north_east" in at.get("plotly_chart")[1].proto.spec
    assert store_state(home) == before
    at.selectbox(key="reference").select("customers_raw@2026_02_01")
    at.selectbox(key="current").select("customers_raw@2026_03_01").run()
    assert not at.exception and not at.error
    assert at.get("plotly_chart")[1].proto.spec
    assert store_state(home) == before


def _submit(at: AppTest, form: str, *, reason: str, confirm: bool = True) -> AppTest:
    at.text_input(key=f"{form}_reason").input(reason)
    at.checkbox(key=f"{form}_confirm").set_value(confirm)
    label = {"promote": "Promote", "rollback": "Roll back"}[form]
    return next(b for b in at.button if b.label == label).click().run()


def test_models_page_errors_point_at_the_page_fields_not_cli_flags(demo_env: dict[str, str]) -> None:
    from tests.test_cli_bad_input import store_state

    with Store.open() as opened:
        opened.models.promote("churn@1.1.0", alias="staging", reason="try it")
    home = Path(demo_env["LINEAGE_HOME"])
    before = store_state(home)
    at = run_app()
    at.switch_page("pages/4_Models.py").run()
    _submit(at, "promote", reason="  ")
    assert not at.exception and len(at.error) == 1
    assert "Reason" in at.error[0].value and "--" not in at.error[0].value, at.error[0].value
    at.selectbox(key="rollback_alias").select("staging").run()
    _submit(at, "rollback", reason="")
    assert "Reason" in at.error[0].value and "--" not in at.error[0].value, at.error[0].value
    _submit(at, "rollback", reason="undo")  # staging had one holder: nothing earlier to go back to
    assert not at.exception and len(at.error) == 1
    assert "To version" in at.error[0].value and "--" not in at.error[0].value, at.error[0].value
    assert store_state(home) == before


def test_models_page_shows_the_new_state_right_after_a_rollback_and_a_promote(demo_env: dict[str, str]) -> None:
    at = run_app()
    at.switch_page("pages/4_Models.py").run()
    _submit(at, "rollback", reason="serving lacks avg_purchase_value")
    assert not at.exception
    assert "1.2.0 → 1.1.0" in at.success[0].value
    assert "customer_features@2.1.0 → customer_features@2.0.0" in at.warning[-1].value
    aliases = dict(zip(at.dataframe[0].value["ref"], at.dataframe[0].value["aliases"], strict=True))
    assert aliases["churn@1.1.0"] == "production" and not aliases["churn@1.2.0"]
    assert not any("churn@1.2.0 already holds" in i.value for i in at.info)
    assert "production: 1.1.0 → 1.2.0" in at.markdown[0].value  # the promote preview starts from the new holder
    assert at.checkbox(key="rollback_confirm").value is False  # the next move needs a fresh confirmation
    _submit(at, "promote", reason="serving fixed")
    assert not at.exception
    assert "now points at 1.2.0" in at.success[0].value
    assert any("churn@1.2.0 already holds 'production'" in i.value for i in at.info)
    timeline = at.dataframe[1].value
    assert list(timeline["version"])[-1] == "1.2.0" and list(timeline["reason"])[-1] == "serving fixed"


SMALL_FEATURES = '''
import pandas as pd
from lineage.features import FeatureSet

small = FeatureSet("small", entity="customer_id", timestamp="reference_date")


@small.feature(dtype="int")
def age(df: pd.DataFrame) -> pd.Series:
    return ((df["reference_date"] - df["birth_date"]).dt.days // 365).astype("int64")
'''


def test_feature_sets_page_switching_sets_compares_previous_with_latest(demo_env: dict[str, str], tmp_path: Path) -> None:
    module = tmp_path / "small_features.py"
    module.write_text(SMALL_FEATURES)
    with Store.open() as opened:
        opened.features.register({"feature_set": "small", "version": "1.0.0", "features": {"age": "int"}}, str(module))
    at = run_app()
    at.switch_page("pages/2_Feature_sets.py").run()
    assert (at.selectbox(key="from").value, at.selectbox(key="to").value) == ("2.0.0", "2.1.0")
    at.selectbox(key="set").select("small").run()
    assert (at.selectbox(key="from").value, at.selectbox(key="to").value) == ("1.0.0", "1.0.0")
    at.selectbox(key="set").select("customer_features").run()
    assert not at.exception
    assert (at.selectbox(key="from").value, at.selectbox(key="to").value) == ("2.0.0", "2.1.0")
    assert (at.query_params["from"], at.query_params["to"]) == ("2.0.0", "2.1.0")
    assert at.metric[0].value == "minor"


def test_validate_form_offers_the_latest_version_of_the_set_picked(demo_env: dict[str, str], tmp_path: Path) -> None:
    """The version picked for one set must not carry over to another set (it may not even exist there)."""
    module = tmp_path / "small_features.py"
    module.write_text(SMALL_FEATURES)
    with Store.open() as opened:
        opened.features.register({"feature_set": "small", "version": "1.0.0", "features": {"age": "int"}}, str(module))
        opened.features.register({"feature_set": "small", "version": "2.0.0", "features": {"age": "int"}}, str(module))
    at = run_app()
    at.switch_page("pages/2_Feature_sets.py").run()
    assert at.selectbox(key="validate_version").value == "2.1.0"
    at.selectbox(key="validate_version").select("2.0.0").run()
    at.selectbox(key="set").select("small").run()
    assert not at.exception
    assert at.selectbox(key="validate_version").value == "2.0.0" and at.selectbox(key="validate_version").options == [
        "1.0.0", "2.0.0"]
    at.selectbox(key="validate_version").select("1.0.0").run()
    at.selectbox(key="set").select("customer_features").run()
    assert at.selectbox(key="validate_version").value == "2.1.0"


def test_feature_sets_page_link_opens_the_linked_versions(demo_env: dict[str, str]) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update({"set": "customer_features", "from": "2.1.0", "to": "2.0.0"})
    at.run()
    at.switch_page("pages/2_Feature_sets.py").run()
    assert not at.exception
    assert (at.selectbox(key="from").value, at.selectbox(key="to").value) == ("2.1.0", "2.0.0")


@pytest.mark.parametrize(("data", "detail"), [
    (b"r\xe9gion,age\nnord,2\n", "the header row holds undecodable bytes"),  # was a UnicodeDecodeError traceback
    (b"age,region\n30,nord\xe9\n", "column 'region' holds undecodable bytes"),  # was a misleading wrong_type finding
], ids=["header", "values"])
def test_feature_sets_page_refuses_a_csv_that_is_not_utf8(demo_env: dict[str, str], data: bytes, detail: str) -> None:
    at = run_app()
    at.switch_page("pages/2_Feature_sets.py").run()
    at.file_uploader(key="validate_file").upload("latin1.csv", data, "text/csv")
    next(b for b in at.button if b.label == "Validate").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"latin1.csv is not valid UTF-8 text ({detail}): re-encode the CSV as UTF-8"]


@pytest.mark.parametrize("page", [None, SNAPSHOTS_PAGE, "pages/2_Feature_sets.py", "pages/3_Drift.py",
                                  "pages/4_Models.py", "pages/5_Lineage.py"])
def test_a_database_file_that_is_not_sqlite_is_one_error_on_every_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      page: str | None) -> None:
    home = tmp_path / "home"
    home.mkdir()
    garbage = b"garbage" * 700
    (home / "lineage.db").write_bytes(garbage)
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    at = AppTest.from_file(APP, default_timeout=30).run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [f"{home / 'lineage.db'} is not a SQLite database: point LINEAGE_HOME (or "
                                           "LINEAGE_DB_URL) at a Lineage store, or move the file away"]
    assert not [b for b in at.button if b.key == "load_demo"]  # a store exists there: never "create" over it
    assert (home / "lineage.db").read_bytes() == garbage and sorted(home.iterdir()) == [home / "lineage.db"]


@pytest.mark.parametrize("page", [None, SNAPSHOTS_PAGE, "pages/5_Lineage.py"])
def test_a_damaged_database_is_one_error_and_no_offer_to_create(demo_env: dict[str, str], page: str | None) -> None:
    from tests.test_cli_bad_input import _damage_table_pages

    database = Path(demo_env["LINEAGE_HOME"]) / "lineage.db"
    _damage_table_pages(database, ("snapshot", "dataset", "audit_event", "audit_head", "edge", "model_version"))
    damaged = database.read_bytes()
    at = AppTest.from_file(APP, default_timeout=30).run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [f"the SQLite database {database} is damaged (database disk image is "
                                           f"malformed): restore it from a backup, or look with `sqlite3 {database} "
                                           "'PRAGMA integrity_check'`"]
    assert not [b for b in at.button if b.key == "load_demo"]
    assert database.read_bytes() == damaged


def test_register_form_refuses_a_picked_dataset_with_a_typed_new_name(demo_env: dict[str, str], tmp_path: Path) -> None:
    """Which of the two did the user mean? Registering under either would silently drop the other."""
    from tests.factories import write_parquet
    from tests.test_cli_bad_input import store_state

    home = Path(demo_env["LINEAGE_HOME"])
    before = store_state(home)
    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    at.selectbox(key="register_dataset").select("customers_clean")
    at = _register(at, path=str(write_parquet(tmp_path / "new.parquet")), dataset="my_new_dataset", version="v9")
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [
        "Both a dataset ('customers_clean') and a new dataset name ('my_new_dataset') are given: pick "
        "'(new dataset)' to register under the typed name, or clear the name to use 'customers_clean'."]
    assert store_state(home) == before


@pytest.mark.parametrize(("name", "data"), [
    ("empty.csv", b""),
    ("bad.parquet", b"garbage"),
    ("ragged.csv", b'a,b\n1,2\n"x\n'),
    ("latin1.csv", b"r\xe9gion,age\nnord,2\n"),
])
def test_register_form_upload_errors_name_the_uploaded_file_not_a_temp_path(demo_env: dict[str, str], name: str,
                                                                           data: bytes) -> None:
    at = run_app()
    at.switch_page(SNAPSHOTS_PAGE).run()
    at = _register(at, name=name, data=data)
    assert not at.exception and len(at.error) == 1
    message = at.error[0].value
    assert message.startswith(f"{name} ") and "lineage-upload" not in message and "/" not in message.split(" ")[0], message
