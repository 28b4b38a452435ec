"""Fixtures for the real-browser tests: a Streamlit server, Debian's Chromium and a guarded page.

Registered from ``tests/conftest.py`` (``pytest_plugins``). Playwright is imported lazily so the
rest of the suite still collects on a machine without it. Never run ``playwright install``: the
browser is ``/usr/bin/chromium`` from ``apt-get install -y chromium``.

- ``st_server``: ``python -m streamlit run app.py`` on a loopback port the kernel picks (port 0, read
  back from the URL Streamlit prints, so no other process or xdist worker can be handed the same
  port; cwd = the repo root, so ``.streamlit/config.toml`` applies) with its own ``LINEAGE_HOME``
  holding the demo data.
- ``browser``: one headless Chromium per session.
- ``page``: a fresh context per test whose route guard aborts, records and fails the test on any
  request (or WebSocket) that does not go to loopback.
- ``wait_idle`` / ``full_screenshot``: helpers for the tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
CHROMIUM_MISSING = not os.path.exists(CHROMIUM)
CHROMIUM_SKIP_REASON = "apt-get install -y chromium"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# stApp carries both attributes; script-state starts as "initial", so this cannot match before the first run.
IDLE = ('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
        '[data-test-script-state="notRunning"]')
# A noisy 2-core machine: first page loads are CPU-bound JS parsing; be generous everywhere.
SERVER_START_TIMEOUT = 90.0
ACTION_TIMEOUT_MS = 45_000
LINEAGE_ENV = ("LINEAGE_HOME", "LINEAGE_DB_URL", "LINEAGE_STORE_URL", "LINEAGE_USER", "LINEAGE_READ_ONLY")
SERVING = re.compile(rb"http://127\.0\.0\.1:(\d+)")  # the URL Streamlit prints once its socket is bound


@dataclass(frozen=True)
class StreamlitServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    home: Path  # the LINEAGE_HOME the server reads
    log: Path


@dataclass
class Guard:
    """What the route guard saw in one browser context."""

    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def is_loopback(url: str) -> bool:
    if url.startswith(("data:", "blob:", "about:")):
        return True
    return urlparse(url).hostname in LOOPBACK_HOSTS


def _store_env(home: Path) -> dict[str, str]:
    """The process environment minus the developer's LINEAGE_* settings, plus this store's."""
    env = {k: v for k, v in os.environ.items() if k not in LINEAGE_ENV}
    env.update(LINEAGE_HOME=str(home), LINEAGE_USER="tester")
    return env


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store loaded with the sample data through the library (as ``lineage demo`` does)."""
    from lineage.demo import load_demo
    from lineage.store import Store

    home = tmp_path_factory.mktemp("browser") / "home"
    with pytest.MonkeyPatch.context() as mp:
        for name in LINEAGE_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("LINEAGE_USER", "tester")
        with Store.init(home) as opened:
            load_demo(opened)
    return home


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left in it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
    with contextlib.suppress(ProcessLookupError):  # the server never forks, but be sure
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(15)


@pytest.fixture(scope="session")
def st_server(demo_home: Path) -> Iterator[StreamlitServer]:
    if CHROMIUM_MISSING:
        pytest.skip(CHROMIUM_SKIP_REASON)
    log_path = demo_home.parent / "streamlit.log"
    url = None
    with open(log_path, "w+b") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py",
             "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", "0",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
             "--server.runOnSave", "false"],
            cwd=ROOT, env=_store_env(demo_home), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,  # own process group: teardown kills it all
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while True:
                if url is None and (found := SERVING.search(log_path.read_bytes())):
                    url = f"http://127.0.0.1:{int(found[1])}"
                try:
                    if url is not None:
                        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                            if response.read() == b"ok":
                                break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"streamlit did not start (exit code {proc.poll()}):\n"
                                + log.read().decode(errors="replace"))
                time.sleep(0.2)
            yield StreamlitServer(url=url, home=demo_home, log=log_path)
        finally:
            _stop(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if CHROMIUM_MISSING:
        pytest.skip(CHROMIUM_SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield launched
        finally:
            launched.close()


def guarded_context(browser: Browser, **options: Any) -> tuple[BrowserContext, Guard]:
    """A new context in which every non-loopback request is aborted and recorded."""
    from playwright.sync_api import expect

    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    guard = Guard()

    def route(route: Route) -> None:
        url = route.request.url
        if is_loopback(url):
            guard.allowed.append(url)
            route.continue_()
        else:
            guard.blocked.append(url)
            route.abort()

    def watch_websockets(page: Page) -> None:
        # context.route does not see WebSockets; record them (Streamlit's own is ws://127.0.0.1).
        page.on("websocket", lambda ws: (guard.allowed if is_loopback(ws.url) else guard.blocked).append(ws.url))

    context.route("**/*", route)
    context.on("page", watch_websockets)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    return context, guard


@pytest.fixture
def page(browser: Browser, st_server: StreamlitServer) -> Iterator[Page]:
    """A fresh page per test (not yet navigated: use ``open_app``). Non-loopback traffic fails the test."""
    context, guard = guarded_context(browser)
    new_page = context.new_page()
    new_page.guard = guard  # type: ignore[attr-defined]  # tests may inspect it
    try:
        yield new_page
    finally:
        context.close()
    if guard.blocked:
        pytest.fail(f"the dashboard tried to leave loopback: {guard.blocked}")


def wait_idle(page: Page) -> None:
    """Connected and no script running. After an action, ``expect`` the new content first."""
    page.wait_for_selector(IDLE, timeout=ACTION_TIMEOUT_MS)


def open_app(page: Page, url: str) -> None:
    """Navigate and wait until the first script run has finished."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=ACTION_TIMEOUT_MS)
    wait_idle(page)


def full_screenshot(page: Page, path: str | os.PathLike[str]) -> Path:
    """Streamlit scrolls inside stMain, so grow the viewport to the content height first."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import Error as PlaywrightError

    # No tooltip over the content: a clicked button with help= keeps focus, and so its tooltip.
    size = page.viewport_size or {"width": 1280, "height": 900}
    page.mouse.move(size["width"] - 2, size["height"] - 2)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    with contextlib.suppress(PlaywrightError):
        page.get_by_role("tooltip").first.wait_for(state="hidden", timeout=5_000)
    height = page.evaluate("""() => Math.max(document.body.scrollHeight,
        ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
           .map(e => e.scrollHeight))""")
    page.set_viewport_size({"width": size["width"], "height": int(height)})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(target), full_page=True)
    return target


@pytest.fixture(scope="session")
def shot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $SHOT_DIR, else a pytest tmp dir."""
    folder = Path(os.environ["SHOT_DIR"]) if os.environ.get("SHOT_DIR") else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
