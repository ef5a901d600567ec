"""Browser journey of issue 13 (b), on a 360×740 phone with JavaScript OFF, axe-core on every screen: a
province officer approves a livelihood proposal above the province's second-approval threshold; she is
then told that another officer must act and is offered no decision form; the second province officer is
notified, finds the proposal in her queue and completes the approval.

Every step waits for the new page (a click only starts a navigation)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from casework.extensions import db
from livelihood.models import Proposal
from tests.browser.journey import screen, sign_in
from tests.referral.conftest import in_chromium

pytestmark = pytest.mark.browser

WAITING = "Chờ cán bộ tỉnh khác phê duyệt lần hai."


def test_second_province_officer_is_notified_of_a_first_approval_and_completes_it(
        app, live_server, officers, make_proposal, make_budget):  # noqa: F811
    make_budget(100_000_000, second_above=5_000_000)
    proposal = make_proposal("submitted")  # asks 13.000.000 ₫, above the threshold of 5.000.000 ₫
    proposal_id, code = proposal.id, proposal.survivor.code
    url = f"/livelihood/proposals/{proposal_id}"

    def journey(new_page) -> None:
        twin = new_page(True)

        # --- the first province officer: her queue, the proposal, her approval ----------------------
        first = new_page(False)
        sign_in(first, live_server, officers.province)
        expect(first.locator("h1")).to_have_text("Việc cần làm")
        item = first.locator(".work-list li", has_text=code)
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Thẩm định và quyết định đề xuất")
        screen(first, twin, "work-province-officer-phone")
        item.locator("a").click()
        expect(first).to_have_url(f"{live_server}{url}")
        expect(first.locator(".lv-actions")).to_be_visible()
        screen(first, twin, "fourEyes-proposal-province-phone")
        first.click(f"a[href='{url}/decide']")
        expect(first.locator("h1")).to_have_text("Quyết định")
        expect(first.locator("form.card")).to_be_visible()
        assert "5.000.000 ₫" in first.locator("main").inner_text()  # the threshold is said before she decides
        first.check("input[name=decision][value=approve]")
        first.fill("#approved_amount_vnd", "13.000.000")
        screen(first, twin, "fourEyes-decide-first-phone")
        first.click("button[type=submit].primary")
        expect(first.locator(".flash").first).to_have_text(
            "Đã ghi nhận phê duyệt của bạn; cần một cán bộ khác xác nhận.")

        # she sees who must act next, and no decision she cannot use
        expect(first.locator("main")).to_contain_text(WAITING)
        expect(first.locator(f"a[href='{url}/decide']")).to_have_count(0)
        screen(first, twin, "fourEyes-waiting-first-phone")
        first.goto(f"{live_server}{url}/decide")
        expect(first.locator("main")).to_contain_text(WAITING)
        expect(first.locator("form.card, input[name=decision]")).to_have_count(0)
        screen(first, twin, "fourEyes-decide-waiting-phone")
        first.goto(f"{live_server}/work/")
        expect(first.locator("h1")).to_have_text("Việc cần làm")
        expect(first.locator(f".work-list a[href='{url}']")).to_have_count(0)

        # --- the second province officer: notified, in her queue, completes it -----------------------
        second = new_page(False)
        sign_in(second, live_server, officers.second_province)
        expect(second.locator("h1")).to_have_text("Việc cần làm")
        expect(second.locator("nav").first).to_contain_text("Thông báo (")
        item = second.locator(".work-list li", has_text=code)
        expect(item).to_contain_text("Phê duyệt lần hai")
        second.click("a[href='/notifications/']")
        expect(second.locator("h1")).to_have_text("Thông báo")
        note = second.locator(".rf-notes li", has_text=code)
        expect(note.first).to_contain_text("phê duyệt")
        assert "Demo Thị Hai" not in second.content()
        screen(second, twin, "notify-province-officer-phone")
        note.first.locator(f"a[href='{url}']").click()
        expect(second).to_have_url(f"{live_server}{url}")
        expect(second.locator("main")).to_contain_text("13.000.000 ₫")
        screen(second, twin, "fourEyes-proposal-second-phone")
        second.click(f"a[href='{url}/decide']")
        expect(second.locator("h1")).to_have_text("Quyết định")
        second.check("input[name=decision][value=approve]")
        screen(second, twin, "fourEyes-decide-second-phone")
        second.click("button[type=submit].primary")
        expect(second.locator(".flash").first).to_have_text("Đề xuất đã được phê duyệt.")
        screen(second, twin, "fourEyes-approved-phone")
        second.goto(f"{live_server}/work/")
        expect(second.locator("h1")).to_have_text("Việc cần làm")
        expect(second.locator(f".work-list a[href='{url}']")).to_have_count(0)

    in_chromium(journey)
    db.session.expire_all()
    done = db.session.get(Proposal, proposal_id)
    assert (done.state, done.approved_amount_vnd) == ("approved", 13_000_000)
    from livelihood import services

    last = services.transitions_of(done)[-1]
    assert (last.to_state, last.actor_id) == ("approved", officers.second_province.id)
    assert done.first_approved_by_id == officers.province.id
