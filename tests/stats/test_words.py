"""The coordinator's words (issue 16): plain Vietnamese on every screen, PDF and workbook, no term of the
engine; Excel sheet names in Vietnamese within 31 characters; one time zone (Vietnam) in every format; a
row whose total is 0 shows 0, not x, in every format; no release from a single click.

Machine-readable fields (CSV/JSON columns, DHIS2 and ADX codes) keep their codes: DESIGN §4 fixes them.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import re
import unicodedata
import zipfile
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from casework.extensions import db
from casework.stats import formats, presenters, service
from casework.stats.cells import CellKey
from casework.stats.models import StatRelease
from casework.stats.pdf import table_block
from casework.stats.release import PUBLISHED
from tests.stats.fixtures import CREATED, G1, G2_AGE, G2_REF, People, fill, release
from tests.stats.test_formats import fixture_records, year_end
from tests.stats.test_ledger import Q3, FakeSource

# What the engine and its libraries call things: none of it may reach a coordinator's eyes.
TECHNICAL = re.compile(r"integer programming|linear programming|scipy|milp|linprog|HiGHS|\bI?LP\b|p\s*=\s*\d|"
                       r"\bk\s*=\s*\d|sdc-suppression|sha256|Asia/Ho_Chi_Minh|\bUTC\b(?!\+7)|manifest|snapshot|"
                       r"\b(?:CASE|LIV|REF|ADDR)_[A-Z_]+\b|None|null", re.IGNORECASE)
VN = ZoneInfo("Asia/Ho_Chi_Minh")
FORBIDDEN_IN_SHEET = set("[]:*?/\\")


def _technical(text: str) -> list[str]:
    return sorted({m.group(0) for m in TECHNICAL.finditer(text)})


def _page_text(page: str) -> str:
    """What a reader sees in <main>: the text, without tags, scripts or attribute values."""
    main = re.search(r"<main.*?</main>", page, re.S)
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", main.group(0) if main else page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _pdf_text(pdf: bytes) -> str:
    return unicodedata.normalize("NFC", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _vn(moment) -> str:
    return moment.astimezone(VN).strftime("%d/%m/%Y %H:%M")


@pytest.fixture(scope="module")
def rel():
    return year_end(fixture_records())


# --- sheet names ------------------------------------------------------------------------------------

def _good_sheet_name(name: str) -> bool:
    return (0 < len(name) <= 31 and not FORBIDDEN_IN_SHEET & set(name) and name == name.strip()
            and not name.startswith("'") and not name.endswith("'") and name == unicodedata.normalize("NFC", name)
            and not re.fullmatch(r"[A-Z0-9_\-]+", name) and any(ord(ch) > 127 for ch in name))


def test_every_catalogue_table_has_a_vietnamese_sheet_name_within_31_characters_and_unique(app):
    used = {"Thông tin"}
    names = {}
    for table in service.tables():
        name = formats.sheet_name(table, used)
        assert _good_sheet_name(name), (table.id, name)
        assert table.id not in name
        assert name.casefold() not in {u.casefold() for u in used}, (table.id, name)
        used.add(name)
        names[table.id] = name
    # The chosen names are distinct on their own: no "(2)" added to tell two tables apart.
    assert not [n for n in names.values() if re.search(r" \(\d\)$", n)], names
    listed = list(formats.SHEET_NAMES.values())
    assert len({n.casefold() for n in listed}) == len(listed)
    assert all(_good_sheet_name(n) and len(n) <= 31 for n in listed)


def test_a_long_title_with_forbidden_characters_gives_a_legal_unique_sheet_name():
    long_title = "Số người: [thử] */?\\ được hỗ trợ, theo một cách chia rất dài"
    table = dataclasses.replace(G1, id="NEW_TABLE", title_vi=long_title)
    first = formats.sheet_name(table, {"Thông tin"})
    second = formats.sheet_name(table, {"Thông tin", first})
    third = formats.sheet_name(table, {"Thông tin", first.upper(), second})  # Excel ignores case
    for name in (first, second, third):
        assert _good_sheet_name(name), name
    assert len({first, second, third}) == 3 and second.endswith("(2)") and third.endswith("(3)")


def test_workbook_opens_with_thong_tin_lists_every_sheet_and_names_no_code_in_the_tables(rel):
    wb = openpyxl.load_workbook(io.BytesIO(formats.to_xlsx(rel)))
    assert wb.sheetnames[0] == "Thông tin"
    assert len({n.casefold() for n in wb.sheetnames}) == len(wb.sheetnames)
    assert all(_good_sheet_name(n) for n in wb.sheetnames)
    info = list(wb["Thông tin"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(info) if row[0] == "Các trang tính")
    listed = [row for row in info[start + 1:] if row[0]]
    assert [row[0] for row in listed] == wb.sheetnames[1:]
    assert sorted(row[2] for row in listed) == sorted(t.id for t in rel.tables)  # the codes, in their column
    for row in info[:start + 1]:
        assert not _technical(" ".join(str(v) for v in row if v is not None)), row
    for ws in wb.worksheets[1:]:
        text = " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)
        assert not _technical(text), (ws.title, _technical(text))


def test_plan_96_sheets_come_first_in_the_steering_boards_order():
    from casework.stats.release import Release

    tables = [dataclasses.replace(G1, id=i, kind="activity" if i.startswith("ADDR") else "persons")
              for i in ("CASE_P_TOTAL", "ADDR_PACKAGES", "ADDR_ACTIVE", "ADDR_NEW", "ADDR_OTHER")]
    fake = Release.__new__(Release)
    object.__setattr__(fake, "tables", tuple(tables))
    assert [t.id for t in formats.report_tables(fake)] == ["ADDR_NEW", "ADDR_ACTIVE", "ADDR_PACKAGES", "ADDR_OTHER",
                                                           "CASE_P_TOTAL"]


# --- one time zone ------------------------------------------------------------------------------------

def test_every_moment_in_the_workbook_is_vietnam_time_dd_mm_yyyy(rel):
    data = formats.to_xlsx(rel)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    expected = _vn(CREATED)
    assert expected != CREATED.strftime("%d/%m/%Y %H:%M")  # the fixture's moment differs between the zones
    for ws in wb.worksheets:
        assert ws["A4"].value == f"Ngày lập: {expected} (giờ Việt Nam)", ws.title
        for row in ws.iter_rows(values_only=True):
            for v in row:
                text = str(v) if v is not None else ""
                # No ISO or UTC moment, and every written date is dd/MM/yyyy.
                assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}:\d{2}", text), (ws.title, text)
                for day in re.findall(r"\b\d{1,2}/\d{1,2}/\d{4}\b", text):
                    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", day), (ws.title, text)
    local = CREATED.astimezone(VN)
    stamps = {info.date_time for info in zipfile.ZipFile(io.BytesIO(data)).infolist()}
    assert stamps == {(local.year, local.month, local.day, local.hour, local.minute, local.second)}


def test_dhis2_adx_and_pdf_carry_the_vietnam_day_and_time(app, rel):
    from casework.stats.pdf import quarterly_report

    local = CREATED.astimezone(VN)
    assert json.loads(formats.to_dhis2(rel))["completeDate"] == local.strftime("%Y-%m-%d")
    root = ET.fromstring(formats.to_adx(rel))  # noqa: S314 - our own output
    assert root.get("exported") == local.isoformat(timespec="seconds")
    text = _pdf_text(quarterly_report(rel, {}))
    assert f"lập lúc {_vn(CREATED)} (giờ Việt Nam)" in text


# --- a row whose total is 0 ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zero_province():
    """Province 93 has nobody this quarter: its totals are published zeros. To show the rule holds
    whatever the engine decides, its breakdown cells are then marked withheld, as the issue saw them."""
    p = People()
    fill(p, Q3, communes=("91001", "91002", "91003", "91004", "92001", "92002", "92003"), ref=("POLICE",))
    r = release([G1, G2_AGE, G2_REF], p.records, Q3)
    total = CellKey(G1.measure, "province", "93", Q3)
    assert r.cell(total).status == PUBLISHED and r.cell(total).value == 0
    parts = [c.key for c in r.cells if c.key.geo_level == "province" and c.key.geo_code == "93" and c.key.dims]
    assert parts
    engine = {k: r.cell(k) for k in parts}
    cells = tuple(dataclasses.replace(c, status="suppressed", value=None) if c.key in engine else c
                  for c in r.cells)
    planted = dataclasses.replace(r, cells=cells)
    planted.__dict__.pop("_index", None)
    return r, planted, parts


def test_the_engine_publishes_0_for_every_breakdown_of_a_zero_total(zero_province):
    r, _planted, parts = zero_province
    assert all(r.cell(k).status == PUBLISHED and r.cell(k).value == 0 for k in parts)


def test_a_zero_total_row_shows_0_not_x_on_screen_pdf_csv_xlsx_and_in_dhis2_adx(app, zero_province):
    _r, rel, parts = zero_province
    assert all(rel.cell(k).status != PUBLISHED for k in parts)  # the planted state
    province = rel.geography.name("province", "93")
    # Screen.
    cells = {c.key: c for c in rel.cells}
    for grid in presenters.grids(rel.tables, cells, Q3, rel.geography):
        row = dict(grid.rows)[province]
        assert [v.text for v in row] == ["0"] * len(row) and not any(v.withheld for v in row), grid.title
    # PDF: each table's row of the province.
    from reportlab.platypus import Table

    for table in rel.tables:
        block = table_block(rel, table, {k: _style() for k in ("h2", "head", "num_head", "cell")})
        grid = next(f for f in _flatten(block) if isinstance(f, Table))
        row = next(r for r in grid._cellvalues if _text(r[0]) == province)
        assert [str(v) for v in row[1:]] == ["0"] * (len(row) - 1), table.id
    # CSV and JSON: a value of 0, published.
    rows = [r for r in csv.DictReader(io.StringIO(formats.to_csv(rel).decode("utf-8-sig")))
            if r["geo_level"] == "province" and r["geo_code"] == "93"]
    assert rows and all(r["value"] == "0" and r["status"] == PUBLISHED and r["conf_status"] == "F" for r in rows)
    assert all(c["value"] == 0 for c in json.loads(formats.to_json(rel))["cells"] if c["geo_code"] == "93")
    # XLSX: 0 in every cell of the province's rows.
    wb = openpyxl.load_workbook(io.BytesIO(formats.to_xlsx(rel)))
    for ws in wb.worksheets[1:]:
        mine = [row for row in ws.iter_rows(values_only=True) if isinstance(row[1], str) and province in row[1]]
        assert mine and all(v == 0 for row in mine for v in row[3:] if v is not None), ws.title
    # DHIS2 and ADX keep their rule (withheld absent, published present) and so carry the zeros.
    dhis2 = json.loads(formats.to_dhis2(rel))["dataValues"]
    assert len([v for v in dhis2 if v["orgUnit"] == "VN_P93"]) == len(parts) + 1
    assert {v["value"] for v in dhis2 if v["orgUnit"] == "VN_P93"} == {"0"}
    root = ET.fromstring(formats.to_adx(rel))  # noqa: S314 - our own output
    adx = [dv for g in root if g.get("orgUnit") == "VN_P93" for dv in g]
    assert len(adx) == len(parts) + 1 and {dv.get("value") for dv in adx} == {"0"}


def test_a_withheld_total_still_shows_its_parts_as_x(rel):
    """The rule applies to a published 0 only: a withheld total says nothing about its parts."""
    by_key, shown = rel._by_key(), formats.shown_cells(rel)
    withheld = [c for c in rel.cells if c.status != PUBLISHED]
    assert any(c.key.dims and not formats.zero_total(by_key, c.key) for c in withheld)
    for cell in withheld:
        assert (shown[cell.key].status == PUBLISHED) == formats.zero_total(by_key, cell.key), cell.key


def _style():
    from reportlab.lib.styles import ParagraphStyle

    from casework.fonts import FONT, register_fonts

    register_fonts()
    return ParagraphStyle("t", fontName=FONT, fontSize=8)


def _flatten(flowables):
    for f in flowables or ():
        yield f
        yield from _flatten(getattr(f, "_content", None))


def _text(value) -> str:
    return value.getPlainText() if hasattr(value, "getPlainText") else str(value)


# --- the coordinator's screens and report ---------------------------------------------------------------

@pytest.fixture
def source(app):
    fake = FakeSource()
    fake.add(Q3, 30, "05533")
    fake.add(Q3, 12, "05528", prefix="b", service_code="HEALTH")
    fake.add(Q3, 3, "00004", prefix="h")  # Hà Nội: 3 persons, withheld
    app.extensions["tincay.stats_sources"] = [fake]
    app.config["STATS_RUNNER"] = "worker"  # the test computes the preview itself
    return fake


def test_coordinator_screens_and_report_speak_plain_vietnamese(app, source, client, make_user, login):
    login(client, make_user("coordinator"))
    pages = {"index": client.get("/statistics/").get_data(as_text=True)}
    url = client.post("/statistics/previews", data={"period": Q3}).headers["Location"]
    pages["progress"] = client.get(url).get_data(as_text=True)
    assert app.test_cli_runner().invoke(args=["stats", "worker", "--once"]).exit_code == 0
    pages["preview"] = client.get(url).get_data(as_text=True)
    pages["confirm"] = client.get(f"{url}/publish").get_data(as_text=True)
    assert client.post(f"{url}/publish", data={"confirm": "y"}).status_code == 302
    row = db.session.scalars(select(StatRelease)).one()
    pages["release"] = client.get(f"/statistics/releases/{row.id}").get_data(as_text=True)
    pages["province"] = client.get(f"/statistics/releases/{row.id}?province=19").get_data(as_text=True)
    pages["charts"] = client.get("/statistics/charts").get_data(as_text=True)
    pages["pilot"] = client.get("/statistics/pilot").get_data(as_text=True)
    for name, page in pages.items():
        text = _page_text(page)
        assert not _technical(text), (name, _technical(text))
    # The method in one plain sentence, with the guide named for the details.
    for name in ("preview", "release"):
        assert "dưới 10" in _page_text(pages[name]) and "docs/statistics.md" in _page_text(pages[name]), name
    # Vietnam time, dd/MM/yyyy HH:mm, on the release page.
    assert _vn(row.created_at) in _page_text(pages["release"])
    # The one-line method and Vietnam time in the stored PDF too; no engine word anywhere in it.
    text = _pdf_text(service.download(row, "pdf").content)
    assert not _technical(text), _technical(text)
    assert f"lập lúc {_vn(row.created_at)} (giờ Việt Nam)" in text and "docs/statistics.md" in text
    # The form says nothing of "a minute": a preview takes what it takes, in the background.
    assert "phút" not in _page_text(pages["index"]) and "minute" not in _page_text(pages["index"])


def test_a_release_without_a_preview_needs_the_confirmation_too(app, source, client, make_user, login):
    login(client, make_user("coordinator"))
    unconfirmed = client.post("/statistics/releases", data={"period": Q3})
    assert unconfirmed.status_code == 422
    assert "Đánh dấu vào ô để xác nhận" in unconfirmed.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 0
    confirmed = client.post("/statistics/releases", data={"period": Q3, "confirm": "y"})
    assert confirmed.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 1
