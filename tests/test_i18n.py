"""Vietnamese is complete: every message in the code has a Vietnamese translation (STYLE rule 7)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
            known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
        method_map = [("**.py", "python"), ("**.html", "jinja2")]
        for source in sources:
            path = ROOT / source
            if not path.exists():
                continue
            if path.is_file():
                from babel.messages.extract import extract_from_file

                found = extract_from_file("jinja2" if path.suffix == ".html" else "python", str(path),
                                          keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None,
                                                    "ngettext": (1, 2)})
                messages = [(str(path), *m) for m in found]
            else:
                messages = list(extract_from_dir(str(path), method_map=method_map,
                                                 keywords={"_": None, "_l": None, "gettext": None,
                                                           "lazy_gettext": None, "ngettext": (1, 2)}))
            for item in messages:
                msg = item[2]
                msgid = msg if isinstance(msg, str) else msg[0]
                assert msgid in known, f"{package}: '{msgid}' is not in the catalogue; run tools/i18n.py update"


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
