from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, SelectMultipleField, StringField

from casework.auth.roles import ROLE_LABELS
from casework.auth.schemas import Credentials, Enrolment, EnrolmentCode, NewAccount, PasswordChange
from casework.forms import choices
from casework.schemas import Schema, _Marker

# The screens of the accounts. What a field accepts, and the message when it does not, is declared once in
# casework/auth/schemas.py, which the views read every submitted form through (issue 14); these classes
# give the labels, the widgets and the CSRF token.


def declared(schema: type[Schema], name: str) -> dict[str, Any]:
    """The HTML attributes of a field as its schema declares it: ``required`` and ``maxlength``."""
    marker = next(m for m in schema.model_fields[name].metadata if isinstance(m, _Marker))
    attributes: dict[str, Any] = {}
    if getattr(marker, "required", None) is not None:
        attributes["required"] = True
    limit = getattr(marker, "max_length", None)
    if limit is not None:
        attributes["maxlength"] = limit
    return attributes


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), render_kw=declared(Credentials, "username"))
    password = PasswordField(_l("Password"), render_kw=declared(Credentials, "password"))
    totp = StringField(_l("Code from your authenticator app"), render_kw=declared(Credentials, "totp"))


class EnrolForm(FlaskForm):
    code = StringField(_l("6-digit code"), render_kw=declared(Enrolment, "code"))


def role_choices() -> list[SelectChoice]:
    return choices([("", _l("— Choose a role —")), *((role.value, label) for role, label in ROLE_LABELS.items())])


class UserForm(FlaskForm):
    username = StringField(_l("Username"), render_kw=declared(NewAccount, "username"))
    display_name = StringField(_l("Display name"), render_kw=declared(NewAccount, "display_name"))
    role = SelectField(_l("Role"), choices=role_choices, validate_choice=False,
                       render_kw=declared(NewAccount, "role"))
    # Issue 13: places and organisations are picked by name; a search step narrows the lists without JavaScript.
    place_q = StringField(_l("Find a province, commune or organisation by name"),
                          render_kw=declared(NewAccount, "place_q"))
    province = SelectField(_l("Province"), choices=[], validate_choice=False)
    commune = SelectField(_l("Commune"), choices=[], validate_choice=False)
    addresses = SelectMultipleField(_l("Trusted addresses (hosts)"), choices=[], validate_choice=False)
    organisation = SelectField(_l("Organisation"), choices=[], validate_choice=False)
    password = PasswordField(_l("First password"), render_kw=declared(NewAccount, "password"))
    can_override_consent = BooleanField(_l("May override consent when a life is in danger"))


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), render_kw=declared(PasswordChange, "current_password"))
    new_password = PasswordField(_l("New password"), render_kw=declared(PasswordChange, "new_password"))
    totp = StringField(_l("Code from your authenticator app"), render_kw=declared(PasswordChange, "totp"))


class EnrolmentCodeForm(FlaskForm):
    enrolment_code = StringField(_l("Enrolment code"), render_kw=declared(EnrolmentCode, "enrolment_code"))
