from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional

from casework.auth.roles import ROLE_LABELS
from casework.forms import choices


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(message=_l("Enter your username.")),
                                                       Length(max=256)])
    # Length is checked in the service so that a too-long password gets the one generic message.
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Enter your password."))])
    totp = StringField(_l("Code from your authenticator app"), validators=[Optional(), Length(max=32)])


class EnrolForm(FlaskForm):
    code = StringField(_l("6-digit code"), validators=[DataRequired(message=_l("Enter the 6-digit code.")),
                                                      Length(max=12)])


def role_choices() -> list[SelectChoice]:
    return choices([("", _l("— Choose a role —")), *((role.value, label) for role, label in ROLE_LABELS.items())])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(message=_l("Enter a username.")),
                                                       Length(max=64, message=_l("At most 64 characters."))])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=role_choices,
                       validators=[DataRequired(message=_l("Choose a role from the list."))])
    # Issue 13: places and organisations are picked by name; a search step narrows the lists without JavaScript.
    place_q = StringField(_l("Find a province, commune or organisation by name"),
                          validators=[Optional(), Length(max=80)])
    province = SelectField(_l("Province"), choices=[], validate_choice=False)
    commune = SelectField(_l("Commune"), choices=[], validate_choice=False)
    addresses = SelectMultipleField(_l("Trusted addresses (hosts)"), choices=[], validate_choice=False)
    organisation = SelectField(_l("Organisation"), choices=[], validate_choice=False)
    password = PasswordField(_l("First password"), validators=[Optional(), Length(max=128)])
    can_override_consent = BooleanField(_l("May override consent when a life is in danger"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(message=_l("Enter your current password.")),
                                                 Length(max=1024)])
    new_password = PasswordField(_l("New password"),
                                 validators=[DataRequired(message=_l("Enter a new password.")), Length(max=1024)])
    totp = StringField(_l("Code from your authenticator app"), validators=[Optional(), Length(max=32)])


class EnrolmentCodeForm(FlaskForm):
    enrolment_code = StringField(_l("Enrolment code"),
                                 validators=[DataRequired(message=_l("Enter the enrolment code.")), Length(max=40)])
