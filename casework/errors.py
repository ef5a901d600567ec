"""Domain errors raised by services; views turn them into form errors or JSON error bodies."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error a service raises on purpose. ``message`` is already translated."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, fields: Mapping[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}


class ValidationError(DomainError):
    status = 422
    code = "invalid"


class StateError(DomainError):
    """The transition is not allowed in the object's current state (HTTP 409)."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    """Missing or outside the actor's scope: the two are indistinguishable on purpose (DESIGN §1)."""

    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
