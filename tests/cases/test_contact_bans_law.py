"""Contact bans as Law 13/2022/QH15 has them: requesters (Art. 25(1)(a)), the commune chair's own initiative
when her life is threatened (Art. 25(1)(b)), court bans up to 4 months (Art. 26) and revocation (Art. 25(4))."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework.cases import codes, services
from casework.cases.models import Case, ContactBan
from casework.errors import StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.text import VN_TZ
from tests.cases.conftest import ban_decision, ban_request, court_ban, revocation, user_of


def _case(case_id) -> Case:
    return db.session.get(Case, case_id)


def test_law_13_2022_art_25_1_a_the_requesters_are_the_four_the_law_names():
    assert set(codes.CONTACT_BAN_REQUESTERS) == {"victim", "guardian", "legal_representative", "competent_body"}
    assert codes.REQUESTERS_NEEDING_CONSENT == {"competent_body"}


def test_law_13_2022_art_25_1_a_a_household_host_is_not_a_formal_requester(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    with pytest.raises(ValidationError) as caught:
        services.request_contact_ban(user_of(world.host_a), case, ban_request(None, "host", True))
    assert "requester" in caught.value.fields


def test_law_13_2022_art_25_1_b_the_chair_decides_alone_only_when_her_life_is_threatened(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    host = user_of(world.host_a)
    with pytest.raises(ValidationError) as caught:
        services.request_contact_ban(host, case, ban_request(None, None, False, origin="chair_initiative"))
    assert "life_threatened" in caught.value.fields
    ban = services.request_contact_ban(host, case, ban_request(None, None, False, origin="chair_initiative",
                                                               life_threatened=True))
    assert ban.origin == "chair_initiative" and ban.requester == "" and ban.kind == "commune"
    assert ban.decision_due_at == ban.requested_at + timedelta(hours=12)


def test_law_13_2022_art_26_a_court_ban_lasts_up_to_4_months_and_names_its_court(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    host = user_of(world.host_a)
    decided = utcnow() - timedelta(hours=1)
    with pytest.raises(ValidationError) as caught:
        services.record_court_ban(host, case, court_ban(court_name="", decided_at=decided, valid_from=decided,
                                                        valid_until=decided + timedelta(days=130)))
    assert {"court_name", "valid_until"} <= set(caught.value.fields)
    ban = services.record_court_ban(host, case, court_ban(
        court_name="Tòa án nhân dân khu vực 1 – Thái Nguyên", decided_at=decided, valid_from=decided,
        valid_until=services.add_months(decided, 4), decision_ref="05/2026/QĐ-BPKCTT"))
    assert ban.kind == "court" and ban.decision == "granted" and ban.valid_until - ban.valid_from > timedelta(days=3)


def test_law_13_2022_art_25_3_a_commune_ban_still_lasts_at_most_3_days(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    host = user_of(world.host_a)
    ban = services.request_contact_ban(host, case, ban_request(None, "victim", True))
    now = utcnow()
    with pytest.raises(ValidationError):
        services.decide_contact_ban(host, case, ban.id, ban_decision("granted", now, now, now + timedelta(days=4)))


def test_law_13_2022_art_25_4_a_granted_ban_is_revoked_with_reason_and_date(world, make_case, req):
    case = _case(make_case(world.host_a, world.addr_a))
    host = user_of(world.host_a)
    ban = services.request_contact_ban(host, case, ban_request(None, "victim", True))
    with pytest.raises(StateError):  # not decided yet
        services.revoke_contact_ban(host, case, ban.id, revocation("Chị ấy đề nghị hủy", services.local_today()))
    now = utcnow()
    services.decide_contact_ban(host, case, ban.id, ban_decision("granted", now, now, now + timedelta(days=3)))
    with pytest.raises(ValidationError) as caught:
        services.revoke_contact_ban(host, case, ban.id, revocation("", services.local_today() + timedelta(days=1)))
    assert {"reason", "date"} <= set(caught.value.fields)
    services.revoke_contact_ban(host, case, ban.id, revocation("Chị ấy đề nghị hủy", services.local_today()))
    assert ban.revoked_on == services.local_today() and ban.in_force_until <= ban.valid_until
    with pytest.raises(StateError):
        services.revoke_contact_ban(host, case, ban.id, revocation("lần nữa", services.local_today()))
    db.session.commit()
    raw = db.session.execute(select(ContactBan.__table__.c.revoke_reason_ct)).scalar_one()
    assert "đề nghị".encode() not in raw  # the reason is encrypted at rest


def test_the_api_records_a_court_ban_and_revokes_it(world, make_case, token, client):
    cid = make_case(world.host_a, world.addr_a)
    headers = token(world.host_a)
    decided = utcnow() - timedelta(hours=2)
    too_long = client.post(f"/api/v1/cases/{cid}/contact-bans", headers=headers, json={
        "kind": "court", "court_name": "TAND khu vực 2", "decided_at": decided.isoformat(),
        "valid_until": (decided + timedelta(days=125)).isoformat()})
    assert too_long.status_code == 422 and "valid_until" in too_long.get_json()["error"]["fields"]
    body = client.post(f"/api/v1/cases/{cid}/contact-bans", headers=headers, json={
        "kind": "court", "court_name": "TAND khu vực 2", "decided_at": decided.isoformat(),
        "valid_until": (decided + timedelta(days=100)).isoformat()}).get_json()
    assert body["kind"] == "court" and body["court_name"] == "TAND khu vực 2" and body["revocation"] is None
    today = utcnow().astimezone(VN_TZ).date().isoformat()
    revoked = client.post(f"/api/v1/cases/{cid}/contact-bans/{body['id']}/revoke", headers=headers,
                          json={"reason": "Tòa án hủy quyết định", "date": today})
    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["revocation"] == {"date": today, "reason": "Tòa án hủy quyết định"}
    again = client.post(f"/api/v1/cases/{cid}/contact-bans/{body['id']}/revoke", headers=headers,
                        json={"reason": "x", "date": today})
    assert again.status_code == 409


def test_the_api_takes_the_chair_initiative_and_refuses_the_old_host_requester(world, make_case, token, client):
    cid = make_case(world.host_a, world.addr_a)
    headers = token(world.host_a)
    assert client.post(f"/api/v1/cases/{cid}/contact-bans", headers=headers,
                       json={"requester": "host", "victim_consented": True}).status_code == 422
    body = client.post(f"/api/v1/cases/{cid}/contact-bans", headers=headers,
                       json={"chair_initiative": True, "life_threatened": True}).get_json()
    assert body["origin"] == "chair_initiative" and body["requester"] is None


def test_the_screens_cite_the_articles_and_record_court_ban_and_revocation(world, make_case, signed_in):
    cid = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    page = client.get(f"/cases/{cid}/contact-bans/new").text
    assert "điểm b khoản 1 Điều 25" in page and "điểm a khoản 1 Điều 25" in page
    assert "Điều 26" in client.get(f"/cases/{cid}/contact-bans/court").text
    now = utcnow().astimezone(VN_TZ)
    response = client.post(f"/cases/{cid}/contact-bans/court", data={
        "court_name": "TAND khu vực 3", "decided_at": now.strftime("%Y-%m-%dT%H:%M"),
        "valid_until": (now + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    ban = db.session.scalars(select(ContactBan)).one()
    revoke_page = client.get(f"/cases/{cid}/contact-bans/{ban.id}/revoke").text
    assert "khoản 4 Điều 25" in revoke_page
    assert client.post(f"/cases/{cid}/contact-bans/{ban.id}/revoke", data={
        "date": now.date().isoformat(), "reason": "Đã hòa giải"}).status_code == 302
    assert "Đã hòa giải" in client.get(f"/cases/{cid}").text
