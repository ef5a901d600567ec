"""Browser journey of issue 5 (headless Chromium, 360×740): a host sends a referral; the provider signs in,
accepts and records the service; the host sees the outcome. axe-core on every screen with JavaScript on;
the same journey once with JavaScript off."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from casework.extensions import db
from referral.models import Referral
from tests.browser.conftest import PHONE, check_accessibility, save_screen
from tests.referral.conftest import COMMUNE, NAME, in_chromium, sign_in_browser
from tests.referral.conftest import PHONE as HER_PHONE

pytestmark = pytest.mark.browser

OUTCOME = "Đã khám, băng bó và cấp giấy chứng nhận thương tích"


def _screen(page, javascript: bool, name: str) -> None:
    save_screen(page, name)
    if javascript:  # axe-core itself needs JavaScript
        # From the top: further down, the sticky quick-exit bar covers whatever scrolled under it.
        page.evaluate("window.scrollTo(0, 0)")
        check_accessibility(page)
    # Nothing overflows a 360-px screen sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name


@pytest.mark.parametrize("javascript", [True, False])
def test_host_refers_provider_accepts_and_records_host_sees_outcome(app, live_server, make_user, make_address,
                                                                    make_org, make_case, javascript):
    address = make_address(COMMUNE)
    host = make_user("host", address_ids=(address.id,))
    org = make_org(services=("health",), name="Trạm y tế xã Thử")
    provider = make_user("service_provider", organisation_id=org.id)
    case = make_case(host, share={"health": ("age_band", "injuries")})
    case_id, case_reference, org_id = case.id, case.reference, org.id  # the browser's thread has no session

    def journey(new_page) -> None:
        page = new_page(javascript)
        sign_in_browser(page, live_server, host)
        page.goto(f"{live_server}/referral/cases/{case_id}/new")
        assert page.locator("h1").inner_text() == "Chuyển gửi đến dịch vụ hỗ trợ"
        _screen(page, javascript, "referral-new-phone")
        page.select_option("#service", "health")
        page.click("text=Xem các cơ quan")
        expect(page.locator("body")).to_contain_text("Thương tích và sơ cứu")  # the click only starts the navigation
        assert "Nhóm tuổi" in page.content() and "Thương tích và sơ cứu" in page.content()
        page.check(f"input[name=organisation_id][value='{org_id}']")
        page.fill("#reason", "Chị cần khám vết thương ở tay")
        _screen(page, javascript, "referral-new-service-phone")
        page.click("button[type=submit].primary")
        assert page.locator(".flash").inner_text() == "Đã chuyển gửi."
        _screen(page, javascript, "referral-sent-phone")

        receiver = new_page(javascript)
        sign_in_browser(receiver, live_server, provider)
        receiver.goto(f"{live_server}/referral/")
        _screen(receiver, javascript, "referral-list-provider-phone")
        receiver.click(".rf-row a")
        expect(receiver.locator("body")).to_contain_text("Vết bầm")
        content = receiver.content()
        assert "30–44 tuổi" in content and "Vết bầm" in content
        assert NAME not in content and HER_PHONE not in content and case_reference not in content
        _screen(receiver, javascript, "referral-provider-phone")
        receiver.click("text=Nhận chuyển gửi")
        assert receiver.locator(".flash").inner_text() == "Bạn đã nhận chuyển gửi."
        receiver.fill("#service_given", "Khám và băng bó")
        receiver.fill("#outcome", OUTCOME)
        _screen(receiver, javascript, "referral-record-service-phone")
        receiver.click("text=Lưu dịch vụ")
        assert receiver.locator(".flash").inner_text() == "Đã ghi nhận dịch vụ."
        _screen(receiver, javascript, "referral-completed-provider-phone")

        page.reload()
        assert "Dịch vụ đã thực hiện" in page.content() and OUTCOME in page.content()
        _screen(page, javascript, "referral-outcome-host-phone")
        page.goto(f"{live_server}/referral/notifications")
        assert case_reference in page.content()
        _screen(page, javascript, "referral-notifications-phone")

    in_chromium(journey)
    db.session.expire_all()
    referral = db.session.query(Referral).one()
    assert (referral.state, referral.result, referral.outcome) == ("completed", "provided", OUTCOME)
