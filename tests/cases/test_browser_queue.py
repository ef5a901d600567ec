"""Browser journey of issue 13: after an intake, the host's queue shows the commune notice and the follow-up
due, and each item leaves the queue when its work is done (the notice recorded, a follow-up recorded).

Headless Debian Chromium, 360×740, JavaScript off, as a host on a phone. axe-core needs JavaScript, so each
screen is checked in a second context of the same session with JavaScript on (the same URL, the same HTML).
With ``SAVE_SCREENS=1`` the screens are saved as docs/screens/queue-*.png.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.auth.models import User
from casework.cases.models import Case, FollowUp
from casework.extensions import db
from casework.models import utcnow
from casework.text import VN_TZ
from tests.browser.conftest import check_accessibility, save_screen
from tests.cases.test_browser_intake import PHONE, phone_page, run_journey, server, sign_in  # noqa: F401

pytestmark = pytest.mark.browser

NOTICE = "Thông báo cho UBND xã"
FOLLOW_UP = "Theo dõi chị ấy: đến thăm hoặc gọi điện"
NOTHING = "Không có việc nào đang chờ"


def _queue(page) -> str:
    return page.locator("main").inner_text()


def test_the_host_queue_shows_the_notice_and_the_follow_up_after_an_intake_and_they_clear(world, server):  # noqa: F811
    host, officer = world.host_a, world.officer_a
    # She came three days ago and the host types the intake in now: with a high risk, the first follow-up
    # (3 days) is due today; the commune has not been told.
    came = (utcnow() - timedelta(days=3)).astimezone(VN_TZ).replace(second=0, microsecond=0, tzinfo=None)

    def journey(browser, found: dict) -> None:
        host_ctx, page = phone_page(browser)
        checker_ctx = browser.new_context(viewport=PHONE, java_script_enabled=True, locale="vi-VN",
                                          bypass_csp=True, service_workers="block")
        checker = checker_ctx.new_page()

        def screen(p, name: str) -> None:
            """Save the screen, check it fits 360 px, and run axe-core on the same URL with JavaScript on."""
            save_screen(p, name)
            assert p.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
            checker_ctx.clear_cookies()
            checker_ctx.add_cookies(p.context.cookies())
            checker.goto(p.url)
            assert checker.locator("h1").first.inner_text() == p.locator("h1").first.inner_text(), name
            checker.evaluate("window.scrollTo(0, 0)")  # lower, the sticky quick-exit bar covers what is under it
            check_accessibility(checker)

        sign_in(page, server, host)
        assert page.url.endswith("/work/") and NOTHING in _queue(page)

        # The intake, typed on her phone.
        page.goto(f"{server}/cases/new")
        page.fill("#intake_at", came.strftime("%Y-%m-%dT%H:%M"))
        page.fill("#full_name", "Demo Thị Hàng Đợi")
        page.fill("#birth_year", "1991")
        page.select_option("#relationship", "spouse")
        page.check("input[name=acts][value=a]")
        page.check("#risk_threat_to_kill")
        page.fill("#safety_plan", "Ở lại ĐCTC; gọi công an xã nếu anh ta đến.")
        page.check("#consent_record")
        page.click("text=Lưu hồ sơ tiếp nhận")
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text().startswith("Hồ sơ VV-")
        found["case_id"] = case_id = page.url.rsplit("/", 1)[1]

        # Her queue: the notice (late: 24 hours have passed) and the follow-up due today.
        page.goto(f"{server}/work/")
        queue = _queue(page)
        assert NOTICE in queue and FOLLOW_UP in queue and "quá hạn" in queue
        assert queue.index(NOTICE) < queue.index(FOLLOW_UP)  # the most urgent first
        screen(page, "queue-host-after-intake")

        # The commune officer's queue has the same two items of her commune's case.
        officer_ctx, other = phone_page(browser)
        sign_in(other, server, officer)
        officer_queue = _queue(other)
        assert NOTICE in officer_queue and FOLLOW_UP in officer_queue
        screen(other, "queue-officer-after-intake")

        # The host tells the commune and records it from the item's button: the item leaves her queue.
        page.click(f"main a:has-text('{NOTICE}')")
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/cases/{case_id}")
        screen(page, "queue-case-notice-missing")
        page.click("main button:has-text('Ghi nhận đã báo')")
        page.wait_for_load_state("load")
        assert "Đã ghi nhận việc báo UBND xã." in page.content()
        page.goto(f"{server}/work/")
        queue = _queue(page)
        assert NOTICE not in queue and FOLLOW_UP in queue
        screen(page, "queue-host-notice-sent")

        # The follow-up: the item opens the form, the next date is suggested from the high risk (3 days).
        page.click(f"main a:has-text('{FOLLOW_UP}')")
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/cases/{case_id}/follow-ups/new")
        today = utcnow().astimezone(VN_TZ).date()
        assert page.input_value("#next_on") == (today + timedelta(days=3)).strftime("%d/%m/%Y")
        page.select_option("#kind", "visit")
        page.select_option("#situation", "improving")
        page.check("input[name=violence_recurred][value=no]")
        screen(page, "queue-follow-up-form")
        page.click("main button[type=submit]")
        page.wait_for_load_state("load")
        assert "Đã lưu lần theo dõi." in page.content()
        assert (today + timedelta(days=3)).strftime("%d/%m/%Y") in page.locator("#follow-ups").inner_text()
        screen(page, "queue-case-next-follow-up")

        # Nothing is waiting any more, for the host nor for the commune officer.
        page.goto(f"{server}/work/")
        assert NOTHING in _queue(page)
        screen(page, "queue-host-cleared")
        other.reload()
        assert NOTICE not in _queue(other) and FOLLOW_UP not in _queue(other)

        # The daily e-mail (counts only) is hers to switch on, from her account.
        page.goto(f"{server}/account")
        page.click("main a:has-text('Thư điện tử hằng ngày')")
        page.wait_for_load_state("load")
        page.fill("#email", "chu.nha@example.vn")
        screen(page, "queue-digest-settings")
        page.click("main button[type=submit]")
        page.wait_for_load_state("load")
        assert "Đã bật thư điện tử hằng ngày." in page.content()
        for context in (host_ctx, officer_ctx, checker_ctx):
            context.close()

    found = run_journey(journey)
    db.session.expire_all()
    case = db.session.get(Case, found["case_id"])
    today = utcnow().astimezone(VN_TZ).date()
    assert case.risk_level == "high" and case.commune_notified_at is not None
    assert case.follow_up_due_on == today + timedelta(days=3)
    assert db.session.query(FollowUp).filter_by(case_id=case.id).one().next_on == case.follow_up_due_on
    assert db.session.get(User, host.id).digest_email == "chu.nha@example.vn"
