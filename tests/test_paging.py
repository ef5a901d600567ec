"""The one keyset cursor of every list (issue 14): exact, opaque, and refused cleanly when garbled."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from casework.errors import ValidationError
from casework.paging import decode_cursor, encode_cursor


def test_a_cursor_gives_back_its_parts_to_the_microsecond():
    when = datetime(2026, 12, 4, 8, 41, 59, 999_999, tzinfo=UTC)
    cursor = encode_cursor(2, when, "Fi8YuVmb7eVqDPZ596sydw")
    assert decode_cursor(cursor, int, datetime, str) == (2, when, "Fi8YuVmb7eVqDPZ596sydw")
    # another zone is the same instant; a naive time is taken as UTC (the database's)
    hanoi = when.astimezone(timezone(timedelta(hours=7)))
    assert decode_cursor(encode_cursor(hanoi), datetime) == (when,)
    assert decode_cursor(encode_cursor(when.replace(tzinfo=None)), datetime) == (when,)


@pytest.mark.parametrize("value", [
    "", "not base64!", base64.urlsafe_b64encode(b"1|2").decode(),  # wrong number of parts
    base64.urlsafe_b64encode(b"x|1733300000000000|abc").decode(),  # not an integer
    base64.urlsafe_b64encode("1|1733300000000000|Nguyễn".encode()).decode(),  # not a code
    base64.urlsafe_b64encode(b"1|99999999999999999999|abc").decode(),  # beyond any date
    "A" * 500,
])
def test_a_garbled_cursor_is_an_error_on_the_after_field(app, value):
    with app.test_request_context(), pytest.raises(ValidationError) as caught:
        decode_cursor(value, int, datetime, str)
    assert list(caught.value.fields) == ["after"]


def test_a_part_that_could_hold_the_separator_or_personal_text_is_refused():
    for bad in ("a|b", "Nguyễn Thị A", "0912 345 678", ""):
        with pytest.raises(ValueError):
            encode_cursor(bad)
