"""The referral domain's typed inputs (issue 14): one schema reads the API body and the web form alike, gives the
exact messages, and is the request schema of the API document."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from casework.schemas import form_values
from referral.models import Referral
from referral.schemas import (
    CompletionIn,
    DeclineIn,
    OrganisationIn,
    ReferralIn,
    ReferralTarget,
    Refused,
    read_deadlines,
    read_referral,
)
from tests.referral.conftest import send
from tests.schema_errors import refused

WRONG_TYPE = "Giá trị này sai kiểu dữ liệu."
ORGANISATION = {"name": " Công an  xã Bá Xuyên ", "kind": "commune_police", "services": ["police", "police"],
                "province_code": "19", "commune_codes": ["05533", "05528"], "contact": "0208 3855 113"}


def test_an_organisation_reads_the_same_from_json_and_from_the_form(app):
    form = MultiDict([*((k, v) for k, v in ORGANISATION.items() if k not in ("services", "commune_codes")),
                      ("services", "police"), ("commune_codes", "05528; 05533,05533"), ("active", "y")])
    with app.test_request_context():
        from_json = OrganisationIn.from_json(ORGANISATION)
        from_form = OrganisationIn.from_form(form_values(form, lists=("services",)))
    assert from_json == from_form
    assert from_json.name == "Công an xã Bá Xuyên" and from_json.services == ("police",)
    assert from_json.commune_codes == ("05528", "05533") and from_json.active is True


def test_an_unchecked_active_box_on_the_form_is_inactive_and_absent_in_json_is_active(app):
    with app.test_request_context():
        assert OrganisationIn.from_form({**ORGANISATION, "commune_codes": "05533", "active": False}).active is False
        assert OrganisationIn.from_json({k: v for k, v in ORGANISATION.items()}).active is True


def test_a_bad_organisation_gets_the_exact_messages(app):
    with app.test_request_context():
        fields = refused(OrganisationIn.from_json, {"name": "", "kind": "castle", "services": [],
                                                    "province_code": "1x", "commune_codes": ["99999", "05533"],
                                                    "contact": "x" * 201, "active": "yes"})
    assert fields == {"name": ["Hãy nhập tên cơ quan."], "kind": ["Hãy chọn loại trong danh sách."],
                      "services": ["Hãy chọn ít nhất một dịch vụ trong danh sách."],
                      "province_code": ["Hãy nhập mã tỉnh (2 chữ số) có thật."],
                      "commune_codes": ["Các mã sau không phải là xã của tỉnh: 99999"],
                      "contact": ["Tối đa 200 ký tự."], "active": [WRONG_TYPE]}


def test_the_api_refuses_a_commune_outside_the_province_beside_nothing_else(client, make_user):
    from tests.referral.test_organisations import _token

    response = client.post("/api/v1/organisations", json={**ORGANISATION, "commune_codes": ["00004"]},
                           headers=_token(make_user("admin")))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "commune_codes": ["Các mã sau không phải là xã của tỉnh: 00004"]}


def test_the_api_answers_the_bodys_and_the_provinces_messages_at_once(client, make_user):
    from tests.referral.test_organisations import _token

    officer = _token(make_user("province_officer", scope="19"))
    response = client.post("/api/v1/organisations", json={**ORGANISATION, "name": "", "province_code": "01",
                                                           "commune_codes": ["00004"]}, headers=officer)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "name": ["Hãy nhập tên cơ quan."],
        "province_code": ["Bạn chỉ có thể thêm cơ quan thuộc tỉnh của mình."],
        "commune_codes": ["Các mã sau không phải là xã của tỉnh: 00004"]}


def test_the_organisation_form_shows_the_body_and_the_province_messages_at_once(client, make_user, login):
    from casework.extensions import db
    from referral.models import Organisation

    login(client, make_user("province_officer", scope="19"))
    response = client.post("/referral/organisations/new", data={"name": "", "kind": "health_station",
                                                                "services": ["health"], "commune_codes": "00004"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Hãy nhập tên cơ quan." in page and "Các mã sau không phải là xã của tỉnh: 00004" in page
    assert db.session.query(Organisation).count() == 0


REFERRAL = {"organisation_id": "org-1", "service": "police", "reason": " Cần  công an bảo vệ ", "override": True,
            "override_reason": "Người gây bạo lực đang cầm dao", "fields": ["phone", "full_name"]}


def test_a_referral_reads_the_same_from_json_and_from_the_form(app):
    form = MultiDict([("organisation_id", "org-1"), ("service", "police"), ("urgency", "normal"),
                      ("reason", "Cần công an bảo vệ"), ("override", "y"),
                      ("override_reason", "Người gây bạo lực đang cầm dao"),
                      ("override_fields", "phone"), ("override_fields", "full_name")])
    with app.test_request_context():
        from_json = ReferralIn.from_json(REFERRAL)
        from_form = ReferralIn.from_form(form_values(form, lists=("override_fields",)))
    assert from_json == from_form
    assert from_json.urgency == "normal" and from_json.reason == "Cần công an bảo vệ"
    assert from_json.override_fields == ("phone", "full_name")
    assert "Cần công an" not in repr(from_json)  # her circumstances stay out of logs


def test_a_bad_referral_gets_the_exact_messages(app):
    with app.test_request_context():
        fields = refused(ReferralIn.from_json, {"organisation_id": 5, "service": "astrology", "urgency": "whenever",
                                                "reason": "  ", "override": "yes", "fields": ["shoe_size"]})
        assert fields == {"organisation_id": [WRONG_TYPE], "service": ["Hãy chọn một loại dịch vụ trong danh sách."],
                          "urgency": ["Hãy chọn thông thường hoặc khẩn cấp."],
                          "reason": ["Hãy viết ngắn gọn chị ấy cần gì từ cơ quan này."], "override": [WRONG_TYPE],
                          "override_fields": ["Hãy chọn thông tin được chia sẻ trong danh sách."]}
        # DESIGN §2 Consent: an override is explained in a sentence.
        fields = refused(ReferralIn.from_json, {**REFERRAL, "override_reason": "nguy hiểm"})
        assert fields == {"override_reason": ["Hãy viết một câu giải thích vì sao tính mạng chị ấy đang bị đe dọa."]}


def test_a_refused_referral_keeps_the_target_that_did_read(app):
    with app.test_request_context():
        refused = read_referral({"organisation_id": "org-1", "service": "police", "reason": "x" * 2001})
        assert isinstance(refused, Refused) and set(refused.fields) == {"reason"}
        assert refused.part == ReferralTarget.from_json({"organisation_id": "org-1", "service": "police"})
        refused = read_referral({"organisation_id": "org-1", "service": "astrology"})
        assert isinstance(refused, Refused) and refused.part.service is None
        assert refused.part.organisation_id == "org-1"


def test_the_api_answers_the_bodys_and_the_directorys_messages_at_once(client, world, make_org):
    legal = make_org(services=("legal_aid",), name="Trợ giúp pháp lý")
    response = send(client, world, organisation_id=legal.id, reason="", urgency="whenever")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "urgency": ["Hãy chọn thông thường hoặc khẩn cấp."],
        "reason": ["Hãy viết ngắn gọn chị ấy cần gì từ cơ quan này."],
        "organisation_id": ["Cơ quan này không cung cấp dịch vụ này."]}


def test_a_closed_case_is_a_conflict_even_with_a_bad_body(client, world):
    from casework.extensions import db

    world.case.status = "closed"
    db.session.commit()
    assert send(client, world, reason="").status_code == 409
    assert db.session.query(Referral).count() == 0


def test_decline_and_completion_read_the_same_from_json_and_from_the_form(app):
    with app.test_request_context():
        assert DeclineIn.from_json({"reason": "Không có bác sĩ"}) == DeclineIn.from_form({"reason": "Không có bác sĩ"})
        from_json = CompletionIn.from_json({"outcome": "Xong", "service_date": "2026-03-05"})
        from_form = CompletionIn.from_form({"outcome": "Xong", "service_date": "05/03/2026", "result": ""})
    assert from_json == from_form and from_json.result == "provided" and from_json.service_date == date(2026, 3, 5)


def test_a_bad_completion_gets_the_message_of_its_source(app):
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    with app.test_request_context():
        assert refused(CompletionIn.from_form, {"service_date": "32/13/2026"}) == {
            "outcome": ["Hãy mô tả ngắn gọn kết quả."], "service_date": ["Hãy nhập ngày theo dạng 05/03/2026."]}
        assert refused(CompletionIn.from_json, {"outcome": "Xong", "service_date": "hôm qua"}) == {
            "service_date": ["Hãy nhập ngày theo dạng 2026-03-05."]}
        assert refused(CompletionIn.from_json, {"outcome": "Xong", "service_date": tomorrow}) == {
            "service_date": ["Ngày không thể ở tương lai."]}
        assert refused(CompletionIn.from_json, {"outcome": "Xong", "result": "maybe"}) == {
            "result": ["Hãy chọn dịch vụ đã được thực hiện hay chưa."]}


def test_the_deadlines_form_reads_every_service_and_files_messages_under_its_fields(app):
    from casework.service_types import SERVICE_TYPES

    good = {f"hours_{s}": "24" for s in SERVICE_TYPES} | {f"urgent_{s}": " 2 " for s in SERVICE_TYPES}
    with app.test_request_context():
        values = read_deadlines({**good, "hours_police": "6", "urgent_police": "1"})
        assert (values["police"].hours, values["police"].urgent) == (6, 1) and set(values) == set(SERVICE_TYPES)
        fields = refused(read_deadlines, {**good, "hours_police": "abc", "urgent_health": "48", "urgent_shelter": ""})
    assert fields == {"hours_police": ["Hãy nhập số giờ từ 1 đến 720."],
                      "urgent_health": ["Thời hạn cho chuyển gửi khẩn cấp không thể dài hơn thời hạn thông thường."],
                      "urgent_shelter": ["Hãy nhập số giờ từ 1 đến 720."]}


@pytest.mark.parametrize("method, path, schema", [
    ("post", "/organisations", OrganisationIn), ("patch", "/organisations/{organisation_id}", OrganisationIn),
    ("post", "/cases/{case_id}/referrals", ReferralIn), ("post", "/referrals/{referral_id}/decline", DeclineIn),
    ("post", "/referrals/{referral_id}/complete", CompletionIn)])
def test_the_api_document_takes_each_request_schema_from_its_declaration(client, method, path, schema):
    from casework.api.core import openapi30

    doc = client.get("/api/v1/openapi.json").get_json()
    body = doc["paths"]["/api/v1" + path][method]["requestBody"]["content"]["application/json"]["schema"]
    assert body == openapi30(schema.openapi())
    assert "fields" in ReferralIn.openapi()["properties"]  # the API's name for the shared fields
