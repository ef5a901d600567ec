"""The typed input base (issue 14): one declaration reads the JSON body and the web form alike, and its
messages are the request's language."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import pytest
from pydantic import Field

from casework.errors import ValidationError
from casework.schemas import (
    Amount,
    Choice,
    Choices,
    Day,
    Errors,
    Flag,
    Integer,
    Moment,
    Schema,
    Text,
    form_values,
    multiline,
)
from tests.schema_errors import refused


class Person(Schema):
    full_name: Annotated[str, Text(200, required="Nhập họ tên.")]
    birth_year: Annotated[int | None, Integer(1900, 2100)]


class Sample(Schema):
    name: Annotated[str, Text(10, required="Nhập tên.")]
    note: Annotated[str | None, Text(50, normalise=multiline)]
    kind: Annotated[str, Choice({"household", "pagoda"}, "Chọn loại.", default="household")]
    services: Annotated[tuple[str, ...], Choices({"police", "health"}, "Chọn dịch vụ.", empty="Chọn ít nhất một.")]
    amount: Annotated[int, Integer(1, 10_000_000, required="Nhập số tiền.", grouped=True)]
    day: Annotated[date | None, Day()]
    urgent: Annotated[bool, Flag()]
    person: Person | None = None

    def check(self):
        if self.urgent and self.note is None:
            return {"note": ["Khẩn cấp thì ghi lý do."]}
        return {}


WHOLE = "Nhập một số nguyên."  # "Enter a whole number." in the catalogues
GOOD = {"name": " Lan ", "services": ["police", "police", "health"], "amount": 1500000}


def test_json_and_form_give_the_same_typed_value(app):
    with app.test_request_context():
        from_json = Sample.from_json({**GOOD, "day": "2026-03-05", "urgent": False})
        from_form = Sample.from_form({**GOOD, "amount": "1.500.000", "day": "05/03/2026", "urgent": ""})
    assert from_json == from_form
    assert from_json.name == "Lan" and from_json.kind == "household"
    assert from_json.services == ("police", "health")
    assert from_json.amount == 1_500_000 and from_json.day == date(2026, 3, 5) and from_json.urgent is False


def test_each_field_gets_its_own_message_and_json_types_are_strict(app):
    with app.test_request_context():
        fields = refused(Sample.from_json, {"name": "x" * 11, "kind": "castle", "services": [],
                                            "amount": "1500000", "day": "05/03/2026", "urgent": "yes",
                                            "person": {"full_name": ""}})
        assert fields == {"name": ["Tối đa 10 ký tự."], "kind": ["Chọn loại."], "services": ["Chọn ít nhất một."],
                          "amount": [WHOLE], "day": ["Hãy nhập ngày theo dạng 2026-03-05."],
                          "urgent": ["Giá trị này sai kiểu dữ liệu."], "person.full_name": ["Nhập họ tên."]}
        assert refused(Sample.from_json, {})["name"] == ["Nhập tên."]
        assert refused(Sample.from_json, {**GOOD, "amount": True}) == {"amount": [WHOLE]}
        assert refused(Sample.from_json, {**GOOD, "name": 5}) == {"name": ["Ô này phải là chữ."]}


def test_cross_field_rules_run_after_the_fields(app):
    with app.test_request_context():
        assert refused(Sample.from_json, {**GOOD, "urgent": True}) == {"note": ["Khẩn cấp thì ghi lý do."]}
        assert Sample.from_json({**GOOD, "urgent": True, "note": " a \r\n\n b "}).note == "a\n\nb"


def test_collect_returns_the_errors_for_a_service_to_add_its_own(app):
    with app.test_request_context():
        value, fields = Sample.collect({"name": ""})
        assert value is None and set(fields) == {"name", "services", "amount"}
        errors = Errors()
        errors.merge(fields)
        errors.add("amount", "Vượt ngân sách.")
        with pytest.raises(ValidationError) as raised:
            errors.raise_if_any()
    assert raised.value.fields["amount"] == ["Nhập số tiền.", "Vượt ngân sách."]


def test_english_requests_read_english_messages(app):
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        fields = refused(Sample.from_json, {**GOOD, "amount": "x", "name": ""})
    assert fields == {"amount": ["Enter a whole number."], "name": ["Nhập tên."]}


def test_form_values_keep_lists_only_where_asked():
    from werkzeug.datastructures import MultiDict

    data = MultiDict([("services", "police"), ("services", "health"), ("name", "Lan"), ("name", "Mai")])
    assert form_values(data, lists=("services",)) == {"services": ["police", "health"], "name": "Lan"}


def test_the_openapi_schema_comes_from_the_declaration():
    schema = Sample.openapi()
    properties = schema["properties"]
    assert properties["name"] == {"type": "string", "maxLength": 10}
    assert properties["services"]["items"]["enum"] == ["health", "police"]
    assert properties["amount"] == {"type": "integer", "minimum": 1, "maximum": 10_000_000}
    assert properties["day"] == {"type": ["string", "null"], "format": "date"}
    person = next(option for option in properties["person"]["anyOf"] if option.get("type") == "object")
    assert person["properties"]["full_name"]["maxLength"] == 200
    assert "$defs" not in schema and "$ref" not in str(schema)


def test_fields_named_like_schema_keywords_stay_in_the_document():
    class Proposal(Schema):
        title: Annotated[str, Text(100, required="Nhập tên.")]
        required: Annotated[int | None, Integer(0, 5)]
        default: Annotated[bool, Flag()]

    properties = Proposal.openapi()["properties"]
    assert properties == {"title": {"type": "string", "maxLength": 100},
                          "required": {"type": ["integer", "null"], "minimum": 0, "maximum": 5},
                          "default": {"type": "boolean"}}


class Marked(Schema):
    at: Annotated[datetime | None, Moment()]
    local: Annotated[datetime | None, Moment(local_day=True)]
    amount: Annotated[int | None, Amount(allow_zero=True, maximum=1_000, out_of_range="Từ 0 đến 1000.")]
    answer: Annotated[bool, Flag(required="Trả lời có hoặc không.")]
    on: Annotated[date | None, Day(not_future="Không được ở tương lai.")]


def test_the_shared_markers_read_forms_and_json_alike(app):
    with app.test_request_context():
        form = Marked.from_form({"at": "05/03/2026 21:30", "amount": "1.000 đ", "answer": "no", "on": "05/03/2026"})
        body = Marked.from_json({"at": "2026-03-05T14:30:00Z", "amount": 1000, "answer": False, "on": "2026-03-05"})
        assert form == body and form.at == datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
        assert refused(Marked.from_form, {"at": "hôm qua", "amount": "1,5", "answer": "", "on": "31/02/2026"}) == {
            "at": ["Hãy nhập ngày giờ theo dạng 05/03/2026 21:30."],
            "amount": ["Nhập số nguyên, không có phần thập phân."], "answer": ["Trả lời có hoặc không."],
            "on": ["Hãy nhập ngày theo dạng 05/03/2026."]}
        assert refused(Marked.from_form, {"answer": " ", "amount": " "}) == {"answer": ["Trả lời có hoặc không."]}
        tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
        assert refused(Marked.from_json, {"amount": 1001, "answer": True, "on": tomorrow}) == {
            "amount": ["Từ 0 đến 1000."], "on": ["Không được ở tương lai."]}


def test_a_time_with_no_day_in_vietnam_is_refused_only_where_asked(app):
    """The last hours of year 9999 in UTC are in year 10000 in Vietnam: ``local_day`` refuses them."""
    with app.test_request_context():
        assert Marked.from_json({"at": "9999-12-31T20:00:00+00:00", "answer": True}).at.year == 9999
        assert refused(Marked.from_json, {"local": "9999-12-31T20:00:00+00:00", "answer": True}) == {
            "local": ["Hãy ghi thời điểm theo ISO 8601 kèm múi giờ, ví dụ 2026-03-05T21:30:00+07:00."]}


class Window(Schema):
    name: Annotated[str, Text(10, required="Nhập tên.")]
    # ``from`` is a Python keyword: the field reads the client's name through its alias
    start: Annotated[date | None, Day(), Field(alias="from")] = None


def test_read_all_reads_a_field_by_the_name_the_client_sends(app):
    """When one field cannot be read, ``read_all`` reads the others one by one: an aliased field is read
    and refused under the client's name there too, as a whole reading does (it used to be dropped)."""
    with app.test_request_context():
        value, errors = Window.read_all({"name": "", "from": "2026-03-05"})
        assert errors == {"name": ["Nhập tên."]} and value.start == date(2026, 3, 5)
        value, errors = Window.read_all({"name": "", "from": "hôm qua"})
        assert set(errors) == {"name", "from"} and value.start is None
        assert Window.read_all({"name": "Lan", "from": "hôm qua"})[1].keys() == {"from"}

