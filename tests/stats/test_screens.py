"""Statistics screens (issue 7): coordinators make releases, download them and read the charts; a province
officer sees the protected tables of her province and a live draft; nobody else sees anything.

Also the quarterly PDF report: Vietnamese letters, embedded font, page numbers, caveats; and a release of
the demo data in every format.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from casework.extensions import db
from casework.stats import service
from casework.stats.catalogue import Category, CategoryList, TableDef
from casework.stats.cells import CellKey, Geography
from casework.stats.counting import Record, count_cells
from casework.stats.models import StatRelease
from casework.stats.pdf import quarterly_report
from casework.stats.release import compute_release
from tests.stats.test_ledger import Q3, FakeSource

ROOT = Path(__file__).resolve().parents[2]
_BASES = "aăâeêioôơuưy"
_TONES = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]
VIETNAMESE_LETTERS = sorted({unicodedata.normalize("NFC", b + t) for b in _BASES + _BASES.upper() for t in _TONES}
                            | {"đ", "Đ"})


@pytest.fixture
def source(app):
    fake = FakeSource()
    fake.add(Q3, 30, "05533")
    fake.add(Q3, 12, "05528", prefix="b", service_code="HEALTH")
    fake.add(Q3, 3, "00004", prefix="h")  # Hà Nội: 3 persons, withheld
    app.extensions["tincay.stats_sources"] = [fake]
    return fake


@pytest.fixture
def signed_in(client, make_user, login):
    def as_role(role: str, **kw):
        account = make_user(role, **kw)
        login(client, account)
        return client

    return as_role


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return unicodedata.normalize("NFC", "\n".join(page.extract_text() for page in reader.pages))


def test_coordinator_sees_an_empty_ledger_then_makes_a_release(app, source, signed_in):
    c = signed_in("coordinator")
    page = c.get("/", follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Chốt số liệu thống kê" in html and "Chưa có quý nào được chốt." in html
    assert f'<option value="{Q3}"' in html  # an ended, unreleased quarter is offered
    assert f'<option value="{service.current_quarter()}"' not in html

    response = c.post("/statistics/releases", data={"period": Q3, "confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/statistics/releases/{Q3}-r1")
    html = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "Số liệu thống kê quý III/2026" in html
    assert 'class="withheld"' in html and ">x</abbr>" in html  # Hà Nội's 3 persons
    assert "Thành phố Hà Nội" in html and "Toàn quốc" in html
    assert "Ý nghĩa của các số liệu" in html and "không phải tỷ lệ" in html
    for fmt in ("pdf", "xlsx", "csv", "json", "dhis2", "adx"):
        assert f"/statistics/releases/{Q3}-r1/{fmt}" in html
    listing = c.get("/statistics/").get_data(as_text=True)
    # Issue 16: a released quarter can still be previewed (never published again), marked as released.
    assert f"{Q3}-r1" in listing and re.search(rf'<option value="{Q3}">[^<]*\(đã chốt\)</option>', listing)


def test_screen_download_is_the_stored_file(app, source, signed_in):
    c = signed_in("coordinator")
    c.post("/statistics/releases", data={"period": Q3, "confirm": "y"})
    first = c.get(f"/statistics/releases/{Q3}-r1/xlsx")
    second = c.get(f"/statistics/releases/{Q3}-r1/xlsx")
    assert first.status_code == 200 and first.data == second.data and first.data.startswith(b"PK")
    assert first.headers["Content-Disposition"] == f'attachment; filename="tincay-{Q3}-r1.xlsx"'
    assert c.get(f"/statistics/releases/{Q3}-r1/docx").status_code == 404
    assert c.get("/statistics/releases/2026Q2-r1/csv").status_code == 404


def test_a_bad_period_is_refused_on_its_field_and_nothing_is_stored(app, source, signed_in):
    c = signed_in("coordinator")
    for period, message in ((service.current_quarter(), "chưa kết thúc"), ("2026-07", "2026Q3"),
                            ("2019Q1", "bắt đầu từ năm")):
        response = c.post("/statistics/releases", data={"period": period})
        assert response.status_code == 422, period
        html = response.get_data(as_text=True)
        assert message in html and 'class="error"' in html, period
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 0


@pytest.mark.national  # a chart for the country and each of the 34 provinces
def test_charts_mark_withheld_quarters_instead_of_drawing_zero(app, source, signed_in):
    c = signed_in("coordinator")
    empty = c.get("/statistics/charts").get_data(as_text=True)
    assert "Chưa có quý nào được chốt" in empty and "<svg" not in empty
    c.post("/statistics/releases", data={"period": Q3, "confirm": "y"})
    html = c.get("/statistics/charts?measure=referred_persons").get_data(as_text=True)
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/exit.js" defer>']  # no chart script
    figures = re.findall(r"<figure class=\"chart[^\"]*\">.*?</figure>", html, re.S)
    assert len(figures) == 35  # the country and 34 provinces
    hanoi = next(f for f in figures if "Thành phố Hà Nội" in f)
    assert 'class="bar-withheld"' in hanoi and ">x</text>" in hanoi and 'class="bar"' not in hanoi
    # Every province is drawn as the release says: its figure as a bar, or the mark when withheld.
    from casework.stats.models import StatCell

    for code, name in service.geography().provinces:
        cell = db.session.get(StatCell, (f"{Q3}-r1", "referred_persons", "province", code, Q3, ""))
        figure = next(f for f in figures if f"<figcaption>{name}</figcaption>" in f)
        if cell.status == "published":
            assert 'class="bar"' in figure and f"quý III/2026: {cell.value}" in figure, name  # text for readers
        else:
            assert 'class="bar-withheld"' in figure and "quý III/2026: x" in figure, name
    thai_nguyen = db.session.get(StatCell, (f"{Q3}-r1", "referred_persons", "province", "19", Q3, ""))
    assert thai_nguyen.status == "suppressed" or thai_nguyen.value == 42
    assert c.get("/statistics/charts?measure=no_such_measure").status_code == 404


def test_province_officer_sees_her_province_and_a_marked_draft(app, source, signed_in):
    coordinator_view = signed_in("coordinator")
    coordinator_view.post("/statistics/releases", data={"period": Q3, "confirm": "y"})
    coordinator_view.post("/logout")
    c = signed_in("province_officer", scope="19")
    html = c.get("/statistics/province").get_data(as_text=True)
    assert "Tỉnh Thái Nguyên" in html and "Lần chốt số liệu mới nhất: quý III/2026" in html
    assert "Thành phố Hà Nội" not in html and "Toàn quốc" not in html
    release = c.get(f"/statistics/releases/{Q3}-r1").get_data(as_text=True)
    assert "Tỉnh Thái Nguyên" in release and "Thành phố Hà Nội" not in release
    assert f"/statistics/releases/{Q3}-r1/csv" not in release  # no national downloads for a province
    # ?province= is ignored for her: she always sees her own province.
    assert "Thành phố Hà Nội" not in c.get(f"/statistics/releases/{Q3}-r1?province=01").get_data(as_text=True)
    draft = c.get("/statistics/province/draft")
    assert draft.status_code == 200
    text = draft.get_data(as_text=True)
    assert "Chưa chốt." in text and "Không công bố hoặc chuyển các số liệu này" in text
    assert "Thành phố Hà Nội" not in text
    assert c.get(f"/statistics/releases/{Q3}-r1/csv").status_code == 404
    assert c.get("/statistics/").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 1  # a draft is never stored


@pytest.mark.parametrize("role,scope", [("host", None), ("commune_officer", "05533"), ("admin", None),
                                        ("auditor", None)])
def test_other_roles_see_no_statistics_screen(app, source, signed_in, make_address, role, scope):
    kw = {"scope": scope} if scope else {}
    if role == "host":
        kw = {"address_ids": (make_address().id,)}
    c = signed_in(role, **kw)
    for path in ("/statistics/", "/statistics/charts", "/statistics/province", "/statistics/province/draft",
                 f"/statistics/releases/{Q3}-r1"):
        assert c.get(path).status_code == 404, path
    assert c.post("/statistics/releases", data={"period": Q3, "confirm": "y"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 0


def _tiny_release(title: str):
    geography = Geography(provinces=(("19", "Tỉnh Thái Nguyên"), ("01", "Thành phố Hà Nội")),
                          communes=(("05533", "Phường Bá Xuyên", "19"), ("00004", "Phường Ba Đình", "01")))
    letters = CategoryList(variable="act_form", version="test.1", label_vi="Hình thức", label_en="Form",
                           categories=(Category("PHYS", "Thể chất", "Physical"), Category("OTHER", "Khác", "Other")),
                           multi_valued=True, sensitive=True)
    tables = [TableDef(id="T1", domain="test", title_vi=title, title_en="Total", measure="survivors",
                       geo_levels=("national", "province"), periods=("quarter", "year")),
              TableDef(id="T2", domain="test", title_vi="Theo hình thức", title_en="By form", measure="survivors",
                       geo_levels=("national", "province"), periods=("quarter", "year"), dimensions=(letters,))]
    records = [Record(measure="survivors", person_id=f"p{i}", on=date(2026, 8, 1), province_code="19",
                      commune_code="05533", attributes={"act_form": frozenset({"PHYS"})}) for i in range(40)]
    records += [Record(measure="survivors", person_id=f"h{i}", on=date(2026, 8, 1), province_code="01",
                       commune_code="00004", attributes={"act_form": frozenset({"PHYS"})}) for i in range(4)]
    counted = count_cells(tables, records, Q3, geography)
    return compute_release(release_id=f"{Q3}-r1", period=Q3, created_at=datetime(2026, 10, 2, tzinfo=UTC),
                           tables=tables, counted=counted, geography=geography)


def test_the_report_renders_every_vietnamese_letter_with_an_embedded_font(app):
    letters = " ".join(VIETNAMESE_LETTERS)
    release = _tiny_release(f"Bảng thử {letters}")
    pdf = quarterly_report(release, {})
    text = _pdf_text(pdf)
    missing = [ch for ch in VIETNAMESE_LETTERS if ch not in text]
    assert not missing, missing
    reader = PdfReader(io.BytesIO(pdf))
    fonts = {str(f["/BaseFont"]) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts and all("BeVietnamPro" in f for f in fonts), fonts
    pages = len(reader.pages)
    assert f"Trang 1/{pages}" in text and f"Trang {pages}/{pages}" in text
    assert "Tin Cậy: số liệu thống kê quý III/2026" in text
    assert "Ý nghĩa của các số liệu" in text and "không phải tỷ lệ bạo lực gia đình" in text
    # Hà Nội's 4 persons are withheld: shown as x, never as a number; the narrative uses published figures.
    assert "Thành phố Hà Nội" in text
    hanoi = release.cell(CellKey("survivors", "province", "01", Q3))
    assert hanoi.status == "suppressed" and hanoi.value is None
    numbers = {token for token in text.split() if token.isdigit()}
    assert "4" not in numbers  # Hà Nội's count is nowhere in the report
    shown = [c for c in release.cells if c.key.period == Q3 and c.status == "published" and c.value]
    assert shown and all(str(c.value) in numbers for c in shown)
    assert len([c for c in release.cells if c.key.period == Q3 and c.status == "suppressed"]) >= 2


def test_demo_data_releases_in_every_format(app, demo_geography):
    from casework.demo import load_demo

    load_demo(cases=60, echo=lambda _m: None)
    db.session.commit()
    period = service.previous_quarters()[0]
    row = service.make_release(period, None)
    db.session.commit()
    assert row.cell_count > 0
    formats = service.available_formats(row)
    assert set(("csv", "json", "xlsx", "pdf", "dhis2", "adx")) <= set(formats)
    pdf = service.download(row, "pdf").content
    text = _pdf_text(pdf)
    assert "Tin Cậy: số liệu thống kê quý" in text and "Trang 1/" in text
    pdftoppm = shutil.which("pdftoppm")
    if os.environ.get("SAVE_SCREENS") == "1" and pdftoppm:
        target = ROOT / "docs" / "stats-report-page1"
        pdf_path = target.with_suffix(".pdf")
        pdf_path.write_bytes(pdf)
        command = [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(target)]
        subprocess.run(command, check=True)  # noqa: S603  (fixed arguments, our own file)
        pdf_path.unlink()


def test_the_release_page_names_its_units_in_words_and_dates_them_dd_mm_yyyy(app, source, signed_in):
    """Found looking at the screenshot: the page showed the scheme's code ("pre2025") and an ISO date."""
    import re

    c = signed_in("coordinator")
    c.post("/statistics/releases", data={"period": Q3, "confirm": "y"})
    page = c.get(f"/statistics/releases/{Q3}-r1").text
    facts = page.split("<dt>Đơn vị hành chính</dt>", 1)[1].split("</dd>", 1)[0]
    assert "Đơn vị hành chính từ ngày 1/7/2025;" in facts and "Hệ thống" not in facts, facts
    assert re.search(r"dữ liệu ngày \d{2}/\d{2}/\d{4}", facts) and not re.search(r"\d{4}-\d{2}-\d{2}", facts), facts


def test_the_quarterly_report_says_which_units_and_which_map_data_it_counts_in(app, source, signed_in):
    """Issue 15: the version of the map data and its date, shown in the report as well as on the page."""
    c = signed_in("coordinator")
    c.post("/statistics/releases", data={"period": Q3, "confirm": "y"})
    text = " ".join(_pdf_text(c.get(f"/statistics/releases/{Q3}-r1/pdf").data).split())
    assert "Đơn vị hành chính: Đơn vị hành chính từ ngày 1/7/2025; vietnam-provinces" in text, text[-600:]
    import re

    assert re.search(r"dữ liệu ngày \d{2}/\d{2}/\d{4}", text), text[-600:]
