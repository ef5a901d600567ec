"""The screens' forms: they render the fields and carry the CSRF token; ``referral.schemas`` reads and checks
what they submit."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField

from casework.forms import MultiCheckboxField, SelectField, choices
from casework.schemas import Schema, Text
from casework.service_types import SERVICE_TYPES
from referral.codes import KIND_LABELS, RESULT_LABELS, URGENCY_LABELS
from referral.schemas import CompletionIn, DeclineIn, OrganisationIn, ReferralIn


def limit(schema: type[Schema], name: str, **hints: Any) -> dict[str, Any]:
    """The page's ``maxlength`` for a text field, from the schema that checks it."""
    marker = next(item for item in schema.model_fields[name].metadata if isinstance(item, Text))
    return {"maxlength": marker.max_length, **hints}


class OrganisationForm(FlaskForm):
    # The page's hints only (a browser without them still gets the schema's messages, referral.schemas).
    name = StringField(_l("Name"), render_kw=limit(OrganisationIn, "name", required=True))
    kind = SelectField(_l("Kind"), choices=choices(KIND_LABELS), validate_choice=False)
    services = MultiCheckboxField(_l("Services offered"), choices=choices(SERVICE_TYPES),
                                   validate_choice=False)
    province_code = StringField(_l("Province code"), render_kw=limit(OrganisationIn, "province_code"))
    commune_codes = StringField(_l("Communes served (codes, separated by commas)"), render_kw={"maxlength": 2000})
    contact = StringField(_l("Contact (switchboard or e-mail of the organisation)"),
                          render_kw=limit(OrganisationIn, "contact"))
    active = BooleanField(_l("Active"), default=True)


# --- referrals --------------------------------------------------------------------------------------


class ReferralForm(FlaskForm):
    """Sending a case: the organisation, urgency and reason; the shared fields come from her consent."""

    service = HiddenField()
    organisation_id = RadioField(_l("Organisation"), choices=[], validate_choice=False)
    urgency = RadioField(_l("Urgency"), choices=choices(URGENCY_LABELS), default="normal", validate_choice=False)
    reason = TextAreaField(_l("What does she need from this organisation?"), render_kw=limit(ReferralIn, "reason"))
    override = BooleanField(_l("Her life is in danger: share without her consent"))
    override_reason = TextAreaField(_l("Why is her life in danger?"), render_kw=limit(ReferralIn, "override_reason"))
    override_fields = MultiCheckboxField(_l("Information to share"), choices=[], validate_choice=False)


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why can the organisation not take this referral?"),
                           render_kw=limit(DeclineIn, "reason"))


class CompleteForm(FlaskForm):
    result = RadioField(_l("Was the service given?"), choices=choices(RESULT_LABELS), default="provided",
                        validate_choice=False)
    service_date = StringField(_l("Date of the service"), render_kw={"maxlength": len("05/03/2026")})
    service_given = TextAreaField(_l("What was done"), render_kw=limit(CompletionIn, "service_given"))
    outcome = TextAreaField(_l("Outcome"), render_kw=limit(CompletionIn, "outcome"))


class ActionForm(FlaskForm):
    """A button only (accept, cancel, mark as read): the CSRF token is the whole form."""


def deadlines_form(services: dict, values: dict[str, tuple[int, int]], formdata=None) -> FlaskForm:
    """A form with two hour fields per kind of service (normal, urgent), built for the current list."""

    class DeadlinesForm(FlaskForm):
        pass

    for code, label in services.items():
        setattr(DeadlinesForm, f"hours_{code}", StringField(label, render_kw={"maxlength": 4}))
        setattr(DeadlinesForm, f"urgent_{code}", StringField(_l("%(service)s, urgent", service=label),
                                                             render_kw={"maxlength": 4}))
    form = DeadlinesForm(formdata=formdata)
    if formdata is None:
        for code, (hours, urgent) in values.items():
            getattr(form, f"hours_{code}").data = str(hours)
            getattr(form, f"urgent_{code}").data = str(urgent)
    return form
