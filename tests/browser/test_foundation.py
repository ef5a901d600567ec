"""Browser journeys of the foundation: first sign-in with enrolment, the quick exit, the admin's accounts."""

from __future__ import annotations

import pyotp
import pytest

from casework.auth import services
from casework.extensions import db
from tests.browser.conftest import DESKTOP, PHONE, check_accessibility, save_screen, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False])
def test_first_sign_in_enrols_the_authenticator_on_a_phone(app, live_server, new_page, javascript):
    user, secret = services.create_user(None, services.NewUser(username="moi", role="auditor",
                                                               password="a long enough password"))
    user.totp_confirmed = False
    db.session.commit()
    page = new_page(PHONE, javascript=javascript)
    page.goto(f"{live_server}/login")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    if javascript:  # axe-core itself needs JavaScript
        check_accessibility(page)
    save_screen(page, "login-phone")
    page.fill("#username", "moi")
    page.fill("#password", "a long enough password")
    page.click("button[type=submit].primary")
    assert page.url.endswith("/enrol")
    assert page.locator("#totp-secret").inner_text().replace(" ", "") == secret
    if javascript:
        check_accessibility(page)
    save_screen(page, "enrol-phone")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit].primary")
    assert page.locator("#recovery-codes li").count() == 8
    if javascript:
        check_accessibility(page)
    page.click("text=Tiếp tục")
    page.wait_for_load_state("load")
    assert "/audit" in page.url
    # Nothing overflows a 360-px screen sideways.
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))""")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wide[:8]


@pytest.mark.parametrize("javascript", [True, False])
def test_quick_exit_leaves_and_the_back_button_shows_no_data(app, live_server, new_page, make_user, javascript):
    account = make_user("auditor")
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, live_server, account)
    assert "/audit" in page.url
    save_screen(page, "quick-exit-phone")
    # The neutral site is outside this machine's network: look at where the exit sends the browser.
    with page.expect_response(lambda r: r.url.endswith("/exit")) as info:
        page.click("#quick-exit", no_wait_after=True)
    response = info.value
    assert response.status == 303
    assert response.headers["location"].startswith("https://www.google.com/search")
    assert "cookies" in response.all_headers()["clear-site-data"]
    # The neutral site cannot load here (no network): open the app again in a fresh tab of the same browser.
    again = page.context.new_page()
    again.goto(f"{live_server}/audit/")
    assert again.url.endswith("/login")


def test_admin_creates_an_account_at_desktop_size(app, live_server, new_page, make_user):
    admin = make_user("admin")
    page = new_page(DESKTOP)
    sign_in(page, live_server, admin)
    assert "/admin/users" in page.url
    check_accessibility(page)
    page.click("text=Tài khoản mới")
    page.fill("#username", "canbo-tinh")
    page.select_option("#role", "province_officer")
    page.select_option("#province", "19")
    page.fill("#password", "mot mat khau du dai")
    page.click("button[type=submit].primary")
    assert page.locator(".flash").inner_text().startswith("Đã tạo tài khoản")
    check_accessibility(page)
    save_screen(page, "admin-account-desktop")
    page.goto(f"{live_server}/admin/users")
    assert "canbo-tinh" in page.content()
