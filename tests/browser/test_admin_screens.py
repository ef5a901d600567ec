"""The admin's account form on a phone without JavaScript (issue 13): pickers by name, fields by role, every
error at once in a summary whose items link to their fields."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from casework.auth.models import User
from casework.extensions import db
from tests.browser.conftest import PHONE, check_accessibility, save_screen, sign_in

pytestmark = pytest.mark.browser


def _check(page, javascript: bool, name: str) -> None:
    if javascript:  # axe-core itself needs JavaScript; the same screens are walked without it too
        check_accessibility(page)
    else:
        save_screen(page, name)


@pytest.mark.parametrize("javascript", [False, True])
def test_an_admin_scopes_an_account_by_names_on_a_phone(app, live_server, new_page, make_user, javascript):
    admin = make_user("admin")
    page = new_page(PHONE, javascript=javascript)
    sign_in(page, live_server, admin)
    page.goto(f"{live_server}/admin/users/new")
    _check(page, javascript, "admin-user-new")
    assert not page.locator("fieldset[data-kind=commune]").is_visible()
    page.select_option("#role", "commune_officer")
    # With JavaScript the role's fields appear at once; without it the button asks the server for them.
    assert page.locator("fieldset[data-kind=commune]").is_visible() is javascript
    # The button posts the form back: wait for the new page before reading it (with JavaScript on, a read
    # between the click and the answer sees the old page or none).
    with page.expect_navigation():
        page.click("button[data-role-refresh]")
    expect(page.locator("fieldset[data-kind=commune]")).to_be_visible()
    expect(page.locator("fieldset[data-kind=organisation]")).to_be_hidden()
    page.fill("#place_q", "thanh hoa")
    with page.expect_navigation():
        page.click("button[name=action][value=find]:has-text('Tìm')")
    expect(page.locator("#commune optgroup[label='Tỉnh Thanh Hóa']")).to_have_count(1)
    commune = page.locator("#commune optgroup[label='Tỉnh Thanh Hóa'] option").first.get_attribute("value")
    page.select_option("#commune", commune)
    # A missing username (the form's check) and a short password (the service's rule): one answer.
    page.fill("#password", "ngan")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    summary = page.locator("#error-summary")
    expect(summary.locator("a")).to_have_count(2)
    hrefs = [a.get_attribute("href") for a in summary.locator("a").all()]
    assert hrefs == ["#username", "#password"], hrefs
    _check(page, javascript, "form-errors-admin-user")
    summary.locator("a[href='#password']").click()
    assert page.url.endswith("#password")
    assert db.session.scalar(select(User).where(User.role == "commune_officer")) is None
    page.fill("#username", "canbo-thanhhoa")
    page.fill("#password", "mot cau mat khau ban dau")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    expect(page.locator(".flash")).to_contain_text("Đã tạo tài khoản")
    _check(page, javascript, "admin-user-saved")
    page.goto(f"{live_server}/admin/users")
    _check(page, javascript, "admin-users")
    db.session.expire_all()
    officer = db.session.scalar(select(User).where(User.username == "canbo-thanhhoa"))
    assert officer.commune_code == commune and officer.province_code == "38"
    assert "Tỉnh Thanh Hóa" in page.locator("table.list").inner_text()
