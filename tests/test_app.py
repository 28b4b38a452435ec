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
