"""A template's constant words are translated when it is compiled, per language (casework/i18n.py, issue 18):
each page still speaks the language of its request, and a folded word renders exactly as Jinja's gettext would."""

from __future__ import annotations

import pytest

from casework.i18n import LocaleEnvironment


def test_page_words_follow_the_language_of_each_request(client):
    client.delete_cookie("lang")
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get("/login").get_data(as_text=True)
    assert "Sign in" in english and "Đăng nhập" not in english
    client.set_cookie("lang", "vi")
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)


# Each snippet rendered by the language's environment (its words folded at compile time) and by the base one
# (``_`` called at render time through Flask-Babel) must give the same text.
SNIPPETS = [
    '{{ _("Case %(ref)s", ref=ref) }}',  # a translated word with a variable, escaped
    '{{ _("Sign in") }} {{ gettext("Sign in") }}',
    '{{ pgettext("residence", "Home") }} {{ pgettext("residence", "Home %(x)s", x=ref) }}',
    '{{ _("100%% of <b>them</b>") }}',  # newstyle gettext always formats; the markup of the word is kept
    '{% autoescape false %}{{ _("Case %(ref)s", ref=ref) }}{% endautoescape %}',
    '{{ _("Sign in")|length }} {{ (_("Sign in") ~ ref)|e }}',
    '{% macro m() %}{% set _ = "shadowed" %}{{ _ }}{% endmacro %}{{ m() }} {{ _("Sign in") }}',
    '{% for _ in [1] %}{{ _ }}{% endfor %}{{ _("Sign in") }}',
    '{{ ngettext("%(num)d night", "%(num)d nights", 2) }} {{ _(word) }}',
]


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("snippet", SNIPPETS)
def test_a_folded_word_renders_as_gettext_renders_it(app, lang, snippet):
    assert isinstance(app.jinja_env, LocaleEnvironment)
    with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
        language = app.jinja_env._for_locale()
        assert language is not app.jinja_env
        values = {"ref": "<i>HS-1</i>", "word": "Sign in"}
        folded = language.from_string(snippet).render(values)
        at_render_time = app.jinja_env.from_string(snippet).render(values)
    assert folded == at_render_time
    if lang == "vi" and "Sign in" in snippet:
        assert "Đăng nhập" in folded


def test_the_language_environment_compiles_without_the_call(app):
    with app.test_request_context(headers={"Cookie": "lang=vi"}):
        language = app.jinja_env._for_locale()
        code = language.compile('{{ _("Sign in") }}', raw=True)
    assert "Đăng nhập" in code and "gettext" not in code
