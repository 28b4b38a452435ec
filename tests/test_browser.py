"""The dashboard in a real browser: Debian's Chromium driven by Playwright against ``streamlit run``.

Fixtures live in ``tests/browser.py``. Every test runs behind a route guard: any request that
leaves loopback is aborted and fails the test. Screenshots go to $SHOT_DIR (else a tmp dir).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from lineage.store import Store
from tests.browser import (
    CHROMIUM_MISSING,
    CHROMIUM_SKIP_REASON,
    StreamlitServer,
    full_screenshot,
    guarded_context,
    open_app,
    wait_idle,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM_MISSING, reason=CHROMIUM_SKIP_REASON),
]

CLEAN = "customers_clean@v1.0"
DEMO_REFS = ["customers_raw@2026_03_01", CLEAN, "customers_raw@2026_02_01"]  # the demo's CSV/parquet snapshots


def digest_of(server: StreamlitServer, ref: str) -> str:
    with Store.open(server.home) as opened:
        return opened.snapshots.get(ref).sha256


@dataclass
class StoreFacts:
    """What the pages should show, read through the library (the demo grows; the UI must agree)."""

    counts: dict[str, int]
    refs: list[str]  # newest first
    stages: dict[str, int]  # snapshots per stage
    latest_event: tuple[int, str]  # (seq, action) of the newest audit event


def store_facts(server: StreamlitServer) -> StoreFacts:
    with Store.open(server.home) as opened:
        snapshots = opened.snapshots.list(newest_first=True)
        counts = opened.snapshots.counts()
        event = opened.audit.log(limit=1, newest_first=True)[0]
    stages: dict[str, int] = {}
    for snapshot in snapshots:
        stages[snapshot.stage] = stages.get(snapshot.stage, 0) + 1
    return StoreFacts(counts, [s.ref for s in snapshots], stages, (event.seq, event.action))


def grid_column(page: Page, table: int, column: int) -> Locator:
    """The cells of one column of the n-th st.dataframe.

    The grid is drawn on a canvas; glide-data-grid adds an accessibility table inside it a
    moment after drawing (visible rows and columns only), which is what we read.
    """
    grid = page.get_by_test_id("stDataFrame").nth(table)
    return grid.locator(f'td[role="gridcell"][aria-colindex="{column}"]')


def metric_value(page: Page, label: str) -> Locator:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


CHOOSE_TRIES = 3


def choose(page: Page, widget: Locator, option: str) -> None:
    """Open a selectbox/multiselect, click one option, and make sure its dropdown is closed.

    A multiselect keeps its dropdown open after a pick: close it by clicking the page title
    (not Escape: on a closed baseweb select, Escape clears the value). On a busy machine the
    dropdown can close again right after opening (seen on the Models page with the suite on
    every core): if it is closed and the option never showed, open it again, up to three times.
    """
    wanted = page.get_by_role("option", name=option, exact=True)
    for attempt in range(1, CHOOSE_TRIES + 1):
        if page.get_by_role("listbox").count() == 0:
            widget.get_by_role("combobox").click()
        try:
            wanted.click(timeout=15_000)
            break
        except PlaywrightTimeoutError:
            if attempt == CHOOSE_TRIES:
                raise
    if widget.get_attribute("data-testid") == "stMultiSelect":
        page.locator("h1").first.click()
    expect(page.get_by_role("listbox")).to_have_count(0)


def expect_snapshot_detail(page: Page, ref: str, digest: str) -> None:
    expect(page.get_by_role("heading", name=ref, exact=True)).to_be_visible()
    code = page.get_by_test_id("stCode")
    expect(code).to_contain_text(digest)
    expect(code).to_contain_text("sha256sum -c")
    picked = page.get_by_test_id("stSelectbox").filter(has_text="Open snapshot").get_by_role("combobox")
    expect(picked).to_have_value(ref)
    expect(page.get_by_test_id("stButton").get_by_role("button", name="Verify now")).to_be_visible()


def test_overview_shows_counts_and_latest_snapshots(page: Page, st_server: StreamlitServer, shot_dir: Path) -> None:
    facts = store_facts(st_server)
    # The demo's own snapshots are all there (it may add more, e.g. feature materialisations).
    assert facts.counts["datasets"] >= 2 and facts.counts["snapshots"] >= 3
    assert [ref for ref in facts.refs if ref in DEMO_REFS] == DEMO_REFS  # all three, newest first
    open_app(page, st_server.url)
    expect(page.get_by_role("heading", name="Lineage", exact=True)).to_be_visible()
    expect(metric_value(page, "Datasets")).to_have_text(str(facts.counts["datasets"]))
    expect(metric_value(page, "Snapshots")).to_have_text(str(facts.counts["snapshots"]))
    expect(grid_column(page, 0, 1).first).to_have_text("churn")  # the production table comes first
    latest = grid_column(page, 1, 1)  # the latest-snapshots table, newest first
    for row, ref in enumerate(facts.refs[:5]):  # the grid exposes only the rows it has drawn
        expect(latest.nth(row)).to_have_text(ref)
    expect(latest.filter(has_text="customers_raw@2026_03_01")).to_have_count(1)
    seq, action = facts.latest_event  # the audit-events table, newest first
    expect(grid_column(page, 2, 1).first).to_have_text(str(seq))
    expect(grid_column(page, 2, 4).first).to_have_text(action)
    wait_idle(page)
    full_screenshot(page, shot_dir / "overview.png")


def test_snapshots_filter_open_and_verify(page: Page, st_server: StreamlitServer, shot_dir: Path) -> None:
    digest = digest_of(st_server, CLEAN)
    facts = store_facts(st_server)
    total = len(facts.refs)
    open_app(page, st_server.url)
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Snapshots").click()
    expect(page.get_by_role("heading", name="Snapshots", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stCaptionContainer")).to_have_text(f"{total} of {total} snapshots")
    expect(page).to_have_url(re.compile(r"/snapshots$"))
    wait_idle(page)

    choose(page, page.get_by_test_id("stMultiSelect").filter(has_text="Stage"), "processed")
    assert facts.stages["processed"] == 1
    expect(page.get_by_test_id("stCaptionContainer")).to_have_text(f"1 of {total} snapshots")
    expect(grid_column(page, 0, 1)).to_have_text([CLEAN])
    wait_idle(page)

    choose(page, page.get_by_test_id("stSelectbox").filter(has_text="Open snapshot"), CLEAN)
    expect_snapshot_detail(page, CLEAN, digest)
    expect(page).to_have_url(re.compile(r"/snapshots\?ref=customers_clean(@|%40)v1\.0$"))
    wait_idle(page)

    page.get_by_test_id("stButton").get_by_role("button", name="Verify now").click()
    success = page.get_by_test_id("stAlertContentSuccess")
    expect(success).to_contain_text(f"{CLEAN}: stored bytes match {digest}")
    wait_idle(page)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    full_screenshot(page, shot_dir / "snapshot_verified.png")


def test_snapshot_url_opens_its_detail(page: Page, st_server: StreamlitServer, shot_dir: Path) -> None:
    digest = digest_of(st_server, CLEAN)
    open_app(page, f"{st_server.url}/snapshots?ref={CLEAN}")
    expect_snapshot_detail(page, CLEAN, digest)
    expect(grid_column(page, 1, 2).first).to_have_text(CLEAN)  # the facts table: ref first
    wait_idle(page)
    full_screenshot(page, shot_dir / "snapshot_by_url.png")


def test_nothing_leaves_loopback(page: Page, st_server: StreamlitServer) -> None:
    """Both pages, read and verify: every request (and the WebSocket) stays on 127.0.0.1."""
    open_app(page, st_server.url)
    expect(metric_value(page, "Datasets")).to_be_visible()
    open_app(page, f"{st_server.url}/snapshots?ref={CLEAN}")
    page.get_by_test_id("stButton").get_by_role("button", name="Verify now").click()
    expect(page.get_by_test_id("stAlertContentSuccess")).to_be_visible()
    wait_idle(page)
    guard = page.guard  # type: ignore[attr-defined]
    assert any(url.startswith("ws://127.0.0.1:") for url in guard.allowed), guard.allowed
    assert len(guard.allowed) > 20  # the guard really saw the app's traffic
    assert guard.blocked == [], f"requests that left loopback: {guard.blocked}"


def test_route_guard_catches_outside_requests(browser, st_server: StreamlitServer) -> None:
    """The guard itself: a request to a non-loopback address is aborted and recorded, not sent."""
    context, guard = guarded_context(browser)
    try:
        probe = context.new_page()
        open_app(probe, st_server.url)
        outcome = probe.evaluate("() => fetch('http://192.0.2.1/probe').then(() => 'sent', () => 'aborted')")
    finally:
        context.close()
    assert outcome == "aborted"
    assert "http://192.0.2.1/probe" in guard.blocked


# -- every page, the register form, promote/rollback, deep links --------------------------------
NAV_PAGES = [  # (sidebar label, url path, screenshot name)
    ("Overview", "overview", "overview"),
    ("Snapshots", "snapshots", "snapshots"),
    ("Feature sets", "features", "feature_sets"),
    ("Drift", "drift", "drift"),
    ("Models", "models", "models"),
    ("Lineage", "lineage", "lineage"),
]


def expect_no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def expect_page_content(page: Page, url_path: str) -> None:
    """What each page draws once its script has run (charts draw client-side, after idle)."""
    if url_path == "overview":
        expect(metric_value(page, "Snapshots")).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    elif url_path == "snapshots":
        expect(page.get_by_test_id("stCaptionContainer").filter(has_text="snapshots")).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    elif url_path == "features":
        expect(metric_value(page, "Required bump")).to_be_visible()
    elif url_path == "drift":
        expect(metric_value(page, "Verdict")).to_be_visible()
        expect(page.locator('[data-testid="stPlotlyChart"] .main-svg').first).to_be_visible()
        expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)
    elif url_path == "models":
        expect(page.locator('[data-testid="stPlotlyChart"] .main-svg').first).to_be_visible()
    elif url_path == "lineage":
        expect(page.locator('[data-testid="stGraphVizChart"] svg').first).to_be_visible()


def nav_to(page: Page, label: str) -> None:
    page.get_by_test_id("stSidebarNavLink").filter(has_text=re.compile(rf"{re.escape(label)}$")).click()


@pytest.mark.parametrize(("label", "url_path", "shot"), NAV_PAGES, ids=[shot for _, _, shot in NAV_PAGES])
def test_every_page_renders_from_the_sidebar(page: Page, st_server: StreamlitServer, shot_dir: Path,
                                             label: str, url_path: str, shot: str) -> None:
    open_app(page, st_server.url)
    nav_to(page, label)
    home = "|" if url_path == "overview" else ""  # the default page may keep the bare root URL
    expect(page).to_have_url(re.compile(rf"127\.0\.0\.1:\d+/({home}{url_path})(\?.*)?$"))
    expect_page_content(page, url_path)
    wait_idle(page)
    expect_page_content(page, url_path)  # still there once the run is over (nothing replaced it)
    expect_no_exception(page)
    full_screenshot(page, shot_dir / f"{shot}.png")


def test_register_a_snapshot_through_the_upload_form(page: Page, st_server: StreamlitServer, tmp_path: Path,
                                                     shot_dir: Path) -> None:
    from tests.factories import write_parquet

    upload = write_parquet(tmp_path / "browser_upload.parquet", rows=50)
    dataset = "browser_upload"  # new in the shared store: the other tests read counts through the library
    open_app(page, st_server.url)
    nav_to(page, "Snapshots")
    expect(page.get_by_role("heading", name="Snapshots", exact=True)).to_be_visible()
    wait_idle(page)
    expander = page.get_by_test_id("stExpander").filter(has_text="Register a snapshot")
    expander.locator("summary").click()
    form = expander.get_by_test_id("stForm")
    expect(form).to_be_visible()
    with page.expect_response(lambda r: "/_stcore/upload_file" in r.url and r.request.method == "PUT") as put:
        form.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
    assert put.value.ok
    expect(form.get_by_role("button", name="Remove browser_upload.parquet")).to_be_visible()
    form.get_by_label("New dataset name").fill(dataset)
    form.get_by_label("Version (empty: today's UTC date)").fill("v1")
    form.get_by_role("button", name="Register").click()
    success = page.get_by_test_id("stAlertContentSuccess")
    expect(success).to_contain_text(f"Registered {dataset}@v1")
    expect(success).to_contain_text("50 rows")
    wait_idle(page)
    expect_no_exception(page)
    with Store.open(st_server.home) as opened:
        info = opened.snapshots.get(f"{dataset}@v1")
        assert info.rows == 50 and info.source_uri == "upload:browser_upload.parquet"
    full_screenshot(page, shot_dir / "snapshot_registered.png")


def production_of(server: StreamlitServer, model: str = "churn") -> str:
    with Store.open(server.home) as opened:
        return opened.models.get(f"{model}@production").version


@pytest.fixture
def restore_production(st_server: StreamlitServer) -> object:
    """The session store is shared: put churn@production back where it was, whatever happens."""
    before = production_of(st_server)
    yield before
    if production_of(st_server) != before:
        with Store.open(st_server.home) as opened:
            opened.models.promote(f"churn@{before}", alias="production", reason="browser test cleanup")


def confirm_and_submit(page: Page, button: str, reason: str) -> None:
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name=button, exact=True))
    form.get_by_label("Reason (kept in the audit log)").fill(reason)
    form.get_by_test_id("stCheckbox").get_by_text("I have checked what will change").click()
    expect(form.get_by_role("checkbox")).to_be_checked()
    form.get_by_role("button", name=button, exact=True).click()


def test_promote_and_roll_back_a_model(page: Page, st_server: StreamlitServer, restore_production: str,
                                       shot_dir: Path) -> None:
    assert restore_production == "1.2.0"  # the demo's production model
    open_app(page, f"{st_server.url}/models?model=churn")
    expect(page.get_by_role("heading", name="Models", exact=True)).to_be_visible()
    wait_idle(page)
    version = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").filter(has_text=re.compile(r"^Version$")))
    choose(page, version, "1.1.0")
    # Let the rerun for 1.1.0 render before filling the form: it drops the "already holds" notice above
    # the form, and a reason typed while it was still rendering was lost ("promote needs a reason", seen
    # under load with pytest-xdist). wait_idle alone can look before that rerun has even started.
    expect(page.get_by_role("main").get_by_role("list").first).to_contain_text("churn@production: 1.2.0 → 1.1.0")
    expect(page.get_by_text("churn@1.2.0 already holds 'production'.")).to_have_count(0)
    wait_idle(page)
    confirm_and_submit(page, "Promote", "browser test: try the old one")
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("churn@production now points at 1.1.0")
    wait_idle(page)
    expect_no_exception(page)
    assert production_of(st_server) == "1.1.0"

    rollback_alias = page.get_by_test_id("stSelectbox").filter(
        has=page.get_by_test_id("stWidgetLabel").filter(has_text=re.compile(r"^Alias$")))
    expect(rollback_alias.get_by_role("combobox")).to_have_value("production")
    confirm_and_submit(page, "Roll back", "browser test: back again")
    expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("churn@production: 1.1.0 → 1.2.0")
    wait_idle(page)
    expect_no_exception(page)
    assert production_of(st_server) == "1.2.0"
    with Store.open(st_server.home) as opened:
        assert opened.audit.log(action="model.rollback")[-1].payload["reason"] == "browser test: back again"
    full_screenshot(page, shot_dir / "models_rolled_back.png")


def test_deep_links_open_a_trace_and_a_diff(page: Page, st_server: StreamlitServer, shot_dir: Path) -> None:
    open_app(page, f"{st_server.url}/lineage?ref=churn@1.2.0")
    graph = page.locator('[data-testid="stGraphVizChart"] svg').first
    expect(graph).to_be_visible()
    expect(graph).to_contain_text("churn@1.2.0")
    expect(graph).to_contain_text("customers_clean@v1.0")
    expect(page.get_by_test_id("stSelectbox").first.get_by_role("combobox")).to_have_value("churn@1.2.0")
    wait_idle(page)
    expect_no_exception(page)
    full_screenshot(page, shot_dir / "lineage_by_url.png")

    open_app(page, f"{st_server.url}/features?set=customer_features&from=2.0.0&to=2.1.0")
    expect(metric_value(page, "Required bump")).to_have_text("minor")
    expect(page.get_by_test_id("stSelectbox").filter(has_text="From").get_by_role("combobox")).to_have_value("2.0.0")
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"from=2\.0\.0.*to=2\.1\.0|to=2\.1\.0.*from=2\.0\.0"))
    expect_no_exception(page)
    full_screenshot(page, shot_dir / "features_by_url.png")
