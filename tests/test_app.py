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


@pytest.fixture
def demo_env(backend_env: dict[str, str]) -> dict[str, str]:
    with Store.init() as opened:
        load_demo(opened)
    return backend_env


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def test_overview_shows_counts_latest_snapshots_and_events(demo_env: dict[str, str]) -> None:
    at = run_app()
    assert at.title[0].value == "Lineage"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Datasets"] == "2" and metrics["Snapshots"] == "3"
    latest = at.dataframe[0].value
    assert list(latest["ref"]) == ["customers_raw@2026_03_01", "customers_clean@v1.0", "customers_raw@2026_02_01"]
    events = at.dataframe[1].value
    actions = list(events["action"])
    assert actions[0] == "snapshot.add" and actions.count("snapshot.add") == 3
    assert actions[-1] == "store.init"
    assert list(events["seq"]) == sorted(events["seq"], reverse=True)


def test_overview_reflects_a_new_snapshot(demo_env: dict[str, str], tmp_path: Path) -> None:
    from tests.factories import write_parquet

    with Store.open() as opened:
        opened.snapshots.add(write_parquet(tmp_path / "extra.parquet"), dataset="extra", version="v1")
    at = run_app()
    assert {m.label: m.value for m in at.metric}["Snapshots"] == "4"
    assert at.dataframe[0].value["ref"].iloc[0] == "extra@v1"


def test_missing_store_offers_the_demo_and_loads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "nothing-here"
    monkeypatch.setenv("LINEAGE_HOME", str(home))
    at = run_app()
    assert "lineage init" in at.info[0].value
    assert not (home / "lineage.db").exists()  # looking never creates a store
    at.button(key="load_demo").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Snapshots"] == "3"


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
    assert at.caption[0].value == "3 of 3 snapshots"
    at.multiselect(key="stages").select("processed").run()
    assert at.caption[0].value == "1 of 3 snapshots"
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


def test_unknown_ref_in_the_url_is_one_error_line(demo_env: dict[str, str]) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["ref"] = "nope@v9"
    at.run()
    at.switch_page(SNAPSHOTS_PAGE).run()
    assert not at.exception
    assert len(at.error) == 1 and "nope" in at.error[0].value
