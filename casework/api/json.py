"""Reading JSON bodies: a malformed body is a 400, a wrong value a 422 with messages per field."""

from __future__ import annotations

import re
from typing import Any

from flask import request
from flask_babel import gettext as _

from casework.errors import DomainError, ValidationError

_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedJSON(DomainError):
    status = 400
    code = "bad_request"


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        raise MalformedJSON(_("The request body must be a JSON object."))
    if not isinstance(data, dict):
        raise MalformedJSON(_("The request body must be a JSON object."))
    if _has_lone_surrogate(data):
        # ``"\ud800"`` is valid JSON but no Unicode text: it would fail later, when encoded for the
        # database or the cipher, as a 500. Refused here, before any service sees it.
        raise MalformedJSON(_("The request body contains text that is not valid Unicode."))
    return data


def _has_lone_surrogate(value: Any) -> bool:
    """True when any key or string anywhere in ``value`` holds a surrogate code point (U+D800–U+DFFF).

    The JSON decoder joins a valid escaped pair into one character, so a surrogate left over is a lone one.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def require_str(data: dict[str, Any], name: str, errors: dict[str, list[str]], *, max_length: int = 200,
                required: bool = True) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            errors.setdefault(name, []).append(_("This field is required."))
        return None
    if not isinstance(value, str):
        errors.setdefault(name, []).append(_("This field must be text."))
        return None
    if len(value) > max_length:
        errors.setdefault(name, []).append(_("At most %(n)d characters.", n=max_length))
        return None
    return value


def raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
