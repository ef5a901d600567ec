"""Account inputs (issue 14): sign-in, the API token, the second factor, one's own password, and an account as
the admin screens and the API create or change it. One declaration each reads the JSON body and the web form.

Passwords, codes and the sign-in name are read exactly as typed (:class:`Verbatim`): a password's spaces are
part of it, and the services normalise a username themselves. Secrets never reach an error message (every
message here is fixed text), a log or a repr (their fields are ``repr=False``; tests/auth/test_schemas.py).
What needs the database or the acting user stays in the services: whether the username is taken, the password
rules (they compare with her name), whether the code is right, whether a commune, an address or an
organisation exists, and that nobody changes her own account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final

from flask_babel import lazy_gettext as _l
from pydantic import Field

from casework import schemas as s
from casework.auth.roles import Role
from casework.models import ID_LENGTH

ROLES: Final = frozenset(r.value for r in Role)
CHOOSE_ROLE = _l("Choose a role from the list.")


@dataclass(frozen=True)
class Verbatim(s._Marker):
    """Text kept exactly as typed, never normalised: passwords, codes, the name one signs in with.

    Missing when empty (JSON) or blank (a form, as the screens always read it); ``required`` is then the
    message, else it reads as None. ``max_length`` counts the characters as typed.
    """

    max_length: int | None = None
    required: s.Message | None = None
    too_long: s.Message | None = None
    not_text: s.Message = s.NOT_TEXT

    def read(self, value: Any, source: str) -> str | None:
        if value is None or value is s.ABSENT or value == "" or (
                source == s.FORM and isinstance(value, str) and not value.strip()):
            s.refuse_if_required(self.required)
            return None
        if not isinstance(value, str):
            raise s.invalid(self.not_text)
        if self.max_length is not None and len(value) > self.max_length:
            raise s.invalid(self.too_long or _l("At most %(n)d characters.", n=self.max_length))
        return value

    def json_schema(self) -> dict[str, Any]:
        if self.required is None:
            return s.json_limits({"type": ["string", "null"]}, maxLength=self.max_length)
        return s.json_limits({"type": "string"}, minLength=1, maxLength=self.max_length)


@dataclass(frozen=True)
class Ids(s._Marker):
    """A list of record ids (a host's trusted addresses), each given once, in the order given."""

    max_items: int
    max_length: int
    message: s.Message

    def read(self, value: Any, source: str) -> tuple[str, ...]:
        if value is None or value is s.ABSENT:
            return ()
        if source == s.FORM and isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or len(value) > self.max_items or not all(
                isinstance(v, str) and 0 < len(v) <= self.max_length for v in value):
            raise s.invalid(self.message)
        return tuple(dict.fromkeys(value))

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "maxItems": self.max_items,
                "items": {"type": "string", "minLength": 1, "maxLength": self.max_length}}


@dataclass(frozen=True)
class Change(s._Marker):
    """A field of a PATCH: absent means "leave it" (:data:`casework.schemas.ABSENT`); null is ``null`` when given
    (the message when null is no value of this field), None otherwise; any other value is read by ``marker``."""

    marker: s._Marker
    null: s.Message | None = None

    def read(self, value: Any, source: str) -> Any:
        if value is s.ABSENT:
            return s.ABSENT
        if value is None and self.null is not None:
            raise s.invalid(self.null)
        return self.marker.read(value, source)

    def json_schema(self) -> dict[str, Any]:
        return self.marker.json_schema()


# --- signing in ---------------------------------------------------------------------------------------------


class TokenRequest(s.Schema):
    """``POST /api/v1/auth/token`` (DESIGN §4). A missing or wrong-typed field is a 422 on that field; every
    failure of the credentials themselves is the one 401 of the view, whatever was wrong (security.md §1.1),
    so a password too long for the hash (up to 100,000 characters) reaches the service and fails there."""

    username: Annotated[str, Verbatim(256, required=s.REQUIRED)]
    password: Annotated[str, Verbatim(100_000, required=s.REQUIRED), Field(repr=False)]
    totp: Annotated[str, Verbatim(32, required=s.REQUIRED), Field(repr=False)]


class Credentials(s.Schema):
    """The sign-in screen. Its password has no length here: a too-long one gets the one generic message."""

    username: Annotated[str, Verbatim(256, required=_l("Enter your username."))]
    password: Annotated[str, Verbatim(required=_l("Enter your password.")), Field(repr=False)]
    totp: Annotated[str | None, Verbatim(32), Field(repr=False)]


class EnrolmentCode(s.Schema):
    """The code a second admin issued after a second-factor reset (single use, shown once)."""

    enrolment_code: Annotated[str, Verbatim(40, required=_l("Enter the enrolment code.")), Field(repr=False)]


class Enrolment(s.Schema):
    """The first code of a newly enrolled authenticator app."""

    code: Annotated[str, Verbatim(12, required=_l("Enter the 6-digit code.")), Field(repr=False)]


class PasswordChange(s.Schema):
    """The password screen: one's own new password, with the current one and, once enrolled, a code (whether
    the code is right, and the rules of a password, which compare it with her name, are the service's)."""

    current_password: Annotated[str, Verbatim(1024, required=_l("Enter your current password.")),
                                Field(repr=False)]
    new_password: Annotated[str, Verbatim(1024, required=_l("Enter a new password.")), Field(repr=False)]
    totp: Annotated[str | None, Verbatim(32), Field(repr=False)]


class PasswordChangeApi(s.Schema):
    """``POST /api/v1/account/password`` from an account that has not enrolled its authenticator yet."""

    current_password: Annotated[str, Verbatim(1024, required=s.REQUIRED), Field(repr=False)]
    new_password: Annotated[str, Verbatim(1024, required=s.REQUIRED), Field(repr=False)]
    totp: Annotated[str | None, Verbatim(32), Field(repr=False)]


class EnrolledPasswordChangeApi(PasswordChangeApi):
    """``POST /api/v1/account/password`` once enrolled: the code is required too."""

    totp: Annotated[str | None, Verbatim(32, required=s.REQUIRED), Field(repr=False)]


# --- accounts on the admin screens and through the API ------------------------------------------------------

AT_MOST_64 = _l("At most 64 characters.")


class AccountEdit(s.Schema):
    """An account on the admin screen (``/admin/users/<id>``): its name and what it may see.

    The pickers (province, commune, addresses, organisation) are checked against their lists by the view and
    the services; here they are only text of a sensible length.
    """

    display_name: Annotated[str | None, s.Text(120)]
    role: Annotated[str, s.Choice(ROLES, CHOOSE_ROLE, required=CHOOSE_ROLE)]
    place_q: Annotated[str | None, s.Text(80)]
    province: Annotated[str | None, s.Text(100)]
    commune: Annotated[str | None, s.Text(100)]
    addresses: Annotated[tuple[str, ...], Ids(50, 100, _l("A list of trusted-address ids."))]
    organisation: Annotated[str | None, s.Text(100)]
    can_override_consent: Annotated[bool, s.Flag()]


class NewAccount(AccountEdit):
    """A new account on the admin screen (``/admin/users/new``): also its username and first password, which
    the user replaces at her first sign-in."""

    username: Annotated[str, s.Text(64, required=_l("Enter a username."), too_long=AT_MOST_64)]
    password: Annotated[str | None, Verbatim(128), Field(repr=False)]


class AccountChangeRequest(s.NamedFieldsOnly):
    """``PATCH /api/v1/users/<id>``: only the fields named change; a second admin confirms the change."""

    role: Annotated[str | s.Absent, Change(s.Choice(ROLES, CHOOSE_ROLE, required=CHOOSE_ROLE), null=CHOOSE_ROLE)]
    scope: Annotated[str | None | s.Absent, Change(Verbatim(5, not_text=_l("At most %(n)d characters.", n=5)))]
    addresses: Annotated[tuple[str, ...] | s.Absent,
                         Change(Ids(50, ID_LENGTH, _l("A list of trusted-address ids.")),
                                null=_l("A list of trusted-address ids."))]
    organisation_id: Annotated[str | None | s.Absent,
                               Change(Verbatim(ID_LENGTH, not_text=_l("At most %(n)d characters.", n=ID_LENGTH)))]
    can_override_consent: Annotated[bool | s.Absent, Change(s.Flag(message=_l("true or false.")),
                                                          null=_l("true or false."))]

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> tuple[dict[str, Any], s.FieldErrors]:
        """The values named in the body (addresses sorted, as stored) and the messages per field: a field that
        cannot be changed here, a wrong value, or nothing named at all."""
        errors: s.FieldErrors = {name: [str(_l("This field cannot be changed here."))]
                               for name in data if name not in cls.model_fields}
        value, wrong = cls.collect(data)
        errors.update(wrong)
        if not data and not errors:
            errors["role"] = [str(_l("Name at least one field to change."))]
        if errors or value is None:
            return {}, errors
        values = {name: getattr(value, name) for name in cls.model_fields if getattr(value, name) is not s.ABSENT}
        if "addresses" in values:
            values["addresses"] = sorted(values["addresses"])
        return values, {}
