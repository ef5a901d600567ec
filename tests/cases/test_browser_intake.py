"""Done-when 1: a host records a complete intake on a 360-px screen without JavaScript, in a real browser.

Headless Debian Chromium through Playwright, JavaScript off, 360×740: sign in with TOTP, record the intake,
a shelter stay, a follow-up, request closure; the commune officer signs in and approves it. With
``SAVE_SCREENS=1`` the key screens are saved to ``docs/screens/`` (normal runs write nothing).
"""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest

from casework.cases.models import Case
from casework.extensions import db
from casework.models import utcnow
from casework.text import VN_TZ
from tests.browser.chromium import journey_browser

pytestmark = pytest.mark.browser

SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def server(make_app, serve):
    """The app with CSRF on (as in production), served from a thread on a free port of 127.0.0.1."""
    return serve(make_app(WTF_CSRF_ENABLED=True))


def run_journey(journey) -> dict:
    """Run a Playwright journey ``journey(browser, found)`` with the worker's one Chromium (tests/browser/chromium.py)
    and return what it collected. The journey talks to the server over HTTP only; the database is checked
    afterwards."""
    found: dict = {}
    with journey_browser(600, "the browser journey did not finish within 600 s") as browser:
        journey(browser, found)
    return found


def phone_page(browser):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="vi-VN",
                                  service_workers="block")
    return context, context.new_page()


def shot(page, name: str) -> None:
    if os.environ.get("SAVE_SCREENS") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky quick-exit bar is drawn mid-page
        page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, account) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.fill("#totp", pyotp.TOTP(account.secret).now())  # this account has not signed in yet: no replay
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation


def fits_the_screen(page) -> bool:
    """Nothing wider than the 360-px viewport (no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_host_records_a_complete_case_on_a_phone_without_javascript_and_the_officer_closes_it(world, server):
    host, officer = world.host_a, world.officer_a

    def journey(browser, found: dict) -> None:
        host_ctx, page = phone_page(browser)
        sign_in(page, server, host)
        # Her home is her work queue (issue 13); nothing is waiting yet.
        assert page.url.endswith("/work/")
        assert "Không có việc nào đang chờ" in page.locator("main").inner_text()
        page.goto(f"{server}/cases")
        shot(page, "cases-empty-phone")

        # The intake.
        page.click("main a.button:has-text('Tiếp nhận mới')")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        assert page.url.endswith("/cases/new")
        assert page.locator("h1").inner_text() == "Tiếp nhận mới"
        page.fill("#full_name", "Demo Thị Một")
        page.fill("#birth_year", "1994")
        page.fill("#phone", "0900 000 001")
        page.select_option("#ethnicity_code", "14")
        page.fill("#children_count", "1")
        page.fill("#children_ages", "3")
        page.select_option("#relationship", "spouse")
        page.check("input[name=acts][value=a]")
        page.check("input[name=acts][value=e]")
        page.check("input[name=acts][value=n]")
        page.fill("#injuries", "Bầm tím ở cánh tay")
        page.check("#first_aid_given")
        page.check("#risk_threat_to_kill")
        page.check("#risk_perpetrator_nearby")
        page.fill("#safety_plan", "Ngủ lại ĐCTC tối nay; gọi công an xã nếu anh ta đến.")
        page.check("#commune_notified")
        page.check("#consent_record")
        page.check("#consent_statistics")
        page.check("input[name=consent_share][value=police]")
        page.check("input[name=consent_share][value=health]")
        found["intake_fits"] = fits_the_screen(page)
        shot(page, "intake-phone")
        page.click("text=Lưu hồ sơ tiếp nhận")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        assert "/cases/" in page.url and page.locator("h1").inner_text().startswith("Hồ sơ VV-")
        found["case_id"] = case_id = page.url.rsplit("/", 1)[1]
        assert "Nguy cơ cao." in page.content()  # high risk: urgent referral and a contact ban are suggested
        found["case_fits"] = fits_the_screen(page)
        shot(page, "case-phone")

        # A shelter stay with the essentials given.
        page.click("text=Tạm lánh >> nth=0")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        page.fill("#start_on", utcnow().astimezone(VN_TZ).date().isoformat())
        page.check("input[name=essentials][value=clothes]")
        page.check("input[name=essentials][value=personal_items]")
        page.click("main button[type=submit]")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        assert "Đã lưu thông tin tạm lánh." in page.content()

        # A follow-up call.
        page.click("a.button:has-text('Theo dõi')")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        page.select_option("#kind", "call")
        page.select_option("#situation", "improving")
        page.check("input[name=violence_recurred][value=no]")
        page.click("main button[type=submit]")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        assert "Đã lưu lần theo dõi." in page.content()

        # Her queue: the notice was sent with the intake, so only the shelter stay's limit is waiting.
        page.goto(f"{server}/")
        queue = page.locator("main").inner_text()
        assert "Thông báo cho UBND xã" not in queue and "Tạm lánh đến số đêm tối đa của tỉnh" in queue
        shot(page, "work-host-phone")

        # Her list: the high-risk case on top, with its badges.
        page.goto(f"{server}/cases")
        assert page.locator(".case-row").count() == 1 and "Nguy cơ: Cao" in page.content()
        shot(page, "cases-phone")

        # The host asks to close the case.
        page.click(f"a[href='/cases/{case_id}']")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        page.click("text=Đề nghị đóng hồ sơ")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        page.select_option("#reason", "safe_reintegrated")
        page.click("main button[type=submit]")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        assert "Đang chờ cán bộ xã duyệt" in page.content()
        host_ctx.close()

        # The commune officer approves it.
        officer_ctx, page = phone_page(browser)
        sign_in(page, server, officer)
        # The closure request is in her queue (issue 13), with a button to the decision.
        assert page.url.endswith("/work/")
        assert "Quyết định đề nghị đóng hồ sơ" in page.locator("main").inner_text()
        found["queue_fits"] = fits_the_screen(page)
        shot(page, "work-officer-phone")
        page.goto(f"{server}/cases/{case_id}")
        shot(page, "case-officer-phone")
        page.click(f"a[href='/cases/{case_id}/closure/decision']")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        page.check("input[name=decision][value=approve]")
        # A high-risk case with a shelter stay running: the open items are listed and must be confirmed.
        assert "Nguy cơ được đánh giá là cao." in page.content()
        page.check("#confirm_open_items")
        page.fill("#confirm_reason", "Chị đã về ở với mẹ, anh ta đã bị công an xã nhắc nhở.")
        found["decision_fits"] = fits_the_screen(page)
        shot(page, "closure-decision-phone")
        page.click("main button[type=submit]")
        page.wait_for_load_state("load")  # without JavaScript a submit is a plain navigation
        assert "Đã đóng hồ sơ." in page.content()
        shot(page, "case-closed-phone")
        officer_ctx.close()

    found = run_journey(journey)
    assert found["intake_fits"] and found["case_fits"]  # nothing wider than the 360-px screen
    assert found["queue_fits"] and found["decision_fits"]
    db.session.expire_all()
    case = db.session.get(Case, found["case_id"])
    assert case.person.full_name == "Demo Thị Một" and case.act_codes == ["a", "e", "n"]
    assert case.risk_level == "high" and case.commune_notified_at is not None
    assert case.status == "closed" and case.closed_by_id == officer.id
    assert [s.essentials for s in case.shelter_stays] == [["food", "water", "clothes", "personal_items"]]
    assert len(case.follow_ups) == 1 and not case.follow_ups[0].violence_recurred
