"""Browser journey of issue 7 (issue 8: "a release made and downloaded"), headless Chromium: a coordinator
signs in on the empty ledger, makes the release of an ended quarter, reads its tables with the withheld
figures shown as x, downloads the PDF report and the Excel tables, and opens the charts; a province
officer reads her province's tables and the unreleased draft of the current quarter.

At 360×740 and at desktop size with axe-core on every screen, and on the phone with JavaScript off
(the release form, the province filter and the downloads need none). A release costs minutes of CPU on
2 shared cores, so only one is made, from the phone without JavaScript, and every screen after it is read
in each of the three browsers. The records come from a fake source
registered on the app the live server runs (as in ``test_ledger.py``), so every figure is known.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from casework.extensions import db
from casework.stats import service
from casework.stats.models import StatRelease
from tests.browser.chromium import journey_browser
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    check_accessibility,
    save_screen,
)
from tests.stats.test_ledger import Q3, FakeSource

# One release over the national geography (the charts show the 34 provinces): minutes of CPU on 2 cores.
pytestmark = [pytest.mark.browser, pytest.mark.national, pytest.mark.slow]

RELEASE_ID = f"{Q3}-r1"
RELEASE_TIMEOUT_MS = 900_000
PAGE_TIMEOUT_MS = 180_000  # counting, protecting and writing every format takes seconds on 2 shared cores


@pytest.fixture
def source(app):
    """Thái Nguyên (19): 30 + 12 persons in two communes in the quarter released, and 15 in the current
    quarter for the draft; Hà Nội: 3 persons, a figure the release withholds."""
    fake = FakeSource()
    fake.add(Q3, 30, "05533")
    fake.add(Q3, 12, "05528", prefix="b", service_code="HEALTH")
    fake.add(Q3, 3, "00004", prefix="h")
    fake.add(service.current_quarter(), 15, "05533", prefix="d")
    # The live server serves this very app object from a thread: the source is there for its requests.
    app.extensions["tincay.stats_sources"] = [fake]
    app.config["STATS_RUNNER"] = "thread"  # the preview is computed by the live server's worker thread
    return fake


def in_chromium(journey) -> None:
    """Run ``journey(new_page)`` with the worker's one Chromium (tests/browser/chromium.py)."""
    with journey_browser(1800, "the browser journey did not finish within 30 minutes") as chromium:

        def new_page(viewport: dict, javascript: bool):
            # bypass_csp lets the test inject axe-core; the app's own CSP is checked by the header tests.
            context = chromium.new_context(viewport=viewport, java_script_enabled=javascript, locale="vi-VN",
                                           bypass_csp=True, accept_downloads=True, service_workers="block")
            page = context.new_page()
            page.set_default_navigation_timeout(PAGE_TIMEOUT_MS)  # a busy machine, large pages
            return page

        journey(new_page)


def _sign_in(page, base_url: str, account) -> None:
    """From the browser's thread: each account signs in once, so the current code is unused."""
    page.goto(f"{base_url}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.fill("#totp", pyotp.TOTP(account.secret).now())
    page.click("button[type=submit].primary")
    assert "/login" not in page.url


def _screen(page, javascript: bool, viewport: dict, name: str) -> None:
    size = "phone" if viewport is PHONE else "desktop"
    if javascript:  # axe-core itself needs JavaScript; the screenshots come from the runs with it
        save_screen(page, f"stats-{name}-{size}")
        # From the top: further down, the sticky quick-exit bar covers whatever scrolled under it.
        page.evaluate("window.scrollTo(0, 0)")
        check_accessibility(page)
    # Nothing overflows the screen sideways: a wide table scrolls inside its own box.
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll'))
        .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40))""")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], (name, wide[:8])


def _download(page, link_text: str):
    section = page.locator("section[aria-labelledby=downloads]")
    with page.expect_download() as info:
        section.get_by_role("link", name=link_text, exact=True).click()
    download = info.value
    assert download.failure() is None
    with open(download.path(), "rb") as f:
        return download.suggested_filename, f.read()


CONFIGS = (("phone", PHONE, True), ("desktop", DESKTOP, True), ("phone-no-js", PHONE, False))


def test_release_made_and_downloaded_on_a_phone_at_a_desk_and_without_javascript(
        app, live_server, make_user, source):  # noqa: F811  (the fixture imported above)
    """One release only (it takes minutes of CPU on 2 shared cores): made from the phone with JavaScript off,
    then every screen read in each of the three browsers."""
    coordinators = {name: make_user("coordinator") for name, _, _ in CONFIGS}
    officers = {name: make_user("province_officer", scope="19") for name, _, _ in CONFIGS}
    downloads: dict[tuple[str, str], tuple[str, bytes]] = {}
    seen: dict[str, object] = {}

    def journey(new_page) -> None:
        pages = {}
        # --- each coordinator lands on the empty ledger --------------------------------------------------
        for name, viewport, javascript in CONFIGS:
            page = pages[name] = new_page(viewport, javascript)
            _sign_in(page, live_server, coordinators[name])
            assert page.url == f"{live_server}/statistics/"
            assert page.locator("h1").inner_text() == "Chốt số liệu thống kê"
            ledger = page.locator("section[aria-labelledby=ledger]")
            assert ledger.locator("p.empty").inner_text() == "Chưa có quý nào được chốt."
            assert ledger.locator("table").count() == 0
            offered = page.get_by_label("Quý", exact=True).locator("option").evaluate_all(
                "os => os.map(o => o.value)")
            assert Q3 in offered and service.current_quarter() not in offered
            _screen(page, javascript, viewport, "ledger-empty")

        # --- the release of the ended quarter, from the phone without JavaScript --------------------------
        page = pages["phone-no-js"]
        page.get_by_label("Quý", exact=True).select_option(Q3)
        started = time.monotonic()
        # Issue 16: a preview computed in the background (the page refreshes itself), then "Chốt số liệu…" and a
        # confirmation; the release is the preview, stored once.
        page.get_by_role("button", name="Xem trước", exact=True).click()
        page.wait_for_selector("section[aria-labelledby=summary]", timeout=RELEASE_TIMEOUT_MS)
        page.get_by_role("link", name="Chốt số liệu…").click()
        page.get_by_label(re.compile("Tôi đã xem bản xem trước")).check()
        page.get_by_role("button", name="Chốt số liệu", exact=True).click()
        page.wait_for_url(f"{live_server}/statistics/releases/{RELEASE_ID}")
        seen["release_seconds"] = time.monotonic() - started
        assert page.locator(".flash").inner_text().startswith(f"Đã chốt {RELEASE_ID}.")

        for name, viewport, javascript in CONFIGS:
            page = pages[name]
            # --- the release: its tables, with the withheld figures as x ---------------------------------
            page.goto(f"{live_server}/statistics/releases/{RELEASE_ID}")
            assert page.locator("h1").inner_text() == "Số liệu thống kê quý III/2026"
            withheld = page.locator("td.withheld")
            assert withheld.count() > 0 and set(withheld.all_inner_texts()) == {"x"}
            hanoi = page.locator("table.figures tr", has=page.locator("th[scope=row]", has_text="Thành phố Hà Nội"))
            assert hanoi.locator("td.withheld").count() > 0
            if viewport is PHONE:  # the wide tables scroll inside their own box
                seen[f"boxes-{name}"] = page.evaluate("""() => [...document.querySelectorAll('.scroll')]
                    .map(b => [b.clientWidth, b.scrollWidth, getComputedStyle(b).overflowX])""")
            _screen(page, javascript, viewport, "release")

            # --- the report and the tables downloaded -----------------------------------------------------
            downloads[(name, "pdf")] = _download(page, "Báo cáo quý")
            downloads[(name, "xlsx")] = _download(page, "Bảng số liệu cho Excel")
            assert page.url == f"{live_server}/statistics/releases/{RELEASE_ID}"  # still on the release

            # --- the tables of one province (a plain GET form) ------------------------------------------
            page.locator("#province").select_option("19")
            page.locator("form.filters button[type=submit]").click()
            page.wait_for_url(f"{live_server}/statistics/releases/{RELEASE_ID}?province=19")
            places = set(page.locator("table.figures tbody th[scope=row]").all_inner_texts())
            assert "Tỉnh Thái Nguyên" in places and "Thành phố Hà Nội" not in places and "Toàn quốc" not in places

            # --- the ledger lists the release and offers its quarter no more -----------------------------
            page.goto(f"{live_server}/statistics/")
            row = page.locator("section[aria-labelledby=ledger] table.list tbody tr")
            assert row.count() == 1 and RELEASE_ID in row.inner_text()
            offered = dict(page.locator("#period option").evaluate_all("os => os.map(o => [o.value, o.text])"))
            assert offered[Q3].endswith("(đã chốt)")  # still offered for a preview, marked released
            _screen(page, javascript, viewport, "ledger")

            # --- the charts: bars drawn on the server, the withheld figures marked x -------------------------
            page.get_by_role("main").get_by_role("link", name="Biểu đồ số liệu đã chốt").click()
            assert page.url == f"{live_server}/statistics/charts"
            page.locator("#measure").select_option("referred_persons")  # a plain GET form too
            page.locator("form.filters button[type=submit]").click()
            page.wait_for_url(f"{live_server}/statistics/charts?measure=referred_persons")
            figures = page.locator("figure.chart")
            assert figures.count() == 35  # the country and its 34 provinces
            assert figures.first.locator("figcaption").inner_text() == "Toàn quốc"
            # One released quarter: each chart draws it once, as a bar or as the withheld mark, never as nothing.
            assert figures.locator("rect.bar").count() + figures.locator("rect.bar-withheld").count() == 35
            hanoi_chart = figures.filter(has=page.locator("figcaption", has_text="Thành phố Hà Nội"))
            assert hanoi_chart.locator("rect.bar-withheld").count() == 1
            assert hanoi_chart.locator("text.mark").text_content() == "x"
            assert hanoi_chart.locator("rect.bar").count() == 0
            assert "quý III/2026: x" in hanoi_chart.locator("svg").get_attribute("aria-label")
            # Hà Nội's 3 persons alone would be the country less Thái Nguyên: a second figure is withheld.
            assert figures.locator("rect.bar-withheld").count() >= 2
            _screen(page, javascript, viewport, "charts")

            # --- a province officer reads her province and the draft -------------------------------------
            other = new_page(viewport, javascript)
            _sign_in(other, live_server, officers[name])
            other.goto(f"{live_server}/statistics/province")
            assert other.locator("h1").inner_text() == "Số liệu thống kê của tỉnh"
            content = other.content()
            assert "Tỉnh Thái Nguyên" in content and "Lần chốt số liệu mới nhất: quý III/2026" in content
            assert "Thành phố Hà Nội" not in content and "Toàn quốc" not in content
            assert other.locator("table.figures").count() > 0
            _screen(other, javascript, viewport, "province")
            other.get_by_role("link", name="Bản nháp quý hiện tại (chưa chốt)").click(timeout=RELEASE_TIMEOUT_MS)
            other.wait_for_url(f"{live_server}/statistics/province/draft")
            assert other.locator(".alert-draft strong").inner_text() == "Chưa chốt."
            assert other.locator("p.alert[role=alert]").count() == 0, other.locator("p.alert").all_inner_texts()
            assert other.locator("table.figures").count() > 0
            assert "Thành phố Hà Nội" not in other.content()
            _screen(other, javascript, viewport, "draft")
            # She gets no national downloads: her session is answered 404, as for anything not hers.
            assert other.request.get(f"{live_server}/statistics/releases/{RELEASE_ID}/pdf",
                                     max_redirects=0).status == 404

    in_chromium(journey)

    # One release; every download is the file it stored, byte for byte, under the release's name.
    db.session.expire_all()
    assert db.session.query(StatRelease).count() == 1
    row = db.session.get(StatRelease, RELEASE_ID)
    stored = {fmt: service.download(row, fmt).content for fmt in ("pdf", "xlsx")}
    assert stored["pdf"].startswith(b"%PDF") and stored["xlsx"].startswith(b"PK")
    for name, _, _ in CONFIGS:
        for fmt in ("pdf", "xlsx"):
            assert downloads[(name, fmt)] == (f"tincay-{RELEASE_ID}.{fmt}", stored[fmt]), (name, fmt)
    for name in ("phone", "phone-no-js"):
        boxes = seen[f"boxes-{name}"]
        assert boxes and all(overflow == "auto" and client <= PHONE["width"] for client, _, overflow in boxes)
        assert any(width > client for client, width, _ in boxes)  # some table is wider than the phone
    print(f"release made in {seen['release_seconds']:.0f} s; table boxes on the phone (width, content width): "
          f"{[(c, w) for c, w, _ in seen['boxes-phone']]}")
