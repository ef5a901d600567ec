"""Helpers shared by the forms of every domain."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import wtforms
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field, SelectChoice, SelectMultipleField, widgets
from wtforms.fields import FieldList, FormField

from casework.errors import DomainError, ValidationError


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


def merge_errors(form: FlaskForm, errors: Mapping[str, list[str]] | DomainError,
                 aliases: Mapping[str, str] | None = None) -> None:
    """Add errors to the form without repeating one: a field that already shows the field check's message
    (say "not a date") does not also get the service's ("enter the date") for the same value."""
    if isinstance(errors, DomainError):
        fields, message = errors.fields, errors.message
    else:
        fields, message = dict(errors), None
    aliases = aliases or {}
    for name, messages in fields.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            if not field.errors:
                field.errors = list(messages)
        else:
            form.form_errors.extend(m for m in messages if m not in form.form_errors)
    if message is not None and not fields and message not in form.form_errors:
        form.form_errors.append(message)


@dataclass(frozen=True)
class Submitted:
    """What :func:`validate_in_one_round` found: ``saved`` with the service's ``value``, or not saved."""

    saved: bool
    value: Any = None


def validate_in_one_round(form: FlaskForm, save: Callable[[], Any], *,
                          field_errors: Mapping[str, list[str]] | None = None,
                          aliases: Mapping[str, str] | None = None,
                          catch: type[DomainError] | tuple[type[DomainError], ...] = ValidationError,
                          apply: Callable[[FlaskForm, DomainError], None] | None = None) -> Submitted:
    """Validation in one round (issue 13): the form's field checks and the service's own checks in one answer.

    ``field_errors`` are the view's parsing errors ({field: messages}); ``save`` calls the service, which
    raises a :class:`ValidationError` carrying {field: messages}. The service runs inside a savepoint even when
    a field check failed, so that its own errors join the field errors; the savepoint is then rolled back and
    nothing is saved. A form whose CSRF token failed never reaches the service.
    """
    from casework.extensions import db

    form.validate()
    if field_errors:
        merge_errors(form, field_errors, aliases)
    if form.errors.get("csrf_token"):
        return Submitted(False)
    failed = bool(form.errors or form.form_errors)
    savepoint = db.session.begin_nested()
    try:
        value = save()
    except catch as e:
        if savepoint.is_active:
            savepoint.rollback()
        if apply is not None:
            apply(form, e)
        else:
            merge_errors(form, e, aliases)
        return Submitted(False)
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if failed:
        savepoint.rollback()
        return Submitted(False)
    savepoint.commit()
    return Submitted(True, value)


def submitted(form: FlaskForm, save: Callable[[], Any], done: str | Callable[[Any], str],
              to: str | Callable[[Any], str], aliases: Mapping[str, str] | None = None) -> Any:
    """A valid form given to the service: a redirect to ``to`` with ``done`` flashed (either may be made from
    what ``save`` returned), or None (not sent, or the service's :class:`ValidationError` now on the form) to
    show the form again."""
    from flask import flash, redirect

    if not form.validate_on_submit():
        return None
    try:
        value = save()
    except ValidationError as e:
        apply_domain_errors(form, e, aliases)
        return None
    flash(done(value) if callable(done) else done, "info")
    return redirect(to(value) if callable(to) else to)


def _fields(form: Any) -> Iterator[Field]:
    for f in form:
        if isinstance(f, FormField):
            yield from _fields(f.form)
        elif isinstance(f, FieldList):
            for entry in f:
                yield from (_fields(entry.form) if isinstance(entry, FormField) else [entry])
        else:
            yield f


def error_summary(form: Any) -> list[tuple[str | None, str, str]]:
    """Every error of the form for the summary at its top: (anchor id or None, label, message), errors without
    a field first, then the fields in the order of the form."""
    out: list[tuple[str | None, str, str]] = [(None, "", str(m)) for m in getattr(form, "form_errors", [])]
    for f in _fields(form):
        if f.name == "csrf_token" or f.type in ("HiddenField", "CSRFTokenField"):
            out.extend((None, "", str(m)) for m in f.errors or [])
            continue
        label = f.label.text if f.label is not None else ""
        for m in f.errors or []:
            out.append((f.id, str(label), str(m)))
    return out


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


class Select(widgets.Select):
    """wtforms' ``<select>``, its options written in one pass.

    Issue 18: the intake form offers about 500 options (the pre-2025 communes of the province, her home
    commune, the 54 ethnic groups, …). wtforms writes each option through ``html_params``, which formats every
    attribute with markupsafe's pure-Python ``Markup.format``: about two thirds of the intake form's time went
    to its options. The same escaping here (``escape`` turns ``"`` into ``&#34;``, as wtforms' does before its
    own replacement), the same options and groups; an option with its own attributes (``render_kw``) and a
    multiple select are left to wtforms. ``selected`` follows ``value``, as in the templates' own options.
    """

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        if self.multiple:
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", None)
        for name in self.validation_attrs:  # wtforms' own rule: a flag the field has becomes an attribute
            value = getattr(flags, name, None)
            if value is not None and name not in kwargs:
                kwargs[name] = value
        html = [f"<select {widgets.html_params(name=field.name, **kwargs)}>"]
        if field.has_groups():
            for group, group_choices in field.iter_groups():
                if group is not None:
                    html.append(f'<optgroup label="{escape(group)}">')
                html.extend(self._option(choice) for choice in group_choices)
                if group is not None:
                    html.append("</optgroup>")
        else:
            html.extend(self._option(choice) for choice in field.iter_choices())
        html.append("</select>")
        # Every value and label is escaped above (and by html_params and wtforms for the rest).
        return Markup("".join(html))  # noqa: S704  # nosec B704

    @staticmethod
    def _option(choice: Any) -> str:
        if choice.render_kw:
            return str(widgets.Select.render_option(choice))
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = " selected" if choice.selected else ""
        return f'<option value="{escape(value)}"{selected}>{escape(choice.label or choice.value)}</option>'


class SelectField(wtforms.SelectField):
    """wtforms' ``SelectField`` drawn by :class:`Select`: every select of the app's forms."""

    widget = Select()
