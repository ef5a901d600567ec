"""One keyset cursor for every list (issue 14): the sort key of a page's last row, opaque to the client.

A cursor is the URL-safe base64 of the key's parts joined by "|": integers as they are, times as whole
microseconds since 1970 (UTC, exact: no float rounding that would skip or repeat a row), and strings that
are codes or our opaque ids (letters, digits, "_" and "-"), so no part can hold the separator. It carries no
personal data, only what the page was sorted by. A cursor that does not decode to the expected shape is a
``ValidationError`` on the ``after`` field, with the one message every list uses.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _

from casework.errors import ValidationError

Part = int | datetime | str
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_TEXT = re.compile(r"^[A-Za-z0-9_-]{1,48}$")
_INTEGER = re.compile(r"^-?[0-9]{1,20}$")


def encode_cursor(*parts: Part) -> str:
    """``encode_cursor(2, case.intake_at, case.id)``: the key of the last row of a page."""
    texts = []
    for part in parts:
        if isinstance(part, datetime):
            aware = part if part.tzinfo else part.replace(tzinfo=UTC)
            texts.append(str((aware - _EPOCH) // _MICROSECOND))
        elif isinstance(part, int):
            texts.append(str(part))
        elif isinstance(part, str) and _TEXT.match(part):
            texts.append(part)
        else:
            raise ValueError("a cursor part is an int, a datetime or a code")
    return base64.urlsafe_b64encode("|".join(texts).encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(value: str, *shape: type[Part]) -> tuple[Part, ...]:
    """The parts of ``value``, typed as ``shape`` says (``int``, ``datetime`` or ``str``)."""
    try:
        if len(value) > 200:
            raise ValueError
        texts = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii").split("|")
        if len(texts) != len(shape):
            raise ValueError
        parts: list[Part] = []
        for text, kind in zip(texts, shape, strict=True):
            if kind is str:
                if not _TEXT.match(text):
                    raise ValueError
                parts.append(text)
            elif _INTEGER.match(text):
                parts.append(int(text) if kind is int else _EPOCH + int(text) * _MICROSECOND)
            else:
                raise ValueError
        return tuple(parts)
    except (ValueError, UnicodeError, binascii.Error, OverflowError):
        message = _("This page link is not valid.")
        raise ValidationError(message, {"after": [message]}) from None
