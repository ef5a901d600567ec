"""Done-when of issue 13 (forms that survive a lost session), in a real browser: headless Chromium, 360×740,
JavaScript off, CSRF on as in production.

A host types an intake; her session ends (idle) before she saves; the server keeps what she typed and
sends her to sign in with a message; after she signs in, the same form comes back filled in, not saved;
she saves it and the case exists. Then she saves another intake explicitly as a draft ("Lưu nháp"): it is
in her work queue and in her drafts, and not in her case list. Last, a form whose account cannot be known
is refused with a page that says nothing was kept.

axe-core checks every screen: the browser runs without JavaScript, so each screen's HTML, exactly as that
browser received it, is served once more to a JavaScript-enabled page at the same address (styles from the
live server) and axe-core runs there. With ``SAVE_SCREENS=1`` the screens are saved to ``docs/screens/``.
"""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select, update

from casework.auth.models import UserSession
from casework.cases.models import Case
from casework.drafts.models import FormDraft
from casework.extensions import db
from casework.models import utcnow
from tests.browser.conftest import PHONE, check_accessibility, save_screen
from tests.cases.test_browser_intake import run_journey

pytestmark = pytest.mark.browser

NAME = "Lê Thị Nháp"


@pytest.fixture
def served(make_app, serve):
    app = make_app(WTF_CSRF_ENABLED=True)
    return app, serve(app)


def _screen(browser, page, name: str) -> None:
    """Save the screen, check it fits 360 px, and run axe-core on exactly the HTML this page received."""
    save_screen(page, name)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    html, url = page.content(), page.url
    context = browser.new_context(viewport=PHONE, java_script_enabled=True, bypass_csp=True, locale="vi-VN",
                                  service_workers="block")
    try:
        checker = context.new_page()
        checker.route(lambda u: u == url, lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=html))
        checker.goto(url)
        checker.evaluate("window.scrollTo(0, 0)")
        check_accessibility(checker)
    finally:
        context.close()


def _sign_in(page, base: str, account, at_step: int) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    totp = pyotp.TOTP(account.secret)
    page.fill("#totp", totp.at(utcnow().timestamp() + 30 * at_step))  # each sign-in its own (unreplayed) step
    page.click("main button[type=submit]")
    page.wait_for_load_state("load")


def _fill_intake(page) -> None:
    page.fill("#full_name", NAME)
    page.fill("#birth_year", "1991")
    page.fill("#phone", "0900 000 777")
    page.select_option("#relationship", "spouse")
    page.check("input[name=acts][value=a]")
    page.fill("#injuries", "Bầm tím ở vai")
    page.fill("#safety_plan", "Ở lại ĐCTC tối nay.")
    page.check("#consent_record")
    page.check("#consent_statistics")
    page.fill("#narrative", "Chị kể anh ta đánh chị tối qua.")


def test_an_intake_submitted_after_the_session_ended_comes_back_after_sign_in_and_saves(world, served):
    app, base = served
    host = world.host_a

    def end_her_session() -> None:
        # Her phone lay idle longer than the limit: the server ends the session at the next request.
        with app.app_context():
            db.session.execute(update(UserSession).where(UserSession.user_id == host.id)
                               .values(last_seen_at=utcnow() - timedelta(minutes=45)))
            db.session.commit()

    def journey(browser, found: dict) -> None:
        context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="vi-VN",
                                      service_workers="block")
        page = context.new_page()
        _sign_in(page, base, host, at_step=0)
        page.goto(f"{base}/cases/new")
        _fill_intake(page)
        end_her_session()
        page.click("text=Lưu hồ sơ tiếp nhận")
        page.wait_for_load_state("load")
        # The sign-in page: her entry was kept, and she is told so.
        assert page.url.endswith("/login")
        flash = page.locator(".flash").inner_text()
        assert "được giữ lại dưới dạng bản nháp trong 24 giờ" in flash, flash
        assert NAME not in page.content() and NAME not in page.url
        _screen(browser, page, "draft-kept-sign-in-phone")

        _sign_in(page, base, host, at_step=1)
        # Back on the same form, filled in, not saved yet.
        assert "/cases/new?draft=" in page.url, page.url
        assert NAME not in page.url
        assert page.locator("#full_name").input_value() == NAME
        assert page.locator("#narrative").input_value() == "Chị kể anh ta đánh chị tối qua."
        assert page.locator("#consent_record").is_checked()
        assert "chưa được lưu" in page.locator(".flash").inner_text()
        _screen(browser, page, "draft-restored-intake-phone")
        page.click("text=Lưu hồ sơ tiếp nhận")
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text().startswith("Hồ sơ VV-"), page.locator("h1").inner_text()
        found["case_url"] = page.url

        # Another intake, saved on purpose as a draft: in her queue and her drafts, not in her cases.
        page.goto(f"{base}/cases/new")
        page.fill("#full_name", "Đinh Thị Sau")
        page.fill("#injuries", "Chưa hỏi")
        page.click("button[name=keep_draft]")
        page.wait_for_load_state("load")
        assert page.url.endswith("/work/"), page.url
        queue = page.locator("main").inner_text()
        assert "Hoàn thiện biểu mẫu đã lưu nháp" in queue and "Tiếp nhận mới" in queue
        assert "Đinh Thị Sau" not in page.content()
        _screen(browser, page, "draft-queue-phone")
        page.click("a:has-text('Hoàn thiện biểu mẫu đã lưu nháp')")
        page.wait_for_load_state("load")
        assert page.url.endswith("/drafts/")
        _screen(browser, page, "draft-list-phone")
        page.goto(f"{base}/cases")
        found["cases_list_has_draft"] = "Đinh Thị Sau" in page.content()

        # A form whose account cannot be known (no session cookie, a token this server never issued):
        # nothing is kept, and the page says so plainly with the way back in.
        page.goto(f"{base}/cases/new")
        page.fill("#full_name", "Không Ai Biết")
        context.clear_cookies()

        def forged(route) -> None:
            import re

            if route.request.method != "POST":
                return route.continue_()
            body = re.sub(r"csrf_token=[^&]*", "csrf_token=not-a-token", route.request.post_data or "")
            return route.continue_(post_data=body)

        page.route(f"{base}/cases/new", forged)
        page.click("text=Lưu hồ sơ tiếp nhận")
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text() == "Phiên đăng nhập đã kết thúc"
        assert "Không Ai Biết" not in page.content()
        _screen(browser, page, "draft-lost-phone")
        context.close()

    found = run_journey(journey)
    db.session.expire_all()
    cases = list(db.session.scalars(select(Case)))
    assert len(cases) == 1 and cases[0].person.full_name == NAME
    assert found["case_url"].endswith(f"/cases/{cases[0].id}")
    assert not found["cases_list_has_draft"]
    drafts = list(db.session.scalars(select(FormDraft)))
    assert [d.reason for d in drafts] == ["explicit"]  # the kept one was erased when she saved it
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
