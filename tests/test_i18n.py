"""Vietnamese is complete: every message in the code has a Vietnamese translation (STYLE rule 7)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# The keywords the code uses; a context (pgettext) makes a message distinct from the same msgid without one.
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2),
            "pgettext": ((1, "c"), 2), "_lp": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}


def _tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tools" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_in_the_sources_is_in_a_catalogue(tmp_path):
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    tool = _tool()
    for package, sources in tool.PACKAGES.items():
        po = ROOT / package / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as fh:
            known = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fh) if m.id}
        method_map = [("**.py", "python"), ("**.html", "jinja2")]
        for source in sources:
            path = ROOT / source
            if not path.exists():
                continue
            if path.is_file():
                from babel.messages.extract import extract_from_file

                found = extract_from_file("jinja2" if path.suffix == ".html" else "python", str(path),
                                          keywords=KEYWORDS)
                messages = [(str(path), *m) for m in found]
            else:
                messages = list(extract_from_dir(str(path), method_map=method_map,
                                                 keywords=KEYWORDS))
            for item in messages:
                msg = item[2]
                msgid = msg if isinstance(msg, str) else msg[0]
                context = item[4]
                assert (context, msgid) in known, (f"{package}: '{msgid}' (context {context!r}) is not in the "
                                                   "catalogue; run tools/i18n.py update")


def test_no_vietnamese_message_is_untranslated():
    tool = _tool()
    missing = {p: tool.untranslated(p) for p in tool.PACKAGES}
    assert all(not m for m in missing.values()), missing


def test_dates_and_money_use_vietnamese_formats():
    from datetime import date

    from casework.text import fold, format_date, format_vnd, vi_sort_key

    assert format_date(date(2026, 3, 5)) == "05/03/2026"
    assert format_vnd(1500000) == "1.500.000 ₫"
    assert fold("Nguyễn Thị Đào") == "nguyen thi dao"
    names = ["Ông", "Đặng", "Dương", "Anh", "Ăn", "Ân", "Ơn"]
    assert sorted(names, key=vi_sort_key) == ["Anh", "Ăn", "Ân", "Dương", "Đặng", "Ông", "Ơn"]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_message_has_one_translation_in_every_catalogue(locale):
    """The app merges all catalogues into one, so the last one loaded would win for a shared msgid: the same
    message (msgid and context) must say the same thing everywhere. A word that means different things in
    different domains gets a context (pgettext) instead."""
    from babel.messages.pofile import read_po

    seen: dict[tuple[str | None, str], dict[str, object]] = {}
    for package in _tool().PACKAGES:
        po = ROOT / package / "translations" / locale / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as fh:
            for m in read_po(fh):
                if m.id and m.string and not m.fuzzy:
                    msgid = m.id if isinstance(m.id, str) else m.id[0]
                    seen.setdefault((m.context, msgid), {})[package] = m.string
    differing = {key: found for key, found in seen.items() if len(set(map(str, found.values()))) > 1}
    assert not differing, "\n".join(f"{key}: {found}" for key, found in differing.items())


def test_home_page_and_her_home_are_different_words(app):
    """The home page title and a woman's home address share the English word; the merged catalogue must keep
    both, in Python and in templates."""
    from flask import render_template_string
    from flask_babel import gettext, pgettext

    with app.test_request_context():
        assert gettext("Home") == "Trang chủ"
        assert pgettext("residence", "Home") == "Nơi ở"
        rendered = render_template_string('{{ _("Home") }}|{{ pgettext("residence", "Home") }}')
        assert rendered == "Trang chủ|Nơi ở"


def test_an_error_page_and_an_api_error_speak_the_requests_language(client):
    """The error pages' words are translated when one is shown, in the language of that request."""
    page = client.get("/no-such-page")
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "Không tìm thấy" in text and "Trang này không tồn tại hoặc bạn không có quyền xem." in text
    api = client.get("/api/v1/no-such-route")
    assert api.status_code == 404
    assert api.get_json()["error"]["message"] == "Trang này không tồn tại hoặc bạn không có quyền xem."
    client.set_cookie("lang", "en")
    page = client.get("/no-such-page")
    assert "This page does not exist or you cannot see it." in page.get_data(as_text=True)
    assert "Không tìm thấy" not in page.get_data(as_text=True)
    assert client.get("/api/v1/no-such-route").get_json()["error"]["message"] == (
        "This page does not exist or you cannot see it.")


def test_each_language_keeps_its_own_compiled_pages_however_often_they_alternate(client):
    """Templates are compiled with their words translated, once per language (casework.i18n); a page loaded once
    is kept by its language's environment, never served to the other language."""
    for _ in range(2):
        client.set_cookie("lang", "vi")
        vietnamese = client.get("/login").get_data(as_text=True)
        client.set_cookie("lang", "en")
        english = client.get("/login").get_data(as_text=True)
        assert "<title>Đăng nhập" in vietnamese and "Sign in" not in vietnamese
        assert "<title>Sign in" in english and "Đăng nhập" not in english
