"""Browser journey of issue 12's account screens on a phone (360×740), with and without JavaScript:
an admin asks for a host's second-factor reset, a second admin confirms and reads the enrolment code,
the host enrols with it; the password change, the first-sign-in change and "my sessions and tokens".
Every screen is checked with axe-core and fits the phone; SAVE_SCREENS=1 writes docs/screens/account-*.png."""

from __future__ import annotations

import pyotp
import pytest

from casework.auth import services
from casework.auth.models import User
from casework.extensions import db
from tests.browser.conftest import PHONE, check_accessibility, save_screen, sign_in

pytestmark = pytest.mark.browser


def _check(page, javascript: bool, name: str | None = None) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url
    if javascript:  # axe-core itself needs JavaScript
        check_accessibility(page)
        if name:
            save_screen(page, name)


@pytest.mark.parametrize("javascript", [True, False])
def test_account_screens_on_a_phone(app, live_server, new_page, make_user, make_address, javascript):
    first, second = make_user("admin", username="quantri1"), make_user("admin", username="quantri2")
    host = make_user("host", username="chuho", address_ids=(make_address().id,))

    # The first admin asks for the host's second-factor reset: it waits for someone else.
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, live_server, first)
    page.goto(f"{live_server}/admin/users/{host.id}")
    page.click("button[value=reset_2fa]")
    assert "quản trị viên khác xác nhận" in page.locator(".flash").inner_text()
    page.goto(f"{live_server}/admin/account-changes")
    assert page.locator("text=Chờ quản trị viên khác xác nhận").count() == 1
    assert page.locator("button[value=confirm]").count() == 0
    _check(page, javascript, "account-changes-requester")

    # The second admin confirms and reads the enrolment code once.
    other = new_page(PHONE, javascript=javascript)
    sign_in(other, live_server, second)
    other.goto(f"{live_server}/admin/account-changes")
    assert other.locator("text=chuho").count() == 1
    _check(other, javascript, "account-changes")
    other.click("button[value=confirm]")
    code = other.locator("#enrolment-code").inner_text()
    assert len(code) == 19
    _check(other, javascript, "account-enrolment-code")

    # The host signs in with her password: she is asked for the code first, then sees her new key.
    mine = new_page(PHONE, javascript=javascript)
    mine.goto(f"{live_server}/login")
    mine.fill("#username", host.username)
    mine.fill("#password", host.password)
    mine.click("button[type=submit].primary")
    assert mine.url.endswith("/enrol") and mine.locator("#totp-secret").count() == 0
    _check(mine, javascript, "account-enrol-code")
    mine.fill("#enrolment_code", code)
    mine.click("button[type=submit].primary")
    secret = mine.locator("#totp-secret").inner_text().replace(" ", "")
    mine.fill("#code", pyotp.TOTP(secret).now())
    mine.click("button[type=submit].primary")
    assert mine.locator("#recovery-codes li").count() == 8

    # The second admin changes her password and looks at her sessions and tokens.
    services.issue_api_token(db.session.get(User, second.id), client="curl")
    db.session.commit()
    other.goto(f"{live_server}/account/password")
    _check(other, javascript, "account-password")
    other.fill("#current_password", "not my password at all")
    other.fill("#new_password", "Tin Cậy 2025")
    other.fill("#totp", "000000")
    other.click("button[type=submit].primary")
    assert other.locator("#new_password-error").count() == 1
    assert other.locator("#current_password-error").count() == 1
    _check(other, javascript, "account-password-errors")
    other.goto(f"{live_server}/account/sessions")
    assert other.locator("h1").inner_text() == "Phiên đăng nhập và mã truy cập"
    assert other.locator("text=curl").count() == 1
    _check(other, javascript, "account-sessions")
    other.click("text=Thu hồi")
    assert other.locator("text=curl").count() == 0

    # An account the admin created chooses her own password before anything else.
    user, _secret = services.create_user(db.session.get(User, first.id), services.NewUser(
        username="canbomoi", role="auditor", password="mot cau mat khau ban dau"))
    db.session.commit()
    newbie = new_page(PHONE, javascript=javascript)
    newbie.goto(f"{live_server}/login")
    newbie.fill("#username", "canbomoi")
    newbie.fill("#password", "mot cau mat khau ban dau")
    newbie.click("button[type=submit].primary")
    assert newbie.url.endswith("/account/password")
    newbie.goto(f"{live_server}/audit/")
    assert newbie.url.endswith("/account/password")
    _check(newbie, javascript, "account-first-password")
    newbie.fill("#current_password", "mot cau mat khau ban dau")
    newbie.fill("#new_password", "ba con meo tren mai nha")
    newbie.click("button[type=submit].primary")
    assert newbie.url.endswith("/enrol")
