"""Browser journeys of issue 13 on a 360×740 phone with JavaScript OFF, axe-core on every screen:

a. a host asks to close a high-risk case; the commune officer is notified, finds the request in her queue,
   sees every open item and the host's note, must confirm with a reason, and the ended shelter stay is
   on the timeline;
c. a case moved to another address (the commune officer asks, the receiving commune's officer accepts)
   leaves the first host's list and appears in the second's.

Every step waits for the new page (a click only starts a navigation) through ``expect`` or a locator that
only the new page has.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from casework.cases import services
from casework.extensions import db
from casework.models import utcnow
from tests.browser.journey import screen, sign_in
from tests.cases.conftest import NAME, ban_request, user_of
from tests.referral.conftest import in_chromium

pytestmark = pytest.mark.browser

HOST_NOTE = "Chị đã về ở với mẹ đẻ, chồng đã bị tạm giữ"
OFFICER_REASON = "Chồng đang bị tạm giam, chị về sống cùng mẹ ở xã khác"


def _high_risk_case_with_open_items(world, make_case) -> tuple[str, str, str]:
    """A high-risk case (death threat, weapon) never notified to the commune, with a shelter stay running,
    a contact-ban request waiting for the commune chair and a referral not yet answered."""
    from referral.models import Organisation
    from referral.services import NewReferral, send_referral

    case_id = make_case(world.host_a, world.addr_a, risk_factors=frozenset({"threat_to_kill", "weapon"}),
                        risk_judged_high=True)
    case = db.session.get(services.Case, case_id)
    host = user_of(world.host_a)
    services.add_shelter_stay(host, case, services.ShelterData(start_on=services.local_today()))
    services.request_contact_ban(host, case, ban_request(utcnow() - timedelta(hours=1), "victim", True))
    org = Organisation(name="Công an xã Thử", kind="commune_police", province_code="19", contact="", active=True)
    org.services = ["police"]
    org.commune_codes = [world.addr_a.commune_code]
    db.session.add(org)
    db.session.flush()
    send_referral(host, case, NewReferral(organisation_id=org.id, service="police", reason="Cần công an bảo vệ"))
    db.session.commit()
    return case.id, case.reference, org.id


def test_commune_officer_is_told_of_a_closure_request_sees_what_is_open_and_confirms_with_a_reason(
        app, live_server, world, make_case, make_user):  # noqa: F811
    with app.test_request_context():
        case_id, reference, org_id = _high_risk_case_with_open_items(world, make_case)
    host, officer = world.host_a, world.officer_a
    provider = make_user("service_provider", organisation_id=org_id, username="congan_xa")

    def journey(new_page) -> None:
        twin = new_page(True)  # axe-core runs there on the HTML the JavaScript-off pages show

        # --- the host asks to close the case from the case page -------------------------------------
        page = new_page(False)
        sign_in(page, live_server, host)
        screen(page, twin, "work-host-high-risk-phone")
        page.goto(f"{live_server}/cases/{case_id}")
        page.click(f"a[href='/cases/{case_id}/closure']")
        expect(page.locator("h1")).to_have_text("Đề nghị đóng hồ sơ")
        open_items = page.locator(".open-items li")
        expect(open_items).not_to_have_count(0)
        shown = " ".join(open_items.all_inner_texts())
        for words in ("nguy cơ", "cấm tiếp xúc", "thông báo", "tạm lánh", "chuyển gửi"):
            assert words in shown.lower(), (words, shown)
        page.select_option("#reason", "safe_reintegrated")
        page.fill("#note", HOST_NOTE)
        screen(page, twin, "closure-request-phone")
        page.click("button[type=submit].primary")
        expect(page.locator(".flash").first).to_be_visible()
        expect(page.locator("h1")).not_to_have_text("Đề nghị đóng hồ sơ")

        # --- the police post's queue: the referral waits for its answer -----------------------------
        post = new_page(False)
        sign_in(post, live_server, provider)
        expect(post.locator("h1")).to_have_text("Việc cần làm")
        expect(post.locator(".work-list li")).to_have_count(1)
        assert NAME not in post.content() and reference not in post.content()
        screen(post, twin, "work-service-provider-phone")

        # --- the commune officer: a notification, then the queue ------------------------------------
        desk = new_page(False)
        sign_in(desk, live_server, officer)
        expect(desk.locator("h1")).to_have_text("Việc cần làm")
        nav = desk.locator("header nav, nav").first
        expect(nav).to_contain_text(re.compile(r"Thông báo \(\d+\)"))
        desk.click("details.menu-more summary")  # the folded menu opens without JavaScript
        expect(desk.locator("details.menu-more a").first).to_be_visible()
        screen(desk, twin, "notify-menu-phone")
        desk.click("a[href='/notifications/']")
        expect(desk.locator("h1")).to_have_text("Thông báo")
        notes = desk.locator(".rf-notes li", has_text=reference)
        expect(notes.first).to_be_visible()
        assert NAME not in desk.content()
        screen(desk, twin, "notify-commune-officer-phone")

        desk.click("a[href='/work/']")
        expect(desk.locator("h1")).to_have_text("Việc cần làm")
        closure_item = desk.locator(".work-list li", has=desk.locator(
            f"a[href='/cases/{case_id}/closure/decision']"))
        expect(closure_item).to_have_count(1)
        expect(closure_item).to_contain_text(reference)
        screen(desk, twin, "work-commune-officer-phone")

        # --- the decision page: the host's note and every open item ----------------------------------
        closure_item.locator("a").click()
        expect(desk.locator("h1")).to_have_text("Duyệt đóng hồ sơ")
        expect(desk.locator("main")).to_contain_text(HOST_NOTE)
        shown = " ".join(desk.locator(".open-items li").all_inner_texts()).lower()
        for words in ("nguy cơ", "cấm tiếp xúc", "thông báo", "tạm lánh", "chuyển gửi"):
            assert words in shown, (words, shown)
        screen(desk, twin, "closure-decision-open-items-phone")

        # approving without confirming: refused, every error at once, nothing changed
        desk.check("input[name=decision][value=approve]")
        desk.click("button[type=submit].primary")
        expect(desk.locator("#confirm_open_items-error")).to_be_visible()
        expect(desk.locator("#confirm_reason-error")).to_be_visible()
        screen(desk, twin, "closure-decision-confirm-phone")
        db_state = desk.locator("main").inner_text()
        assert "Đã đóng hồ sơ." not in db_state

        desk.check("input[name=decision][value=approve]")
        desk.check("#confirm_open_items")
        desk.fill("#confirm_reason", OFFICER_REASON)
        desk.click("button[type=submit].primary")
        expect(desk.locator(".flash").first).to_have_text("Đã đóng hồ sơ.")
        timeline = desk.locator("main").inner_text()
        assert "Kết thúc tạm lánh khi đóng hồ sơ" in timeline, timeline
        screen(desk, twin, "closure-closed-phone")

        # the host is told of the decision (codes only), and the closure request left the officer's queue
        page.goto(f"{live_server}/notifications/")
        expect(page.locator("h1")).to_have_text("Thông báo")
        expect(page.locator(".rf-notes li", has_text=reference).first).to_be_visible()
        assert NAME not in page.locator("main").inner_text()
        screen(page, twin, "notify-host-phone")
        desk.goto(f"{live_server}/work/")
        expect(desk.locator("h1")).to_have_text("Việc cần làm")
        expect(desk.locator(f"a[href='/cases/{case_id}/closure/decision']")).to_have_count(0)

    in_chromium(journey)
    db.session.expire_all()
    case = db.session.get(services.Case, case_id)
    assert case.status == "closed"
    assert case.shelter_stays[0].end_on == services.local_today()
    assert "shelter_ended_on_closure" in [e.kind for e in services.timeline(case)]


def test_a_moved_case_leaves_the_first_hosts_list_and_appears_in_the_seconds(
        app, live_server, world, make_case):  # noqa: F811
    with app.test_request_context():
        case_id = make_case(world.host_a, world.addr_a, commune_notified_at=utcnow() - timedelta(hours=1))
        reference = db.session.get(services.Case, case_id).reference
    to_address = world.addr_b.id

    def journey(new_page) -> None:
        twin = new_page(True)
        first_host, second_host = new_page(False), new_page(False)
        sign_in(first_host, live_server, world.host_a)
        sign_in(second_host, live_server, world.host_b)
        for page, has_it in ((first_host, 1), (second_host, 0)):
            page.goto(f"{live_server}/cases")
            expect(page.locator("main")).to_be_visible()
            expect(page.locator(f"a[href='/cases/{case_id}']")).to_have_count(has_it)

        # --- the commune officer of the case asks for the move ---------------------------------------
        officer = new_page(False)
        sign_in(officer, live_server, world.officer_a)
        officer.goto(f"{live_server}/cases/{case_id}")
        officer.click(f"a[href='/cases/{case_id}/transfer']")
        expect(officer.locator("h1")).to_have_text("Chuyển sang ĐCTC khác")
        officer.select_option("#address_id", to_address)
        officer.fill("#reason", "Chị chuyển đến ở gần nơi làm việc mới")
        screen(officer, twin, "transfer-request-phone")
        officer.click("button[type=submit].primary")
        expect(officer.locator(".flash").first).to_be_visible()
        expect(officer.locator("h1")).not_to_have_text("Chuyển sang ĐCTC khác")
        screen(officer, twin, "transfer-requested-phone")

        # nothing changes until the receiving commune accepts
        first_host.reload()
        expect(first_host.locator(f"a[href='/cases/{case_id}']")).to_have_count(1)

        # --- the receiving commune's officer: notified, in her queue, accepts ------------------------
        receiver = new_page(False)
        sign_in(receiver, live_server, world.officer_b)
        expect(receiver.locator("h1")).to_have_text("Việc cần làm")
        item = receiver.locator(".work-list li", has_text=reference)
        expect(item).to_have_count(1)
        screen(receiver, twin, "work-commune-officer-transfer-phone")
        receiver.goto(f"{live_server}/notifications/")
        expect(receiver.locator("h1")).to_have_text("Thông báo")
        expect(receiver.locator(".rf-notes li", has_text=reference)).to_have_count(1)
        receiver.locator(".rf-notes li", has_text=reference).locator("a").first.click()
        expect(receiver.locator("h1")).to_contain_text(reference)
        screen(receiver, twin, "transfer-accept-phone")
        receiver.check("input[name=decision][value=accept]")
        receiver.click("button[type=submit].primary")
        expect(receiver.locator(".flash").first).to_be_visible()
        expect(receiver).to_have_url(re.compile(rf"/cases/{case_id}$"))
        screen(receiver, twin, "transfer-accepted-phone")

        # --- both hosts are told (codes only); the first no longer sees it, the second does ----------
        first_host.goto(f"{live_server}/notifications/")
        expect(first_host.locator("h1")).to_have_text("Thông báo")
        expect(first_host.locator(".rf-notes li", has_text=reference)).to_contain_text("chuyển sang ĐCTC khác")
        expect(first_host.locator(f".rf-notes a[href='/cases/{case_id}']")).to_have_count(0)
        screen(first_host, twin, "transfer-notify-old-host-phone")
        second_host.goto(f"{live_server}/notifications/")
        expect(second_host.locator("h1")).to_have_text("Thông báo")
        expect(second_host.locator(".rf-notes li", has_text=reference)).to_contain_text("chuyển đến ĐCTC của bạn")
        assert NAME not in second_host.locator("main").inner_text()
        screen(second_host, twin, "transfer-notify-new-host-phone")
        first_host.goto(f"{live_server}/cases")
        expect(first_host.locator("h1")).to_be_visible()
        expect(first_host.locator(f"a[href='/cases/{case_id}']")).to_have_count(0)
        response = first_host.goto(f"{live_server}/cases/{case_id}")
        assert response is not None and response.status == 404
        second_host.goto(f"{live_server}/cases")
        expect(second_host.locator("h1")).to_be_visible()
        expect(second_host.locator(f"a[href='/cases/{case_id}']")).to_have_count(1)
        second_host.click(f"a[href='/cases/{case_id}']")
        expect(second_host.locator("main")).to_contain_text(reference)
        expect(second_host.locator("main")).to_contain_text(NAME)
        screen(second_host, twin)

    in_chromium(journey)
    db.session.expire_all()
    assert db.session.get(services.Case, case_id).address_id == to_address
