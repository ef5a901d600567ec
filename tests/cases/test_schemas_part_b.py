"""Issue 14, cases part B: consent, shelter stay, contact ban, follow-up and closure are each read by one
schema, from the API's JSON and from the web form alike, with the messages the screens and the API showed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from casework.api.core import openapi30
from casework.cases import schemas
from casework.cases.consent import ConsentInput
from casework.models import utcnow
from casework.text import VN_TZ
from tests.schema_errors import refused

pytestmark = pytest.mark.usefixtures("req")


def test_a_consent_reads_the_same_from_json_and_form_and_names_unknown_fields():
    body = {"purpose": "share", "service": "health", "fields": ["injuries", "full_name"]}
    from_json = schemas.ConsentIn.from_json(body)
    assert from_json == schemas.ConsentIn.from_form({**body, "given_by": ""})
    assert from_json.as_input() == ConsentInput("share", service="health", fields=("injuries", "full_name"))
    assert refused(schemas.ConsentIn.from_json, {"purpose": "share", "service": "army", "fields": ["dna"]}) == {
        "service": ["Hãy chọn một loại dịch vụ trong danh sách."],
        "fields": ["Không có loại thông tin: dna."]}
    assert refused(schemas.ConsentIn.from_json, {"purpose": "statistics", "service": "police"}) == {
        "service": ["Chỉ chọn dịch vụ khi đồng ý chia sẻ thông tin."]}
    assert refused(schemas.ConsentIn.from_json, {}) == {"purpose": ["Hãy chọn việc chị ấy đồng ý."]}


def test_a_shelter_stay_reads_a_form_amount_with_dots_and_refuses_money_not_ticked():
    form = schemas.ShelterStayIn.from_form({"start_on": "03/05/2026", "end_on": "2026-05-05",
                                            "essentials": ["food", "money"], "money_vnd": "200.000"})
    assert form == schemas.ShelterStayIn.from_json({"start_on": "2026-05-03", "end_on": "2026-05-05",
                                                    "essentials": ["food", "money"], "money_vnd": 200_000})
    assert form.start_on == date(2026, 5, 3) and form.money_vnd == 200_000
    assert refused(schemas.ShelterStayIn.from_json, {"start_on": "2026-05-03", "money_vnd": 5}) == {
        "money_vnd": ["Hãy đánh dấu \"Tiền\" trong các nhu yếu phẩm đã cấp, hoặc để trống số tiền."]}
    assert refused(schemas.ShelterStayIn.from_json, {"start_on": "03/05/2026", "money_vnd": "5"}) == {
        "start_on": ["Hãy ghi ngày theo dạng 2026-03-05."], "money_vnd": ["Ô này phải là số nguyên."]}
    assert refused(schemas.ShelterStayIn.from_form, {"start_on": "31/02/2026", "money_vnd": "năm"}) == {
        "start_on": ["Hãy nhập ngày theo dạng 05/03/2026."], "money_vnd": ["Nhập một số nguyên."]}


def test_a_contact_ban_applies_art_25_and_26_before_any_database_rule():
    # Art. 25(1)(a): a request by an organisation needs her consent; Art. 25(1)(b): the chair alone only when
    # her life is threatened; Art. 26: a court's ban names its court and lasts at most 4 months.
    assert refused(schemas.ContactBanIn.from_json, {"requester": "competent_body"}) == {
        "victim_consented": ["Khi cơ quan, tổ chức yêu cầu thì phải được chị ấy đồng ý (điểm a khoản 1 Điều 25)."]}
    assert set(refused(schemas.ContactBanIn.from_json, {"chair_initiative": True, "requester": "victim"})) == {
        "requester", "life_threatened"}
    decided = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    assert set(refused(schemas.ContactBanIn.from_json, {
        "kind": "court", "decided_at": decided.isoformat(),
        "valid_until": (decided + timedelta(days=130)).isoformat()})) == {"court_name", "valid_until"}
    court = schemas.ContactBanIn.from_form({"kind": "court", "court_name": " TAND  khu vực 2 ",
                                            "decided_at": "05/03/2026 21:30", "valid_until": "2026-07-05T21:30"})
    assert court.court_name == "TAND khu vực 2" and court.decided_at == decided
    assert court.valid_until == datetime(2026, 7, 5, 21, 30, tzinfo=VN_TZ)
    assert refused(schemas.ContactBanIn.from_json, {"requester": "victim", "requested_at": "2026-03-05T21:30"}) == {
        "requested_at": ["Hãy ghi thời điểm theo ISO 8601 kèm múi giờ, ví dụ 2026-03-05T21:30:00+07:00."]}
    assert refused(schemas.ContactBanIn.from_form, {"requester": "victim", "requested_at": "hôm qua"}) == {
        "requested_at": ["Hãy nhập ngày giờ theo dạng 05/03/2026 21:30."]}


def test_a_decision_and_a_revocation_say_what_is_missing():
    assert refused(schemas.ContactBanDecisionIn.from_json, {"decision": "granted"}) == {
        "valid_until": ["Hãy nhập thời điểm hết hiệu lực."]}
    tomorrow = utcnow().astimezone(VN_TZ).date() + timedelta(days=1)
    assert refused(schemas.ContactBanRevocationIn.from_json, {"reason": " ", "date": tomorrow.isoformat()}) == {
        "reason": ["Nhập lý do hủy bỏ quyết định cấm tiếp xúc."], "date": ["Ngày không thể ở tương lai."]}


def test_a_follow_up_reads_the_radio_and_the_json_boolean_alike():
    body = {"on": "2026-03-05", "kind": "call", "situation": "safe", "next_on": "2026-03-12"}
    assert (schemas.FollowUpIn.from_form({**body, "violence_recurred": "yes", "on": "05/03/2026"})
            == schemas.FollowUpIn.from_json({**body, "violence_recurred": True}))
    assert refused(schemas.FollowUpIn.from_form, {**body, "violence_recurred": ""}) == {
        "violence_recurred": ["Hãy cho biết bạo lực có xảy ra lại không."]}
    assert refused(schemas.FollowUpIn.from_json, {**body, "violence_recurred": "no", "next_on": "2026-03-05"}) == {
        "violence_recurred": ["Ô này phải là true hoặc false."]}
    assert refused(schemas.FollowUpIn.from_json, {**body, "violence_recurred": False, "next_on": "2027-03-07"}) == {
        "next_on": ["Lần theo dõi tiếp theo phải trong vòng một năm kể từ lần này."]}


def test_closure_request_decision_and_reopening_need_their_words():
    assert refused(schemas.ClosureRequestIn.from_json, {"reason": "other"}) == {
        "note": ["Hãy ghi lý do ngắn gọn."]}
    assert refused(schemas.ClosureDecisionIn.from_form, {"decision": "return", "note": ""}) == {
        "note": ["Hãy ghi những việc còn cần làm trước khi đóng hồ sơ."]}
    decided = schemas.ClosureDecisionIn.from_form({"decision": "approve", "confirm_open_items": "y"})
    assert decided.confirm_open_items is True and decided.note is None
    assert refused(schemas.ReopenIn.from_json, {"reason": 5}) == {"reason": ["Ô này phải là chữ."]}


@pytest.mark.parametrize(("path", "method", "schema"), [
    ("/api/v1/cases/{case_id}/consents", "post", schemas.ConsentIn),
    ("/api/v1/cases/{case_id}/shelter-stays", "post", schemas.ShelterStayIn),
    ("/api/v1/cases/{case_id}/shelter-stays/{stay_id}", "patch", schemas.ShelterStayIn),
    ("/api/v1/cases/{case_id}/contact-bans", "post", schemas.ContactBanIn),
    ("/api/v1/cases/{case_id}/contact-bans/{ban_id}/decision", "post", schemas.ContactBanDecisionIn),
    ("/api/v1/cases/{case_id}/contact-bans/{ban_id}/revoke", "post", schemas.ContactBanRevocationIn),
    ("/api/v1/cases/{case_id}/follow-ups", "post", schemas.FollowUpIn),
    ("/api/v1/cases/{case_id}/closure", "post", schemas.ClosureRequestIn),
    ("/api/v1/cases/{case_id}/closure/decision", "post", schemas.ClosureDecisionIn),
    ("/api/v1/cases/{case_id}/reopen", "post", schemas.ReopenIn),
    ("/api/v1/cases/{case_id}/transfer", "post", schemas.TransferIn),
    ("/api/v1/transfers/{transfer_id}/decline", "post", schemas.TransferDeclineIn),
])
def test_the_openapi_request_of_each_route_is_its_schema(client, path, method, schema):
    doc = client.get("/api/v1/openapi.json").get_json()
    body = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    assert body == openapi30(schema.openapi())  # written as OpenAPI 3.0 (nullable) by the document


def test_a_move_reads_its_reason_once_and_a_decline_needs_one():
    assert schemas.TransferIn.from_form({"address_id": "abc", "reason": " Chị  chuyển đi ", "step": "save"}) == (
        schemas.TransferIn.from_json({"address_id": "abc", "reason": "Chị chuyển đi"}))
    assert refused(schemas.TransferIn.from_json, {"address_id": 7, "reason": "x" * 2001}) == {
        "address_id": ["Ô này phải là chữ."], "reason": ["Tối đa 2000 ký tự."]}
    assert refused(schemas.TransferDeclineIn.from_form, {"decision": "decline", "reason": " "}) == {
        "reason": ["Ghi lý do từ chối."]}


def test_a_part_b_moment_keeps_the_end_of_year_9999_that_the_intake_refuses():
    """Part B's moments accept a time that has no day in Vietnam (the intake's ``local_day`` refuses it), and a
    court's ban decided then is judged by Art. 26 rather than failing when four months are added."""
    last_hours = "9999-12-31T20:00:00+00:00"
    assert schemas.ContactBanIn.from_json({"requester": "victim", "requested_at": last_hours}).requested_at.year == 9999
    _value, errors = schemas.IntakeIn.read_all({"intake_at": last_hours})
    assert errors["intake_at"] == ["Hãy ghi thời điểm theo ISO 8601 kèm múi giờ, ví dụ 2026-03-05T21:30:00+07:00."]
    ban = schemas.ContactBanIn.from_json({"kind": "court", "court_name": "TAND khu vực 2",
                                          "decided_at": "9999-12-01T00:00:00+00:00", "valid_until": last_hours})
    assert ban.valid_until == datetime(9999, 12, 31, 20, tzinfo=UTC)
