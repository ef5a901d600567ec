"""Issue 14, cases part A: the address, the intake and the case edit are read by one schema each, from the API's
JSON body and from the web form alike, with the messages of DESIGN §4."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from werkzeug.datastructures import MultiDict

from casework.api import routes
from casework.cases import schemas, services
from casework.schemas import form_values
from tests.cases.conftest import NAME

JSON = {
    "address_id": "addr-1", "intake_at": "2026-03-05T21:30:00+07:00", "arrival": "phoned_first",
    "person": {"full_name": f"  {NAME} ", "birth_year": 1990, "birth_date": "1990-04-02", "sex": "female",
               "age_band": "unknown", "ethnicity_code": "01", "phone": "0912 345 678", "home_commune_code": "05533"},
    "children": {"count": 2, "ages": [4, 7]},
    "acts": ["a", "l"], "act_parts": {"l": ["obstruct_marriage"]}, "relationship": "spouse",
    "perpetrator": {"sex": "male", "age_band": "30_44"}, "injuries": "Bầm tay", "first_aid_given": True,
    "risk": {"factors": ["weapon"], "judged_high": True}, "narrative": "Anh ấy dọa giết.",
    "commune_notified_at": "2026-03-05T22:00:00+07:00",
    "consent": {"record": True, "statistics": True, "share": ["police", {"service": "health", "fields": ["acts"]}]},
}
FORM = MultiDict([
    ("address_id", "addr-1"), ("intake_at", "2026-03-05T21:30"), ("arrival", "phoned_first"),
    ("full_name", NAME), ("birth_year", "1990"), ("birth_date", "02/04/1990"), ("sex", "female"),
    ("age_band", ""), ("ethnicity_code", "01"), ("phone", "0912 345 678"), ("home_commune_code", "05533"),
    ("children_count", "2"), ("children_ages", "4, 7"), ("acts", "a"), ("acts", "l"),
    ("act_parts", "l:obstruct_marriage"), ("relationship", "spouse"), ("perpetrator_sex", "male"),
    ("perpetrator_age_band", "30_44"), ("injuries", "Bầm tay"), ("first_aid_given", "y"), ("risk_weapon", "y"),
    ("risk_judged_high", "y"), ("narrative", "Anh ấy dọa giết."), ("commune_notified", "y"),
    ("commune_notified_at", "2026-03-05T22:00"), ("consent_record", "y"), ("consent_statistics", "y"),
    ("consent_share", "police"), ("consent_share", "health"), ("consent_given_by", "self"),
])


def _form(data: MultiDict) -> dict:
    return schemas.intake_form_values(form_values(data, lists=schemas.INTAKE_FORM_LISTS))


def test_the_json_body_and_the_form_give_the_same_intake(app):
    with app.test_request_context():
        from_json, json_errors = schemas.IntakeIn.read_all(JSON)
        from_form, form_errors = schemas.IntakeIn.read_all(_form(FORM), form=True)
    assert json_errors == {} and form_errors == {}
    data, same = services.IntakeData.of(from_json), services.IntakeData.of(from_form)
    assert data.intake_at == same.intake_at == datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    assert data.person.full_name == NAME and data.person.birth_date == date(1990, 4, 2)
    assert data.children_count == 2 and data.children_ages == (4, 7)
    assert data.act_parts == frozenset({"l:obstruct_marriage"}) and data.risk_factors == frozenset({"weapon"})
    assert data.consent.share == (("police", ()), ("health", ("acts",)))
    # The form has no per-service fields: everything else is the same value.
    assert services.with_changes(data, consent=same.consent) == same


def test_a_bad_json_body_gets_the_exact_messages_of_each_field(app):
    body = {**JSON, "intake_at": "2026-03-05T21:30", "acts": "a", "person": {"full_name": 5, "birth_year": "1990"},
            "children": [], "consent": {"record": "yes", "share": [5]}, "act_parts": ["l:obstruct_marriage"]}
    with app.test_request_context():
        _value, errors = schemas.IntakeIn.read_all(body)
    assert errors == {
        "intake_at": ["Hãy ghi thời điểm theo ISO 8601 kèm múi giờ, ví dụ 2026-03-05T21:30:00+07:00."],
        "acts": ["Ô này phải là danh sách mã."],
        "person.full_name": ["Ô này phải là chữ."],
        "person.birth_year": ["Ô này phải là số nguyên."],
        "children": ["Ô này phải là một đối tượng."],
        "consent.record": ["Ô này phải là true hoặc false."],
        "consent.share": ["Ô này phải là danh sách dịch vụ."],
        "act_parts": ["Ô này phải là một đối tượng."],
    }


def test_a_field_that_cannot_be_read_does_not_hide_the_others(app):
    """Every message at once, as the form showed them before: a date that is not a date, and no consent."""
    bad = FORM.copy()
    bad.setlist("birth_date", ["31/02/1990"])
    bad.setlist("children_ages", ["bốn"])
    bad.setlist("acts", ["a", "l", "z"])
    del bad["consent_record"]
    with app.test_request_context():
        _value, errors = schemas.IntakeIn.read_all(_form(bad), form=True)
    assert errors == {
        "person.birth_date": ["Hãy nhập ngày theo dạng 05/03/2026."],
        "children.ages": ["Hãy nhập tuổi của các cháu là số từ 0 đến 17, cách nhau bằng dấu phẩy."],
        "acts": ["Không có hành vi: z. Hành vi là các điểm từ a đến q của Luật."],
        "consent.record": ["Cần có sự đồng ý của chị ấy để lưu hồ sơ; nếu không đồng ý thì không lưu gì cả."],
    }
    assert {schemas.INTAKE_FORM_NAMES.get(k, k) for k in errors} == {"birth_date", "children_ages", "acts",
                                                                     "consent_record"}


def test_an_intake_without_consent_or_name_is_refused_by_the_schema(app):
    with app.test_request_context():
        _value, errors = schemas.IntakeIn.read_all({**JSON, "consent": None, "person": {}, "acts": [],
                                                          "act_parts": None})
    assert errors == {"consent": ["Ô này là bắt buộc."],
                      "person.full_name": ["Hãy nhập tên chị ấy cho biết (chỉ tên gọi hoặc tên thường gọi cũng được)."],
                      "acts": ["Hãy đánh dấu ít nhất một hành vi bạo lực."]}


def test_the_address_reads_alike_from_json_and_form(app):
    with app.test_request_context():
        from_json, errors = schemas.AddressIn.read_all({"name": " Nhà chị Lan ", "commune_code": "05533",
                                                        "declared_on": "2026-01-02", "active": False})
        from_form, form_errors = schemas.AddressIn.read_all(
            {"name": "Nhà chị Lan", "commune_code": "05533", "kind": "", "declared_on": "02/01/2026",
             "published_on": "", "active": "n"}, form=True)
        _bad, bad_errors = schemas.AddressIn.read_all({"name": "", "commune_code": "x", "active": "yes",
                                                       "declared_on": "02/01/2026"})
    assert errors == {} == form_errors and from_json == from_form
    assert from_json.kind == "household" and from_json.declared_on == date(2026, 1, 2) and from_json.active is False
    assert bad_errors == {"name": ["Hãy nhập tên địa chỉ tin cậy."], "commune_code": ["Chọn mã xã có thật (5 chữ số)."],
                          "active": ["Ô này phải là true hoặc false."],
                          "declared_on": ["Hãy ghi ngày theo dạng 2026-03-05."]}


@pytest.mark.parametrize("method, rule, schema", [
    ("POST", "/addresses", schemas.AddressIn), ("POST", "/cases", schemas.IntakeIn),
    ("PATCH", "/cases/<case_id>", schemas.CaseEditIn)])
def test_the_openapi_request_bodies_come_from_the_schemas(app, method, rule, schema):
    spec = next(s for s in routes(app) if s.method == method and s.rule == rule)
    assert spec.request == schema.openapi()
    person = spec.request["properties"].get("person")
    if person is not None:
        assert person["properties"]["full_name"] == {"type": "string", "maxLength": 200}


def test_a_patch_changes_only_what_it_sends_in_the_nested_objects(world, token, client, make_case):
    case_id = make_case(world.host_a, world.addr_a)
    headers = token(world.host_a)
    before = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()
    response = client.patch(f"/api/v1/cases/{case_id}", headers=headers,
                            json={"version": before["version"], "person": {"other_names": "Hoa"},
                                  "children": {"count": 1}})
    assert response.status_code == 200, response.get_json()
    after = response.get_json()
    assert after["person"]["full_name"] == NAME and after["version"] == before["version"] + 1
    stale = client.patch(f"/api/v1/cases/{case_id}", headers=headers, json={"version": before["version"]})
    assert stale.status_code == 409
    missing = client.patch(f"/api/v1/cases/{case_id}", headers=headers, json={"person": None})
    assert missing.status_code == 422 and set(missing.get_json()["error"]["fields"]) == {"version"}


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+07:00"])
def test_a_time_without_a_local_day_is_a_message_not_a_500(app, moment):
    with app.test_request_context():
        _value, errors = schemas.IntakeIn.read_all({**JSON, "intake_at": moment})
        _value, notice = schemas.IntakeIn.read_all({**JSON, "intake_at": "0001-01-01T00:00:00+00:00",
                                                    "commune_notified_at": "0001-01-01T00:00:00+00:00"})
    assert errors == {"intake_at": ["Hãy ghi thời điểm theo ISO 8601 kèm múi giờ, ví dụ 2026-03-05T21:30:00+07:00."]}
    assert notice["intake_at"] == ["Hãy kiểm tra lại năm tiếp nhận."] and "commune_notified_at" not in notice
