"""The reporting period (issue 14 "one shape"): one value type that reads, writes, bounds, orders and names
a quarter or a year, for the engine, the command line, the API, the screens, the PDF and the workbook."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from casework.stats import cells, counting
from casework.stats.period import Period

BAD = ["", " 2026Q3", "2026Q3 ", "2026q3", "2026Q0", "2026Q5", "2026-Q3", "26Q3", "20260", "2026Q", "Q3 2026",
       "2026Q3-r1", "２０２６Q3", "2026Q3\n", "٢٠٢٦Q3"]


@pytest.mark.parametrize("text", BAD)
def test_anything_but_a_quarter_or_a_year_is_refused_with_the_engine_message(text):
    with pytest.raises(ValueError) as caught:
        Period.parse(text)
    assert str(caught.value) == f"period {text!r} is not a quarter like 2026Q3 or a year like 2026"
    assert not Period.is_quarter_text(text)


@pytest.mark.parametrize("value", [None, 2026, 2026.3, b"2026Q3", ["2026Q3"]])
def test_a_value_that_is_not_text_is_refused(value):
    with pytest.raises(ValueError, match="is not a quarter like 2026Q3"):
        Period.parse(value)
    assert not Period.is_quarter_text(value)


def test_a_year_is_not_a_quarter_for_a_release():
    assert Period.parse("2026") == Period(2026)
    with pytest.raises(ValueError, match="a release is for a quarter"):
        Period.parse_quarter("2026")
    assert not Period.is_quarter_text("2026") and Period.is_quarter_text("2026Q3")


@pytest.mark.parametrize(("year", "quarter"), [(2026, 0), (2026, 5), (2026, -1), (999, 1), (10000, None)])
def test_a_period_out_of_bounds_cannot_be_made(year, quarter):
    with pytest.raises(ValueError):
        Period(year, quarter)


@pytest.mark.parametrize("text", ["2022Q1", "2024Q4", "2026Q3", "2026", "1999"])
def test_text_round_trips(text):
    period = Period.parse(text)
    assert str(period) == text and Period.parse(str(period)) == period and hash(period) == hash(Period.parse(text))


def test_it_is_a_frozen_value():
    period = Period(2026, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        period.quarter = 4  # type: ignore[misc]
    assert {Period(2026, 3), Period.parse("2026Q3")} == {period}


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("2024Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2026Q2", date(2026, 4, 1), date(2026, 6, 30)),
    ("2026Q3", date(2026, 7, 1), date(2026, 9, 30)),
    ("2026Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
])
def test_first_and_last_day(text, start, end):
    period = Period.parse(text)
    assert (period.start, period.end) == (start, end)
    assert start in period and end in period
    assert date.fromordinal(start.toordinal() - 1) not in period and date.fromordinal(end.toordinal() + 1) not in period


def test_every_day_of_a_year_is_in_exactly_one_quarter_and_that_quarter_contains_it():
    year = Period(2024)  # a leap year
    day = year.start
    while day <= year.end:
        holding = [q for q in year.quarters if day in q]
        assert holding == [Period.containing(day)], day
        assert cells.quarter_of(day) == str(Period.containing(day))
        day = date.fromordinal(day.toordinal() + 1)


def test_quarters_of_a_year_in_order():
    assert [str(q) for q in Period.quarters_of(2026)] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert Period.quarters_of("2026") == Period(2026, 2).quarters == Period(2026).quarters
    assert cells.quarters_of(2026) == ("2026Q1", "2026Q2", "2026Q3", "2026Q4")


def test_a_year_sorts_after_its_quarters_and_before_the_next_year():
    shuffled = [Period.parse(t) for t in ("2027Q1", "2026", "2026Q4", "2025", "2026Q1", "2026Q3", "2026Q2")]
    assert [str(p) for p in sorted(shuffled)] == ["2025", "2026Q1", "2026Q2", "2026Q3", "2026Q4", "2026", "2027Q1"]
    assert Period(2026, 4) < Period(2026) < Period(2027, 1) and Period(2026) >= Period(2026, 4)
    assert max(Period(2026, 1), Period(2026, 3)) == Period(2026, 3)
    with pytest.raises(TypeError):
        _ = Period(2026, 1) < "2026Q2"  # type: ignore[operator]
    assert cells.period_sort_key("2026") == Period(2026).sort_key == (2026, 5)


def test_what_a_release_publishes_and_the_kind_of_a_period():
    assert Period(2026, 3).published_with() == (Period(2026, 3),)
    assert Period(2026, 4).published_with() == (Period(2026, 4), Period(2026))
    assert cells.release_periods("2026Q4") == {"quarter": "2026Q4", "year": "2026"}
    assert (Period(2026, 1).kind, Period(2026).kind) == ("quarter", "year")
    assert Period(2026, 2).whole_year == Period(2026) == Period(2026).whole_year
    with pytest.raises(ValueError, match="the fourth quarter's release carries the year"):
        cells.release_periods("2026")


def test_the_counted_periods_of_a_table_are_its_quarters_so_far_and_the_year_at_year_end():
    quarterly = dataclasses.make_dataclass("T", [("periods", tuple)])(("quarter", "year"))
    assert counting.table_periods(quarterly, "2026Q3") == ["2026Q1", "2026Q2", "2026Q3"]
    assert counting.table_periods(quarterly, "2026Q4") == ["2026Q1", "2026Q2", "2026Q3", "2026Q4", "2026"]


@pytest.mark.parametrize(("text", "vi", "sentence", "en", "short"), [
    ("2026Q1", "Quý I/2026", "quý I/2026", "Q1 2026", "Q1/2026"),
    ("2026Q2", "Quý II/2026", "quý II/2026", "Q2 2026", "Q2/2026"),
    ("2026Q3", "Quý III/2026", "quý III/2026", "Q3 2026", "Q3/2026"),
    ("2026Q4", "Quý IV/2026", "quý IV/2026", "Q4 2026", "Q4/2026"),
    ("2026", "Năm 2026", "năm 2026", "2026", "2026"),
])
def test_labels(text, vi, sentence, en, short):
    period = Period.parse(text)
    assert period.label() == period.label("vi") == vi
    assert period.in_sentence("vi") == sentence and period.in_sentence("en") == en
    assert period.label("en") == en and period.short == short


def test_the_screens_name_a_period_in_the_readers_language(app):
    from flask_babel import force_locale

    from casework.stats import formats, pdf, presenters

    with app.test_request_context():
        with force_locale("vi"):
            assert presenters.period_label("2026Q3") == "quý III/2026"
            assert presenters.period_label("2026") == "năm 2026"
        with force_locale("en"):
            assert presenters.period_label("2026Q3") == "Q3 2026"
            assert pdf.period_label("2026Q3") == "quý III/2026"  # the report is always in Vietnamese
    assert formats.period_words("2026Q4") == "Quý IV/2026"


@pytest.mark.parametrize("text", ["２０２６Q3", "2026", "2026Q5", 2026, None])
def test_a_release_or_preview_of_no_quarter_is_refused_with_the_same_words(app, text):
    from casework.errors import ValidationError
    from casework.stats import service

    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        service.check_preview_period(text)
    assert caught.value.fields == {"period": ["Hãy chọn một quý, viết theo dạng 2026Q3."]}


def test_a_release_period_is_read_without_its_spaces(app):
    from casework.stats import service

    with app.test_request_context():
        assert service.check_preview_period(" 2024Q2\n") == "2024Q2"
