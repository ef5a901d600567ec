"""The livelihood domain's inputs, declared once (issue 14): each schema reads the JSON body of the API, the web
form and (survivors) the row of the Excel survey list, and the API's request schemas are generated from it.

Money is whole VND (the base's ``Amount``): an integer in JSON; in a form or a spreadsheet cell also "1.500.000",
"1 500 000 đ"; decimals ("1,5", 2.5) are refused with their own message, because VND has no minor unit.
Dates of things done (a payment, a visit, a support event) are ``PastDay``: not in the future, not before 2000.

Rules across fields cite their law in ``check``. What needs the database or the acting user (her commune, the
proposal's state, the budget, four-eyes) stays in ``livelihood.services``.

Python callers (the demo loader, tests) build a value with ``X.of(**values)``: dates may be ``date`` objects
and amounts typed text, as in a form.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Self

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, Field

from casework import schemas as s
from casework.errors import ValidationError
from casework.text import fold, nfc
from livelihood.models import (
    CONSENT_GIVERS,
    DISBURSEMENT_FORMS,
    ENTITLEMENTS,
    EVENT_KINDS,
    OUTCOMES,
    PROPOSAL_KINDS,
    SEXES,
    SURVIVOR_STATUSES,
    VISIT_PROGRESS,
)

MAX_LINES = 30
# A budget line's count of items (animals, kilograms, seedlings): far above any plan, and within the 32-bit column
# that keeps it (above 2,147,483,647 PostgreSQL refused the row and the request failed with a server error).
MAX_QUANTITY = 1_000_000
SCORE_CRITERIA = ("feasibility", "market", "skills", "risks", "cost")
DECISIONS = ("approve", "return", "reject")

_PYTHON = "python"

# Read as the forms, the workbook and the services of this domain have always named them: amounts, and today in
# Vietnam (dates on screens and in the budget year are local dates).
MAX_AMOUNT_VND = s.MAX_AMOUNT_VND
parse_whole_number = s.parse_whole_number
today = s.local_today


# --- reading days (shared with the forms and the workbook) ----------------------------------------

def parse_day(value: object) -> dt.date:
    """A date from a ``date`` or from ``YYYY-MM-DD`` / ``dd/mm/yyyy`` text; ``ValueError`` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar day, no time
            except ValueError:
                continue
    raise ValueError(_("Enter a date as dd/mm/yyyy."))


# --- markers of this domain (the lead may lift them into casework.schemas) -------------------------

AS_DAY = _l("Enter a date as dd/mm/yyyy.")


@dataclass(frozen=True)
class PastDay(s._Marker):
    """The day something was done or decided: ISO or dd/mm/yyyy text (a ``date`` from Python or a cell),
    not in the future and not before 2000."""

    required: s.Message | None = None

    def read(self, value: Any, source: str) -> dt.date | None:
        if value is None or value == "":
            s.refuse_if_required(self.required)
            return None
        try:
            day = parse_day(value)
        except ValueError:
            raise s.invalid(AS_DAY) from None
        if day > today():
            raise s.invalid(_l("This date is in the future."))
        if day.year < 2000:
            raise s.invalid(_l("This date is too long ago."))
        return day

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string" if self.required is not None else ["string", "null"], "format": "date"}


@dataclass(frozen=True)
class Year(s._Marker):
    """A budget year from 2020 to five years from now (the budget is planned ahead, never decades)."""

    def read(self, value: Any, source: str) -> int:
        last = today().year + 5
        message = _l("Enter a year between 2020 and %(last)d.", last=last)
        if value is None or value == "":
            raise s.invalid(s.REQUIRED)
        if source != s.JSON and isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 2020 <= value <= last:
            raise s.invalid(message)
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 2020, "maximum": today().year + 5}


@dataclass(frozen=True)
class Coded(s.Choice):
    """A code of a closed list, documented in the list's own order; in a spreadsheet cell, one of ``words``
    (folded: no accents, lower case)."""

    words: Mapping[str, str] | None = None
    word_message: s.Message | None = None

    def json_schema(self) -> dict[str, Any]:
        return {**super().json_schema(), "enum": list(self.values) + ([None] if self.required is None
                                                                       and self.default is None else [])}

    def read(self, value: Any, source: str) -> str | None:
        if source == s.ROW and self.words is not None:
            word = fold(str(value)) if value is not None else ""
            if not word and self.default is None:
                raise s.invalid(self.word_message or self.required or self.message)
            if not word:
                return self.default
            if word not in self.words:
                raise s.invalid(self.word_message or self.message)
            value = self.words[word]
        return super().read(value, source)


YES_WORDS = frozenset({"co", "x", "yes", "y", "1", "true", "dong y"})
NO_WORDS = frozenset({"khong", "no", "n", "0", "false", ""})
WRITE_YES_OR_NO = _l("Write Có or Không.")


@dataclass(frozen=True)
class YesNo(s.Flag):
    """Yes or no; in a spreadsheet cell "Có" or "Không"; ``must`` is the message when it must be yes."""

    message: s.Message = s.NOT_BOOLEAN
    must: s.Message | None = None

    def read(self, value: Any, source: str) -> bool:
        if source == s.ROW:
            word = fold(str(value)) if value is not None else ""
            if word not in YES_WORDS | NO_WORDS:
                raise s.invalid(WRITE_YES_OR_NO)
            answer = word in YES_WORDS
        else:
            answer = super().read(value, source)
        if self.must is not None and not answer:
            raise s.invalid(self.must)
        return answer


_UNKNOWN = frozenset({"", "unknown"})


@dataclass(frozen=True)
class MaybeFlag(s._Marker):
    """Yes, no or not known (None): a JSON boolean or null; in a form "yes", "no" or "unknown"."""

    def read(self, value: Any, source: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        if source != s.JSON and isinstance(value, str):
            word = value.strip().lower()
            if word in _UNKNOWN:
                return None
            if word in {"yes", "y", "true", "on", "1"}:
                return True
            if word in {"no", "n", "false", "off", "0"}:
                return False
        raise s.invalid(s.NOT_BOOLEAN)

    def json_schema(self) -> dict[str, Any]:
        return {"type": ["boolean", "null"]}


def _each(prefix: str, errors: Mapping[str, list[str]]) -> s.FieldErrors:
    return {f"{prefix}{name}": list(messages) for name, messages in errors.items()}


def _merge(into: s.FieldErrors, more: Mapping[str, list[str]]) -> s.FieldErrors:
    for name, messages in more.items():
        into.setdefault(name, []).extend(m for m in messages if m not in into.get(name, []))
    return into


class Input(s.Schema):
    """A livelihood input; ``of`` reads values given in Python (a ``date``, typed amounts)."""

    @classmethod
    def of(cls, **values: Any) -> Self:
        return cls._read(values, _PYTHON)

    @classmethod
    def from_row(cls, values: Mapping[str, Any]) -> Self:
        """Read a row of the Excel survey list (cells already keyed like the JSON body)."""
        return cls._read(values, s.ROW)

    @classmethod
    def collect_row(cls, values: Mapping[str, Any]) -> tuple[Self | None, s.FieldErrors]:
        """Read a row without raising: the value, or None and the messages per field."""
        try:
            return cls.from_row(values), {}
        except ValidationError as error:
            return None, error.fields


# --- survivors -------------------------------------------------------------------------------------

SEX_WORDS = {"nu": "female", "female": "female", "f": "female", "nam": "male", "male": "male", "m": "male"}
# The status cell, mapped word for word (Law 53/2024). Anything else is an error on the cell, never a guess:
# "nạn nhân" alone is ambiguous (a person being identified is often called so) and would unlock items h–k.
STATUS_WORDS = {
    "dang xac minh": "being_identified", "dang xac dinh": "being_identified",
    "dang trong qua trinh xac dinh la nan nhan": "being_identified",
    "being_identified": "being_identified", "being identified": "being_identified",
    "da xac dinh": "identified", "da xac dinh la nan nhan": "identified",
    "da duoc xac dinh la nan nhan": "identified", "identified": "identified",
    "khong phai nan nhan": "not_victim", "not_victim": "not_victim", "not a victim": "not_victim",
}
AMBIGUOUS_STATUS_WORDS = frozenset({"nan nhan", "victim", "nghi la nan nhan", "xac dinh"})
CHOOSE_STATUS = _l("Choose \"being identified\", \"identified\" or \"not a victim\".")
WRITE_STATUS = _l("Write \"Đang xác minh\", \"Đã xác định là nạn nhân\" or \"Không phải nạn nhân\".")


@dataclass(frozen=True)
class Status(Coded):
    """Her status under Law 53/2024; a cell saying only "nạn nhân" is named back to the officer as unclear."""

    def read(self, value: Any, source: str) -> str | None:
        if source == s.ROW and value is not None and fold(str(value)) in AMBIGUOUS_STATUS_WORDS:
            word = nfc(str(value))[:40]
            raise s.invalid(_l("\"%(word)s\" does not say whether she is identified. Write \"Đang xác minh\", "
                             "\"Đã xác định là nạn nhân\" or \"Không phải nạn nhân\".", word=word))
        return super().read(value, source)


# Law 53/2024 Art. 37(1): an identified victim is entitled to a–k; Art. 37(3): a person being
# identified in Vietnam to a–g (the items in Vietnam; a–d only while abroad).
ENTITLED_BY_STATUS: dict[str, tuple[str, ...]] = {
    "identified": ENTITLEMENTS,
    "being_identified": ("a", "b", "c", "d", "đ", "e", "g"),
    "not_victim": (),  # found not to be a victim: no Art. 37 entitlement
}


class PersonIn(Input):
    full_name: Annotated[str, s.Text(200, required=_l("Enter her full name."))]
    birth_year: Annotated[int | None, s.Amount()]
    sex: Annotated[str, Coded(SEXES, _l("Choose female or male."), default="female", words=SEX_WORDS,
                              word_message=_l("Write Nữ or Nam."))]
    ethnicity_code: Annotated[str | None, s.Text(2, too_long=_l("Choose an ethnic group from the list (01–54)."))]
    phone: Annotated[str | None, s.Text(40)] = Field(None, repr=False)

    def check(self) -> s.FieldErrors:
        from casework.geo import data as geo

        errors: s.FieldErrors = {}
        if self.birth_year is not None and not 1900 <= self.birth_year <= today().year:
            errors["birth_year"] = [_("Enter a year between 1900 and this year.")]
        if self.ethnicity_code and geo.ethnic_group(self.ethnicity_code) is None:
            errors["ethnicity_code"] = [_("Choose an ethnic group from the list (01–54).")]
        if self.phone:
            digits = re.sub(r"[\s.()+-]", "", self.phone)
            if not digits.isdigit() or not 8 <= len(digits) <= 15:
                errors["phone"] = [_("Enter a phone number of 8 to 15 digits.")]
        return errors


class SurveyIn(Input):
    """The needs survey (household, income, skills, assets, health, wishes)."""

    household_size: Annotated[int | None, s.Amount()]
    monthly_income_vnd: Annotated[int | None, s.Amount(allow_zero=True)]
    skills: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)
    assets: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)
    health: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)
    wishes: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)

    def check(self) -> s.FieldErrors:
        if self.household_size is not None and not 1 <= self.household_size <= 50:
            return {"household_size": [_("Enter a number of people between 1 and 50.")]}
        return {}


class ConsentChangeIn(Input):
    statistics: Annotated[bool, YesNo()]


class ConsentIn(ConsentChangeIn):
    # Law 53/2024 Art. 3(10): her information is kept and shared only with her consent.
    record: Annotated[bool, YesNo(must=_l("She must agree that her record is kept; without it nothing is stored."))]
    given_by: Annotated[str, s.Choice(CONSENT_GIVERS, _l("Choose who gave the consent."), default="self")]


def _no_survey(value: Any) -> Any:
    return {} if value is None else value


class SurvivorChangeIn(Input):
    """What her commune's officer may change later: status, needs survey, supports received, statistics consent."""

    status: Annotated[str, Status(SURVIVOR_STATUSES, CHOOSE_STATUS, required=CHOOSE_STATUS, words=STATUS_WORDS,
                                  word_message=WRITE_STATUS)]
    status_on: Annotated[dt.date | None, PastDay()]
    status_authority: Annotated[str | None, s.Text(200)]
    # Absent or null: an empty survey (the default is read like a value: ``validate_default``).
    survey: Annotated[SurveyIn, BeforeValidator(_no_survey)] = None  # type: ignore[assignment]
    supports_received: Annotated[tuple[str, ...], s.Choices(ENTITLEMENTS, _l("Choose support items from the list."),
                                                          not_list=_l("Choose support items from the list."))]
    consent: ConsentChangeIn

    def check(self) -> s.FieldErrors:
        errors = _each("survey.", self.survey.check())
        if self.status == "not_victim":
            # Law 53/2024 Art. 24–26: the competent body's decision that she is not a victim names the body
            # and the date.
            if self.status_on is None:
                errors["status_on"] = [_("Enter the date of the decision that she is not a victim.")]
            if not self.status_authority:
                errors["status_authority"] = [_("Enter the body that decided she is not a victim.")]
        # Law 53/2024 Art. 37: what she may have received depends on her status.
        not_entitled = [s for s in self.supports_received if s not in ENTITLED_BY_STATUS[self.status]]
        if not_entitled:
            errors["supports_received"] = [
                _("Items %(items)s are not among her entitlements for this status (Law 53/2024 Art. 37).",
                  items=", ".join(not_entitled))]
        return errors


class SurvivorIn(SurvivorChangeIn):
    """A survivor registered in the caller's commune, with her consent to keep the record."""

    person: PersonIn = Field(repr=False)
    commune_code: Annotated[str | None, s.Text(5, pattern="[0-9]{5}",
                                             bad_pattern=_l("Choose an existing commune code (5 digits)."))]
    consent: ConsentIn

    def check(self) -> s.FieldErrors:
        from casework.geo import data as geo

        errors = _merge(_each("person.", self.person.check()), super().check())
        if self.commune_code and geo.commune(self.commune_code) is None:
            errors["commune_code"] = [_("Choose an existing commune code (5 digits).")]
        return errors


# The flat names of the form and the Excel template, and where each goes in the JSON body.
SURVIVOR_FLAT = {
    "full_name": "person.full_name", "birth_year": "person.birth_year", "sex": "person.sex",
    "ethnicity_code": "person.ethnicity_code", "phone": "person.phone",
    "consent_record": "consent.record", "consent_statistics": "consent.statistics",
    "consent_given_by": "consent.given_by",
    **{name: f"survey.{name}" for name in ("household_size", "monthly_income_vnd", "skills", "assets", "health",
                                           "wishes")},
}
SURVIVOR_ALIASES = {nested: flat for flat, nested in SURVIVOR_FLAT.items()}  # error keys → form fields


def nest(values: Mapping[str, Any], flat: Mapping[str, str] = SURVIVOR_FLAT) -> dict[str, Any]:
    """A form's or a row's flat values shaped like the JSON body (``full_name`` → ``person.full_name``)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        path = flat.get(name, name).split(".")
        into = out
        for part in path[:-1]:
            into = into.setdefault(part, {})
        into[path[-1]] = value
    return out


# --- proposals -------------------------------------------------------------------------------------


class LineIn(Input):
    item: Annotated[str, s.Text(200, required=_l("Name the item."))]
    unit: Annotated[str | None, s.Text(32)]
    quantity: Annotated[int, s.Amount(required=s.REQUIRED, maximum=MAX_QUANTITY)]
    unit_cost_vnd: Annotated[int, s.Amount(required=s.REQUIRED)]
    co_contribution_vnd: Annotated[int | None, s.Amount(allow_zero=True)]

    @property
    def total_vnd(self) -> int:
        return self.quantity * self.unit_cost_vnd

    @property
    def own_vnd(self) -> int:
        return self.co_contribution_vnd or 0

    def check(self) -> s.FieldErrors:
        if self.total_vnd > MAX_AMOUNT_VND:
            return {"unit_cost_vnd": [_("This number is too large.")]}
        if self.own_vnd > self.total_vnd:
            return {"co_contribution_vnd": [_("Her own contribution cannot be more than the line's total.")]}
        return {}


def _lines(value: Any) -> Any:
    if value is None or value == "" or (isinstance(value, list | tuple) and not value):
        raise s.invalid(_l("Add at least one budget line."))
    if not isinstance(value, list | tuple) or not all(isinstance(x, Mapping | LineIn) for x in value):
        raise s.invalid(_l("Budget lines must be a list of objects."))
    if len(value) > MAX_LINES:
        raise s.invalid(_l("At most %(n)d budget lines.", n=MAX_LINES))
    return value


class ProposalIn(Input):
    """A livelihood plan with its budget lines; totals are computed here, never taken from the client."""

    kind: Annotated[str, s.Choice(PROPOSAL_KINDS, _l("Choose a kind of livelihood from the list."),
                                required=_l("Choose a kind of livelihood from the list."))]
    title: Annotated[str, s.Text(200, required=_l("Give the proposal a short title."))] = Field(repr=False)
    description: Annotated[str | None, s.Text(4000)] = Field(None, repr=False)
    expected_results: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)
    budget_lines: Annotated[tuple[LineIn, ...], BeforeValidator(_lines)] = Field(
        (), json_schema_extra={"minItems": 1, "maxItems": MAX_LINES})

    def check(self) -> s.FieldErrors:
        errors: s.FieldErrors = {}
        for i, line in enumerate(self.budget_lines):
            _merge(errors, _each(f"budget_lines.{i}.", line.check()))
        if not errors and self.requested_vnd <= 0:
            errors["budget_lines"] = [_("The proposal asks for no money: her contribution covers everything.")]
        return errors

    @property
    def total_vnd(self) -> int:
        return sum(line.total_vnd for line in self.budget_lines)

    @property
    def co_contribution_vnd(self) -> int:
        return sum(line.own_vnd for line in self.budget_lines)

    @property
    def requested_vnd(self) -> int:
        return self.total_vnd - self.co_contribution_vnd


class NewProposalIn(ProposalIn):
    """A proposal drafted through the API names her (the screens draft it from her page)."""

    survivor_id: Annotated[str, s.Text(64, required=s.REQUIRED)]


class SubmitIn(Input):
    note: Annotated[str | None, s.Text(2000)]


SCORE = _l("Give a score from 1 to 5.")


def _score() -> s.Integer:
    return s.Integer(1, 5, required=SCORE, message=SCORE, out_of_range=SCORE)


class AppraisalIn(Input):
    """A scoring sheet: five criteria from 1 to 5, total out of 25."""

    feasibility: Annotated[int, _score()]
    market: Annotated[int, _score()]
    skills: Annotated[int, _score()]
    risks: Annotated[int, _score()]
    cost: Annotated[int, _score()]
    comment: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)

    @property
    def scores(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in SCORE_CRITERIA}


CHOOSE_DECISION = _l("Choose approve, return for revision or reject.")


class DecisionIn(Input):
    """Approve (an amount up to the request), return for revision (what to change) or reject (why)."""

    decision: Annotated[str, Coded(DECISIONS, CHOOSE_DECISION, required=CHOOSE_DECISION)]
    approved_amount_vnd: Annotated[int | None, s.Amount()]
    note: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)

    def check(self) -> s.FieldErrors:
        # DESIGN §2: a return says what to change and a rejection why; an approval names its amount.
        if self.decision == "return" and not self.note:
            return {"note": [_("Say what should be changed.")]}
        if self.decision == "reject" and not self.note:
            return {"note": [_("Give the reason for the rejection.")]}
        if self.decision == "approve" and self.approved_amount_vnd is None:
            return {"approved_amount_vnd": [_("This field is required.")]}
        return {}


# --- money -----------------------------------------------------------------------------------------

CHOOSE_FORM = _l("Choose cash or in kind.")


class TrancheIn(Input):
    """A tranche paid in cash or in kind (``date`` is the day it was handed over)."""

    amount_vnd: Annotated[int, s.Amount(required=s.REQUIRED)]
    date: Annotated[dt.date, PastDay(required=AS_DAY)]
    form: Annotated[str, s.Choice(DISBURSEMENT_FORMS, CHOOSE_FORM, required=CHOOSE_FORM)]
    handed_over_by: Annotated[str | None, s.Text(200)] = Field(None, repr=False)
    items: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)

    def check(self) -> s.FieldErrors:
        if self.form == "in_kind" and not self.items:
            return {"items": [_("List the goods handed over.")]}
        return {}


class BudgetIn(Input):
    """A province's livelihood allocation for a year, with the amount above which an approval needs two officers."""

    province_code: Annotated[str, s.Text(2, required=s.REQUIRED, pattern="[0-9]{2}")]
    year: Annotated[int, Year()]
    amount_vnd: Annotated[int, s.Amount(required=s.REQUIRED)]
    second_approval_above_vnd: Annotated[int | None, s.Amount()]


# --- monitoring and support ------------------------------------------------------------------------

CHOOSE_PROGRESS = _l("Choose how the plan is going.")


class VisitIn(Input):
    date: Annotated[dt.date, PastDay(required=AS_DAY)]
    progress: Annotated[str, s.Choice(VISIT_PROGRESS, CHOOSE_PROGRESS, required=CHOOSE_PROGRESS)]
    income_before_vnd: Annotated[int | None, s.Amount(allow_zero=True)]
    income_after_vnd: Annotated[int | None, s.Amount(allow_zero=True)]
    funds_used_as_planned: Annotated[bool | None, MaybeFlag()]
    problems: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)
    notes: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)


CHOOSE_EVENT = _l("Choose the kind of support.")


class EventIn(Input):
    """Vocational training, job counselling or a market-linkage event (vietnam-domain §2.5)."""

    kind: Annotated[str, s.Choice(EVENT_KINDS, CHOOSE_EVENT, required=CHOOSE_EVENT)]
    date: Annotated[dt.date, PastDay(required=AS_DAY)]
    completed: Annotated[bool | None, MaybeFlag()]
    description: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)


CHOOSE_OUTCOME = _l("Choose the outcome.")


class CompleteIn(Input):
    outcome: Annotated[str, s.Choice(OUTCOMES, CHOOSE_OUTCOME, required=CHOOSE_OUTCOME)]
    note: Annotated[str | None, s.Text(2000)] = Field(None, repr=False)


class CloseIn(Input):
    reason: Annotated[str, s.Text(2000, required=_l("Give the reason."))] = Field(repr=False)


__all__ = [
    "AppraisalIn", "BudgetIn", "CloseIn", "CompleteIn", "DecisionIn", "EventIn", "LineIn", "NewProposalIn",
    "PersonIn", "ProposalIn", "SubmitIn", "SurveyIn", "SurvivorChangeIn", "SurvivorIn", "TrancheIn", "VisitIn",
    "MAX_AMOUNT_VND", "nest", "parse_day", "parse_whole_number", "today",
]
