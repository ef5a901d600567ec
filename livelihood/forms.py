"""Forms of the livelihood screens (the words for the domain's codes are ``livelihood.codes``).

Numbers and dates are read by the same parsers as the API and the Excel import
(``schemas.parse_whole_number`` / ``parse_day``), so "1.500.000" is accepted everywhere and
"1,5" is refused everywhere with the same message.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from casework.forms import MultiCheckboxField, SelectField, choices
from casework.geo import data as geo
from livelihood import schemas
from livelihood.codes import (
    CONSENT_GIVER_LABELS,
    ENTITLEMENT_LABELS,
    EVENT_LABELS,
    FORM_LABELS,
    KIND_LABELS,
    OUTCOME_LABELS,
    PROGRESS_LABELS,
    SEX_LABELS,
    SURVIVOR_STATUS_LABELS,
)
from livelihood.models import CHILD_ENTITLEMENTS


def _choices(labels) -> list:
    return choices(labels)


class _ParsedField(StringField):
    """A text input read into ``value`` by ``parse``; what ``parse`` refuses (ValueError) is the field's error."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.value: Any = None
        self.parse_error: str | None = None

    def parse(self, raw: str) -> Any:
        raise NotImplementedError

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.value, self.parse_error = None, None
        raw = (self.data or "").strip()
        if raw:
            try:
                self.value = self.parse(raw)
            except ValueError as e:
                self.parse_error = str(e)

    def pre_validate(self, form):
        if self.parse_error:
            raise ValidationError(self.parse_error)


class WholeNumberField(_ParsedField):
    """Text input read as a whole number (VND or a count); the parse error is the field's error."""

    def __init__(self, label=None, validators=None, allow_zero: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.allow_zero = allow_zero

    @property
    def number(self) -> int | None:
        return self.value

    def parse(self, raw: str) -> int:
        return schemas.parse_whole_number(raw, allow_zero=self.allow_zero)


class DayField(_ParsedField):
    """A date typed as dd/mm/yyyy or chosen in the phone's date picker (YYYY-MM-DD)."""

    @property
    def day(self) -> date | None:
        return self.value

    def parse(self, raw: str) -> date:
        return schemas.parse_day(raw)

    def process_data(self, value):
        super().process_data(value.isoformat() if hasattr(value, "isoformat") else value)
        self.value = value if hasattr(value, "isoformat") else None


def _required(message):
    return InputRequired(message=message)


def _max(n: int) -> Length:
    return Length(max=n, message=_l("At most %(max)d characters."))


class ChoiceField(RadioField):
    """Radio buttons whose choice the service checks, with the service's own message."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(label, validators, **kwargs)


class SurvivorForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[_required(_l("Enter her full name.")), _max(200)])
    birth_year = WholeNumberField(_l("Year of birth"))
    sex = ChoiceField(_l("Sex"), choices=_choices(SEX_LABELS), default="female")
    ethnicity_code = SelectField(_l("Ethnic group"), choices=[], validate_choice=False)
    phone = StringField(_l("Phone (if safe to call)"), validators=[Optional(), _max(40)])
    status = ChoiceField(_l("Status under Law 53/2024"), choices=_choices(SURVIVOR_STATUS_LABELS),
                        default="being_identified")
    status_on = DayField(_l("Date of the status"))
    status_authority = StringField(_l("Body that decided (required for \"not a victim\")"),
                                   validators=[Optional(), _max(200)])
    supports_received = MultiCheckboxField(_l("Support already received"), choices=_choices(ENTITLEMENT_LABELS),
                                        validate_choice=False)
    household_size = WholeNumberField(_l("People in her household"))
    monthly_income_vnd = WholeNumberField(_l("Household income per month (VND)"), allow_zero=True)
    skills = TextAreaField(_l("Skills and experience"), validators=[Optional(), _max(2000)])
    assets = TextAreaField(_l("Land, animals, tools"), validators=[Optional(), _max(2000)])
    health = TextAreaField(_l("Health"), validators=[Optional(), _max(2000)])
    wishes = TextAreaField(_l("What she wishes to do"), validators=[Optional(), _max(2000)])
    consent_record = BooleanField(_l("She agrees that this record is kept"))
    consent_statistics = BooleanField(_l("She agrees to be counted in anonymous statistics"))
    consent_given_by = ChoiceField(_l("Consent given by"), choices=_choices(CONSENT_GIVER_LABELS), default="self")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ethnicity_code.choices = choices([("", _l("Not recorded"))] + [
            (g.code, f"{g.code} – {g.name}") for g in geo.ethnic_groups()])
        if editing:
            for name in ("full_name", "birth_year", "sex", "ethnicity_code", "phone", "consent_record",
                         "consent_given_by"):
                delattr(self, name)


class SearchForm(FlaskForm):
    q = StringField(_l("Name"), validators=[_required(_l("Enter a name or part of it.")), _max(200)])


LINE_FIELDS = ("item", "unit", "quantity", "unit_cost_vnd", "co_contribution_vnd")


class LineForm(Form):
    item = StringField(_l("Item"), validators=[Optional(), _max(200)])
    unit = StringField(_l("Unit"), validators=[Optional(), _max(32)])
    quantity = WholeNumberField(_l("Quantity"))
    unit_cost_vnd = WholeNumberField(_l("Unit cost (VND)"))
    co_contribution_vnd = WholeNumberField(_l("Her own contribution (VND)"), allow_zero=True)

    def is_blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.item, self.unit, self.quantity, self.unit_cost_vnd,
                                                       self.co_contribution_vnd))


class ProposalForm(FlaskForm):
    kind = SelectField(_l("Kind of livelihood"), choices=_choices(KIND_LABELS), validate_choice=False)
    title = StringField(_l("Title"), validators=[_required(_l("Give the proposal a short title.")),
                                                 _max(200)])
    description = TextAreaField(_l("What she will do"), validators=[Optional(), _max(4000)])
    expected_results = TextAreaField(_l("Expected results"), validators=[Optional(), _max(2000)])
    lines = FieldList(FormField(LineForm), min_entries=4, max_entries=schemas.MAX_LINES)

    def filled_positions(self) -> list[int]:
        return [i for i, entry in enumerate(self.lines) if not entry.form.is_blank()]


SCORES = [(str(i), str(i)) for i in range(1, 6)]


class AppraisalForm(FlaskForm):
    feasibility = ChoiceField(_l("Feasibility"), choices=_choices(SCORES))
    market = ChoiceField(_l("Market"), choices=_choices(SCORES))
    skills = ChoiceField(_l("Her skills"), choices=_choices(SCORES))
    risks = ChoiceField(_l("Risks (5 = few risks)"), choices=_choices(SCORES))
    cost = ChoiceField(_l("Cost (5 = good value)"), choices=_choices(SCORES))
    comment = TextAreaField(_l("Comment"), validators=[Optional(), _max(2000)])


class DecisionForm(FlaskForm):
    decision = ChoiceField(_l("Decision"), choices=_choices([("approve", _l("Approve")),
                                                             ("return", _l("Return for revision")),
                                                             ("reject", _l("Reject"))]))
    approved_amount_vnd = WholeNumberField(_l("Approved amount (VND)"))
    note = TextAreaField(_l("Note: what to change, or the reason"), validators=[Optional(), _max(2000)])


class DisbursementForm(FlaskForm):
    amount_vnd = WholeNumberField(_l("Amount (VND)"))
    paid_on = DayField(_l("Date handed over"))
    form = ChoiceField(_lp("disbursement", "Form"), choices=_choices(FORM_LABELS), default="cash")
    items = TextAreaField(_l("Goods handed over (in kind)"), validators=[Optional(), _max(2000)])
    handed_over_by = StringField(_l("Handed over by"), validators=[Optional(), _max(200)])
    receipt = FileField(_l("Receipt (photo or PDF)"))


class VisitForm(FlaskForm):
    visited_on = DayField(_l("Date of the visit"))
    progress = ChoiceField(_l("Progress"), choices=_choices(PROGRESS_LABELS))
    income_before_vnd = WholeNumberField(_l("Income per month before (VND)"), allow_zero=True)
    income_after_vnd = WholeNumberField(_l("Income per month now (VND)"), allow_zero=True)
    funds_used_as_planned = ChoiceField(_l("Money used as planned"), choices=_choices([
        ("yes", _l("Yes")), ("no", _l("No")), ("unknown", _l("Not known yet"))]), default="unknown")
    problems = TextAreaField(_l("Problems"), validators=[Optional(), _max(2000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), _max(2000)])
    photos = MultipleFileField(_l("Photos"))


class ChildForm(FlaskForm):
    """A child under 18 who came with her (Law 53/2024 Art. 37(2)): items a–h of Art. 37(1) only."""

    name = StringField(_l("The child's name"), validators=[Optional(), _max(200)])
    birth_year = StringField(_l("The child's year of birth"))
    sex = ChoiceField(_l("Sex"), choices=_choices(SEX_LABELS), default="female")
    supports = MultiCheckboxField(_l("Support the child has already received"), validate_choice=False,
                                  choices=_choices({k: ENTITLEMENT_LABELS[k] for k in CHILD_ENTITLEMENTS}))


class EventForm(FlaskForm):
    kind = ChoiceField(_l("Kind of support"), choices=_choices(EVENT_LABELS))
    held_on = DayField(_l("Date"))
    completed = BooleanField(_l("Training completed"))
    description = TextAreaField(_l("What it was (course, employer, buyer)"),
                                validators=[Optional(), _max(2000)])


class CompleteForm(FlaskForm):
    outcome = ChoiceField(_l("Outcome"), choices=_choices(OUTCOME_LABELS))
    note = TextAreaField(_l("Note"), validators=[Optional(), _max(2000)])


class CloseForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), _max(2000)])


class BudgetForm(FlaskForm):
    year = WholeNumberField(_l("Year"))
    amount_vnd = WholeNumberField(_l("Allocation (VND)"))
    second_approval_above_vnd = WholeNumberField(_l("Second approval needed above (VND, optional)"))


class ImportForm(FlaskForm):
    file = FileField(_l("Excel file (.xlsx)"))


def uploads(field) -> list:
    """The files chosen in a file field, as ``NewAttachment`` (read up to the request's size limit)."""
    from casework.protect.attachments import NewAttachment

    items = field.data if isinstance(field.data, list) else [field.data]
    return [NewAttachment(data=f.read(), filename=f.filename or "") for f in items
            if f is not None and getattr(f, "filename", None)]
