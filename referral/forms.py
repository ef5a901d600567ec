from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField

from casework.forms import MultiCheckboxField, choices
from casework.service_types import SERVICE_TYPES

KIND_LABELS = {
    "commune_police": _l("Commune police"),
    "health_station": _l("Health station"),
    "commune_committee": _l("Commune People's Committee"),
    "legal_aid": _l("Legal-aid centre"),
    "social_assistance": _l("Social-assistance centre"),
    "peace_house": _l("Peace House or other shelter"),
    "safe_house": _l("Safe house"),
    "hotline_111": _l("Child-protection hotline 111"),
    "other": _l("Other"),
}


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), choices=choices(KIND_LABELS), validate_choice=False)
    services = MultiCheckboxField(_l("Services offered"), choices=choices(SERVICE_TYPES),
                                   validate_choice=False)
    province_code = StringField(_l("Province code"))
    commune_codes = StringField(_l("Communes served (codes, separated by commas)"))
    contact = StringField(_l("Contact (switchboard or e-mail of the organisation)"))
    active = BooleanField(_l("Active"), default=True)


# --- referrals --------------------------------------------------------------------------------------

URGENCY_LABELS = {
    "normal": _l("Normal"),
    # Translators: a referral the organisation must acknowledge within hours (2 h by default).
    "urgent": _l("Urgent"),
}
STATE_LABELS = {
    "sent": _l("Waiting for an answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "completed": _l("Service given"),
    "cancelled": _l("Cancelled"),
}
RESULT_LABELS = {
    "provided": _l("The service was given"),
    "partly_provided": _l("The service was partly given"),
    "not_provided": _l("The service could not be given"),
}


class ReferralForm(FlaskForm):
    """Sending a case: the organisation, urgency and reason; the shared fields come from her consent.
    Read through ``referral.schemas.ReferralIn`` (the forms of this module render and carry the CSRF token;
    the schemas check the values)."""

    service = HiddenField()
    organisation_id = RadioField(_l("Organisation"), choices=[], validate_choice=False)
    urgency = RadioField(_l("Urgency"), choices=choices(URGENCY_LABELS), default="normal", validate_choice=False)
    reason = TextAreaField(_l("What does she need from this organisation?"))
    override = BooleanField(_l("Her life is in danger: share without her consent"))
    override_reason = TextAreaField(_l("Why is her life in danger?"))
    override_fields = MultiCheckboxField(_l("Information to share"), choices=[], validate_choice=False)


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why can the organisation not take this referral?"))


class CompleteForm(FlaskForm):
    result = RadioField(_l("Was the service given?"), choices=choices(RESULT_LABELS), default="provided",
                        validate_choice=False)
    service_date = StringField(_l("Date of the service"))
    service_given = TextAreaField(_l("What was done"))
    outcome = TextAreaField(_l("Outcome"))


class ActionForm(FlaskForm):
    """A button only (accept, cancel, mark as read): the CSRF token is the whole form."""


def deadlines_form(services: dict, values: dict[str, tuple[int, int]], formdata=None) -> FlaskForm:
    """A form with two hour fields per kind of service (normal, urgent), built for the current list."""

    class DeadlinesForm(FlaskForm):
        pass

    for code, label in services.items():
        setattr(DeadlinesForm, f"hours_{code}", StringField(label))
        setattr(DeadlinesForm, f"urgent_{code}", StringField(_l("%(service)s, urgent", service=label)))
    form = DeadlinesForm(formdata=formdata)
    if formdata is None:
        for code, (hours, urgent) in values.items():
            getattr(form, f"hours_{code}").data = str(hours)
            getattr(form, f"urgent_{code}").data = str(urgent)
    return form
