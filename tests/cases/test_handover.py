"""Hand-overs of a case reach the person who must act next, and only her (issue 13); the notification
carries the case code, never the woman's name or phone."""

from __future__ import annotations

from datetime import timedelta

from casework import notify
from casework.cases import services
from casework.extensions import db
from casework.models import utcnow
from tests.cases.conftest import NAME, PHONE, ban_request, user_of


def notes_of(account) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(n.kind, n.object_id) for n in notify.notifications_for(user_of(account)).items]


def test_closure_request_notifies_the_commune_officers_of_that_commune_only(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    services.request_closure(user_of(world.host_a), db.session.get(services.Case, case_id), "safe_reintegrated")
    db.session.commit()
    assert ("closure_requested", case_id) in notes_of(world.officer_a)
    assert notes_of(world.officer_b) == [] and notes_of(world.host_b) == []
    assert ("closure_requested", case_id) not in notes_of(world.host_a)


def test_closure_decision_goes_back_to_the_host_who_asked(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    case = db.session.get(services.Case, case_id)
    services.request_closure(user_of(world.host_a), case, "safe_reintegrated")
    services.decide_closure(user_of(world.officer_a), case, "return", "Còn lệnh cấm tiếp xúc")
    db.session.commit()
    assert ("closure_returned", case_id) in notes_of(world.host_a)


def test_contact_ban_request_tells_the_commune_officer_a_decision_is_due(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    case = db.session.get(services.Case, case_id)
    services.request_contact_ban(user_of(world.host_a), case,
                                 ban_request(utcnow() - timedelta(minutes=5), "victim", True))
    db.session.commit()
    assert ("contact_ban_due", case_id) in notes_of(world.officer_a)


def test_case_notifications_carry_codes_and_never_her_name_or_phone(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    case = db.session.get(services.Case, case_id)
    services.request_closure(user_of(world.host_a), case, "safe_reintegrated")
    db.session.commit()
    for n in notify.notifications_for(user_of(world.officer_a)).items:
        text = notify.message(n) + n.reference
        assert case.reference in text and NAME not in text and PHONE not in text
        assert notify.link(n) == f"/cases/{case_id}"


def test_notifications_page_and_api_list_the_hand_over(world, make_case, signed_in, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    with client.application.test_request_context():
        services.request_closure(user_of(world.host_a), db.session.get(services.Case, case_id), "safe_reintegrated")
    db.session.commit()
    page = signed_in(world.officer_a).get("/notifications/").get_data(as_text=True)
    assert "Thông báo (1)" in page and f"/cases/{case_id}" in page
    body = client.get("/api/v1/notifications", headers=token(world.officer_a)).get_json()
    assert [(i["kind"], i["object_type"], i["object_id"], i["read"]) for i in body["items"]] == [
        ("closure_requested", "case", case_id, False)]
    assert body["next"] is None


def test_a_coordinator_has_no_notifications(world, token, client):
    assert client.get("/api/v1/notifications", headers=token(world.coordinator)).status_code == 404
