"""The case record as a PDF: every Vietnamese letter renders, it is marked confidential and audited."""

from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader
from sqlalchemy import select

from casework.cases import services
from casework.extensions import db
from casework.protect.audit import AuditEvent

# Every Vietnamese vowel with every tone, and đ: a, ă, â, e, ê, i, o, ô, ơ, u, ư, y × 6 tones, upper and lower.
_BASES = "aăâeêioôơuưy"
_TONES = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]
VIETNAMESE_LETTERS = sorted({unicodedata.normalize("NFC", b + t) for b in _BASES + _BASES.upper() for t in _TONES}
                            | {"đ", "Đ"})


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return unicodedata.normalize("NFC", "\n".join(page.extract_text() for page in reader.pages))


def test_every_vietnamese_letter_renders_in_the_pdf(world, make_case, signed_in):
    assert len(VIETNAMESE_LETTERS) == 146
    # Given in decomposed form (as some phones type it): the PDF normalises before drawing.
    letters = unicodedata.normalize("NFD", " ".join(VIETNAMESE_LETTERS))
    case_id = make_case(world.host_a, world.addr_a, narrative=letters,
                        person=services.PersonData(full_name="Đặng Thị Ửng Hường", phone="0912000111"))
    response = signed_in(world.host_a).get(f"/cases/{case_id}/record.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = _text(response.data)
    missing = [ch for ch in VIETNAMESE_LETTERS if ch not in text]
    assert not missing, missing
    assert "Đặng Thị Ửng Hường" in text


def test_the_pdf_uses_an_embedded_vietnamese_font_not_a_builtin(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    reader = PdfReader(io.BytesIO(signed_in(world.host_a).get(f"/cases/{case_id}/record.pdf").data))
    fonts = {str(f["/BaseFont"]) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts and all("BeVietnamPro" in f for f in fonts), fonts


def test_the_pdf_says_confidential_who_printed_it_and_when(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    pdf = signed_in(world.host_a).get(f"/cases/{case_id}/record.pdf").data
    text = _text(pdf)
    assert "BẢO MẬT – THÔNG TIN CÁ NHÂN" in text and "host_a" in text
    reader = PdfReader(io.BytesIO(pdf))
    assert "Hạnh" not in str(reader.metadata)  # no personal data in the document's metadata


def test_printing_the_pdf_is_audited(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    signed_in(world.host_a).get(f"/cases/{case_id}/record.pdf")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case_export_pdf")).one()
    assert event.object_id == case_id and "full_name" in event.fields
