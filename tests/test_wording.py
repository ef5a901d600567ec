"""The glossary (issue 15): words a Women's Union officer would not write, or that say something wrong, never
appear in the Vietnamese catalogues, the templates or a case PDF.

- "MẬT" alone is a state-secret level (Law 29/2018/QH14); personal data is marked "BẢO MẬT – THÔNG TIN CÁ NHÂN".
- "CMND": since 1 July 2024 the card is the "thẻ căn cước" (Law 26/2023/QH15); write "thẻ căn cước/CCCD".
- "Gửi chuyển gửi" says the same thing twice.
- "công an xã (113)": 113 is the national police line, not the commune police's.
- One form of address: the woman received is "chị ấy" (the reader is "bạn"), a request starts with "Hãy"
  (never "Vui lòng").
- Statistics releases are internal snapshots: "chốt số liệu", not "công bố" (which means publishing).
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(p for p in ROOT.glob("**/translations/vi/LC_MESSAGES/messages.po") if "node_modules" not in p.parts)
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))

FORBIDDEN = {
    "MẬT alone (a state-secret level)": re.compile(r"(?<!BẢO )\bMẬT\b"),
    "CMND (since 1 July 2024: thẻ căn cước)": re.compile(r"CMND"),
    "Gửi chuyển gửi": re.compile(r"Gửi chuyển gửi", re.IGNORECASE),
    "113 given as the commune police's number": re.compile(r"công an xã \(113\)", re.IGNORECASE),
    "Vui lòng (we write Hãy)": re.compile(r"\bvui lòng\b", re.IGNORECASE),
    "chị alone for the woman (we write chị ấy)": re.compile(r"(?<!anh, )(?<!anh )\b[Cc]hị\b(?! ấy)(?!,? em)"),
}


def _messages():
    for path in CATALOGUES:
        with path.open("rb") as f:
            catalogue = read_po(f)
        for message in catalogue:
            if message.id and message.string:
                yield path.relative_to(ROOT), message.id, message.string


def test_the_catalogues_exist():
    assert len(CATALOGUES) >= 5 and TEMPLATES


@pytest.mark.parametrize("rule", list(FORBIDDEN))
def test_no_forbidden_word_in_the_vietnamese_catalogues(rule):
    pattern = FORBIDDEN[rule]
    found = [(str(path), text) for path, _id, text in _messages() if pattern.search(unicodedata.normalize("NFC", text))]
    assert found == [], rule


def test_a_whole_message_never_says_mat_alone():
    found = [(str(p), t) for p, _i, t in _messages() if t.strip().casefold() in ("mật", "tài liệu mật")]
    assert found == []


def test_statistics_snapshots_are_chot_so_lieu_not_cong_bo():
    found = [t for p, _i, t in _messages() if "stats" in str(p) and "công bố" in t.casefold()
             and "không công bố hoặc chuyển" not in t.casefold()]
    assert found == []


def test_the_notice_hours_are_never_presented_as_the_law():
    # Law 13/2022 Art. 36 sets no hours: the 24-hour flag is the project's rule, a province setting.
    found = [t for _p, _i, t in _messages() if re.search(r"(Luật|Điều 36)[^.]*24 giờ|24 giờ[^.]*(Luật|Điều 36)", t)]
    assert found == []


@pytest.mark.parametrize("rule", ["CMND (since 1 July 2024: thẻ căn cước)", "Gửi chuyển gửi",
                                  "MẬT alone (a state-secret level)"])
def test_no_forbidden_word_in_the_templates(rule):
    pattern = FORBIDDEN[rule]
    found = [str(t.relative_to(ROOT)) for t in TEMPLATES if pattern.search(t.read_text(encoding="utf-8"))]
    assert found == []


def test_the_case_pdf_is_marked_personal_data_not_a_state_secret(app, make_user, make_address):
    from casework.cases import services
    from casework.cases.pdf import render_case_pdf
    from casework.extensions import db
    from casework.models import utcnow
    from tests.cases.conftest import intake

    address = make_address("05533", name="ĐCTC")
    host = make_user("host", address_ids=(address.id,), username="host_w")
    with app.test_request_context("/"):
        from casework.auth.models import User

        user = db.session.get(User, host.id)
        case = services.create_case(user, intake(address, person=services.PersonData(
            full_name="Nguyễn Thị Hạnh", birth_year=1990, id_number="001190012345")))
        pdf = render_case_pdf(case, user, utcnow())
    text = unicodedata.normalize("NFC", "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    assert "BẢO MẬT – THÔNG TIN CÁ NHÂN" in text
    for rule in ("MẬT alone (a state-secret level)", "CMND (since 1 July 2024: thẻ căn cước)"):
        assert not FORBIDDEN[rule].search(text), rule
