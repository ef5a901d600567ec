"""The livelihood journey in a real browser on a 360-px phone: a commune officer registers a survivor and
drafts a proposal with her; a province officer sets the budget and approves part of it; a tranche is paid;
the commune officer records a monitoring visit. Run with and without JavaScript: no step needs it."""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest

from casework.extensions import db
from livelihood import services
from livelihood.models import Proposal, Survivor
from tests.browser.chromium import journey_browser
from tests.browser.conftest import check_accessibility, save_screen

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
SCREENS = os.environ.get("LIVELIHOOD_SCREENS", "")  # a folder to keep screenshots of each step in


def in_chromium(journey) -> None:
    """Run ``journey(browser)`` with the worker's one Chromium (tests/browser/chromium.py)."""
    with journey_browser(300, "the browser journey did not finish within 5 minutes") as browser:
        journey(browser)


def _page(chromium, javascript: bool):
    # bypass_csp: axe-core is injected as an inline script by the test, never by the app
    context = chromium.new_context(viewport=PHONE, java_script_enabled=javascript, locale="vi-VN", bypass_csp=True,
                                  service_workers="block")
    return context, context.new_page()


def _sign_in(page, base: str, account) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.fill("#totp", pyotp.TOTP(account.secret).now())
    page.click("button[type=submit].primary")
    assert "/login" not in page.url


DOCS_SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"


def _shot(page, name: str) -> None:
    if SCREENS:
        Path(SCREENS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENS) / f"{name}.png"), full_page=True)
    if os.environ.get("SAVE_SCREENS") == "1":  # docs/screens/: one file per step (the run with JavaScript last)
        DOCS_SCREENS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky quick-exit bar is drawn mid-page
        step = name.rsplit("-js", 1)[0]
        page.screenshot(path=str(DOCS_SCREENS / f"livelihood-{step}-phone.png"), full_page=True)


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


@pytest.mark.parametrize("javascript", [False, True])
def test_survivor_proposal_partial_approval_tranche_and_visit_on_a_phone(app, live_server, officers, javascript):
    in_chromium(lambda chromium: _journey(chromium, live_server, officers, javascript))

    db.session.expire_all()
    proposal = db.session.query(Proposal).one()
    assert (proposal.state, proposal.requested_vnd, proposal.approved_amount_vnd, proposal.disbursed_vnd) == (
        "disbursing", 12_000_000, 10_000_000, 6_000_000)
    assert [t.action for t in services.transitions_of(proposal)] == [
        "submit", "start_appraisal", "approve", "disburse"]
    assert len(services.visits_of(proposal)) == 1
    assert db.session.query(Survivor).one().full_name == "Demo Thị Bảy"


def _journey(chromium, base: str, officers, javascript: bool) -> None:
    commune_ctx, commune = _page(chromium, javascript)
    province_ctx, province = _page(chromium, javascript)
    try:
        # --- the commune officer registers a survivor --------------------------------------------
        _sign_in(commune, base, officers.commune)
        commune.goto(f"{base}/livelihood/")
        assert commune.locator("h1").inner_text() == "Hỗ trợ sinh kế"
        commune.click("text=Đăng ký người được hỗ trợ")
        assert "Đăng ký người được hỗ trợ" in commune.title()
        commune.fill("#full_name", "Demo Thị Bảy")
        commune.fill("#birth_year", "1998")
        commune.select_option("#ethnicity_code", "06")
        commune.check("input[name=status][value=identified]")
        commune.fill("#status_on", "2025-03-05")
        commune.check("input[name=supports_received][value=a]")
        commune.fill("#household_size", "4")
        commune.fill("#monthly_income_vnd", "1.200.000")
        commune.check("#consent_record")
        commune.check("#consent_statistics")
        _fits_the_phone(commune)
        _shot(commune, f"1-survivor-form-js{int(javascript)}")
        commune.click("button[type=submit].primary")
        assert "Đã đăng ký người được hỗ trợ với mã NV-" in commune.locator(".flash").inner_text()
        assert "Demo" not in commune.title() and "Demo" not in commune.url
        assert commune.locator("dd", has_text="Demo Thị Bảy").count() == 1

        # --- and drafts a proposal with her, then submits it -------------------------------------
        commune.click("text=Cùng chị ấy lập đề xuất")
        commune.select_option("#kind", "livestock")
        commune.fill("#title", "Nuôi lợn nái sinh sản")
        commune.fill("#description", "Làm chuồng, mua 2 lợn nái")
        commune.fill("#lines-0-item", "Lợn nái giống")
        commune.fill("#lines-0-quantity", "2")
        commune.fill("#lines-0-unit", "con")
        commune.fill("#lines-0-unit_cost_vnd", "4.500.000")
        commune.fill("#lines-1-item", "Thức ăn")
        commune.fill("#lines-1-quantity", "10")
        commune.fill("#lines-1-unit", "bao")
        commune.fill("#lines-1-unit_cost_vnd", "400.000")
        commune.fill("#lines-1-co_contribution_vnd", "1.000.000")
        _fits_the_phone(commune)
        _shot(commune, f"2-proposal-form-js{int(javascript)}")
        commune.click("button[type=submit].primary")
        assert commune.locator(".flash").inner_text() == "Đã lưu đề xuất dạng bản nháp."
        assert commune.locator("dd", has_text="12.000.000 ₫").count() == 1  # 13,000,000 less her 1,000,000
        _shot(commune, f"2b-proposal-draft-js{int(javascript)}")
        commune.click("text=Gửi lên tỉnh")
        assert "Đề xuất đã được gửi lên tỉnh để thẩm định." in commune.locator(".flash").inner_text()
        proposal_url = commune.url

        # --- the province officer sets the budget and approves part of the request ----------------
        _sign_in(province, base, officers.province)
        province.goto(f"{base}/livelihood/budgets")
        province.fill("#amount_vnd", "100.000.000")
        province.click("button[type=submit].primary")
        assert province.locator(".flash").inner_text() == "Đã lưu kinh phí."
        province.goto(f"{base}/livelihood/")
        province.click(".list a >> nth=0")
        assert province.url == proposal_url
        assert province.locator("body", has_text="Demo Thị Bảy").count() == 0  # she sees the code, not the name
        province.click("text=Quyết định")
        province.check("input[name=decision][value=approve]")
        province.fill("#approved_amount_vnd", "10.000.000")
        province.fill("#note", "Giảm phần thức ăn")
        _fits_the_phone(province)
        _shot(province, f"3-decision-js{int(javascript)}")
        province.click("button[type=submit].primary")
        assert province.locator(".flash").inner_text() == "Đề xuất đã được phê duyệt."
        assert province.locator(".lv-state").first.inner_text() == "Đã phê duyệt"
        _shot(province, f"3b-proposal-approved-js{int(javascript)}")

        # --- a tranche is paid ---------------------------------------------------------------------
        province.click("text=Ghi nhận giải ngân")
        province.fill("#amount_vnd", "6.000.000")
        province.fill("#handed_over_by", "Cán bộ tỉnh")
        province.click("button[type=submit].primary")
        # Issue 12: she approved it, so her tranche waits for a second province officer.
        assert province.locator(".flash").inner_text().startswith("Đã ghi khoản chi.")
        assert province.locator("dd", has_text="4.000.000 ₫").count() == 1  # left to pay (6.000.000 reserved)
        assert province.locator("text=Xác nhận khoản chi này").count() == 0
        second_ctx, second = _page(chromium, javascript)
        try:
            _sign_in(second, base, officers.second_province)
            second.goto(proposal_url)
            _fits_the_phone(second)
            if javascript:  # axe-core needs a script; the screen is the same without one
                check_accessibility(second)
                save_screen(second, "livelihood-tranche-to-confirm-phone")
            second.click("text=Xác nhận khoản chi này")
            assert second.locator(".flash").inner_text() == "Khoản chi đã được xác nhận và được tính là đã chi."
        finally:
            second_ctx.close()
        province.goto(proposal_url)
        _fits_the_phone(province)
        _shot(province, f"4-proposal-disbursing-js{int(javascript)}")
        province.goto(f"{base}/livelihood/budgets")
        assert province.locator(".lv-fill-committed.lv-w-10").count() == 1
        _shot(province, f"5-budget-js{int(javascript)}")
        # A change of the allocation waits for a second person; its proposer sees who acts next.
        province.fill("#amount_vnd", "120.000.000")
        province.click("button[type=submit].primary")
        assert province.locator(".flash").inner_text().startswith("Đã ghi đề xuất thay đổi.")
        assert province.locator("li", has_text="120.000.000 ₫").count() == 1
        assert province.locator("text=Xác nhận thay đổi này").count() == 0
        _fits_the_phone(province)
        _shot(province, f"5b-budget-change-pending-js{int(javascript)}")
        if javascript:
            check_accessibility(province)
            save_screen(province, "livelihood-budget-change-pending-phone")

        # --- the commune officer records a monitoring visit ------------------------------------------
        commune.goto(proposal_url)
        commune.click("text=Ghi nhận giám sát")
        commune.check("input[name=progress][value=on_track]")
        commune.fill("#income_before_vnd", "1.200.000")
        commune.fill("#income_after_vnd", "2.000.000")
        commune.check("input[name=funds_used_as_planned][value=yes]")
        commune.fill("#problems", "Chưa có")
        _fits_the_phone(commune)
        commune.click("button[type=submit].primary")
        assert commune.locator(".flash").inner_text() == "Đã ghi nhận lần giám sát."
        assert commune.locator("td", has_text="Đúng tiến độ").count() == 1
        _shot(commune, f"6-proposal-visit-js{int(javascript)}")
    finally:
        commune_ctx.close()
        province_ctx.close()
