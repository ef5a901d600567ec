"""Demo cases: obviously fake women ("Demo Thị Một") at the demo trusted addresses.

Called by ``flask demo load [--cases N]`` after the core has created the officers' accounts: first the demo
trusted addresses and their hosts, then the cases. Every case goes through the same services as a real
intake (encryption, blind indexes, consent, audit).
"""

from __future__ import annotations

from datetime import date, timedelta

from casework.cases import codes, schemas, services
from casework.cases.consent import ConsentChoice
from casework.cases.models import Address
from casework.demo import DEMO_PLACES, first_communes
from casework.extensions import db
from casework.models import utcnow
from casework.text import VN_TZ

_GIVEN = ["Một", "Hai", "Ba", "Bốn", "Năm", "Sáu", "Bảy", "Tám", "Chín", "Mười", "Mười Một", "Mười Hai"]
_MIDDLE = ["Thị", "Thị Mẫu", "Thị Thử", "Thị Demo"]
_VILLAGES = ["Thôn Demo Thượng", "Bản Demo Hạ", "Xóm Thử Nghiệm", "Tổ Demo số 4"]


def demo_name(i: int) -> str:
    return f"Demo {_MIDDLE[i % len(_MIDDLE)]} {_GIVEN[i % len(_GIVEN)]}"


def add_demo_addresses(ctx) -> None:
    """Two trusted addresses in each demo province (in rural communes of the pilot provinces), the first
    with its host ``host<N>``."""
    for i, (province_code, _name) in enumerate(DEMO_PLACES, start=1):
        mine = []
        for j, commune_code in enumerate(first_communes(province_code, 2), start=1):
            address = Address(name=f"ĐCTC Demo {i}.{j}", kind="household", province_code=province_code,
                              commune_code=commune_code)
            db.session.add(address)
            mine.append(address)
        db.session.flush()
        ctx.addresses.extend(mine)
        ctx.add_user(f"host{i}", "host", province_code, display_name=f"Chủ nhà Demo {i}", address_ids=(mine[0].id,))


def load_demo_cases(ctx) -> None:
    """The demo addresses and hosts, then ``ctx.cases`` cases spread over the addresses; a share of them
    followed up or closed."""
    add_demo_addresses(ctx)
    rng = ctx.rng
    hosts = {a.id: u for u in ctx.users.values() if u.role == "host" for a in u.addresses}
    officers = {u.commune_code: u for u in ctx.users.values() if u.role == "commune_officer"}
    staff = []
    for address in ctx.addresses:
        actor = hosts.get(address.id) or officers.get(address.commune_code)
        if actor is not None:
            staff.append((address, actor))
    if not staff:
        return
    today = services.local_today()
    # The middle of the last quarter that has ended: what the demo's statistics report (issue 16).
    last_quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1) - timedelta(days=45)
    from casework.stats.models import PilotCommune

    pilot: dict[str, str] = {}  # province → its first demo commune, a pilot commune (issue 16)
    for address in ctx.addresses:
        pilot.setdefault(address.province_code, address.commune_code)
    for province_code, commune_code in sorted(pilot.items()):
        if db.session.get(PilotCommune, commune_code) is None:
            db.session.add(PilotCommune(commune_code=commune_code, province_code=province_code))
    for n, address in enumerate(ctx.addresses):
        if address.declared_on is None:  # one address in three is new in that quarter, the rest older
            address.declared_on = last_quarter if n % 3 == 2 else today - timedelta(days=400 + 10 * n)
        manager = officers.get(address.commune_code)
        if manager is not None and n % 2 == 0:
            services.add_training(manager, address, schemas.AddressTrainingIn.from_values(
                held_on=last_quarter + timedelta(days=n % 20), topic="Tập huấn kỹ năng tư vấn và giữ an toàn",
                organiser="Hội LHPN tỉnh"))
        if manager is not None:
            services.add_training(manager, address, schemas.AddressTrainingIn.from_values(
                held_on=today - timedelta(days=200), topic="Tập huấn tiếp nhận và hỗ trợ người bị bạo lực gia đình",
                organiser="Hội LHPN tỉnh"))
            services.add_support(manager, address, schemas.AddressSupportIn.from_values(
                received_on=today - timedelta(days=150), kind="equipment",
                description="Điện thoại, đèn pin, bộ sơ cứu", amount_vnd=2_500_000))
    now = utcnow()
    groups = ["01", "02", "03", "04", "05", "14"]
    for i in range(ctx.cases):
        address, actor = staff[i % len(staff)]
        relationship = rng.choice(["spouse", "spouse", "spouse", "cohabiting", "divorced", "parent_child"])
        allowed = sorted(codes.ALLOWED_ACTS[relationship])
        acts = tuple(sorted(set(rng.sample(allowed, rng.randint(1, 3))), key=codes.ACT_CODES.index))
        risks = frozenset(rng.sample(sorted(codes.RISK_FACTORS), rng.choice([0, 0, 1, 1, 2, 3])))
        intake_at = now - timedelta(days=rng.randint(0, 300), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        data = services.IntakeData(
            address_id=address.id, intake_at=intake_at,
            person=services.PersonData(
                full_name=demo_name(i), birth_year=now.year - rng.randint(17, 62), sex="female",
                ethnicity_code=rng.choice(groups), phone=f"0900 000 {i % 1000:03d}",
                home_commune_code=address.commune_code, home_address=f"{rng.choice(_VILLAGES)} (dữ liệu thử)"),
            acts=acts, relationship=relationship, arrival=rng.choice(sorted(codes.ARRIVALS)),
            children_count=rng.choice([0, 0, 1, 2]), perpetrator_sex="male",
            perpetrator_age_band=rng.choice(["18_29", "30_44", "45_59"]),
            injuries="Vết bầm ở tay (dữ liệu thử)" if "a" in acts else None,
            first_aid_given="a" in acts, risk_factors=risks,
            safety_plan="Ở lại ĐCTC qua đêm, báo công an xã nếu người gây bạo lực đến (dữ liệu thử)",
            commune_notified_at=intake_at + timedelta(hours=2) if rng.random() < 0.8 else None,
            narrative="Ghi chú thử nghiệm: không phải người thật.",
            consent=ConsentChoice(record=True, statistics=rng.random() < 0.9,
                                  share=(("police", ()), ("health", ())) if rng.random() < 0.6 else ()))
        case = services.create_case(actor, data)
        if rng.random() < 0.5:
            start = intake_at.astimezone(VN_TZ).date()
            services.add_shelter_stay(actor, case, services.ShelterData(
                start_on=start, end_on=min(start + timedelta(days=rng.randint(1, 3)), today),
                essentials=frozenset({"food", "water", "clothes"})))
        if intake_at < now - timedelta(days=14) and rng.random() < 0.6:
            services.add_follow_up(actor, case, services.FollowUpData(
                on=(intake_at + timedelta(days=7)).astimezone(VN_TZ).date(), kind="visit", situation="improving",
                violence_recurred=False, note="Thăm hỏi thử nghiệm."))
            officer = officers.get(address.commune_code)
            if officer is not None and officer.id != actor.id and rng.random() < 0.5:
                services.request_closure(actor, case, "safe_reintegrated")
                services.decide_closure(officer, case, "approve", confirm_open_items=True,
                                        confirm_reason="Dữ liệu mẫu: đã xem các việc còn mở")
    ctx.echo(f"Demo casework: {ctx.cases} cases at {len(staff)} trusted addresses.")
