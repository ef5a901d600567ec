from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectMultipleField, StringField
from wtforms.fields.choices import SelectFieldBase
from wtforms.fields.core import UnboundField

from casework.auth.roles import ROLE_LABELS
from casework.auth.schemas import Credentials, Enrolment, EnrolmentCode, NewAccount, PasswordChange
from casework.forms import SelectField, choices
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


class SchemaForm(FlaskForm):
    """A form read by its ``schema``: each field the schema declares with a marker gets its HTML attributes
    from there."""

    schema: ClassVar[type[Schema] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        schema = cls.__dict__.get("schema")
        for name, field in vars(cls).items():
            if schema is None or not isinstance(field, UnboundField) or not _has_marker(schema, name):
                continue
            attributes = declared(schema, name)
            if issubclass(field.field_class, SelectFieldBase):
                attributes.pop("maxlength", None)  # a list offers its choices; there is no length to limit
            if attributes:
                field.kwargs.setdefault("render_kw", attributes)


def _has_marker(schema: type[Schema], name: str) -> bool:
    field = schema.model_fields.get(name)
    return field is not None and any(isinstance(m, _Marker) for m in field.metadata)


# The screens in the order of a first sign-in: the account, the enrolment code of a reset, the authenticator's
# first code, her own password; then the admin's account form.


class LoginForm(SchemaForm):
    schema = Credentials

    username = StringField(_l("Username"))
    password = PasswordField(_l("Password"))
    totp = StringField(_l("Code from your authenticator app"))


class EnrolmentCodeForm(SchemaForm):
    schema = EnrolmentCode

    enrolment_code = StringField(_l("Enrolment code"))


class EnrolForm(SchemaForm):
    schema = Enrolment

    code = StringField(_l("6-digit code"))


class PasswordForm(SchemaForm):
    schema = PasswordChange

    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(_l("New password"))
    totp = StringField(_l("Code from your authenticator app"))


def role_choices() -> list[SelectChoice]:
    return choices([("", _l("— Choose a role —")), *((role.value, label) for role, label in ROLE_LABELS.items())])


class UserForm(SchemaForm):
    schema = NewAccount

    username = StringField(_l("Username"))
    display_name = StringField(_l("Display name"))
    role = SelectField(_l("Role"), choices=role_choices, validate_choice=False)
    # Issue 13: places and organisations are picked by name; a search step narrows the lists without JavaScript.
    place_q = StringField(_l("Find a province, commune or organisation by name"))
    province = SelectField(_l("Province"), choices=[], validate_choice=False)
    commune = SelectField(_l("Commune"), choices=[], validate_choice=False)
    addresses = SelectMultipleField(_l("Trusted addresses (hosts)"), choices=[], validate_choice=False)
    organisation = SelectField(_l("Organisation"), choices=[], validate_choice=False)
    password = PasswordField(_l("First password"))
    can_override_consent = BooleanField(_l("May override consent when a life is in danger"))
