"""Typed inputs of trusted-address casework (issue 14): one declaration reads the API's JSON body and the web form.

Part A: the trusted address, the intake (with the person, the acts and her consent at intake) and the case edit.
The markers say a field's type, limits and the message its user reads; ``check`` holds the rules across fields
that need neither the database nor the acting user, citing the law where one applies. The services keep the
rest: the address must be one of the actor's, the pre-2025 commune must be in the address's province.

The JSON body and the form differ in shape (the form is flat: ``children_count``, ``consent_record``, the risk
factors as checkboxes); :func:`intake_form_values` turns the form into the JSON's shape and
:data:`INTAKE_FORM_NAMES` files the messages back under the form's field names.

Part B (below its line): consent, shelter stays, contact bans, follow-ups, closure, transfers.

Part A's inputs are read with :meth:`CaseSchema.read_all`, which judges every field even when one cannot be read
(a field that is not a date reads as empty and gets its own message), so that the form and the API answer with
every message at once, as they did before these schemas.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Self

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field

from casework import schemas as s
from casework.cases import codes
from casework.geo import data as geo
from casework.geo import legacy
from casework.models import ID_LENGTH, utcnow
from casework.text import VN_TZ

# A phone's or a server's clock may run a little ahead: a time this much in the future is still "now".
CLOCK_SKEW = timedelta(minutes=5)

NOT_CODES = _l("This field must be a list of codes.")
NOT_AGES_JSON = _l("This field must be a list of whole numbers.")
NOT_AGES_FORM = _l("Enter the children's ages as numbers from 0 to 17, separated by commas.")
NOT_SERVICES = _l("This field must be a list of services.")

# Casework's words in JSON for a day ("Use a date like 2026-03-05.") and a whole number; the form's are the base's.
_WHOLE = s.Integer(-10**12, 10**12, message=s.NOT_WHOLE_JSON, form_message=s.NOT_WHOLE, grouped=True)
_YES_NO = s.Flag(message=s.NOT_BOOLEAN)


def _moment_a(required: s.Message | None = None) -> s.Moment:
    """Part A's time: one that is not text is answered as the API did before issue 14, and the intake's rules
    read its local year, so a time with no day in Vietnam (the end of year 9999) is refused (part B keeps it)."""
    return s.Moment(required, not_text=s.NOT_TEXT, local_day=True)


def _day(required: s.Message | None = None, *, not_future: s.Message | None = None) -> s.Day:
    return s.Day(required, s.NOT_DAY_JSON, not_future=not_future)


class Codes(s._Marker):
    """A list of codes, kept as given (at most 40 of 32 characters): ``check`` says which are unknown, in words
    that name them. The document lists the codes the server knows."""

    def __init__(self, values: Collection[str]) -> None:
        self.values = values

    def read(self, value: Any, source: str) -> tuple[str, ...]:
        if value is None or value == "":
            return ()
        if source == s.FORM and isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise s.invalid(NOT_CODES)
        return tuple(v[:32] for v in value[:40])

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["array", "null"], "items": {"type": "string", "enum": list(self.values)}, "maxItems": 40}


class Ages(s._Marker):
    """The children's ages: a JSON list of whole numbers; in a form "4, 7"."""

    def read(self, value: Any, source: str) -> tuple[int, ...]:
        if value is None:
            return ()
        if source == s.FORM and isinstance(value, str):
            parts = [p for p in re.split(r"[,;\s]+", value.strip()) if p]
            if any(not p.isdigit() or len(p) > 3 for p in parts):
                raise s.invalid(NOT_AGES_FORM)
            return tuple(int(p) for p in parts)
        if not isinstance(value, list) or len(value) > 20 \
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise s.invalid(NOT_AGES_JSON)
        return tuple(value)

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0, "maximum": 17},
                "maxItems": 20}


class ActParts(s._Marker):
    """Parts of letters (``codes.ACT_PARTS``): ``{"l": ["obstruct_marriage"]}`` in JSON, ``l:obstruct_marriage``
    checkboxes in a form; read as ``{"l:obstruct_marriage"}``."""

    def read(self, value: Any, source: str) -> frozenset[str]:
        if value is None or value == "":
            return frozenset()
        if source == s.FORM:
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(v, str) for v in items):
                raise s.invalid(NOT_CODES)
            return frozenset(v[:40] for v in items[:40])
        if not isinstance(value, dict):
            raise s.invalid(s.NOT_OBJECT)
        out: set[str] = set()
        for letter in list(value)[:20]:
            parts = value[letter]
            if parts is None:
                continue
            if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
                raise s.invalid(NOT_CODES)
            out.update(f"{str(letter)[:2]}:{p[:32]}" for p in parts[:40])
        return frozenset(out)

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["object", "null"], "properties": {
            letter: {"type": "array", "items": {"type": "string", "enum": list(parts)}}
            for letter, parts in codes.ACT_PARTS.items()}}


Share = tuple[tuple[str, tuple[str, ...]], ...]


class ShareList(s._Marker):
    """The services she agrees her information is shared with at intake: a service's code, or in JSON also
    ``{"service": …, "fields": [...]}`` with the fields she chose."""

    def read(self, value: Any, source: str) -> Share:
        if value is None or value == "":
            return ()
        if source == s.FORM and isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise s.invalid(NOT_SERVICES)
        share: list[tuple[str, tuple[str, ...]]] = []
        for item in value[:20]:
            if isinstance(item, str):
                share.append((item[:32], ()))
            elif isinstance(item, dict) and isinstance(item.get("service"), str):
                fields = item.get("fields", [])
                if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                    raise s.invalid(NOT_SERVICES)
                share.append((item["service"][:32], tuple(f[:32] for f in fields[:40])))
            else:
                raise s.invalid(NOT_SERVICES)
        return tuple(share)

    def json_schema(self) -> dict[str, Any]:
        services = {"type": "string", "enum": list(codes.SERVICES)}
        return {"type": ["array", "null"], "items": {"anyOf": [services, {
            "type": "object", "required": ["service"], "properties": {
                "service": services,
                "fields": {"type": "array", "items": {"type": "string", "enum": list(codes.SHAREABLE_FIELDS)}}}}]}}


@dataclass(frozen=True)
class ConsentInput:
    """One consent as ``give_consent`` records it: read from a request by ``schemas.ConsentIn.as_input``,
    or built by the intake from her choices."""

    purpose: str
    service: str | None = None
    fields: tuple[str, ...] = ()
    given_by: str = "self"


class CaseSchema(s.Schema):
    """An input of casework. ``from_values``: the same reading for a caller holding Python values (dates, sets),
    e.g. the offline reader and the tests, so that every way in passes the same rules."""

    @classmethod
    def from_values(cls, **values: Any) -> Self:
        def plain(value: Any) -> Any:
            if isinstance(value, date):  # a datetime too: ISO with its offset
                return value.isoformat()
            if isinstance(value, set | frozenset | tuple):
                return list(value)
            return value

        return cls.from_json({name: plain(value) for name, value in values.items()})


def _add(errors: s.FieldErrors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


# --- the trusted address --------------------------------------------------------------------------------


_NO_COMMUNE = _l("Choose an existing commune code (5 digits).")


class AddressIn(CaseSchema):
    """A trusted address, created or changed (Law 13/2022 Art. 36(2): it tells the commune People's Committee
    it takes on the role, and the commune lists and publishes it)."""

    name: Annotated[str, s.Text(200, required=_l("Enter the name of the trusted address."))]
    commune_code: Annotated[str, s.Text(8, required=_NO_COMMUNE, pattern="[0-9]{5}", bad_pattern=_NO_COMMUNE)]
    kind: Annotated[str, s.Choice(codes.ADDRESS_KINDS, _l("Choose a kind from the list."), default="household")]
    declared_on: Annotated[date | None, _day()]
    published_on: Annotated[date | None, _day()]
    active: Annotated[bool, s.Flag(default=True, message=s.NOT_BOOLEAN)]
    # The pre-2025 commune it was in (casework.geo.legacy), for addresses of the pilot years.
    legacy_commune_code: Annotated[str | None, s.Text(8, pattern="[0-9]{5}",
                                                    bad_pattern=_l("Choose an existing commune of the units "
                                                                   "before 1 July 2025."))]

    def check(self) -> s.FieldErrors:
        errors: s.FieldErrors = {}
        commune = geo.commune(self.commune_code) if self.commune_code else None
        if self.commune_code and commune is None:
            _add(errors, "commune_code", _("Choose an existing commune code (5 digits)."))
        today = s.local_today()
        for name, value in (("declared_on", self.declared_on), ("published_on", self.published_on)):
            if value is not None and value > today:
                _add(errors, name, _("The date cannot be in the future."))
        if self.declared_on and self.published_on and self.published_on < self.declared_on:
            _add(errors, "published_on", _("It cannot be published before it was declared."))
        if self.legacy_commune_code:
            old = legacy.commune(self.legacy_commune_code)
            if old is None:
                _add(errors, "legacy_commune_code", _("Choose an existing commune of the units before 1 July 2025."))
            elif commune is not None and legacy.to_2025_province(old.province_code) != commune.province_code:
                _add(errors, "legacy_commune_code", _("This commune before 1 July 2025 is not in the province of "
                                                      "the address."))
        return errors


_PAST_DAY = {"required": _l("Enter the date."), "not_future": _l("The date cannot be in the future.")}


class AddressTrainingIn(CaseSchema):
    """A training the commune gave the address's hosts (Law 13/2022 Art. 36(2): the commune trains them)."""

    held_on: Annotated[date, _day(**_PAST_DAY)]
    topic: Annotated[str, s.Text(200, required=_l("Enter the topic of the training."))]
    organiser: Annotated[str | None, s.Text(200)]


class AddressSupportIn(CaseSchema):
    """A support package the address received (money, equipment, supplies)."""

    received_on: Annotated[date, _day(**_PAST_DAY)]
    kind: Annotated[str, s.Choice(codes.SUPPORT_KINDS, _l("Choose a kind from the list."),
                                  required=_l("Choose a kind from the list."))]
    description: Annotated[str | None, s.Text(200)]
    # Whole đồng, up to 10 billion (``AddressSupport.amount_vnd`` is a 64-bit column).
    amount_vnd: Annotated[int | None, s.Amount(allow_zero=True, maximum=10_000_000_000, message=s.NOT_WHOLE_JSON,
                                               out_of_range=_l("Enter an amount in đồng, from 0."))]


class ProvinceSettingsIn(CaseSchema):
    """A province's casework settings: the nights of shelter before a stay is flagged (never refused, DESIGN §2)
    and the project's hours before a missing commune notice is flagged (Law 13/2022 Art. 36 sets none)."""

    max_shelter_days: Annotated[int | None, s.Integer(1, 365, out_of_range=_l("Enter a number of nights from 1 to "
                                                                             "365."))]
    notice_hours: Annotated[int | None, s.Integer(1, codes.MAX_NOTICE_HOURS, out_of_range=_l(
        "Enter a number of hours from 1 to %(n)d.", n=codes.MAX_NOTICE_HOURS))]


# --- the intake and the case edit -------------------------------------------------------------------------


_AGE_BAND = _l("Choose an age group from the list.")
_FROM_THE_LIST = _l("Choose from the list.")
_PHONE = re.compile(r"^\+?[0-9 ().-]{6,24}$")
_ID_NUMBER = re.compile(r"^[A-Za-z0-9]{6,20}$")


class PersonIn(CaseSchema):
    """The woman who arrives: her name is the only thing required (a first name or a nickname is enough)."""

    full_name: Annotated[str, s.Text(200, required=_l("Enter the name she gives (a first name or a nickname is "
                                                    "enough)."))]
    other_names: Annotated[str | None, s.Text(200)]
    birth_year: Annotated[int | None, _WHOLE]
    birth_date: Annotated[date | None, _day()]
    sex: Annotated[str, s.Choice(codes.SEXES, _FROM_THE_LIST, default="female")]
    age_band: Annotated[str | None, s.Choice(codes.AGE_BANDS, _AGE_BAND)]
    ethnicity_code: Annotated[str | None, s.Text(8)]
    phone: Annotated[str | None, s.Text(32)]
    id_number: Annotated[str | None, s.Text(32)]
    home_commune_code: Annotated[str | None, s.Text(8)]
    home_address: Annotated[str | None, s.Text(300)]
    # Her home commune in the units before 1 July 2025 (casework.geo.legacy), for an intake before that day.
    legacy_home_commune_code: Annotated[str | None, s.Text(8)]


class ChildrenIn(CaseSchema):
    count: Annotated[int | None, _WHOLE]
    ages: Annotated[tuple[int, ...], Ages()]


class PerpetratorIn(CaseSchema):
    sex: Annotated[str, s.Choice(codes.PERPETRATOR_SEXES, _FROM_THE_LIST, default="unknown")]
    age_band: Annotated[str, s.Choice(codes.AGE_BANDS, _AGE_BAND, default="unknown")]


class RiskIn(CaseSchema):
    factors: Annotated[tuple[str, ...], Codes(codes.RISK_FACTORS)]
    judged_high: Annotated[bool, _YES_NO]


class IntakeConsentIn(CaseSchema):
    """Her consent at intake (DESIGN §2 Consent): to keep the record (required), to be counted in statistics,
    and the services her information may be shared with."""

    record: Annotated[bool, _YES_NO]
    statistics: Annotated[bool, _YES_NO]
    share: Annotated[Share, ShareList()]
    given_by: Annotated[str, s.Choice(codes.CONSENT_GIVERS, _l("Choose who gave the consent."), default="self")]


class CaseFieldsIn(CaseSchema):
    """What an intake records and an edit changes."""

    intake_at: Annotated[datetime, _moment_a(_l("Enter the date and time she arrived."))]
    arrival: Annotated[str, s.Choice(codes.ARRIVALS, _l("Choose how she arrived."), default="came_alone")]
    person: PersonIn
    children: ChildrenIn
    acts: Annotated[tuple[str, ...], Codes(codes.ACT_CODES)]
    act_parts: Annotated[frozenset[str], ActParts()]
    relationship: Annotated[str, s.Choice(codes.RELATIONSHIPS,
                                        _l("Choose her relationship to the person who used violence."),
                                        required=_l("Choose her relationship to the person who used violence."))]
    # Decree 76/2023: the host's tick "recorded, but not counted as domestic violence"; never required.
    acts_not_counted_confirmed: Annotated[bool, _YES_NO]
    perpetrator: PerpetratorIn
    injuries: Annotated[str | None, s.Text(2000)]
    first_aid_given: Annotated[bool, _YES_NO]
    first_aid: Annotated[str | None, s.Text(2000)]
    risk: RiskIn
    safety_plan: Annotated[str | None, s.Text(4000)]
    commune_notified_at: Annotated[datetime | None, _moment_a()]
    narrative: Annotated[str | None, s.Text(8000)]
    # Where it happened in the units before 1 July 2025 (scheme "pre2025"), for such an intake; the service
    # checks it against the address's province.
    legacy_commune_code: Annotated[str | None, s.Text(8)]

    def check(self) -> s.FieldErrors:
        errors: s.FieldErrors = {}
        self._check_person(errors)
        self._check_case(errors)
        return errors

    def _check_person(self, errors: s.FieldErrors) -> None:
        p = self.person
        year_now = (self.intake_at or utcnow()).astimezone(VN_TZ).year
        birth_year = p.birth_year
        if p.birth_date is not None:
            if p.birth_date > s.local_today():
                _add(errors, "person.birth_date", _("The date of birth cannot be in the future."))
            elif year_now - p.birth_date.year > codes.MAX_AGE:
                _add(errors, "person.birth_date", _("This date of birth makes her older than %(n)d. Please check it.",
                                                    n=codes.MAX_AGE))
            elif birth_year is not None and birth_year != p.birth_date.year:
                _add(errors, "person.birth_date", _("The date of birth does not match the year of birth."))
            else:
                birth_year = p.birth_date.year
        if birth_year is not None:
            if birth_year > year_now:
                _add(errors, "person.birth_year", _("The year of birth cannot be after the intake."))
            elif year_now - birth_year > codes.MAX_AGE:
                _add(errors, "person.birth_year", _("This year of birth makes her older than %(n)d. Please check it.",
                                                    n=codes.MAX_AGE))
        if p.ethnicity_code and geo.ethnic_group(p.ethnicity_code) is None:
            _add(errors, "person.ethnicity_code", _("Choose an ethnic group from the list."))
        if p.phone and not _PHONE.match(p.phone):
            _add(errors, "person.phone", _("Enter a phone number with digits only, for example 0912 345 678."))
        if p.id_number and not _ID_NUMBER.match(p.id_number):
            _add(errors, "person.id_number", _("Enter the ID number with letters and digits only."))
        if p.home_commune_code and geo.commune(p.home_commune_code) is None:
            _add(errors, "person.home_commune_code", _("Choose an existing commune."))
        if p.legacy_home_commune_code:
            if legacy.commune(p.legacy_home_commune_code) is None:
                _add(errors, "person.legacy_home_commune_code",
                     _("Choose an existing commune of the units before 1 July 2025."))
            # Resolution 202/2025/QH15: the 2025 units are in force from 1 July 2025.
            elif self.intake_at is not None and not legacy.applies(self.intake_at.astimezone(VN_TZ).date()):
                _add(errors, "person.legacy_home_commune_code",
                     _("Units before 1 July 2025 are only for an intake before that day."))

    def _check_case(self, errors: s.FieldErrors) -> None:
        now = utcnow()
        if self.intake_at is not None:
            if self.intake_at > now + CLOCK_SKEW:
                _add(errors, "intake_at", _("The intake time cannot be in the future."))
            elif self.intake_at.year < 2000:
                _add(errors, "intake_at", _("Check the year of the intake."))
        count = self.children.count or 0
        if not 0 <= count <= 20:
            _add(errors, "children.count", _("Enter a number of children from 0 to 20."))
        ages = self.children.ages or ()
        if any(not 0 <= a <= 17 for a in ages):
            _add(errors, "children.ages", _("Enter the children's ages as numbers from 0 to 17, separated by commas."))
        elif len(ages) > max(count, 0) and count:
            _add(errors, "children.ages", _("There are more ages than children."))
        # Law 13/2022 Art. 3(1): the acts of domestic violence are the letters a to q.
        acts = self.acts or ()
        unknown = [a for a in acts if a not in codes.ACTS]
        if not acts:
            _add(errors, "acts", _("Tick at least one act of violence."))
        elif unknown:
            _add(errors, "acts", _("Unknown act: %(codes)s. Acts are the letters a to q of the law.",
                                   codes=", ".join(sorted({a[:4] for a in unknown}))))
        # Decree 76/2023: an act that does not count for the relationship is a warning, never an error
        # (``services.acts_not_counted`` and the case's ``warnings``); only a malformed part is refused.
        parts = [split_part(p) for p in self.act_parts or ()]
        bad_parts = [p for p, split in zip(self.act_parts or (), parts, strict=True) if split is None]
        if bad_parts:
            _add(errors, "act_parts", _("Unknown part of an act: %(codes)s.",
                                        codes=", ".join(sorted(p[:24] for p in bad_parts))))
        else:
            loose = sorted({split[0] for split in parts if split is not None} - set(acts))
            if loose:
                _add(errors, "act_parts", _("Tick act %(codes)s for the part you chose.", codes=", ".join(loose)))
        if set(self.risk.factors or ()) - set(codes.RISK_FACTORS):
            _add(errors, "risk.factors", _("Unknown risk factor."))
        if self.commune_notified_at is not None:
            if self.commune_notified_at > now + CLOCK_SKEW:
                _add(errors, "commune_notified_at", _("The time of the notice cannot be in the future."))
            # Law 13/2022 Art. 36(2): the trusted address tells the commune when it receives her.
            elif self.intake_at is not None and "intake_at" not in errors \
                    and self.commune_notified_at < self.intake_at - timedelta(hours=24):
                _add(errors, "commune_notified_at", _("The notice cannot be more than a day before the intake."))


def split_part(value: str) -> tuple[str, str] | None:
    """``"l:obstruct_marriage"`` → ``("l", "obstruct_marriage")``, or None for a part the law does not have."""
    letter, _sep, part = str(value).partition(":")
    return (letter, part) if part in codes.ACT_PARTS.get(letter, {}) else None


class IntakeIn(CaseFieldsIn):
    """An intake at one of the actor's trusted addresses (the service checks it is hers), with her consent."""

    address_id: Annotated[str | None, s.Text(64)]
    consent: IntakeConsentIn | None = None

    @classmethod
    def read_all(cls, data: Mapping[str, Any], *, form: bool = False) -> tuple[Self, s.FieldErrors]:
        value, errors = super().read_all(data, form=form)
        if data.get("consent") is None:
            errors.setdefault("consent", [str(s.REQUIRED)])
        return value, errors

    def check(self) -> s.FieldErrors:
        errors = super().check()
        consent = self.consent
        if consent is None:
            return errors
        # DESIGN §2 Consent: without her consent to keep the record, nothing is stored.
        if not consent.record:
            _add(errors, "consent.record", _("She must agree that this record is kept; without her consent "
                                             "nothing is stored."))
        unknown_services = [s for s, _f in consent.share or () if s not in codes.SERVICES]
        if unknown_services:
            _add(errors, "consent.share", _("Unknown kind of service: %(codes)s.",
                                            codes=", ".join(sorted(unknown_services))))
        for _s, fields in consent.share or ():
            bad = [f for f in fields if f not in codes.SHAREABLE_FIELDS]
            if bad:
                _add(errors, "consent.share", _("Unknown information to share: %(names)s.",
                                                names=", ".join(sorted(bad))))
        return errors


class CaseEditIn(CaseFieldsIn):
    """A change of the intake details, with the version of the case the editor read (DESIGN §4: 409 if stale)."""

    version: Annotated[int | None, _WHOLE]


def _checked(values: Mapping[str, Any], name: str) -> bool:
    value = values.get(name)
    return value not in (None, "", "false", False)


def intake_form_values(values: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The intake form (flat, ``form_values(request.form, lists=INTAKE_FORM_LISTS)``) in the shape of the JSON
    body, for ``IntakeIn.read_all(..., form=True)``."""
    notified_at = None
    if _checked(values, "commune_notified"):  # ticked without a time: now
        notified_at = values.get("commune_notified_at") or \
            (now or utcnow()).astimezone(VN_TZ).strftime("%Y-%m-%dT%H:%M")
    other = (values.get("home_commune_other") or "").strip()
    return {
        "address_id": values.get("address_id"), "intake_at": values.get("intake_at"),
        "arrival": values.get("arrival"),
        "person": {"full_name": values.get("full_name"), "other_names": values.get("other_names"),
                   "sex": values.get("sex"), "birth_year": values.get("birth_year"),
                   "birth_date": values.get("birth_date"), "age_band": values.get("age_band") or "unknown",
                   "ethnicity_code": values.get("ethnicity_code"), "phone": values.get("phone"),
                   "id_number": values.get("id_number"),
                   "home_commune_code": other or values.get("home_commune_code"),
                   "home_address": values.get("home_address"),
                   "legacy_home_commune_code": values.get("legacy_home_commune_code")},
        "children": {"count": values.get("children_count"), "ages": values.get("children_ages") or ""},
        "acts": values.get("acts"), "act_parts": values.get("act_parts"), "relationship": values.get("relationship"),
        "acts_not_counted_confirmed": _checked(values, "acts_not_counted_confirmed"),
        "perpetrator": {"sex": values.get("perpetrator_sex"), "age_band": values.get("perpetrator_age_band")},
        "injuries": values.get("injuries"), "first_aid_given": _checked(values, "first_aid_given"),
        "first_aid": values.get("first_aid"),
        "risk": {"factors": [f for f in codes.RISK_FACTORS if _checked(values, f"risk_{f}")],
                 "judged_high": _checked(values, "risk_judged_high")},
        "safety_plan": values.get("safety_plan"), "commune_notified_at": notified_at,
        "narrative": values.get("narrative"), "legacy_commune_code": values.get("legacy_commune_code"),
        "consent": {"record": _checked(values, "consent_record"), "statistics": _checked(values, "consent_statistics"),
                    "share": values.get("consent_share"), "given_by": values.get("consent_given_by")},
        "version": values.get("version"),
    }


INTAKE_FORM_LISTS = ("acts", "act_parts", "consent_share")

# The JSON's field names → the intake form's, so that a message stands beside the field she filled.
INTAKE_FORM_NAMES = {
    **{f"person.{name}": name for name in PersonIn.model_fields},
    "children.count": "children_count", "children.ages": "children_ages", "perpetrator.sex": "perpetrator_sex",
    "perpetrator.age_band": "perpetrator_age_band", "risk.factors": "risk_factors",
    "risk.judged_high": "risk_judged_high", "consent.record": "consent_record",
    "consent.statistics": "consent_statistics", "consent.share": "consent_share",
    "consent.given_by": "consent_given_by",
}


class CommuneNoticeIn(CaseSchema):
    """When the trusted address told the commune People's Committee of the intake (Law 13/2022 Art. 36); none:
    now."""

    commune_notified_at: Annotated[datetime | None, s.Moment()]


# --- part B ---
# Consent, shelter stays, contact bans, follow-ups, closure. Rules that need the case (a stay before the
# intake, a ban still pending, a date against the intake or the clock) or the acting user (who may decide a
# closure) stay in the services; these classes hold the types, codes, limits and the rules across fields.


@dataclass(frozen=True)
class ShareFields(s.Choices):
    """The parts of a case she agrees to share; an unknown one is named in the message."""

    def read(self, value: Any, source: str) -> tuple[str, ...]:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            unknown = sorted({v for v in value if v not in self.values})
            if unknown:
                raise s.invalid(_l("Unknown information to share: %(names)s.", names=", ".join(unknown)))
        return super().read(value, source)


# --- consent ----------------------------------------------------------------------------------------------


class ConsentIn(CaseSchema):
    """Her consent to one purpose (DESIGN §2 Consent): keep the record, count her in statistics, or share the
    chosen parts of the case with one kind of service."""

    purpose: Annotated[str, s.Choice(codes.PURPOSES, _l("Choose what she agrees to."),
                                   required=_l("Choose what she agrees to."))]
    service: Annotated[str | None, s.Choice(codes.SERVICES, _l("Choose a kind of service from the list."))]
    fields: Annotated[tuple[str, ...], ShareFields(codes.SHAREABLE_FIELDS, max_items=len(codes.SHAREABLE_FIELDS),
                                                   not_list=NOT_CODES)]
    given_by: Annotated[str, s.Choice(codes.CONSENT_GIVERS, _l("Choose who gave the consent."), default="self")]

    def check(self) -> s.FieldErrors:
        if self.purpose == "share" and self.service is None:
            return {"service": [str(_l("Choose a kind of service from the list."))]}
        if self.purpose != "share" and (self.service or self.fields):
            return {"service": [str(_l("A service is chosen only for consent to share."))]}
        return {}

    def as_input(self) -> ConsentInput:
        return ConsentInput(self.purpose, service=self.service, fields=self.fields, given_by=self.given_by)


# --- shelter ----------------------------------------------------------------------------------------------


class ShelterStayIn(CaseSchema):
    """A shelter stay at the trusted address and the essentials given (Law 13/2022 Art. 33)."""

    start_on: Annotated[date, _day(required=_l("Enter the first day of the stay."))]
    end_on: Annotated[date | None, _day()]
    essentials: Annotated[tuple[str, ...], s.Choices(codes.ESSENTIALS, _l("Unknown item."), not_list=NOT_CODES)]
    money_vnd: Annotated[int | None, s.Amount(allow_zero=True, maximum=100_000_000, message=s.NOT_WHOLE_JSON,
                                             out_of_range=_l("Enter an amount in đồng, from 0."))]

    def check(self) -> s.FieldErrors:
        errors: s.FieldErrors = {}
        if self.end_on is not None and self.start_on is not None and self.end_on < self.start_on:
            errors["end_on"] = [str(_l("The end of the stay cannot be before its start."))]
        if self.money_vnd and "money" not in self.essentials:
            # Issue 13: an amount typed without ticking "money" was dropped without a word.
            errors["money_vnd"] = [str(_l("Tick \"Money\" among the essentials given, or leave the amount empty."))]
        return errors


# --- contact bans (Law 13/2022 Art. 25 and 26) ----------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the last day of the month when it has fewer days); past the end of
    year 9999, which a part-B moment accepts, the last moment there is rather than an error (a 500)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    if year > datetime.max.year:
        return datetime.max.replace(tzinfo=moment.tzinfo)
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


class ContactBanIn(CaseSchema):
    """A contact ban: a request to the commune chair (Art. 25(1)(a)), the chair's own initiative when her
    life is threatened (Art. 25(1)(b)), or a court's ban in a civil case (Art. 26)."""

    kind: Annotated[str, s.Choice(codes.CONTACT_BAN_KINDS, _FROM_THE_LIST, default="commune")]
    requested_at: Annotated[datetime | None, s.Moment()]
    requester: Annotated[str | None, s.Text(32)]
    victim_consented: Annotated[bool, _YES_NO]
    chair_initiative: Annotated[bool, _YES_NO]
    life_threatened: Annotated[bool, _YES_NO]
    court_name: Annotated[str | None, s.Text(200)]
    decided_at: Annotated[datetime | None, s.Moment()]
    valid_from: Annotated[datetime | None, s.Moment()]
    valid_until: Annotated[datetime | None, s.Moment()]
    decision_ref: Annotated[str | None, s.Text(64)]

    @property
    def origin(self) -> str:
        return "chair_initiative" if self.chair_initiative else "request"

    def check(self) -> s.FieldErrors:
        errors: s.FieldErrors = {}
        if self.kind == "court":
            if not self.court_name:
                errors["court_name"] = [str(_l("Enter the court that issued the decision."))]
            if self.decided_at is None:
                errors["decided_at"] = [str(_l("Enter when the court decided."))]
            if self.requester and self.requester not in codes.CONTACT_BAN_REQUESTERS:
                errors["requester"] = [str(_FROM_THE_LIST)]
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


class ContactBanDecisionIn(CaseSchema):
    """The commune chair's decision on a request (Art. 25(2)-(3): within 12 hours, at most 3 days)."""

    decision: Annotated[str, s.Choice(codes.CONTACT_BAN_DECISIONS, _l("Choose the decision."),
                                    required=_l("Choose the decision."))]
    decided_at: Annotated[datetime | None, s.Moment()]
    valid_from: Annotated[datetime | None, s.Moment()]
    valid_until: Annotated[datetime | None, s.Moment()]
    decision_ref: Annotated[str | None, s.Text(64)]

    def check(self) -> s.FieldErrors:
        if self.decision == "granted" and self.valid_until is None:
            return {"valid_until": [str(_l("Enter until when the ban is valid."))]}
        return {}


class ContactBanRevocationIn(CaseSchema):
    """A granted ban revoked before its end, with the reason and the date (Art. 25(4))."""

    reason: Annotated[str, s.Text(1000, required=_l("Enter why the contact ban was revoked."))]
    date: Annotated[date, _day(required=_l("Enter the date of the revocation."),
                                  not_future=_l("The date cannot be in the future."))]


# --- follow-ups -------------------------------------------------------------------------------------------


class FollowUpIn(CaseSchema):
    """A follow-up visit or call, and the date of the next one (empty: the risk level's interval)."""

    on: Annotated[date, _day(required=_l("Enter the date."))]
    kind: Annotated[str, s.Choice(codes.FOLLOW_UP_KINDS, _l("Choose a visit or a call."),
                                required=_l("Choose a visit or a call."))]
    situation: Annotated[str, s.Choice(codes.SITUATIONS, _l("Choose how she is."), required=_l("Choose how she is."))]
    violence_recurred: Annotated[bool, s.Flag(message=s.NOT_BOOLEAN,
                                              required=_l("Say whether the violence happened again."))]
    note: Annotated[str | None, s.Text(4000)]
    next_on: Annotated[date | None, _day()]

    def check(self) -> s.FieldErrors:
        if self.next_on is not None and self.on is not None:  # None: unreadable, its own message shown
            if self.next_on <= self.on:
                return {"next_on": [str(_l("The next follow-up must be after this one."))]}
            if (self.next_on - self.on).days > codes.FOLLOW_UP_MAX_DAYS:
                return {"next_on": [str(_l("The next follow-up must be within a year of this one."))]}
        return {}


# --- closure ----------------------------------------------------------------------------------------------


def _note_needed(note: str | None, needed: bool, message: s.Message) -> s.FieldErrors:
    """The closure note's error when the choice made needs a few words and none were given."""
    return {"note": [str(message)]} if needed and not note else {}


class ClosureRequestIn(CaseSchema):
    """The host asks to close the case, with the reason (``other`` needs a few words)."""

    reason: Annotated[str, s.Choice(codes.CLOSURE_REASONS, _l("Choose why the case can be closed."),
                                  required=_l("Choose why the case can be closed."))]
    note: Annotated[str | None, s.Text(2000)]

    def check(self) -> s.FieldErrors:
        return _note_needed(self.note, self.reason == "other", _l("Explain the reason in a few words."))


class ClosureDecisionIn(CaseSchema):
    """The commune officer approves the closure or returns it saying what is still needed; approving with
    open items needs the confirmation (and a reason for a grave one), checked against the case."""

    decision: Annotated[str, s.Choice({"approve", "return"}, _l("Choose to approve or to return."),
                                    required=_l("Choose to approve or to return."))]
    note: Annotated[str | None, s.Text(2000)]
    confirm_open_items: Annotated[bool, _YES_NO]
    confirm_reason: Annotated[str | None, s.Text(2000)]

    def check(self) -> s.FieldErrors:
        return _note_needed(self.note, self.decision == "return",
                            _l("Say what is still needed before the case can close."))


class ReopenIn(CaseSchema):
    """A closed case reopened, with the reason."""

    reason: Annotated[str, s.Text(2000, required=_l("Say why the case is reopened."))]


# --- moving a case to another trusted address (issue 13) ----------------------------------------------


class TransferIn(CaseSchema):
    """A move asked by the commune officer. Whether the address exists, is active and is another one is the
    service's (the database), and so is the missing reason, reported in the same answer as the address."""

    address_id: Annotated[str | None, s.Text(ID_LENGTH)]
    reason: Annotated[str | None, s.Text(2000)]


class TransferDeclineIn(CaseSchema):
    """The receiving commune declines a move, saying why."""

    reason: Annotated[str, s.Text(2000, required=_l("Say why the move is declined."))]


# --- the case list's filters (issue 14) ---------------------------------------------------------------------


_QUERY_DAY = s.Day(message=s.NOT_DAY_JSON, form_message=s.NOT_DAY_JSON)


class CaseFiltersIn(CaseSchema):
    """The case list's filters: in the query string of ``GET /cases`` (:class:`CaseListQuery`) and in the body
    of ``POST /cases/search`` (:class:`CaseSearchIn`). An empty value is no filter (a form's empty choice)."""

    status: Annotated[str | None, s.Choice(codes.STATUSES, _FROM_THE_LIST)]
    risk: Annotated[str | None, s.Choice(codes.RISK_LEVELS, _FROM_THE_LIST)]
    form: Annotated[str | None, s.Choice(codes.FORMS, _FROM_THE_LIST)]
    # ``from`` is a Python keyword: the field keeps the services' name and reads the client's.
    # The same words for a day in the query string and in the search body: both are the API's.
    period_from: Annotated[date | None, _QUERY_DAY, Field(alias="from")] = None
    period_to: Annotated[date | None, _QUERY_DAY, Field(alias="to")] = None


class CaseScreenFilters(CaseFiltersIn):
    """The filters of the case list screen: the API's, and one trusted address of the host's (a screen choice,
    not a query parameter of the API). The list services take either."""

    address_id: Annotated[str | None, s.Text(32), Field(alias="address")] = None


class CaseListQuery(CaseFiltersIn):
    """The query string of ``GET /cases``, read with ``from_form`` (every value in a URL is text). A name or a
    phone is never here: ``q`` is refused before this is read (DESIGN §4, ``search_in_body``)."""

    # The cursor of the next page (``casework.paging`` says whether it is one of ours).
    after: Annotated[str | None, s.Text(200)]


class CaseSearchIn(CaseFiltersIn):
    """The body of ``POST /cases/search``: the name or phone to look for, and the list's filters."""

    q: Annotated[str, s.Text(100, required=_l("Enter a name or a phone number."))]

    @classmethod
    def openapi(cls) -> dict[str, Any]:
        schema = super().openapi()
        schema["properties"]["q"]["minLength"] = 1
        schema["required"] = ["q"]
        return schema


def query_parameters(schema: type[s.Schema]) -> dict[str, dict[str, Any]]:
    """The fields of a query-string schema as the OpenAPI document's query parameters. A parameter is left out
    rather than sent as null, so an optional field's ``null`` is dropped from its type and its values."""
    parameters: dict[str, dict[str, Any]] = {}
    for name, field in schema.openapi()["properties"].items():
        out = dict(field)
        kind = out.get("type")
        if isinstance(kind, list):
            rest = [k for k in kind if k != "null"]
            out["type"] = rest[0] if len(rest) == 1 else rest
        if "enum" in out:
            out["enum"] = [v for v in out["enum"] if v is not None]
        parameters[name] = out
    return parameters
