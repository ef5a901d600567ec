"""Helpers shared by the forms of every domain."""

from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, widgets

from casework.errors import DomainError


def apply_domain_errors(form: FlaskForm, error: DomainError, aliases: Mapping[str, str] | None = None) -> None:
    """Show a service's errors on the form's fields; errors without a field go to the top of the form."""
    aliases = aliases or {}
    for name, messages in error.fields.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), *messages]
        else:
            form.form_errors.extend(messages)
    if not error.fields:
        form.form_errors.append(error.message)


def form_status(form: FlaskForm) -> int:
    """422 when the form came back with errors, so the request rolls back anything it touched."""
    return 422 if form.errors or form.form_errors else 200


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes: usable on a phone, unlike a multiple <select>."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def choices(items) -> list[SelectChoice]:
    """Options for a select or checkbox field from ``(value, label)`` pairs or a ``{value: label}`` mapping."""
    pairs = items.items() if hasattr(items, "items") else items
    return [SelectChoice(value, label) for value, label in pairs]
