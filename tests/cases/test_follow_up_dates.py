"""Next follow-up dates (issue 13): a default per risk level, editable on the form, a "follow-up due" item
in the queue of the host and the commune officer that goes away when a newer follow-up is recorded."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from casework import work
from casework.cases import closure, codes, services
from casework.cases.models import Case, FollowUp
from casework.errors import ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.text import VN_TZ
from tests.cases.conftest import user_of


def _today() -> date:
    return utcnow().astimezone(VN_TZ).date()


def _case(case_id: str) -> Case:
    return db.session.get(Case, case_id)


def _due(account) -> list[str]:
    return [i.object_id for i in work.work_for(user_of(account)).items if i.kind == "follow_up_due"]


def _follow_up(account, case_id: str, on: date, next_on: date | None = None) -> FollowUp:
    row = services.add_follow_up(user_of(account), _case(case_id), services.FollowUpData(
        on=on, kind="visit", situation="improving", violence_recurred=False, next_on=next_on))
    db.session.commit()
    return row


def test_the_first_follow_up_date_follows_the_risk_level(world, make_case, req):
    days_ago = 5
    at = utcnow() - timedelta(days=days_ago)
    low = make_case(world.host_a, world.addr_a, intake_at=at, risk_factors=frozenset())
    medium = make_case(world.host_a, world.addr_a, intake_at=at, risk_factors=frozenset({"escalation"}))
    high = make_case(world.host_a, world.addr_a, intake_at=at, risk_factors=frozenset({"threat_to_kill"}))
    day = at.astimezone(VN_TZ).date()
    assert [_case(c).risk_level for c in (low, medium, high)] == ["low", "medium", "high"]
    assert _case(low).follow_up_due_on == day + timedelta(days=30)
    assert _case(medium).follow_up_due_on == day + timedelta(days=7)
    assert _case(high).follow_up_due_on == day + timedelta(days=3)
    # Only the high-risk case is due (late by two days); the others are not near their date yet.
    assert _due(world.host_a) == [high]


def test_a_due_follow_up_reaches_the_host_and_the_commune_officer_only(world, make_case, req):
    at = utcnow() - timedelta(days=3)
    case_id = make_case(world.host_a, world.addr_a, intake_at=at, risk_factors=frozenset({"weapon"}))
    assert case_id in _due(world.host_a) and case_id in _due(world.officer_a)
    for other in (world.host_b, world.officer_b, world.host_c, world.province_19):
        assert case_id not in _due(other)
    item = next(i for i in work.work_for(user_of(world.host_a)).items if i.kind == "follow_up_due")
    due_day = at.astimezone(VN_TZ).date() + timedelta(days=3)
    assert item.due_at == work.day_start(due_day) + timedelta(hours=23, minutes=59)
    assert item.endpoint == "cases.follow_up_new" and item.link == {"case_id": case_id}
    assert item.overdue() == (due_day < _today())


def test_a_newer_follow_up_clears_the_item_and_sets_the_next_date(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=10),
                        risk_factors=frozenset({"threat_to_kill"}))
    assert case_id in _due(world.host_a)
    row = _follow_up(world.host_a, case_id, _today())
    assert row.next_on == _today() + timedelta(days=3)  # the default for a high risk
    assert _case(case_id).follow_up_due_on == row.next_on
    assert case_id not in _due(world.host_a) and case_id not in _due(world.officer_a)


def test_a_chosen_next_date_is_kept_and_a_late_entry_for_an_earlier_day_does_not_move_it(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=20))
    chosen = _today() + timedelta(days=12)
    _follow_up(world.host_a, case_id, _today(), next_on=chosen)
    assert _case(case_id).follow_up_due_on == chosen
    _follow_up(world.host_a, case_id, _today() - timedelta(days=9))  # typed in late for an earlier visit
    assert _case(case_id).follow_up_due_on == chosen


def test_a_next_date_not_after_the_follow_up_or_too_far_is_refused_and_nothing_stored(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=20))
    before = _case(case_id).follow_up_due_on
    for bad in (_today(), _today() - timedelta(days=1), _today() + timedelta(days=codes.FOLLOW_UP_MAX_DAYS + 1)):
        try:
            _follow_up(world.host_a, case_id, _today(), next_on=bad)
        except ValidationError as e:
            assert "next_on" in e.fields
            db.session.rollback()
        else:
            raise AssertionError(f"{bad} was accepted")
    assert db.session.scalar(select(FollowUp.id)) is None
    assert _case(case_id).follow_up_due_on == before


def test_a_higher_risk_brings_the_date_forward_and_closure_removes_it(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=2))
    _follow_up(world.host_a, case_id, _today())
    assert _case(case_id).follow_up_due_on == _today() + timedelta(days=30)
    case = _case(case_id)
    services.update_case(user_of(world.host_a), case, case.version,
                         services.with_changes(services.intake_data_of(case), risk_factors=frozenset({"weapon"})))
    db.session.commit()
    assert _case(case_id).follow_up_due_on == _today() + timedelta(days=3)
    services.request_closure(user_of(world.host_a), _case(case_id), "safe_reintegrated")
    services.decide_closure(user_of(world.officer_a), _case(case_id), "approve", confirm_open_items=True,
                            confirm_reason="Đã an toàn")
    db.session.commit()
    assert _case(case_id).follow_up_due_on is None
    services.reopen_case(user_of(world.officer_a), _case(case_id), "Chị ấy quay lại")
    db.session.commit()
    assert _case(case_id).follow_up_due_on == _today() + timedelta(days=3)


def test_a_late_follow_up_is_an_open_item_of_the_closure(world, make_case, req):
    late = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=40))
    fresh = make_case(world.host_a, world.addr_a)
    assert "follow_up_due" in [i.kind for i in closure.open_items(_case(late))]
    assert "follow_up_due" not in [i.kind for i in closure.open_items(_case(fresh))]


def test_the_form_suggests_the_default_date_and_saves_a_typed_one(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=3),
                        risk_factors=frozenset({"escalation"}))
    client = signed_in(world.host_a)
    page = client.get(f"/cases/{case_id}/follow-ups/new")
    assert page.status_code == 200
    assert f'value="{(_today() + timedelta(days=7)).strftime("%d/%m/%Y")}"' in page.text
    assert f'value="{_today().strftime("%d/%m/%Y")}"' in page.text
    assert "7 ngày" in page.text
    chosen = _today() + timedelta(days=5)
    response = client.post(f"/cases/{case_id}/follow-ups/new", data={
        "on": _today().strftime("%d/%m/%Y"), "kind": "call", "situation": "safe", "violence_recurred": "no",
        "next_on": chosen.strftime("%d/%m/%Y")})
    assert response.status_code == 302
    assert db.session.scalars(select(FollowUp)).one().next_on == chosen
    view = client.get(f"/cases/{case_id}")
    assert chosen.strftime("%d/%m/%Y") in view.text
    bad = client.post(f"/cases/{case_id}/follow-ups/new", data={
        "on": _today().isoformat(), "kind": "call", "situation": "safe", "violence_recurred": "no",
        "next_on": "31/02/2026"})
    assert bad.status_code == 422 and "05/03/2026" in bad.text


def test_the_api_takes_and_returns_the_next_date(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=3))
    chosen = _today() + timedelta(days=9)
    response = client.post(f"/api/v1/cases/{case_id}/follow-ups", headers=token(world.host_a), json={
        "on": _today().isoformat(), "kind": "visit", "situation": "safe", "violence_recurred": False,
        "next_on": chosen.isoformat()})
    assert response.status_code == 201, response.text
    assert response.json["next_on"] == chosen.isoformat()
    assert _case(case_id).follow_up_due_on == chosen


def test_the_migration_gives_open_cases_their_due_date_by_the_rule(world, make_case, req):
    """The data step of the migration: the newest follow-up's day (or the intake day) plus the interval."""
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    path = next((Path(__file__).resolve().parents[2] / "migrations" / "versions").glob("c3f0a1d2e4b5_*.py"))
    spec = importlib.util.spec_from_file_location("follow_up_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    at = utcnow() - timedelta(days=50)
    plain = make_case(world.host_a, world.addr_a, intake_at=at, risk_factors=frozenset({"escalation"}))
    followed = make_case(world.host_a, world.addr_a, intake_at=at, risk_factors=frozenset({"weapon"}))
    _follow_up(world.host_a, followed, _today() - timedelta(days=10))
    _follow_up(world.host_a, followed, _today() - timedelta(days=20))
    closed = make_case(world.host_a, world.addr_a, intake_at=at)
    db.session.execute(Case.__table__.update().values(follow_up_due_on=None))
    db.session.execute(Case.__table__.update().where(Case.id == closed).values(status="closed"))
    db.session.commit()
    with db.engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        migration._backfill_cases()
    db.session.expire_all()
    assert _case(plain).follow_up_due_on == at.astimezone(VN_TZ).date() + timedelta(days=7)
    assert _case(followed).follow_up_due_on == _today() - timedelta(days=10) + timedelta(days=3)
    assert _case(closed).follow_up_due_on is None
