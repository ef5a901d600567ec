"""Real-browser helpers: axe-core for accessibility (issue 8), screenshots, signing in. The served app and the
worker's one Chromium are in tests/browser/chromium.py (fixtures ``live_server``, ``serve``, ``browser``,
``new_page`` for the whole suite). Chromium is installed by ``make install`` (system-tools)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.browser.chromium import CHROMIUM, DESKTOP, PHONE  # noqa: F401  (imported from here by tests)

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"


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
