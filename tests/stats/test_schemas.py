"""The release request read through its schema (issue 14): the quarter comes out as a Period from a body, a form
and the command line alike, with the words of before, and the OpenAPI request bodies are generated from it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casework.api.core import openapi30
from casework.errors import ValidationError
from casework.extensions import db
from casework.stats import service
from casework.stats.models import StatPreview, StatRelease
from casework.stats.period import Period
from casework.stats.schemas import Confirmation, PreviewRequest, ReleaseRequest
from tests.schema_errors import refused

NOT_A_QUARTER = "Hãy chọn một quý, viết theo dạng 2026Q3."
TICK = "Đánh dấu vào ô để xác nhận bạn muốn chốt."


def test_a_body_and_a_form_give_the_same_period(app):
    with app.test_request_context():
        body = ReleaseRequest.from_json({"period": " 2026Q3 ", "preview_id": "a" * 32})
        form = ReleaseRequest.from_form({"period": "2026Q3", "preview_id": "a" * 32})
        assert body == form and body.period == Period(2026, 3) and body.preview_id == "a" * 32
        assert ReleaseRequest.from_json({"period": "2026Q3"}).preview_id is None
        assert ReleaseRequest.from_json({"period": "2026Q3", "preview_id": ""}).preview_id == ""  # the service's 404
        assert PreviewRequest.from_form({"period": "2025Q4"}).period == Period(2025, 4)


@pytest.mark.parametrize("value", [None, "", "2026", "2026Q5", "２０２６Q3", "2026-07", 2026, ["2026Q3"]])
def test_no_quarter_gets_the_words_of_before(app, value):
    with app.test_request_context():
        assert refused(ReleaseRequest.from_json, {"period": value}) == {"period": [NOT_A_QUARTER]}
        assert refused(PreviewRequest.from_form, {"period": value}) == {"period": [NOT_A_QUARTER]}


def test_a_body_without_a_quarter_is_told_it_is_required_a_form_to_choose_one(app):
    with app.test_request_context():
        assert refused(PreviewRequest.from_json, {}) == {"period": ["Ô này là bắt buộc."]}
        assert refused(PreviewRequest.from_form, {}) == {"period": [NOT_A_QUARTER]}
        assert refused(ReleaseRequest.from_json, {"period": "2026Q3", "preview_id": 7}) == {
            "preview_id": ["Bản xem trước không hợp lệ."]}


def test_the_command_line_reads_its_period_through_the_same_schema(app):
    with app.test_request_context(), pytest.raises(ValidationError) as raised:
        service.ended_quarter("2026 Q3")
    assert raised.value.fields == {"period": [NOT_A_QUARTER]}


def test_publishing_needs_the_box_ticked(app):
    with app.test_request_context():
        assert Confirmation.from_form({"confirm": "y"}).confirm is True
        assert Confirmation.from_json({"confirm": True}).confirm is True
        for data in ({}, {"confirm": ""}, {"confirm": "false"}):
            assert refused(Confirmation.from_form, data) == {"confirm": [TICK]}
        assert refused(Confirmation.from_json, {"confirm": "y"}) == {"confirm": [TICK]}


def test_the_openapi_request_bodies_come_from_the_schemas(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    def body(path):
        return paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]

    release, preview = body("/api/v1/statistics/releases"), body("/api/v1/statistics/previews")
    assert release == openapi30(ReleaseRequest.openapi()) and preview == openapi30(PreviewRequest.openapi())
    assert release["additionalProperties"] is False and set(release["properties"]) == {"period", "preview_id"}
    assert release["properties"]["period"] == {"type": "string", "pattern": "^[0-9]{4}Q[1-4]$"}
    assert set(preview["properties"]) == {"period"}


def test_the_release_screen_names_a_bad_quarter_and_the_unticked_box_in_one_answer(app, client, make_user,
                                                                                   login):
    login(client, make_user("coordinator"))
    response = client.post("/statistics/releases", data={"period": "2026-07"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and NOT_A_QUARTER in html and TICK in html
    response = client.post("/statistics/previews", data={"period": ""})
    assert response.status_code == 422 and NOT_A_QUARTER in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 0
    assert db.session.scalar(select(func.count()).select_from(StatPreview)) == 0
