"""Real-browser fixtures: the app served on 127.0.0.1 from a thread, Debian's Chromium through Playwright,
and axe-core for accessibility (issue 8). Chromium is installed by ``make install`` (system-tools)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make install` (as root it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """``new_page(viewport=PHONE, javascript=True)``: a fresh context (no cookies) and page."""
    contexts = []

    def make(viewport=PHONE, javascript: bool = True, locale: str = "vi-VN"):
        # bypass_csp lets the test inject axe-core; the app's own CSP is checked by the header tests.
        context = browser.new_context(viewport=viewport, java_script_enabled=javascript, locale=locale,
                                      bypass_csp=True, service_workers="block")
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def check_accessibility(page, allowed: tuple[str, ...] = ()) -> list[dict]:
    """Run axe-core (WCAG 2.0–2.2 A and AA rules) on the page; fail on any violation not listed in ``allowed``."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => await axe.run(document, {runOnly: {type: 'tag', values:
        ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""")
    violations = [v for v in result["violations"] if v["id"] not in allowed]
    assert not violations, json.dumps([{"id": v["id"], "help": v["help"],
                                        "nodes": [n["html"][:160] for n in v["nodes"][:3]]} for v in violations],
                                      ensure_ascii=False, indent=1)
    return result["violations"]


def save_screen(page, name: str) -> None:
    """Screenshots for docs/screens/, only when SAVE_SCREENS=1 (so test runs do not rewrite the docs)."""
    if os.environ.get("SAVE_SCREENS") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky quick-exit bar is drawn mid-page
        page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def sign_in(page, base_url: str, account, code: str | None = None) -> None:
    from tests.conftest import next_code

    page.goto(f"{base_url}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.fill("#totp", code if code is not None else next_code(account))
    page.click("button[type=submit].primary")
