"""Typed inputs of trusted-address casework (issue 14): one declaration reads the API's JSON body and the
web form alike, and gives the OpenAPI request schema (``casework.schemas``)."""

from __future__ import annotations

# --- part B ---
# Consent, shelter stays, contact bans, follow-ups, closure. Rules that need the case (a stay before the
# intake, a ban still pending, a date against the intake or the clock) or the acting user (who may decide a
# closure) stay in the services; these classes hold the types, codes, limits and the rules across fields.
import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Self

from flask_babel import lazy_gettext as _l

from casework.cases import codes
from casework.cases.consent import ConsentInput
from casework.models import utcnow
from casework.schemas import Choice, Choices, Day, FieldErrors, Flag, Integer, Message, Schema, Text, _Marker, invalid
from casework.text import VN_TZ

_FORM = "form"
# The API's messages for a value of the wrong type (DESIGN §4), as the API answered before issue 14; a
# form has its own for a date, a time or a number typed wrong.
_NOT_BOOL = _l("This field must be true or false.")
_NOT_WHOLE = _l("This field must be a whole number.")
_FORM_WHOLE = _l("Enter a whole number.")
_NOT_CODES = _l("This field must be a list of codes.")
_API_DAY = _l("Use a date like 2026-03-05.")
_FORM_DAY = _l("Enter a date like 05/03/2026.")
_API_MOMENT = _l("Use an ISO 8601 time with its offset, like 2026-03-05T21:30:00+07:00.")
_FORM_MOMENT = _l("Enter a date and time like 05/03/2026 21:30.")
_FORM_MOMENT_PATTERNS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M")
_CHOOSE = _l("Choose from the list.")


@dataclass(frozen=True)
class CaseDay(Day):
    """A day, with the form's own message for one typed wrong (the form shows dd/mm/yyyy); ``not_future``:
    the message for a day after today in Vietnam."""

    message: Message = _API_DAY
    form_message: Message = _FORM_DAY
    not_future: Message | None = None

    def read(self, value: Any, source: str) -> date | None:
        try:
            day = super().read(value, source)
        except Exception as error:
            if source == _FORM and value not in (None, ""):
                raise invalid(self.form_message) from error
            raise
        if day is not None and self.not_future is not None and day > utcnow().astimezone(VN_TZ).date():
            raise invalid(self.not_future)
        return day


@dataclass(frozen=True)
class CaseInteger(Integer):
    """A whole number, with the form's own message for one typed wrong."""

    message: Message = _NOT_WHOLE
    form_message: Message = _FORM_WHOLE

    def read(self, value: Any, source: str) -> int | None:
        if source == _FORM and isinstance(value, str) and value.strip():
            text = value.strip().replace(".", "").replace(" ", "")
            if not text.lstrip("-").isdigit() or len(text.lstrip("-")) > 12:
                raise invalid(self.form_message)
            value = text
        return super().read(value, source)


@dataclass(frozen=True)
class Moment(_Marker):
    """A moment: in JSON, ISO 8601 with its offset (kept in UTC); in a form, the local Vietnamese time of a
    ``datetime-local`` input (or dd/mm/yyyy hh:mm)."""

    required: Message | None = None
    message: Message = _API_MOMENT
    form_message: Message = _FORM_MOMENT

    def read(self, value: Any, source: str) -> datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required is not None:
                raise invalid(self.required)
            return None
        if not isinstance(value, str):
            raise invalid(self.message)
        text = value.strip()
        if source == _FORM:
            for pattern in _FORM_MOMENT_PATTERNS:
                try:
                    return datetime.strptime(text, pattern).replace(tzinfo=VN_TZ)
                except ValueError:
                    continue
            raise invalid(self.form_message)
        if len(text) > 64:
            raise invalid(self.message)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise ValueError(text)
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise invalid(self.message) from None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string" if self.required is not None else ["string", "null"], "format": "date-time"}


@dataclass(frozen=True)
class YesNo(_Marker):
    """A question answered yes or no, never left out: a JSON boolean; a form's radio ``yes``/``no``."""

    required: Message
    message: Message = _NOT_BOOL

    def read(self, value: Any, source: str) -> bool:
        if value is None or value == "":
            raise invalid(self.required)
        if isinstance(value, bool):
            return value
        if source == _FORM and value in ("yes", "no"):
            return bool(value == "yes")
        raise invalid(self.message)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class ShareFields(Choices):
    """The parts of a case she agrees to share; an unknown one is named in the message."""

    def read(self, value: Any, source: str) -> tuple[str, ...]:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            unknown = sorted({v for v in value if v not in self.values})
            if unknown:
                raise invalid(_l("Unknown information to share: %(names)s.", names=", ".join(unknown)))
        return super().read(value, source)


class _PlainValues(Schema):
    """``from_values``: the same reading for a caller holding Python values (dates, sets), e.g. the offline
    reader and the tests, so that every way in passes the same rules."""

    @classmethod
    def from_values(cls, **values: Any) -> Self:
        def plain(value: Any) -> Any:
            if isinstance(value, date):  # a datetime too: ISO with its offset
                return value.isoformat()
            if isinstance(value, set | frozenset | tuple):
                return list(value)
            return value

        return cls.from_json({name: plain(value) for name, value in values.items()})


# --- consent ----------------------------------------------------------------------------------------------


class ConsentIn(_PlainValues):
    """Her consent to one purpose (DESIGN §2 Consent): keep the record, count her in statistics, or share the
    chosen parts of the case with one kind of service."""

    purpose: Annotated[str, Choice(codes.PURPOSES, _l("Choose what she agrees to."),
                                   required=_l("Choose what she agrees to."))]
    service: Annotated[str | None, Choice(codes.SERVICES, _l("Choose a kind of service from the list."))]
    fields: Annotated[tuple[str, ...], ShareFields(codes.SHAREABLE_FIELDS, max_items=len(codes.SHAREABLE_FIELDS),
                                                   not_list=_NOT_CODES)]
    given_by: Annotated[str, Choice(codes.CONSENT_GIVERS, _l("Choose who gave the consent."), default="self")]

    def check(self) -> FieldErrors:
        if self.purpose == "share" and self.service is None:
            return {"service": [str(_l("Choose a kind of service from the list."))]}
        if self.purpose != "share" and (self.service or self.fields):
            return {"service": [str(_l("A service is chosen only for consent to share."))]}
        return {}

    def as_input(self) -> ConsentInput:
        return ConsentInput(self.purpose, service=self.service, fields=self.fields, given_by=self.given_by)


# --- shelter ----------------------------------------------------------------------------------------------


class ShelterStayIn(_PlainValues):
    """A shelter stay at the trusted address and the essentials given (Law 13/2022 Art. 33)."""

    start_on: Annotated[date, CaseDay(required=_l("Enter the first day of the stay."))]
    end_on: Annotated[date | None, CaseDay()]
    essentials: Annotated[tuple[str, ...], Choices(codes.ESSENTIALS, _l("Unknown item."), not_list=_NOT_CODES)]
    money_vnd: Annotated[int | None, CaseInteger(0, 100_000_000, out_of_range=_l("Enter an amount in đồng, from 0."),
                                                  grouped=True)]

    def check(self) -> FieldErrors:
        errors: FieldErrors = {}
        if self.end_on is not None and self.end_on < self.start_on:
            errors["end_on"] = [str(_l("The end of the stay cannot be before its start."))]
        if self.money_vnd and "money" not in self.essentials:
            # Issue 13: an amount typed without ticking "money" was dropped without a word.
            errors["money_vnd"] = [str(_l("Tick \"Money\" among the essentials given, or leave the amount empty."))]
        return errors


# --- contact bans (Law 13/2022 Art. 25 and 26) ----------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the last day of the month when it has fewer days)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


class ContactBanIn(_PlainValues):
    """A contact ban: a request to the commune chair (Art. 25(1)(a)), the chair's own initiative when her
    life is threatened (Art. 25(1)(b)), or a court's ban in a civil case (Art. 26)."""

    kind: Annotated[str, Choice(codes.CONTACT_BAN_KINDS, _CHOOSE, default="commune")]
    requested_at: Annotated[datetime | None, Moment()]
    requester: Annotated[str | None, Text(32)]
    victim_consented: Annotated[bool, Flag(message=_NOT_BOOL)]
    chair_initiative: Annotated[bool, Flag(message=_NOT_BOOL)]
    life_threatened: Annotated[bool, Flag(message=_NOT_BOOL)]
    court_name: Annotated[str | None, Text(200)]
    decided_at: Annotated[datetime | None, Moment()]
    valid_from: Annotated[datetime | None, Moment()]
    valid_until: Annotated[datetime | None, Moment()]
    decision_ref: Annotated[str | None, Text(64)]

    @property
    def origin(self) -> str:
        return "chair_initiative" if self.chair_initiative else "request"

    def check(self) -> FieldErrors:
        errors: FieldErrors = {}
        if self.kind == "court":
            if not self.court_name:
                errors["court_name"] = [str(_l("Enter the court that issued the decision."))]
            if self.decided_at is None:
                errors["decided_at"] = [str(_l("Enter when the court decided."))]
            if self.requester and self.requester not in codes.CONTACT_BAN_REQUESTERS:
                errors["requester"] = [str(_CHOOSE)]
            valid_from = self.valid_from or self.decided_at
            if self.valid_until is None:
                errors["valid_until"] = [str(_l("Enter until when the ban is valid."))]
            elif valid_from is not None and self.valid_until <= valid_from:
                errors["valid_until"] = [str(_l("The end of the ban must be after its start."))]
            elif valid_from is not None and self.valid_until > add_months(valid_from, codes.COURT_BAN_MAX_MONTHS):
                errors["valid_until"] = [str(_l("A court's contact ban lasts at most %(n)d months (Art. 26).",
                                                n=codes.COURT_BAN_MAX_MONTHS))]
        elif self.chair_initiative:
            # Art. 25(1)(b): on the chair's own initiative only when the violence threatens her life.
            if self.requester:
                errors["requester"] = [str(_l("On the commune chair's own initiative nobody requests the ban."))]
            if not self.life_threatened:
                errors["life_threatened"] = [str(_l("The commune chair decides on his or her own initiative only "
                                                    "when her life is threatened (Art. 25(1)(b))."))]
        elif self.requester not in codes.CONTACT_BAN_REQUESTERS:
            errors["requester"] = [str(_l("Choose who asked for the contact ban: she herself, her guardian, her "
                                          "legal representative or a competent body (Art. 25(1)(a))."))]
        elif self.requester in codes.REQUESTERS_NEEDING_CONSENT and not self.victim_consented:
            # Art. 25(1)(a): a request by a competent agency or organisation needs her consent.
            errors["victim_consented"] = [str(_l("When an agency or organisation asks, she must agree to the "
                                                 "request (Art. 25(1)(a))."))]
        return errors


class ContactBanDecisionIn(_PlainValues):
    """The commune chair's decision on a request (Art. 25(2)-(3): within 12 hours, at most 3 days)."""

    decision: Annotated[str, Choice(codes.CONTACT_BAN_DECISIONS, _l("Choose the decision."),
                                    required=_l("Choose the decision."))]
    decided_at: Annotated[datetime | None, Moment()]
    valid_from: Annotated[datetime | None, Moment()]
    valid_until: Annotated[datetime | None, Moment()]
    decision_ref: Annotated[str | None, Text(64)]

    def check(self) -> FieldErrors:
        if self.decision == "granted" and self.valid_until is None:
            return {"valid_until": [str(_l("Enter until when the ban is valid."))]}
        return {}


class ContactBanRevocationIn(_PlainValues):
    """A granted ban revoked before its end, with the reason and the date (Art. 25(4))."""

    reason: Annotated[str, Text(1000, required=_l("Enter why the contact ban was revoked."))]
    date: Annotated[date, CaseDay(required=_l("Enter the date of the revocation."),
                                  not_future=_l("The date cannot be in the future."))]


# --- follow-ups -------------------------------------------------------------------------------------------


class FollowUpIn(_PlainValues):
    """A follow-up visit or call, and the date of the next one (empty: the risk level's interval)."""

    on: Annotated[date, CaseDay(required=_l("Enter the date."))]
    kind: Annotated[str, Choice(codes.FOLLOW_UP_KINDS, _l("Choose a visit or a call."),
                                required=_l("Choose a visit or a call."))]
    situation: Annotated[str, Choice(codes.SITUATIONS, _l("Choose how she is."), required=_l("Choose how she is."))]
    violence_recurred: Annotated[bool, YesNo(_l("Say whether the violence happened again."))]
    note: Annotated[str | None, Text(4000)]
    next_on: Annotated[date | None, CaseDay()]

    def check(self) -> FieldErrors:
        if self.next_on is not None:
            if self.next_on <= self.on:
                return {"next_on": [str(_l("The next follow-up must be after this one."))]}
            if (self.next_on - self.on).days > codes.FOLLOW_UP_MAX_DAYS:
                return {"next_on": [str(_l("The next follow-up must be within a year of this one."))]}
        return {}


# --- closure ----------------------------------------------------------------------------------------------


class ClosureRequestIn(_PlainValues):
    """The host asks to close the case, with the reason (``other`` needs a few words)."""

    reason: Annotated[str, Choice(codes.CLOSURE_REASONS, _l("Choose why the case can be closed."),
                                  required=_l("Choose why the case can be closed."))]
    note: Annotated[str | None, Text(2000)]

    def check(self) -> FieldErrors:
        if self.reason == "other" and not self.note:
            return {"note": [str(_l("Explain the reason in a few words."))]}
        return {}


class ClosureDecisionIn(_PlainValues):
    """The commune officer approves the closure or returns it saying what is still needed; approving with
    open items needs the confirmation (and a reason for a grave one), checked against the case."""

    decision: Annotated[str, Choice({"approve", "return"}, _l("Choose to approve or to return."),
                                    required=_l("Choose to approve or to return."))]
    note: Annotated[str | None, Text(2000)]
    confirm_open_items: Annotated[bool, Flag(message=_NOT_BOOL)]
    confirm_reason: Annotated[str | None, Text(2000)]

    def check(self) -> FieldErrors:
        if self.decision == "return" and not self.note:
            return {"note": [str(_l("Say what is still needed before the case can close."))]}
        return {}


class ReopenIn(_PlainValues):
    """A closed case reopened, with the reason."""

    reason: Annotated[str, Text(2000, required=_l("Say why the case is reopened."))]


# --- moving a case to another trusted address (issue 13) ----------------------------------------------


class TransferIn(_PlainValues):
    """A move asked by the commune officer. Whether the address exists, is active and is another one is the
    service's (the database), and so is the missing reason, reported in the same answer as the address."""

    address_id: Annotated[str | None, Text(22)]
    reason: Annotated[str | None, Text(2000)]


class TransferDeclineIn(_PlainValues):
    """The receiving commune declines a move, saying why."""

    reason: Annotated[str, Text(2000, required=_l("Say why the move is declined."))]
