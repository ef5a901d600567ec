"""Closure that checks what is open (issue 13): a high-risk case, a pending contact-ban decision or an open
shelter stay cannot be closed without an explicit confirmation (and a reason for the first two); open
shelter stays then end on the closure day, on the timeline; the decider sees the host's note."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.cases import services
from casework.cases.closure import OpenItemsError, open_items
from casework.errors import ValidationError
from casework.extensions import db
from casework.models import utcnow
from tests.cases.conftest import ban_request, user_of


def _risky_case(world, make_case):
    case_id = make_case(world.host_a, world.addr_a, risk_factors=frozenset({"threat_to_kill", "weapon"}),
                        risk_judged_high=True)
    case = db.session.get(services.Case, case_id)
    services.add_shelter_stay(user_of(world.host_a), case, services.ShelterData(start_on=services.local_today()))
    services.request_closure(user_of(world.host_a), case, "safe_reintegrated", "Chị đã về nhà mẹ đẻ")
    db.session.commit()
    return case


def test_a_high_risk_case_with_a_shelter_stay_is_not_closed_without_confirmation(world, make_case, req):
    case = _risky_case(world, make_case)
    assert {i.kind for i in open_items(case)} >= {"high_risk", "shelter_stay_open"}
    with pytest.raises(OpenItemsError) as caught:
        services.decide_closure(user_of(world.officer_a), case, "approve")
    assert set(caught.value.fields) == {"confirm_open_items", "confirm_reason"}
    db.session.rollback()
    case = db.session.get(services.Case, case.id)
    assert case.status == "closure_requested" and case.shelter_stays[0].end_on is None


def test_a_confirmation_without_a_reason_is_refused_for_a_high_risk_case(world, make_case, req):
    case = _risky_case(world, make_case)
    with pytest.raises(OpenItemsError) as caught:
        services.decide_closure(user_of(world.officer_a), case, "approve", confirm_open_items=True)
    assert set(caught.value.fields) == {"confirm_reason"}


def test_confirmed_closure_ends_the_shelter_stay_on_the_timeline(world, make_case, req):
    case = _risky_case(world, make_case)
    services.decide_closure(user_of(world.officer_a), case, "approve", confirm_open_items=True,
                            confirm_reason="Chồng đã bị tạm giữ, chị về sống với mẹ")
    db.session.commit()
    assert case.status == "closed" and case.shelter_stays[0].end_on == services.local_today()
    kinds = [e.kind for e in services.timeline(case)]
    assert "shelter_ended_on_closure" in kinds and "closure_approved" in kinds


def test_a_pending_contact_ban_decision_needs_a_reason_too(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a, commune_notified_at=utcnow() - timedelta(hours=1))
    case = db.session.get(services.Case, case_id)
    services.request_contact_ban(user_of(world.host_a), case,
                                 ban_request(utcnow() - timedelta(minutes=5), "victim", True))
    services.request_closure(user_of(world.host_a), case, "safe_reintegrated")
    with pytest.raises(OpenItemsError) as caught:
        services.decide_closure(user_of(world.officer_a), case, "approve", confirm_open_items=True)
    assert "confirm_reason" in caught.value.fields


def test_nothing_to_confirm_closes_at_once(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a, commune_notified_at=utcnow() - timedelta(hours=1))
    case = db.session.get(services.Case, case_id)
    services.request_closure(user_of(world.host_a), case, "safe_reintegrated")
    services.decide_closure(user_of(world.officer_a), case, "approve")
    assert case.status == "closed"


def test_api_answers_409_open_items_listing_them_then_closes_when_confirmed(world, make_case, token, client):
    with client.application.test_request_context():
        case = _risky_case(world, make_case)
    url = f"/api/v1/cases/{case.id}/closure/decision"
    response = client.post(url, json={"decision": "approve"}, headers=token(world.officer_a))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "open_items" and "confirm_open_items" in error["fields"]
    assert {i["kind"] for i in error["open_items"]} >= {"high_risk", "shelter_stay_open"}
    response = client.post(url, json={"decision": "approve", "confirm_open_items": True,
                                      "confirm_reason": "Đã an toàn"}, headers=token(world.officer_a))
    assert response.status_code == 200 and response.get_json()["status"] == "closed"


def test_the_decision_page_shows_the_hosts_note_and_the_open_items(world, make_case, signed_in, client):
    with client.application.test_request_context():
        case = _risky_case(world, make_case)
    response = signed_in(world.officer_a).get(f"/cases/{case.id}/closure/decision")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Chị đã về nhà mẹ đẻ" in page and "Việc còn mở" in page and "Nguy cơ được đánh giá là cao." in page
    assert 'name="confirm_open_items"' in page


def test_the_web_decision_without_confirmation_changes_nothing(world, make_case, signed_in, client):
    with client.application.test_request_context():
        case = _risky_case(world, make_case)
    response = signed_in(world.officer_a).post(f"/cases/{case.id}/closure/decision", data={"decision": "approve"})
    assert response.status_code == 422
    assert "Vẫn còn việc đang mở" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(services.Case, case.id).status == "closure_requested"


def test_money_typed_without_ticking_money_is_an_error_not_dropped(world, make_case, req):
    """Issue 13: the amount was silently dropped when the "money" box was not ticked."""
    case = db.session.get(services.Case, make_case(world.host_a, world.addr_a))
    with pytest.raises(ValidationError) as caught:
        services.add_shelter_stay(user_of(world.host_a), case, services.ShelterData(
            start_on=services.local_today(), essentials=frozenset({"food"}), money_vnd=200_000))
    assert set(caught.value.fields) == {"money_vnd"}
    stay = services.add_shelter_stay(user_of(world.host_a), case, services.ShelterData(
        start_on=services.local_today(), essentials=frozenset({"food", "money"}), money_vnd=200_000))
    assert stay.money_vnd == 200_000


def test_the_confirmation_error_is_one_sentence_not_every_item_again(world, make_case, signed_in, client):
    """Found by the closure journey: the error under the box repeated every open item, in red, on a phone."""
    with client.application.test_request_context():
        case = _risky_case(world, make_case)
    response = signed_in(world.officer_a).post(f"/cases/{case.id}/closure/decision", data={"decision": "approve"})
    page = response.get_data(as_text=True)
    error = page.split('id="confirm_open_items-error"', 1)[1].split("</p>", 1)[0]
    assert "Hãy đánh dấu ô này" in error
    assert "Nguy cơ được đánh giá là cao." not in error and "tạm lánh" not in error
    assert page.count("Nguy cơ được đánh giá là cao.") == 1  # listed once, in "Việc còn mở"
