"""Domain errors raised by services; views turn them into form errors or JSON error bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose. ``message`` is already translated.

    A subclass names its HTTP status and its error code in its class line:
    ``class PreviewStale(StateError, code="preview_stale")``, or as class attributes."""

    status = 422
    code = "invalid"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: str, fields: Mapping[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}


class ValidationError(DomainError, status=422, code="invalid"):
    """The input breaks a rule of the form or of the domain (HTTP 422)."""


class StateError(DomainError, status=409, code="conflict"):
    """The transition is not allowed in the object's current state (HTTP 409)."""


class NotFound(DomainError, status=404, code="not_found"):
    """Missing or outside the actor's scope: the two are indistinguishable on purpose (DESIGN §1)."""


class Forbidden(DomainError, status=403, code="forbidden"):
    """The actor may not do this (HTTP 403)."""
