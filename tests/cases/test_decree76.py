"""Decree 76/2023/NĐ-CP Arts. 2–5 (detailing Law 13/2022 Art. 3(2)): which acts count as domestic violence
for each relationship, to the part of the letter. An act that does not count is a warning the host confirms
with one tick, recorded on the case and left out of the domestic-violence tables; it never blocks the save."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casework.cases import codes, services
from casework.cases.models import Case
from casework.cases.services import local_today
from casework.cases.tables import case_records
from casework.extensions import db
from tests.cases.conftest import intake, user_of
from tests.cases.test_api import contract_payload
from tests.cases.test_intake import form


def test_decree_76_art_2_between_divorced_people_only_blocking_a_marriage_counts_of_letter_l():
    assert codes.act_counts("divorced", "l", {"obstruct_marriage"})
    for part in ("force_child_marriage", "force_marriage", "force_divorce", "obstruct_divorce"):
        assert not codes.act_counts("divorced", "l", {part}), part
    assert not codes.act_counts("divorced", "l")  # the part is needed to count it
    assert codes.act_counts("spouse", "l", {"force_divorce"}) and codes.act_counts("spouse", "l")


def test_decree_76_art_2_between_divorced_people_letter_g_counts_without_the_spouse_pair():
    assert not codes.act_counts("divorced", "g", {"spouses"})
    for part in ("parent_child", "grandparent_grandchild", "siblings"):
        assert codes.act_counts("divorced", "g", {part}), part
    assert codes.act_counts("divorced", "g", {"spouses", "parent_child"})


def test_decree_76_art_2_between_divorced_people_taking_property_and_forced_sex_do_not_count():
    assert codes.acts_not_counted("divorced", ["a", "n", "i", "q"]) == ["i", "n"]
    assert codes.acts_not_counted("divorced", ["a", "b", "c", "e", "h", "k", "q"]) == []


def test_decree_76_art_3_between_cohabiting_partners_every_act_but_taking_property_counts():
    assert codes.acts_not_counted("cohabiting", list(codes.ACT_CODES)) == ["n"]


def test_law_13_2022_art_3_1_i_forced_sex_is_an_act_between_spouses_only():
    assert codes.acts_not_counted("spouse", list(codes.ACT_CODES)) == []
    assert codes.acts_not_counted("parent_child", ["a", "i"]) == ["i"]


def test_decree_76_an_intake_with_a_non_counted_act_saves_with_the_warning_and_the_one_tick(world, signed_in):
    client = signed_in(world.host_a)
    response = client.post("/cases/new", data=form(world.addr_a, acts=["a", "n"], relationship="divorced"))
    assert response.status_code == 302, response.text[:2000]
    case = db.session.scalars(select(Case)).one()
    assert case.act_codes == ["a", "n"] and case.acts_not_counted == ["n"] and case.dv_counted
    assert case.forms == ["physical"]  # economic (n) is not counted
    page = client.get(response.headers["Location"]).text
    assert "NĐ 76/2023" in page and 'name="confirm"' in page
    assert client.post(f"/cases/{case.id}/acts-not-counted", data={"confirm": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).not_counted_confirmed_at is not None
    assert 'name="confirm"' not in client.get(f"/cases/{case.id}").text


def test_decree_76_the_tick_on_the_intake_form_records_the_confirmation(world, signed_in):
    client = signed_in(world.host_a)
    client.post("/cases/new", data=form(world.addr_a, acts=["l"], act_parts=["l:force_divorce"],
                                        relationship="divorced", acts_not_counted_confirmed="y"))
    case = db.session.scalars(select(Case)).one()
    assert case.acts_not_counted == ["l"] and not case.dv_counted and case.not_counted_confirmed_at is not None


def test_decree_76_the_api_saves_and_answers_with_an_act_not_counted_warning(world, token, client):
    headers = token(world.host_a)
    payload = contract_payload(world.addr_a.id) | {"acts": ["a", "g", "l"], "relationship": "divorced",
                                                   "act_parts": {"g": ["spouses"], "l": ["obstruct_marriage"]}}
    response = client.post("/api/v1/cases", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["warnings"] == [{"code": "act_not_counted", "acts": ["g"], "confirmed": False}]
    assert body["forms"] == ["physical", "mental"]  # l (blocking a marriage) counts: mental
    assert body["act_parts"] == {"g": ["spouses"], "l": ["obstruct_marriage"]}
    # The part that counts: between parents and children, g counts; the warning goes.
    patched = client.patch(f"/api/v1/cases/{body['id']}", headers=headers, json={
        "version": body["version"], "act_parts": {"g": ["parent_child"], "l": ["obstruct_marriage"]}}).get_json()
    assert patched["warnings"] == [] and patched["forms"] == ["physical", "mental"]


def test_decree_76_a_confirmation_is_asked_again_when_other_acts_become_non_counted(world, token, client):
    headers = token(world.host_a)
    payload = contract_payload(world.addr_a.id) | {"acts": ["a", "n"], "relationship": "divorced",
                                                   "acts_not_counted_confirmed": True}
    body = client.post("/api/v1/cases", json=payload, headers=headers).get_json()
    assert body["warnings"] == [{"code": "act_not_counted", "acts": ["n"], "confirmed": True}]
    body = client.patch(f"/api/v1/cases/{body['id']}", headers=headers,
                        json={"version": body["version"], "acts": ["a", "n", "i"]}).get_json()
    assert body["warnings"] == [{"code": "act_not_counted", "acts": ["i", "n"], "confirmed": False}]


def test_decree_76_an_unknown_part_is_refused_on_its_field(world, token, client):
    payload = contract_payload(world.addr_a.id) | {"act_parts": {"l": ["elope"]}, "acts": ["l"]}
    response = client.post("/api/v1/cases", json=payload, headers=token(world.host_a))
    assert response.status_code == 422 and "act_parts" in response.get_json()["error"]["fields"]


@pytest.fixture
def in_request(app):
    with app.test_request_context("/"):
        yield


def test_decree_76_a_case_with_no_counted_act_is_in_no_domestic_violence_table(world, make_case, in_request):
    counted = make_case(world.host_a, world.addr_a, acts=("a", "n"), relationship="divorced")
    not_counted = make_case(world.host_a, world.addr_a, acts=("n",), relationship="divorced",
                            person=services.PersonData(full_name="Lê Thị Mai", birth_year=1980))
    today = local_today()
    records = [r for r in case_records(today - timedelta(days=2), today + timedelta(days=1))
               if r.measure == "survivors"]
    assert [r.person_id for r in records] == [db.session.get(Case, counted).person_id]
    assert records[0].attributes["act_form"] == frozenset({"PHYS"})  # n (economic) left out
    assert db.session.get(Case, not_counted).dv_counted is False


def test_decree_76_a_service_call_never_refuses_a_non_counted_act(world, in_request):
    case = services.create_case(user_of(world.host_a), intake(world.addr_a, acts=("i",), relationship="sibling"))
    assert case.acts_not_counted == ["i"] and services.warnings_of(case)[0]["code"] == "act_not_counted"
