"""Helpers of the issue-13 journeys: each step on a 360×740 phone with JavaScript OFF, axe-core on every
screen, screenshots for docs/screens.

axe-core cannot run in a page whose JavaScript is off (its timers never fire), so each screen is checked
in a twin page of a JavaScript-on context: the very HTML the JavaScript-off page shows (its scripts
removed, so the DOM stays the one she sees) is loaded at the same origin, with the same stylesheets, and
axe-core runs there. Colour contrast, labels, landmarks and names are those of the screen she sees.
"""

from __future__ import annotations

import re

from tests.browser.conftest import PHONE, check_accessibility, save_screen

SCRIPT = re.compile(r"<script\b.*?</script>", re.IGNORECASE | re.DOTALL)


def fits_the_phone(page, name: str) -> None:
    """Nothing overflows a 360-px screen sideways."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name


def axe_without_javascript(page, twin) -> None:
    """axe-core on what ``page`` (JavaScript off) shows, through ``twin`` (a JavaScript-on page)."""
    html = SCRIPT.sub("", page.content())
    url = page.url

    def serve(route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    def same(u: str) -> bool:
        return u == url

    twin.route(same, serve)
    try:
        twin.goto(url)
        # the twin shows that very page (not, say, the sign-in page of a context without a session)
        assert twin.locator("h1").first.inner_text() == page.locator("h1").first.inner_text(), url
        twin.evaluate("window.scrollTo(0, 0)")
        check_accessibility(twin)
    finally:
        twin.unroute(same, serve)


def screen(page, twin, name: str | None = None) -> None:
    """One screen of a journey: saved for the docs (when SAVE_SCREENS=1), axe-clean, fits the phone."""
    if name:
        save_screen(page, name)
    axe_without_javascript(page, twin)
    fits_the_phone(page, name or page.url)


def sign_in(page, base_url: str, account) -> None:
    """Sign in and wait for the home page (a click only starts the navigation)."""
    import pyotp
    from playwright.sync_api import expect

    page.goto(f"{base_url}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.fill("#totp", pyotp.TOTP(account.secret).now())
    page.click("button[type=submit].primary")
    expect(page).not_to_have_url(re.compile(r"/login"))
    expect(page.locator("h1")).to_be_visible()
