"""Every step of a case leaves an audit event with ids and field names, never personal data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casework.cases.services import local_today
from casework.extensions import db
from casework.models import utcnow
from casework.protect.audit import AuditEvent, verify_chain
from casework.protect.chainer import seal_all
from tests.cases.conftest import NAME
from tests.cases.test_api import contract_payload


def _events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_each_step_writes_its_event_and_none_holds_personal_data(world, token, client, signed_in):
    host, officer = token(world.host_a), token(world.officer_a)
    cid = client.post("/api/v1/cases", json=contract_payload(world.addr_a.id), headers=host).get_json()["id"]
    version = client.get(f"/api/v1/cases/{cid}", headers=host).get_json()["version"]
    client.patch(f"/api/v1/cases/{cid}", json={"version": version, "narrative": "Ghi chú mới của Hạnh"}, headers=host)
    client.post(f"/api/v1/cases/{cid}/consents", json={"purpose": "share", "service": "legal_aid"}, headers=host)
    today = local_today().isoformat()
    client.post(f"/api/v1/cases/{cid}/shelter-stays", json={"start_on": today}, headers=host)
    ban = client.post(f"/api/v1/cases/{cid}/contact-bans", json={"requester": "victim"}, headers=host).get_json()
    client.post(f"/api/v1/cases/{cid}/contact-bans/{ban['id']}/decision", json={"decision": "refused"}, headers=host)
    client.post(f"/api/v1/cases/{cid}/follow-ups", json={"on": today, "kind": "visit", "situation": "safe",
                                                         "violence_recurred": False, "note": "Hạnh ổn"}, headers=host)
    client.post("/api/v1/cases/search", json={"q": "0912345678"}, headers=host)
    client.post(f"/api/v1/cases/{cid}/closure", json={"reason": "other", "note": "Hạnh chuyển nhà"}, headers=host)
    client.post(f"/api/v1/cases/{cid}/closure/decision", json={"decision": "approve", "confirm_open_items": True,
                                                                    "confirm_reason": "Đã an toàn"}, headers=officer)
    client.post(f"/api/v1/cases/{cid}/reopen", json={"reason": "Hạnh quay lại"}, headers=host)
    web = signed_in(world.host_a)
    web.get(f"/cases/{cid}")
    web.get(f"/cases/{cid}/record.pdf")
    client.get(f"/api/v1/cases/{cid}", headers=token(world.province_19))

    events = _events()
    on_case = {e.action for e in events if e.object_id == cid}
    assert {"case_create", "case_view", "case_update", "consent_give", "shelter_add", "contact_ban_request",
            "contact_ban_decide", "follow_up_add", "closure_request", "closure_approve", "case_reopen",
            "case_export_pdf"} <= on_case
    assert any(e.action == "case_search" for e in events)
    province_view = [e for e in events if e.action == "case_view" and e.actor_role == "province_officer"]
    assert province_view and "full_name" not in (province_view[0].fields or "")
    dump = " ".join(str(getattr(e, c.key)) for e in events for c in AuditEvent.__table__.columns).lower()
    for secret in (NAME.lower(), "hạnh", "hanh", "0912345678", "345678", "ghi chú", "chuyển nhà"):
        assert secret not in dump, secret
    seal_all()
    assert verify_chain().ok


def test_a_view_of_a_case_writes_exactly_one_event_with_the_fields_shown(world, make_case, signed_in):
    cid = make_case(world.host_a, world.addr_a)
    before = len(_events())
    signed_in(world.host_a).get(f"/cases/{cid}")
    new = _events()[before:]
    views = [e for e in new if e.action == "case_view"]
    assert len(views) == 1
    assert views[0].object_type == "case" and views[0].object_id == cid and views[0].actor_id == world.host_a.id
    assert {"full_name", "phone", "narrative"} <= set(views[0].fields.split(","))


def test_the_edit_page_read_event_records_every_field_the_form_shows(world, make_case, signed_in):
    """The narrative, safety plan and risk are on the edit page, so they are in its read event (issue 18)."""
    from casework.cases import forms, presenters

    cid = make_case(world.host_a, world.addr_a, safety_plan="Ở nhà chị gái.", risk_judged_high=True)
    before = len(_events())
    page = signed_in(world.host_a).get(f"/cases/{cid}/edit")
    assert page.status_code == 200 and "Ở nhà chị gái." in page.text and "Chồng đánh bằng gậy." in page.text
    views = [e for e in _events()[before:] if e.action == "case_view"]
    assert len(views) == 1
    recorded = set(views[0].fields.split(","))
    assert {"narrative", "safety_plan", "risk", "full_name", "phone", "injuries"} <= recorded
    # Every field of the edit form, bar the consent boxes, maps to an audit name, and the event records the
    # names of the fields the record filled (no hand-kept list); tests/test_read_events.py checks the values.
    with world_request():
        names = {presenters.edit_form_field(f.name) for f in forms.EditForm(meta={"csrf": False})} - {None}
    assert recorded <= names
    assert not {"other_names", "id_number", "birth_date"} & recorded  # left empty in this record: not shown


def world_request():
    from flask import current_app

    return current_app.test_request_context("/")


def test_a_denied_view_is_audited_even_though_nothing_else_is_kept(world, make_case, signed_in):
    cid = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=1))
    signed_in(world.host_c).get(f"/cases/{cid}")
    denied = [e for e in _events() if e.action == "access_denied" and e.object_id == cid]
    assert len(denied) == 1 and denied[0].outcome == "denied"
