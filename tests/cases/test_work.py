"""The work queue (issue 13): each person sees what she must do next, most urgent first; an item leaves
the queue when its work is done; nobody sees work outside her scope; pages and the API agree."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from casework import work
from casework.cases import services
from casework.extensions import db
from casework.models import utcnow
from tests.cases.conftest import ban_decision, ban_request, user_of


def kinds(account) -> list[tuple[str, str]]:
    return [(i.kind, i.object_id) for i in work.work_for(user_of(account)).items]


def test_host_queue_shows_an_unsent_commune_notice_until_it_is_sent(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    assert ("commune_notice", case_id) in kinds(world.host_a)
    services.record_commune_notice(user_of(world.host_a), db.session.get(services.Case, case_id), utcnow())
    db.session.commit()
    assert ("commune_notice", case_id) not in kinds(world.host_a)


def test_the_notice_item_is_due_24_hours_after_intake_and_overdue_after(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=30))
    item = next(i for i in work.work_for(user_of(world.host_a)).items if i.object_id == case_id)
    case = db.session.get(services.Case, case_id)
    assert item.due_at == case.intake_at + timedelta(hours=24)
    assert item.overdue()


def test_queue_never_shows_work_of_another_address_or_commune(world, make_case, req):
    mine = make_case(world.host_a, world.addr_a)
    other = make_case(world.host_b, world.addr_b)
    assert ("commune_notice", mine) in kinds(world.host_a)
    assert ("commune_notice", other) not in kinds(world.host_a)
    assert ("commune_notice", other) not in kinds(world.officer_a)
    assert ("commune_notice", mine) in kinds(world.officer_a)
    # Province officers do not work cases; coordinators, admins and auditors have no queue at all.
    assert kinds(world.province_19) == []


def test_contact_ban_decision_is_due_12_hours_after_the_request_and_leaves_when_decided(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    case = db.session.get(services.Case, case_id)
    asked = utcnow() - timedelta(hours=1)
    ban = services.request_contact_ban(user_of(world.host_a), case, ban_request(asked, "victim", True))
    db.session.commit()
    item = next(i for i in work.work_for(user_of(world.officer_a)).items if i.kind == "contact_ban_decision")
    assert item.object_id == ban.id and item.due_at == asked + timedelta(hours=12)
    assert item.link == {"case_id": case_id, "ban_id": ban.id}
    services.decide_contact_ban(user_of(world.officer_a), case, ban.id, ban_decision("refused", utcnow()))
    db.session.commit()
    assert all(k != "contact_ban_decision" for k, _ in kinds(world.officer_a))


def test_closure_request_reaches_the_commune_officer_not_the_host(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    services.request_closure(user_of(world.host_a), db.session.get(services.Case, case_id), "safe_reintegrated")
    db.session.commit()
    assert ("closure_decision", case_id) in kinds(world.officer_a)
    assert ("closure_decision", case_id) not in kinds(world.host_a)
    assert ("closure_decision", case_id) not in kinds(world.officer_b)


def test_items_come_most_urgent_first_and_pages_walk_every_item_once(world, make_case, req):
    now = utcnow()
    ids = [make_case(world.host_a, world.addr_a, intake_at=now - timedelta(hours=h)) for h in (3, 50, 10, 26, 7)]
    for case_id in ids[:2]:
        case = db.session.get(services.Case, case_id)
        services.request_contact_ban(user_of(world.host_a), case, ban_request(now - timedelta(hours=2), "victim", True))
    db.session.commit()
    everything = work.work_for(user_of(world.host_a), limit=100).items
    dues = [i.due_at for i in everything]
    assert dues == sorted(dues) and len(everything) == 7
    seen, after = [], None
    while True:
        page = work.work_for(user_of(world.host_a), after=after, limit=2)
        seen.extend((i.kind, i.object_id) for i in page.items)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [(i.kind, i.object_id) for i in everything]


def test_home_page_of_a_host_is_her_queue_with_a_link_that_clears_the_item(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    home = client.get("/", follow_redirects=True)
    page = home.get_data(as_text=True)
    assert home.status_code == 200 and "Việc cần làm" in page
    assert f"/cases/{case_id}" in page
    case = db.session.get(services.Case, case_id)
    assert case.reference in page
    assert "Nguyễn" not in page  # codes only, never her name


def test_empty_queue_says_nothing_is_waiting(world, signed_in):
    page = signed_in(world.host_b).get("/work/").get_data(as_text=True)
    assert "Không có việc nào đang chờ" in page


def test_api_work_lists_items_with_the_contract_shape(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=30))
    body = client.get("/api/v1/work", headers=token(world.host_a)).get_json()
    item = next(i for i in body["items"] if i["object_id"] == case_id)
    assert item["kind"] == "commune_notice" and item["object_type"] == "case" and item["overdue"] is True
    assert item["due_at"].endswith("Z") and body["next"] is None


def test_api_work_refuses_a_forged_cursor(world, token, client):
    response = client.get("/api/v1/work?after=bm90LWEtY3Vyc29y", headers=token(world.host_a))
    assert response.status_code == 422
    assert "after" in response.get_json()["error"]["fields"]


def test_api_work_is_not_for_roles_without_a_queue(world, token, client):
    assert client.get("/api/v1/work", headers=token(world.coordinator)).status_code == 404


def test_a_late_item_is_marked_late_in_words_and_by_the_overdue_border(world, make_case, signed_in):
    """Found while writing the guide: late items had the class ``work-late``, which no style rule knows,
    so a late row looked like any other; they now carry the referral list's ``rf-row-overdue`` (red edge)."""
    late = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=30))
    page = signed_in(world.host_a).get("/work/").get_data(as_text=True)
    row = page.split(f'href="/cases/{late}"', 1)[0].rsplit("<li", 1)[1]
    assert "rf-row-overdue" in row
    assert "quá hạn" in page.split(f'href="/cases/{late}"', 1)[1].split("</li>", 1)[0]
    css = (Path(__file__).resolve().parents[2] / "casework/static/css/app.css").read_text(encoding="utf-8")
    assert ".rf-row-overdue {" in css


def test_an_item_not_yet_due_has_no_overdue_border(world, make_case, signed_in):
    fresh = make_case(world.host_a, world.addr_a)
    page = signed_in(world.host_a).get("/work/").get_data(as_text=True)
    row = page.split(f'href="/cases/{fresh}"', 1)[0].rsplit("<li", 1)[1]
    assert "rf-row-overdue" not in row
