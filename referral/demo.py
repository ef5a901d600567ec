"""Demo organisations, their staff accounts and a few referrals of the demo cases.

Called by ``flask demo load`` after the demo cases exist. Referrals go through the same services as
real ones (consent gate, audit, timeline, notifications).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casework.auth import services as auth_services
from casework.demo import DEMO_PASSWORD
from casework.extensions import db
from referral import services
from referral.models import Organisation
from referral.schemas import ReferralIn

_ORGANISATIONS = [
    ("commune_police", "Công an xã Demo {n}", ("police",)),
    ("health_station", "Trạm y tế xã Demo {n}", ("health", "psychological")),
    ("legal_aid", "Trung tâm trợ giúp pháp lý Demo {n}", ("legal_aid",)),
]


def load_demo_referrals(ctx) -> None:
    from casework.cases.models import Case

    provinces: dict[str, list[str]] = {}
    for address in ctx.addresses:
        provinces.setdefault(address.province_code, []).append(address.commune_code)
    orgs: list[Organisation] = []
    for n, (province_code, communes) in enumerate(sorted(provinces.items()), start=1):
        for kind, name, offered in _ORGANISATIONS:
            org = Organisation(name=name.format(n=n), kind=kind, province_code=province_code,
                               contact="0200 000 000 (thử nghiệm)", active=True)
            org.services = list(offered)
            org.commune_codes = sorted(set(communes))
            db.session.add(org)
            orgs.append(org)
    db.session.flush()
    for i, org in enumerate(orgs, start=1):
        if org.kind in ("commune_police", "health_station"):
            user, _secret = auth_services.create_user(None, auth_services.NewUser(
                username=f"dichvu{i}", role="service_provider", password=DEMO_PASSWORD,
                display_name=f"{org.name} (cán bộ)", organisation_id=org.id))
            user.totp_confirmed = False
            ctx.users[user.username] = user
            ctx.province_of[user.username] = org.province_code
    senders = {a.id: u for u in ctx.users.values() if u.role == "host" for a in u.addresses}
    sent = 0
    cases = db.session.scalars(select(Case).where(Case.status == "open").order_by(Case.intake_at.desc())).all()
    for case in cases:
        actor = senders.get(case.address_id)
        if actor is None or sent >= max(ctx.cases // 6, 3):
            continue
        for service in ("police", "health"):
            if not services.consented_fields(case, service):
                continue
            receiver = next((o for o in orgs if service in o.services and case.commune_code in o.commune_codes), None)
            if receiver is None:
                continue
            referral = services.send_referral(actor, case, ReferralIn.from_json({
                "organisation_id": receiver.id, "service": service,
                "urgency": "urgent" if case.risk_level == "high" else "normal",
                "reason": "Cần hỗ trợ theo nhu cầu của chị (dữ liệu thử)."}))
            sent += 1
            if sent % 3 == 0:  # one in three waits past its deadline
                referral.sent_at -= timedelta(hours=30)
                referral.ack_due_at -= timedelta(hours=30)
            break
    db.session.flush()
    ctx.echo(f"Demo referrals: {len(orgs)} organisations, {sent} referrals.")
