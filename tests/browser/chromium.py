"""The one Chromium helper of the suite (issue 14): every browser test and journey uses it.

- One headless Debian Chromium per pytest worker, driven by Playwright from the worker's main thread: launched
  at the first browser test the worker runs and closed when the worker's session ends. Each test gets new
  contexts (no cookies, no storage of another test); every context a test opened is closed after it.
- ``serve(app)`` serves an application on a free port of 127.0.0.1 from a thread for one test; ``live_server``
  is ``serve(app)`` of the test's app.
- Journeys that used to start their own Playwright in a thread of their own (Playwright's sync API refuses a
  second one in a thread) now run in the test's thread with this browser: ``journey_browser(seconds, message)``.

Browser journeys run beside the rest of the suite on two cores (and, in CI, on a machine doing other work): a
page can take longer than Playwright's defaults (30 s for a page, 5 s for ``expect``). Waiting longer changes
nothing that is asserted: a missing page or text still fails, only later.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
BROWSER_WAIT_MS = 90_000

_shared: dict = {}  # "playwright", "browser", "undo": this worker's Playwright, its Chromium, the patches to undo


def _be_patient():
    """Longer default waits for every context, and every click also waits for the page it leads to (a click that
    posts a form returns once the answer starts to arrive; a test that reads the page at once may see half of
    it). Returns the function that undoes it."""
    from playwright.sync_api import expect
    from playwright.sync_api._generated import Browser, Locator, Page

    original = Browser.new_context
    page_click, locator_click = Page.click, Locator.click

    def new_context(self, *args, **kwargs):
        context = original(self, *args, **kwargs)
        context.set_default_timeout(BROWSER_WAIT_MS)
        context.set_default_navigation_timeout(BROWSER_WAIT_MS)
        return context

    def click_page(self, *args, **kwargs):
        page_click(self, *args, **kwargs)
        self.wait_for_load_state()

    def click_locator(self, *args, **kwargs):
        locator_click(self, *args, **kwargs)
        self.page.wait_for_load_state()

    Browser.new_context = new_context
    Page.click, Locator.click = click_page, click_locator
    expect.set_options(timeout=BROWSER_WAIT_MS)

    def undo() -> None:
        Browser.new_context = original
        Page.click, Locator.click = page_click, locator_click
        expect.set_options(timeout=5_000)

    return undo


def shared_browser():
    """This worker's Chromium, launched at the first call."""
    if "browser" not in _shared:
        if not os.path.exists(CHROMIUM):
            pytest.fail(f"{CHROMIUM} is missing: run `make install` (as root it installs Debian's chromium)")
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _shared["playwright"] = playwright
        _shared["undo"] = _be_patient()
        _shared["browser"] = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    return _shared["browser"]


def close_shared_browser() -> None:
    """At the end of the worker's session: close Chromium and stop Playwright (when a test started them)."""
    browser = _shared.pop("browser", None)
    if browser is not None:
        browser.close()
    playwright = _shared.pop("playwright", None)
    if playwright is not None:
        playwright.stop()
    undo = _shared.pop("undo", None)
    if undo is not None:
        undo()


def _close_contexts_since(browser, before: list) -> None:
    for context in browser.contexts:
        if context not in before:
            context.close()


@contextmanager
def journey_browser(seconds: float, message: str):
    """The shared Chromium for one journey; the contexts it opens are closed after it, and the journey fails if it
    took longer than ``seconds`` (the bound the journeys had when each ran its own browser in a thread)."""
    browser = shared_browser()
    before = list(browser.contexts)
    started = time.monotonic()
    try:
        yield browser
    finally:
        _close_contexts_since(browser, before)
    assert time.monotonic() - started <= seconds, message


@pytest.fixture(autouse=True, scope="session")
def _one_chromium_per_worker():
    yield
    close_shared_browser()


@pytest.fixture
def browser():
    """The worker's Chromium; the contexts this test opened are closed after it."""
    chromium = shared_browser()
    before = list(chromium.contexts)
    yield chromium
    _close_contexts_since(chromium, before)


@pytest.fixture
def new_page(browser):
    """``new_page(viewport=PHONE, javascript=True)``: a fresh context (no cookies) and page."""

    def make(viewport=PHONE, javascript: bool = True, locale: str = "vi-VN"):
        # bypass_csp lets the test inject axe-core; the app's own CSP is checked by the header tests.
        context = browser.new_context(viewport=viewport, java_script_enabled=javascript, locale=locale,
                                      bypass_csp=True, service_workers="block")
        return context.new_page()

    return make


@pytest.fixture
def serve():
    """``serve(app)`` → ``http://127.0.0.1:<port>``: the application served from a thread until the test ends."""
    servers = []

    def start(app) -> str:
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        servers.append((httpd, thread))
        return f"http://127.0.0.1:{httpd.server_port}"

    yield start
    for httpd, thread in servers:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()


@pytest.fixture
def live_server(app, serve):
    """The test's app served on 127.0.0.1 (on the test database)."""
    return serve(app)
