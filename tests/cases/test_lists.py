"""Lists: most urgent first, keyset pages, filters, search through the blind index, reminders."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from casework.cases import schemas, services
from casework.cases.models import Case
from casework.extensions import db
from casework.models import utcnow
from casework.protect.audit import AuditEvent
from tests.cases.conftest import NAME, user_of


def test_open_high_risk_cases_come_first_then_by_date(world, make_case, req):
    now = utcnow()
    low_new = make_case(world.host_a, world.addr_a, intake_at=now - timedelta(hours=1))
    high_old = make_case(world.host_a, world.addr_a, intake_at=now - timedelta(days=20),
                         risk_factors=frozenset({"threat_to_kill"}))
    medium = make_case(world.host_a, world.addr_a, intake_at=now - timedelta(days=2),
                       risk_factors=frozenset({"escalation"}))
    closed_high = make_case(world.host_a, world.addr_a, intake_at=now - timedelta(hours=3),
                            risk_factors=frozenset({"weapon"}))
    case = db.session.get(Case, closed_high)
    services.request_closure(user_of(world.host_a), case, "moved_away")
    services.decide_closure(user_of(world.officer_a), case, "approve", confirm_open_items=True,
                            confirm_reason="Chị ấy đã chuyển đi nơi khác an toàn")  # issue 13: high risk
    ids = [c.id for c in services.list_cases(user_of(world.host_a)).items]
    assert ids == [high_old, medium, low_new, closed_high]


def test_keyset_pages_cover_every_case_once_without_offset(world, make_case, req):
    now = utcnow()
    made = {make_case(world.host_a, world.addr_a, intake_at=now - timedelta(hours=i),
                      risk_factors=frozenset({"escalation"}) if i % 3 == 0 else frozenset()) for i in range(1, 12)}
    seen, after, pages = [], None, 0
    while True:
        page = services.list_cases(user_of(world.host_a), after=after, limit=4)
        seen += [c.id for c in page.items]
        pages += 1
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert pages == 3 and len(seen) == len(set(seen)) == len(made) and set(seen) == made


def test_the_page_query_uses_no_offset(world, make_case, req):
    """The second page starts after the cursor's row ("< (?, ?, ?)"); nothing is skipped with OFFSET.

    (SQLite's compiler always writes "LIMIT ? OFFSET ?" once there is a limit; its offset must be 0.)
    """
    from sqlalchemy import event

    make_case(world.host_a, world.addr_a)
    statements = []
    listener = lambda *args: statements.append((args[2], args[3]))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = services.list_cases(user_of(world.host_a), limit=1)
        services.list_cases(user_of(world.host_a), after=services.encode_cursor(page.items[0]), limit=1)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    pages = [(sql, params) for sql, params in statements if 'FROM "case"' in sql and "ORDER BY" in sql]
    assert len(pages) == 2 and "< (" in pages[1][0]
    for sql, params in pages:
        assert "OFFSET" not in sql.upper() or params[-1] == 0


def test_filters_by_status_risk_form_and_period(world, make_case, req):
    now = utcnow()
    sexual = make_case(world.host_a, world.addr_a, acts=("i",), intake_at=now - timedelta(days=40))
    physical_high = make_case(world.host_a, world.addr_a, acts=("a",), risk_factors=frozenset({"weapon"}))
    user = user_of(world.host_a)

    def ids(**kw):
        aliases = {"period_from": "from", "period_to": "to"}
        filters = schemas.CaseScreenFilters.model_validate(
            {aliases.get(k, k): v.isoformat() if isinstance(v, date) else v for k, v in kw.items()})
        return [c.id for c in services.list_cases(user, filters).items]

    assert ids(form="sexual") == [sexual]
    assert ids(risk="high") == [physical_high]
    assert ids(period_from=(now - timedelta(days=10)).date()) == [physical_high]
    assert ids(period_to=(now - timedelta(days=30)).date()) == [sexual]
    assert ids(status="closed") == []


def test_a_bad_page_link_on_the_screen_starts_again_from_the_first_page(world, make_case, signed_in):
    make_case(world.host_a, world.addr_a)
    page = signed_in(world.host_a).get("/cases?after=not-a-cursor&status=bogus")
    assert page.status_code == 200 and NAME in page.text


def test_search_finds_a_name_without_accents_and_a_phone_in_any_format(world, make_case, signed_in):
    target = make_case(world.host_a, world.addr_a)
    make_case(world.host_a, world.addr_a, person=services.PersonData(full_name="Lò Thị Mai", phone="0977111222"))
    client = signed_in(world.host_a)
    for term in ("nguyen hanh", "HẠNH NGUYEN", "+84 912-345-678", "0912345678"):
        page = client.post("/cases/search", data={"q": term})
        assert page.status_code == 200
        assert f"/cases/{target}" in page.text and "Lò Thị Mai" not in page.text, term
    assert "Lò Thị Mai" in client.post("/cases/search", data={"q": "lo mai"}).text


def test_search_stays_within_scope(world, make_case, signed_in):
    make_case(world.host_b, world.addr_b)
    page = signed_in(world.host_a).post("/cases/search", data={"q": "nguyen hanh"})
    assert NAME not in page.text


def test_search_is_audited_without_the_term(world, make_case, signed_in):
    make_case(world.host_a, world.addr_a)
    signed_in(world.host_a).post("/cases/search", data={"q": "nguyen hanh"})
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case_search")).one()
    assert event.detail == "results:1" and event.fields == "full_name"
    values = " ".join(str(getattr(event, c.key)) for c in AuditEvent.__table__.columns)
    assert "nguyen" not in values.lower() and "hanh" not in values.lower()


def test_the_search_term_of_the_api_is_not_written_to_the_log(world, make_case, token, client, caplog):
    make_case(world.host_a, world.addr_a)
    with caplog.at_level("DEBUG"):
        response = client.post("/api/v1/cases/search", json={"q": "nguyen hanh"}, headers=token(world.host_a))
    assert response.status_code == 200 and len(response.get_json()["items"]) == 1
    assert response.get_json()["next"] is None
    assert "nguyen" not in caplog.text.lower()


def test_a_case_without_commune_notice_after_24_hours_is_flagged(world, make_case, signed_in, req):
    late = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=30))
    fresh = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=3))
    told = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=30),
                     commune_notified_at=utcnow() - timedelta(hours=29))
    flags = services.flags_for([db.session.get(Case, i) for i in (late, fresh, told)])
    assert flags[late].notice_overdue and not flags[fresh].notice_overdue and not flags[told].notice_overdue
    page = signed_in(world.host_a).get("/cases").text
    assert page.count("Chưa báo UBND xã sau 24 giờ") == 1


def test_recording_the_commune_notice_clears_the_flag(world, make_case, signed_in):
    late = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=30))
    client = signed_in(world.host_a)
    assert client.post(f"/cases/{late}/notice", data={"commune_notified_at": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, late).commune_notified_at is not None
    assert "Chưa báo UBND xã sau 24 giờ" not in client.get("/cases").text


def test_a_high_risk_case_suggests_urgent_referral_and_a_contact_ban(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a, risk_factors=frozenset({"threat_to_kill"}))
    page = signed_in(world.host_a).get(f"/cases/{case_id}").text
    assert "Nguy cơ cao." in page and "Chuyển gửi khẩn cấp" in page and "cấm tiếp xúc" in page


def test_the_list_is_audited_with_field_names_only(world, make_case, signed_in):
    make_case(world.host_a, world.addr_a)
    signed_in(world.host_a).get("/cases")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case_list")).one()
    assert event.fields == "full_name" and event.detail == "rows:1"
