"""Shelter stays, contact bans, follow-ups, closure and reopening: rules and refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from casework.cases import services
from casework.cases.models import Case, ContactBan, FollowUp, ShelterStay
from casework.cases.schemas import ClosureDecisionIn, ReopenIn
from casework.errors import StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.text import VN_TZ
from tests.cases.conftest import ban_decision, ban_request, user_of


def _case(case_id) -> Case:
    return db.session.get(Case, case_id)


def _today() -> date:
    return utcnow().astimezone(VN_TZ).date()


def test_a_shelter_stay_records_nights_and_essentials(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=3))
    client = signed_in(world.host_a)
    start = (_today() - timedelta(days=2)).isoformat()
    response = client.post(f"/cases/{case_id}/shelter/new", data={
        "start_on": start, "end_on": _today().isoformat(), "essentials": ["food", "water", "money"],
        "money_vnd": "200.000"})
    assert response.status_code == 302
    stay = db.session.scalars(select(ShelterStay)).one()
    assert stay.essentials == ["food", "water", "money"] and stay.money_vnd == 200_000 and stay.nights(_today()) == 2


def test_a_shelter_end_before_its_start_is_refused_and_nothing_stored(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=3))
    response = signed_in(world.host_a).post(f"/cases/{case_id}/shelter/new", data={
        "start_on": _today().isoformat(), "end_on": (_today() - timedelta(days=1)).isoformat()})
    assert response.status_code == 422
    assert "Ngày kết thúc tạm lánh không thể trước ngày bắt đầu." in response.text
    assert db.session.scalar(select(func.count()).select_from(ShelterStay)) == 0


def test_a_stay_past_the_province_limit_is_flagged_not_refused(world, make_case, req):
    admin = user_of(world.admin)
    services.set_max_shelter_days(admin, "19", 2)
    case = _case(make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=5)))
    services.add_shelter_stay(user_of(world.host_a), case, services.ShelterData(start_on=_today() - timedelta(days=4)))
    assert services.flags_for([case])[case.id].shelter_over_limit
    assert services.max_shelter_days("11") == 7  # a province without its own setting gets the default


def test_only_one_open_stay_at_a_time(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=2)))
    services.add_shelter_stay(user_of(world.host_a), case, services.ShelterData(start_on=_today()))
    with pytest.raises(ValidationError):
        services.add_shelter_stay(user_of(world.host_a), case, services.ShelterData(start_on=_today()))


def test_a_contact_ban_is_due_within_12_hours_and_flagged_when_overdue(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=20)))
    ban = services.request_contact_ban(user_of(world.host_a), case,
                                       ban_request(utcnow() - timedelta(hours=13), "victim", False))
    assert ban.decision_due_at == ban.requested_at + timedelta(hours=12)
    flags = services.flags_for([case])[case.id]
    assert flags.ban_decision_due and flags.ban_decision_overdue


def test_a_request_by_an_organisation_needs_her_consent(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    with pytest.raises(ValidationError) as caught:
        services.request_contact_ban(user_of(world.host_a), case, ban_request(None, "competent_body", False))
    assert "victim_consented" in caught.value.fields
    services.request_contact_ban(user_of(world.host_a), case, ban_request(None, "competent_body", True))


def test_a_contact_ban_decision_lasts_at_most_three_days(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    host = user_of(world.host_a)
    ban = services.request_contact_ban(host, case, ban_request(None, "victim", True))
    now = utcnow()
    with pytest.raises(ValidationError) as caught:
        services.decide_contact_ban(host, case, ban.id,
                                    ban_decision("granted", now, now, now + timedelta(days=3, hours=1)))
    assert "valid_until" in caught.value.fields
    services.decide_contact_ban(host, case, ban.id,
                                ban_decision("granted", now, now, now + timedelta(days=3), "12/QĐ-UBND"))
    with pytest.raises(StateError):
        services.decide_contact_ban(host, case, ban.id, ban_decision("refused", now))


def test_a_ban_ending_within_a_day_is_a_reminder(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=2)))
    host = user_of(world.host_a)
    ban = services.request_contact_ban(host, case, ban_request(utcnow() - timedelta(days=2), "victim", True))
    decided = utcnow() - timedelta(days=2) + timedelta(hours=2)
    services.decide_contact_ban(host, case, ban.id,
                                ban_decision("granted", decided, decided, decided + timedelta(days=2, hours=6)))
    assert services.flags_for([case])[case.id].ban_expiring


def test_the_contact_ban_screens_record_request_and_decision(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    assert client.post(f"/cases/{case_id}/contact-bans/new", data={"requested_at": "", "requester": "victim"}
                       ).status_code == 302
    ban = db.session.scalars(select(ContactBan)).one()
    now = utcnow().astimezone(VN_TZ)
    bad = client.post(f"/cases/{case_id}/contact-bans/{ban.id}", data={
        "decision": "granted", "decided_at": now.strftime("%Y-%m-%dT%H:%M"),
        "valid_until": (now + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")})
    assert bad.status_code == 422 and "tối đa 3 ngày" in bad.text


def test_a_follow_up_is_recorded_with_recurrence(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=3))
    client = signed_in(world.host_a)
    missing = client.post(f"/cases/{case_id}/follow-ups/new", data={
        "on": _today().isoformat(), "kind": "call", "situation": "at_risk"})
    assert missing.status_code == 422 and "bạo lực có xảy ra lại" in missing.text
    assert client.post(f"/cases/{case_id}/follow-ups/new", data={
        "on": _today().isoformat(), "kind": "call", "situation": "at_risk", "violence_recurred": "yes",
        "note": "Anh ta lại đến nhà."}).status_code == 302
    row = db.session.scalars(select(FollowUp)).one()
    assert row.violence_recurred and row.note == "Anh ta lại đến nhà." and b"Anh ta" not in row.note_ct


def test_closure_requested_twice_is_a_conflict(world, make_case, signed_in, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    web = signed_in(world.host_a)
    assert web.post(f"/cases/{case_id}/closure", data={"reason": "safe_reintegrated"}).status_code == 302
    second = web.post(f"/cases/{case_id}/closure", data={"reason": "safe_reintegrated"})
    assert second.status_code == 409 and "đã được đề nghị đóng" in second.text
    api = client.post(f"/api/v1/cases/{case_id}/closure", json={"reason": "moved_away"}, headers=token(world.host_a))
    assert api.status_code == 409
    db.session.expire_all()
    assert _case(case_id).closure_reason == "safe_reintegrated"


def test_the_commune_officer_approves_or_returns_a_closure(world, make_case, req):
    host, officer = user_of(world.host_a), user_of(world.officer_a)
    returned = _case(make_case(world.host_a, world.addr_a))
    services.request_closure(host, returned, "lost_contact")
    with pytest.raises(ValidationError):
        ClosureDecisionIn.from_values(decision="return")  # a return says what is still needed
    services.decide_closure(officer, returned, "return", "Cần thăm lại một lần.")
    assert returned.status == "open" and returned.closure_reason is None
    approved = _case(make_case(world.host_a, world.addr_a))
    services.request_closure(host, approved, "moved_away")
    services.decide_closure(officer, approved, "approve")
    assert approved.status == "closed" and approved.closed_by_id == officer.id and approved.priority == 0
    with pytest.raises(StateError):
        services.decide_closure(officer, approved, "approve")


def test_a_host_cannot_decide_and_nobody_decides_her_own_request(world, make_case, signed_in, req):
    officer = user_of(world.officer_a)
    case = _case(make_case(world.officer_a, world.addr_a))
    services.request_closure(officer, case, "moved_away")
    with pytest.raises(ValidationError):
        services.decide_closure(officer, case, "approve")
    db.session.commit()
    assert signed_in(world.host_a).post(f"/cases/{case.id}/closure/decision",
                                        data={"decision": "approve"}).status_code == 404


def test_another_commune_officer_cannot_decide(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    client.post(f"/api/v1/cases/{case_id}/closure", json={"reason": "moved_away"}, headers=token(world.host_a))
    response = client.post(f"/api/v1/cases/{case_id}/closure/decision", json={"decision": "approve"},
                           headers=token(world.officer_b))
    assert response.status_code == 404


def test_a_closed_case_is_read_only_until_reopened_with_a_reason(world, make_case, req):
    host, officer = user_of(world.host_a), user_of(world.officer_a)
    case = _case(make_case(world.host_a, world.addr_a))
    services.request_closure(host, case, "moved_away")
    services.decide_closure(officer, case, "approve")
    with pytest.raises(StateError):
        services.update_case(host, case, case.version, services.intake_data_of(case))
    with pytest.raises(StateError):
        services.add_shelter_stay(host, case, services.ShelterData(start_on=_today()))
    with pytest.raises(ValidationError):
        ReopenIn.from_values(reason="")
    services.reopen_case(host, case, "Chị ấy quay lại sau khi bị đánh tiếp.")
    assert case.status == "open" and case.closed_at is None
    with pytest.raises(StateError):
        services.reopen_case(host, case, "again")
    kinds = [e.kind for e in services.timeline(case)]
    assert kinds[:3] == ["reopened", "closure_approved", "closure_requested"]
