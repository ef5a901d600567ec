"""Trafficking status as Law 53/2024/QH15 has it: being identified, identified, not a victim (with the deciding
body and date); the words on the screens; children under 18 who come with her and their items a–h
(Art. 37(2)); the workbook's status column mapped word for word."""

from __future__ import annotations

from datetime import date

import pytest

from casework.errors import NotFound, ValidationError
from casework.extensions import db
from livelihood import children, services, workbook
from livelihood.models import AccompanyingChild
from tests.livelihood.conftest import api_token, survivor_input
from tests.livelihood.test_import import GOOD, _row, xlsx


def test_law_53_2024_not_a_victim_needs_the_deciding_body_and_the_date(officers):
    actor = officers.user(officers.commune)
    with pytest.raises(ValidationError) as caught:
        services.register_survivor(actor, survivor_input(actor.commune_code, status="not_victim"))
    assert {"status_on", "status_authority"} <= set(caught.value.fields)
    survivor = services.register_survivor(actor, survivor_input(
        actor.commune_code, status="not_victim", status_on=date(2026, 3, 2), status_authority="Công an tỉnh"))
    assert survivor.status == "not_victim" and survivor.status_authority == "Công an tỉnh"


def test_law_53_2024_art_37_a_person_found_not_to_be_a_victim_has_no_entitlement(officers):
    actor = officers.user(officers.commune)
    assert services.entitlements_of("not_victim") == ()
    with pytest.raises(ValidationError) as caught:
        services.register_survivor(actor, survivor_input(
            actor.commune_code, status="not_victim", status_on=date(2026, 3, 2), status_authority="Sở Y tế",
            supports_received=("a",)))
    assert "supports_received" in caught.value.fields


def test_law_53_2024_the_workbook_reads_nan_nhan_alone_as_ambiguous_not_as_identified(officers):
    result, created = workbook.import_survivors(officers.user(officers.commune), xlsx([_row(status="Nạn nhân")]))
    assert not result.ok and created == []
    message = next(e.message for e in result.errors if e.column == "Tình trạng")
    assert "Nạn nhân" in message and "Không phải nạn nhân" in message


@pytest.mark.parametrize("word,status", [("Đang xác minh", "being_identified"),
                                         ("đang xác định", "being_identified"),
                                         ("Đã xác định là nạn nhân", "identified"),
                                         ("Không phải nạn nhân", "not_victim")])
def test_law_53_2024_the_workbook_maps_each_status_word_explicitly(officers, word, status):
    result, created = workbook.import_survivors(officers.user(officers.commune), xlsx([_row(status=word)]))
    assert result.ok, result.errors
    assert created[0].status == status


def test_the_workbook_refuses_an_empty_or_unknown_status(officers):
    for word in ("", "có lẽ"):
        result, _created = workbook.import_survivors(officers.user(officers.commune), xlsx([_row(status=word)]))
        assert not result.ok and any(e.column == "Tình trạng" for e in result.errors)
    assert GOOD[5] == "Đã xác định"


def test_law_53_2024_art_37_2_a_child_under_18_gets_items_a_to_h_only(officers, make_survivor):
    survivor = make_survivor()
    actor = officers.user(officers.commune)
    with pytest.raises(ValidationError) as caught:
        children.add_child(actor, survivor, children.ChildInput(name="Bé Na", birth_year=2019, supports=("a", "i")))
    assert "supports" in caught.value.fields
    with pytest.raises(ValidationError) as caught:
        children.add_child(actor, survivor, children.ChildInput(name="Lan", birth_year=2000))
    assert "birth_year" in caught.value.fields
    child = children.add_child(actor, survivor, children.ChildInput(name="Bé Na", birth_year=2019,
                                                                    supports=("h", "a")))
    db.session.commit()
    assert child.support_list == ["a", "h"]
    raw = db.session.execute(AccompanyingChild.__table__.select()).one()
    assert b"Na" not in (raw.name_ct or b"")  # the child's name is encrypted at rest


def test_a_province_officer_cannot_record_a_child(officers, make_survivor):
    survivor = make_survivor()
    with pytest.raises(NotFound):
        children.add_child(officers.user(officers.province), survivor,
                           children.ChildInput(name="Bé Na", birth_year=2019))


def test_the_children_api_records_and_lists_a_child(officers, make_survivor, client):
    survivor = make_survivor()
    headers = api_token(client, officers.commune)
    bad = client.post(f"/api/v1/survivors/{survivor.id}/children", headers=headers,
                      json={"name": "Bé Na", "birth_year": 2019, "supports": ["k"]})
    assert bad.status_code == 422
    made = client.post(f"/api/v1/survivors/{survivor.id}/children", headers=headers,
                       json={"name": "Bé Na", "birth_year": 2019, "supports": ["a", "h"]})
    assert made.status_code == 201, made.get_json()
    items = client.get(f"/api/v1/survivors/{survivor.id}/children", headers=headers).get_json()["items"]
    assert [(c["name"], c["supports"]) for c in items] == [("Bé Na", ["a", "h"])]
    other = api_token(client, officers.other_commune)
    assert client.get(f"/api/v1/survivors/{survivor.id}/children", headers=other).status_code == 404


def test_the_screens_say_nguoi_duoc_ho_tro_not_nan_nhan_until_identified(officers, client, login):
    login(client, officers.commune)
    page = client.get("/livelihood/survivors").text
    assert "Đăng ký người được hỗ trợ" in page and "Đăng ký nạn nhân" not in page
    form = client.get("/livelihood/survivors/new").text
    for label in ("Đang xác minh", "Đã xác định là nạn nhân", "Không phải nạn nhân"):
        assert label in form, label


def test_law_53_2024_art_37_2_the_survivor_page_lists_her_children_and_records_one_with_items_a_to_h(
        officers, make_survivor, client, login):
    """The screen for Art. 37(2): her commune's officer adds a child under 18 with the items a–h received; the
    form offers a–h only, refuses an adult with a field error and stores nothing; the page lists the child."""
    survivor = make_survivor()
    login(client, officers.commune)
    page = client.get(f"/livelihood/survivors/{survivor.id}").text
    assert "Chưa ghi nhận trẻ em nào." in page and f"/livelihood/survivors/{survivor.id}/children/new" in page
    form = client.get(f"/livelihood/survivors/{survivor.id}/children/new").text
    assert 'value="h"' in form and 'value="i"' not in form and 'value="k"' not in form
    refused = client.post(f"/livelihood/survivors/{survivor.id}/children/new",
                          data={"name": "Lan", "birth_year": "2000", "sex": "female"})
    assert refused.status_code == 422 and "Điều 37" in refused.text
    assert db.session.query(AccompanyingChild).count() == 0
    made = client.post(f"/livelihood/survivors/{survivor.id}/children/new",
                       data={"name": "Bé Na", "birth_year": "2019", "sex": "female", "supports": ["a", "h"]})
    assert made.status_code == 302
    page = client.get(f"/livelihood/survivors/{survivor.id}").text
    assert "Bé Na" in page and "2019" in page


def test_law_53_2024_art_37_2_a_province_officer_sees_no_child_and_cannot_open_the_form(
        officers, make_survivor, client, login):
    survivor = make_survivor()
    children.add_child(officers.user(officers.commune), survivor, children.ChildInput(name="Bé Na", birth_year=2019))
    db.session.commit()
    login(client, officers.province)
    assert "Bé Na" not in client.get(f"/livelihood/survivors/{survivor.id}").text
    assert client.get(f"/livelihood/survivors/{survivor.id}/children/new").status_code in (403, 404)
