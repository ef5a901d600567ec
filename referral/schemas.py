"""The inputs of the referral domain, one typed schema each (issue 14): the organisation, sending a referral,
declining it, recording the service given and a province's acknowledgement deadlines.

Each declaration reads the JSON body and the web form alike and gives the API document its request schema.
The rules that need the database or the acting user stay in ``referral.services``: the organisation's
province and communes against the actor's province, the organisation a referral goes to (active, serving the
case's commune, offering the service), the permission to override consent, a service date after sending.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import AliasChoices, Field

from casework import schemas as s
from casework.cases.codes import SHAREABLE_FIELDS
from casework.geo import data as geo
from casework.models import ID_LENGTH
from casework.service_types import SERVICE_TYPES
from referral.models import ORGANISATION_KINDS, RESULTS, URGENCIES

# --- one answer (issue 13) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused[Part: s.Schema]:
    """A body that did not read: the schema's messages, and the part of it the service checks against the
    database or the actor (``part``), read from the fields that did read, so that the service adds its own
    messages to the schema's and the user gets them all in one answer (issue 13)."""

    fields: s.FieldErrors
    part: Part


def read_or_refuse[Whole: s.Schema, Part: s.Schema](schema: type[Whole], part: type[Part], data: Mapping[str, Any], *,
                                                form: bool = False) -> Whole | Refused[Part]:
    """``schema`` read from ``data``, or what refused it with the ``part`` that did read (every field of
    ``part`` is optional and reads as the same field of ``schema``: only fields that read are left)."""
    value, fields = schema.collect(data, form=form)
    if value is not None:
        return value
    readable = {name: item for name, item in data.items() if name not in fields}
    found, _ = part.collect(readable, form=form)
    return Refused(fields, found if found is not None else part.from_json({}))


# --- organisations ----------------------------------------------------------------------------------------

NO_PROVINCE = _l("Enter an existing province code (2 digits).")
_CODES = re.compile(r"[,;\s]+")


def not_communes(codes: list[str]) -> s.Message:
    """The message for commune codes that are not communes (of the province), the first ten named."""
    return _l("These codes are not communes of the province: %(codes)s", codes=", ".join(codes[:10]))


@dataclass(frozen=True)
class CommuneCodes(s._Marker):
    """Commune codes: a list of texts in JSON, one text separated by commas, semicolons or spaces in a form.
    Every code must be a commune of the country (``casework.geo``); the value is the codes sorted, once each."""

    empty: s.Message | None = _l("List at least one commune the organisation serves.")

    def read(self, value: Any, source: str) -> tuple[str, ...]:
        if value is None or value == "":
            value = []
        if source == s.FORM and isinstance(value, str):
            value = [code for code in _CODES.split(value) if code]
        if not isinstance(value, list | tuple) or not all(isinstance(code, str) for code in value):
            raise s.invalid(s.WRONG_TYPE)
        codes = sorted({code.strip() for code in value if code.strip()})
        if not codes and self.empty is not None:
            raise s.invalid(self.empty)
        unknown = [code for code in codes if geo.commune(code) is None]
        if unknown:
            raise s.invalid(not_communes(unknown))
        return tuple(codes)

    def json_schema(self) -> dict[str, Any]:
        return s.json_limits({"type": "array", "items": {"type": "string", "pattern": "^[0-9]{5}$"}},
                             minItems=1 if self.empty is not None else None)


_PROVINCE = s.Text(2, pattern="[0-9]{2}", bad_pattern=NO_PROVINCE, too_long=NO_PROVINCE, not_text=s.WRONG_TYPE)


class OrganisationPlace(s.Schema):
    """Where an organisation works: what the service checks against the actor's province. Read alone from the
    part of a refused body that did read (:func:`read_or_refuse`)."""

    province_code: Annotated[str | None, _PROVINCE]
    commune_codes: Annotated[tuple[str, ...], CommuneCodes(empty=None)]


class OrganisationIn(s.Schema):
    """An organisation of the directory, registered or changed (API body, or the organisation form)."""

    name: Annotated[str, s.Text(200, required=_l("Enter the organisation's name."),
                              too_long=_l("At most 200 characters."), not_text=s.WRONG_TYPE)]
    kind: Annotated[str, s.Choice(ORGANISATION_KINDS, _l("Choose a kind from the list."),
                                required=_l("Choose a kind from the list."))]
    services: Annotated[tuple[str, ...], s.Choices(SERVICE_TYPES, _l("Choose at least one service from the list."),
                                                 empty=_l("Choose at least one service from the list."))]
    # Optional: a province officer's organisations are of her province (the service fills it in).
    province_code: Annotated[str | None, _PROVINCE]
    commune_codes: Annotated[tuple[str, ...], CommuneCodes()]
    contact: Annotated[str | None, s.Text(200, too_long=_l("At most 200 characters."), not_text=s.WRONG_TYPE)]
    active: Annotated[bool, s.Flag(default=True)]


def read_organisation(data: Mapping[str, Any], *, form: bool = False) -> OrganisationIn | Refused[OrganisationPlace]:
    """Read an organisation (``form``: a submitted form); a refused one keeps what did read of its place."""
    return read_or_refuse(OrganisationIn, OrganisationPlace, data, form=form)


# --- sending a referral ------------------------------------------------------------------------------------

OPAQUE_ID = f"[A-Za-z0-9_-]{{1,{ID_LENGTH}}}"
CHOOSE_ORGANISATION = _l("Choose an organisation from the list.")
CHOOSE_SERVICE = _l("Choose a kind of service from the list.")
MIN_OVERRIDE_REASON = 10  # a sentence, not a tick: the override must be explained (DESIGN §2 Consent)

_ORGANISATION = s.Text(ID_LENGTH, pattern=OPAQUE_ID, bad_pattern=CHOOSE_ORGANISATION, too_long=CHOOSE_ORGANISATION,
                     not_text=s.WRONG_TYPE)
_OVERRIDE = s.Flag()


class ReferralTarget(s.Schema):
    """Where a referral goes and whether consent is overridden: what the service checks against the directory
    and the actor's permission. Read alone from the part of a refused body that did read (:func:`read_or_refuse`)."""

    organisation_id: Annotated[str | None, _ORGANISATION]
    service: Annotated[str | None, s.Choice(SERVICE_TYPES, CHOOSE_SERVICE)]
    override: Annotated[bool, _OVERRIDE]


class ReferralIn(s.Schema):
    """Sending a case to an organisation for one kind of service (API body, or the referral form).

    ``override_fields`` (``fields`` in the API body) are what is shared when consent is overridden.
    """

    organisation_id: Annotated[str | None, _ORGANISATION]  # none: the service says "choose an organisation"
    service: Annotated[str, s.Choice(SERVICE_TYPES, CHOOSE_SERVICE, required=CHOOSE_SERVICE)]
    urgency: Annotated[str, s.Choice(URGENCIES, _l("Choose normal or urgent."), default="normal")]
    reason: Annotated[str, s.Text(2000, required=_l("Say in a few words what she needs from this organisation."),
                                not_text=s.WRONG_TYPE)] = Field(repr=False)
    override: Annotated[bool, _OVERRIDE]
    override_reason: Annotated[str | None, s.Text(2000, not_text=s.WRONG_TYPE)] = Field(repr=False)
    override_fields: Annotated[tuple[str, ...], s.Choices(
        SHAREABLE_FIELDS, _l("Choose the information to share from the list."))] = Field(
        default=(), validation_alias=AliasChoices("fields", "override_fields"))

    @classmethod
    def error_key(cls, loc: tuple[int | str, ...]) -> str:
        return "override_fields" if loc and loc[0] == "fields" else super().error_key(loc)

    def check(self) -> s.FieldErrors:
        # DESIGN §2 Consent: sharing without her consent is for a threat to her life only, explained in writing.
        if self.override and len(self.override_reason or "") < MIN_OVERRIDE_REASON:
            return {"override_reason": [str(_l("Explain in a sentence why her life is in danger."))]}
        return {}


def read_referral(data: Mapping[str, Any], *, form: bool = False) -> ReferralIn | Refused[ReferralTarget]:
    """Read a referral body (``form``: a submitted form); a refused one keeps what did read of its target."""
    return read_or_refuse(ReferralIn, ReferralTarget, data, form=form)


# --- the receiver's answers ------------------------------------------------------------------------------


class DeclineIn(s.Schema):
    """The receiving organisation declines, saying why."""

    reason: Annotated[str, s.Text(2000, required=_l("Say why the organisation cannot take this referral."),
                                not_text=s.WRONG_TYPE)] = Field(repr=False)


class CompletionIn(s.Schema):
    """The service given: whether it was, on which day (today when not said), what was done and its outcome."""

    outcome: Annotated[str, s.Text(4000, required=_l("Describe the outcome in a few words."),
                                 not_text=s.WRONG_TYPE)] = Field(repr=False)
    result: Annotated[str, s.Choice(RESULTS, _l("Choose whether the service was given."), default="provided")]
    service_date: Annotated[date | None, s.Day()]
    service_given: Annotated[str | None, s.Text(2000, not_text=s.WRONG_TYPE)] = Field(repr=False)

    def check(self) -> s.FieldErrors:
        if self.service_date is not None and self.service_date > s.local_today():
            return {"service_date": [str(_l("The date cannot be in the future."))]}
        return {}


# --- a province's deadlines ----------------------------------------------------------------------------------

MAX_ACK_HOURS = 24 * 30
_HOURS = s.Integer(1, MAX_ACK_HOURS, required=_l("Enter a number of hours from 1 to %(n)d.", n=MAX_ACK_HOURS),
                 message=_l("Enter a number of hours from 1 to %(n)d.", n=MAX_ACK_HOURS))


class Deadline(s.Schema):
    """The hours an organisation has to acknowledge a referral of one kind of service: normal and urgent."""

    hours: Annotated[int, _HOURS]
    urgent: Annotated[int, _HOURS]

    def check(self) -> s.FieldErrors:
        if self.urgent > self.hours:
            return {"urgent": [str(_l("An urgent referral cannot have a longer deadline than a normal one."))]}
        return {}


def read_deadlines(data: Mapping[str, Any], *, form: bool = True) -> dict[str, Deadline]:
    """The deadlines form: ``hours_<service>`` and ``urgent_<service>`` for every kind of service, its messages
    filed under those names. Raises ValidationError."""
    errors = s.Errors()
    out: dict[str, Deadline] = {}
    for service in SERVICE_TYPES:
        pair = {"hours": data.get(f"hours_{service}"), "urgent": data.get(f"urgent_{service}")}
        value, fields = Deadline.collect(pair, form=form)
        errors.merge({f"{name}_{service}": messages for name, messages in fields.items()})
        if value is not None:
            out[service] = value
    errors.raise_if_any()
    return out
