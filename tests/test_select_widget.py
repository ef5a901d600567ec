"""The app's select widget (casework.forms.Select, issue 18) shows what wtforms' own would: the same options,
values, labels, selection and groups, escaped the same way; only the order of an option's attributes differs."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import wtforms
from flask_babel import lazy_gettext as _l
from wtforms import Form, widgets

from casework.forms import Select, SelectField, choices


class _Tags(HTMLParser):
    """Each start tag with its attributes (as a sorted tuple), each run of text, each end tag, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.items.append(("start", tag, tuple(sorted(attrs))))

    def handle_endtag(self, tag):
        self.items.append(("end", tag))

    def handle_data(self, data):
        self.items.append(("text", data))


def _parsed(markup: str) -> list[tuple]:
    parser = _Tags()
    parser.feed(str(markup))
    return parser.items


TRICKY = choices([("a\"b", 'Quote " and <b>tag</b>'), ("x&y", "Ampersand & 'single'"), ("", "— chọn —"),
                  ("91", "Tỉnh Kiên Giang")])


def _both(field_kwargs: dict, data: object = None, **render: object) -> tuple[str, str]:
    class Ours(Form):
        f = SelectField(**field_kwargs)

    class Theirs(Form):
        f = wtforms.SelectField(**field_kwargs)

    ours, theirs = Ours(data={"f": data}), Theirs(data={"f": data})
    return str(ours.f(**render)), str(theirs.f(**render))


@pytest.mark.parametrize("data", [None, "x&y", 'a"b', "91"])
def test_the_same_options_and_selection_as_wtforms(app, data):
    with app.test_request_context():
        mine, theirs = _both({"choices": TRICKY, "validate_choice": False}, data, **{"aria-describedby": "f-hint"})
    assert _parsed(mine) == _parsed(theirs)
    assert mine.count(" selected") == (1 if data is not None else 0)
    assert "<b>" not in mine and "&lt;b&gt;" in mine  # labels escaped


def test_groups_required_flag_and_translated_labels(app):
    groups = [wtforms.SelectChoice("1", "Xã <1>", optgroup="Tỉnh A"),
              wtforms.SelectChoice("2", _l("Other"), optgroup="Tỉnh B"),
              wtforms.SelectChoice("3", "Xã 3", optgroup="Tỉnh B")]
    with app.test_request_context():
        mine, theirs = _both({"choices": groups, "validators": [wtforms.validators.InputRequired()]}, "2")
    assert _parsed(mine) == _parsed(theirs)
    assert mine.count("<optgroup") == 2 and " required" in mine and "Khác" in mine


def test_boolean_values_and_options_with_their_own_attributes(app):
    options = [wtforms.SelectChoice(True, "Có"), wtforms.SelectChoice("n", "Không", render_kw={"disabled": True})]
    with app.test_request_context():
        mine, theirs = _both({"choices": options, "coerce": str, "validate_choice": False}, "True")
    assert _parsed(mine) == _parsed(theirs)
    assert 'value="True" selected' in mine and "disabled" in mine


def test_a_multiple_select_is_left_to_wtforms(app):
    class Many(Form):
        f = wtforms.SelectMultipleField(choices=TRICKY, widget=Select(multiple=True))

    class Theirs(Form):
        f = wtforms.SelectMultipleField(choices=TRICKY, widget=widgets.Select(multiple=True))

    with app.test_request_context():
        assert str(Many(data={"f": ["91"]}).f()) == str(Theirs(data={"f": ["91"]}).f())


def test_every_select_of_the_app_uses_it():
    """A form that imports wtforms' own SelectField would draw its options the slow way again."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    imports = re.compile(r"from wtforms import (\([^)]*\)|[^\n]*)")
    widget_home = root / "casework" / "forms.py"  # subclasses wtforms.SelectField: the one place that may name it
    offenders = []
    for path in (p for folder in ("casework", "referral", "livelihood") for p in (root / folder).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        imported = re.search(r"\bSelectField\b", " ".join(imports.findall(source)))
        named = path != widget_home and "wtforms.SelectField" in source
        if imported or named:
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
    import referral.forms

    assert referral.forms.SelectField is SelectField
