"""Reading JSON bodies: a malformed body is a 400, a wrong value a 422 with messages per field."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from casework.errors import DomainError, ValidationError


class MalformedJSON(DomainError):
    status = 400
    code = "bad_request"


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        raise MalformedJSON(_("The request body must be a JSON object."))
    if not isinstance(data, dict):
        raise MalformedJSON(_("The request body must be a JSON object."))
    return data


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
