"""Recording an intake on the screen, and every bad input refused with a message on its field, nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from casework.cases.models import Case, Consent, Person
from casework.extensions import db
from casework.models import utcnow
from casework.protect.fields import BlindIndex
from casework.text import VN_TZ


def form(address, **changes) -> dict:
    data = {
        "address_id": address.id,
        "intake_at": (utcnow() - timedelta(hours=1)).astimezone(VN_TZ).strftime("%Y-%m-%dT%H:%M"),
        "arrival": "came_alone", "full_name": "Trần Thị Hoa", "sex": "female", "birth_year": "1995",
        "age_band": "unknown", "ethnicity_code": "01", "phone": "0987 654 321", "home_commune_code": "05533",
        "children_count": "1", "children_ages": "4", "acts": ["a", "e"], "relationship": "spouse",
        "perpetrator_sex": "male", "perpetrator_age_band": "30_44", "injuries": "Vết bầm ở cổ",
        "risk_threat_to_kill": "y", "safety_plan": "Ngủ lại ĐCTC", "consent_record": "y",
        "consent_statistics": "y", "consent_share": ["police", "health"], "consent_given_by": "self",
        "narrative": "Anh ấy dọa giết.",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Case, Person, Consent, BlindIndex))


def test_a_host_records_a_complete_intake(world, signed_in):
    client = signed_in(world.host_a)
    assert client.get("/cases/new").status_code == 200
    response = client.post("/cases/new", data=form(world.addr_a))
    assert response.status_code == 302
    case = db.session.scalars(select(Case)).one()
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.person.full_name == "Trần Thị Hoa" and case.person.age_band == "30_44"
    assert case.act_codes == ["a", "e"] and case.forms == ["physical", "mental"]
    assert case.risk_level == "high" and case.children_count == 1 and case.children_ages == "4"
    assert {(c.purpose, c.service) for c in case.consents} == {
        ("record", None), ("statistics", None), ("share", "police"), ("share", "health")}


def test_identity_is_stored_encrypted_and_not_in_clear(world, signed_in):
    signed_in(world.host_a).post("/cases/new", data=form(world.addr_a))
    raw = db.session.execute(select(Person.__table__)).one()._mapping
    blob = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in raw.values() if v is not None)
    for secret in ("Trần Thị Hoa", "tran thi hoa", "0987", "1995"):
        assert secret.encode() not in blob
    narrative = db.session.execute(select(Case.__table__.c.narrative_ct)).scalar_one()
    assert "dọa giết".encode() not in narrative


def test_the_intake_page_has_a_generic_title_and_no_personal_data_in_the_redirect(world, signed_in):
    client = signed_in(world.host_a)
    response = client.post("/cases/new", data=form(world.addr_a))
    assert "Hoa" not in response.headers["Location"]
    page = client.get(response.headers["Location"])
    title = page.text.split("<title>")[1].split("</title>")[0]
    assert "Hoa" not in title and "Trần" not in title


BAD_INPUTS = [
    ("future intake time", {"intake_at": (utcnow() + timedelta(days=1)).astimezone(VN_TZ).strftime("%Y-%m-%dT%H:%M")},
     "intake_at", "tương lai"),
    ("birth year making her 130", {"birth_year": str(utcnow().year - 130)}, "birth_year", "120"),
    ("unknown act code", {"acts": ["a", "x"]}, "acts", "x"),
    ("missing consent to keep the record", {"consent_record": None}, "consent_record", "đồng ý"),
    ("no act at all", {"acts": []}, "acts", None),
    ("a date that is not a date", {"birth_date": "31/02/2001"}, "birth_date", None),
    # Said on the field, never cut without a word (the service used to keep the first 200 characters).
    ("a name longer than the form allows", {"full_name": "Trần Thị Hoa " * 20}, "full_name", "Tối đa 200 ký tự"),
    ("a phone longer than the form allows", {"phone": "0912 345 678 " * 4}, "phone", "Tối đa 32 ký tự"),
]


@pytest.mark.parametrize("label,changes,field,fragment", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_a_bad_intake_is_refused_on_its_field_in_vietnamese_and_nothing_is_stored(
        world, signed_in, label, changes, field, fragment):
    client = signed_in(world.host_a)
    before = _counts()
    response = client.post("/cases/new", data=form(world.addr_a, **changes))
    assert response.status_code == 422, label
    html = response.text
    assert f'id="{field}-error"' in html or f'id="{field}"' in html, label
    error = html.split(f'id="{field}-error">')[1].split("</p>")[0] if f'id="{field}-error"' in html else html
    if fragment:
        assert fragment in error, (label, error)
    assert _counts() == before, label


def test_the_intake_form_keeps_what_was_typed_after_an_error(world, signed_in):
    response = signed_in(world.host_a).post("/cases/new", data=form(world.addr_a, consent_record=None))
    assert 'value="Trần Thị Hoa"' in response.text
    assert 'value="a" checked' in response.text


def test_an_intake_at_an_address_of_another_host_is_refused(world, signed_in):
    response = signed_in(world.host_a).post("/cases/new", data=form(world.addr_b))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_commune_officer_chooses_among_the_addresses_of_her_commune(world, signed_in):
    client = signed_in(world.officer_a)
    page = client.get("/cases/new")
    assert world.addr_a.id in page.text and world.addr_a2.id in page.text and world.addr_b.id not in page.text
    assert client.post("/cases/new", data=form(world.addr_a2)).status_code == 302


def test_the_intake_form_works_without_javascript_on_a_narrow_screen(world, signed_in):
    page = signed_in(world.host_a).get("/cases/new").text
    assert "<script" not in page.split("</head>")[1]
    assert 'name="viewport"' in page
    for code in ("a", "đ", "q"):
        assert f'name="acts" value="{code}"' in page
    # The acts are grouped by the four forms of violence, each a fieldset with its legend.
    assert page.count('class="act-form"') == 4


def test_english_speakers_get_the_same_rules_in_english(world, signed_in):
    client = signed_in(world.host_a)
    client.post("/language", data={"lang": "en", "next": "/cases/new"})
    response = client.post("/cases/new", data=form(world.addr_a, consent_record=None))
    assert "She must agree that this record is kept" in response.text


def test_a_reference_already_taken_is_never_given_twice(world, make_case, monkeypatch, req):
    from casework.cases.services import intake

    first = db.session.get(Case, make_case(world.host_a, world.addr_a))
    offered = iter([first.reference, "VV-UNIQUE22"])
    monkeypatch.setattr(intake, "new_reference", lambda: next(offered))
    second = db.session.get(Case, make_case(world.host_a, world.addr_a))
    assert second.reference == "VV-UNIQUE22"


def test_a_fields_hint_and_its_error_are_both_read_with_it(world, signed_in):
    """Screen readers read what ``aria-describedby`` names: the hint under a field as well as its error."""
    import re

    page = signed_in(world.host_a).post("/cases/new", data=form(world.addr_a, birth_year="1800")).text
    hinted = re.findall(r'<p class="hint" id="([a-z_]+)-hint">', page)
    assert hinted, "the intake has hinted fields"
    for name in hinted:
        field = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{name}"[^>]*>', page)
        if field:
            assert f"{name}-hint" in field.group(0), name
    year = re.search(r'<input[^>]*\bid="birth_year"[^>]*>', page).group(0)
    assert "birth_year-error" in year and 'aria-invalid="true"' in year
