from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from casework.forms import MultiCheckboxField, choices
from casework.service_types import SERVICE_TYPES

KIND_LABELS = {
    "commune_police": _l("Commune police"),
    "health_station": _l("Health station"),
    "commune_committee": _l("Commune People's Committee"),
    "legal_aid": _l("Legal-aid centre"),
    "social_assistance": _l("Social-assistance centre"),
    "peace_house": _l("Peace House or other shelter"),
    "hotline_111": _l("Child-protection hotline 111"),
    "other": _l("Other"),
}


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter the organisation's name.")),
                                               Length(max=200, message=_l("At most 200 characters."))])
    kind = SelectField(_l("Kind"), choices=choices(KIND_LABELS), validate_choice=False)
    services = MultiCheckboxField(_l("Services offered"), choices=choices(SERVICE_TYPES),
                                   validate_choice=False)
    province_code = StringField(_l("Province code"), validators=[Optional(), Length(max=2)])
    commune_codes = StringField(_l("Communes served (codes, separated by commas)"),
                                validators=[Optional(), Length(max=2000)])
    contact = StringField(_l("Contact (switchboard or e-mail of the organisation)"),
                          validators=[Optional(), Length(max=200, message=_l("At most 200 characters."))])
    active = BooleanField(_l("Active"), default=True)
