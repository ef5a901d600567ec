"""Downloads of a release: canonical CSV and JSON, XLSX, DHIS2 dataValueSets, ADX and SDMX-CSV (§2.7, §2.9).

Every writer is a pure function of the release and returns bytes; the same release gives the same
bytes every time (T13): rows are sorted, JSON keys are sorted, timestamps come from the release, and
the XLSX archive is written with fixed entry dates and workbook properties.

Nothing of a suppressed cell's value reaches any file: the value is empty (CSV, JSON), ``x`` (XLSX)
or absent (DHIS2, ADX); every suppressed cell carries the same flag, so primary and complementary
suppression cannot be told apart (§2.7, T12).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from casework.stats.catalogue import TOTAL, TableDef
from casework.stats.cells import NATIONAL_CODE, CellKey, SortKey, period_sort_key, period_type
from casework.stats.period import Period
from casework.stats.release import FOOTNOTE, PUBLISHED, Release, ReleaseCell
from casework.text import VN_TZ

SUPPRESSED_MARK = "x"  # §2.9: the Vietnamese form's mark for a withheld figure
ADX_NS = "urn:ihe:qrph:adx:2015"
SDMX_STRUCTURE = "VNWU:TINCAY(1.0.0)"
DATASET_QUARTERLY = "TINCAY_Q"
DATASET_YEARLY = "TINCAY_Y"
TIME_ZONE = "Asia/Ho_Chi_Minh"  # every date and time a file shows is Vietnam time (issue 16)

# How the figures are protected, in plain words (details: docs/statistics.md). Releases are "chốt số liệu",
# never "công bố" (GLOSSARY, tests/test_wording.py).
METHOD_VI = ("Các số dưới 10 người, và các số có thể dùng để tính ra chúng (lấy tổng trừ đi, hoặc so với bảng "
             "khác, quý khác trong năm), được ẩn và ghi là x; số tiền do một người nhận phần lớn cũng được ẩn. "
             "Máy tính đã kiểm tra để chắc chắn không số bị ẩn nào tính lại được từ mọi số liệu đã chốt "
             "trong năm. Các chỉ số hoạt động (địa chỉ tin cậy, người phụ trách được tập huấn, gói hỗ trợ) "
             "đếm địa chỉ và gói hỗ trợ, không đếm người bị bạo lực, nên không số nào bị ẩn.")
METHOD_EN = ("Counts of fewer than 10 persons, and the figures from which they could be worked out (by "
             "subtracting from a total, or from another table or quarter of the year), are withheld and shown as "
             "x; so is money mostly received by one person. A computer check confirms that no withheld figure "
             "can be recovered from everything published this year. Activity indicators (trusted addresses, "
             "hosts trained, support packages) count addresses and packages, not survivors, and are published "
             "in full.")
GUIDE_VI = "Hướng dẫn thống kê của Tin Cậy (tệp docs/statistics.md đi kèm phần mềm)"

# Plan 96's indicators in the order the steering board reads them (issue 16): trusted addresses new,
# consolidated, active, hosts trained, support packages, then the livelihood figures. The PDF opens with
# them and the workbook's first sheets follow the same order.
PLAN96_ORDER = ("ADDR_NEW", "ADDR_CONSOLIDATED", "ADDR_ACTIVE", "ADDR_HOSTS_TRAINED", "ADDR_PACKAGES",
                "LIV_P_LISTED", "LIV_P_STAGE", "LIV_M_APPROVED", "LIV_M_DISBURSED")

# Excel sheet names: Vietnamese, at most 31 characters, none of []:*?/\ (a new table without a name here
# is named from its title).
SHEET_NAMES = {
    "CASE_P_TOTAL": "Người được tiếp nhận",
    "CASE_P_ACT_FORM": "Theo hình thức bạo lực",
    "CASE_P_AGE": "Theo nhóm tuổi",
    "CASE_P_ACT_FORM_AGE": "Hình thức bạo lực và tuổi (năm)",
    "CASE_P_COMMUNE": "Theo xã (năm)",
    "CASE_P_SEX": "Theo giới tính (năm)",
    "CASE_P_ETHNICITY": "Theo dân tộc",
    "CASE_X_CONSENT": "Người không đồng ý thống kê",
    "CASE_P_CLOSURE": "Kết thúc hỗ trợ",
    "CASE_E_SHELTER_NIGHTS": "Đêm tạm lánh",
    "CASE_P_CONTACT_BAN": "Cấm tiếp xúc",
    "CASE_P_NOTICE": "Báo xã đúng hạn",
    "CASE_P_REPEAT": "Bị bạo lực lặp lại",
    "LIV_P_LISTED": "Nạn nhân được lập danh sách",
    "LIV_P_STATUS": "Nạn nhân theo tình trạng (năm)",
    "LIV_X_CONSENT": "Nạn nhân không đồng ý thống kê",
    "LIV_P_STAGE": "Người có phương án sinh kế",
    "LIV_M_APPROVED": "Tiền sinh kế được duyệt",
    "LIV_M_DISBURSED": "Tiền sinh kế đã giải ngân",
    "REF_P_SERVICE": "Được chuyển gửi, theo dịch vụ",
    "REF_P_OUTCOME": "Được chuyển gửi, theo kết quả",
    "REF_P_SERVICE_OUTCOME": "Dịch vụ và kết quả (năm)",
    "REF_E_SERVICE": "Lượt chuyển gửi theo dịch vụ",
    "ADDR_NEW": "Địa chỉ tin cậy xây dựng mới",
    "ADDR_CONSOLIDATED": "Địa chỉ tin cậy được củng cố",
    "ADDR_ACTIVE": "Địa chỉ tin cậy đang hoạt động",
    "ADDR_HOSTS_TRAINED": "Người phụ trách được tập huấn",
    "ADDR_PACKAGES": "Gói hỗ trợ địa chỉ tin cậy",
    "ADDR_PACKAGES_COMMUNE": "Gói hỗ trợ theo xã (năm)",
}
SHEET_FORBIDDEN = "[]:*?/\\"
UNITS_VI = {"persons": "Người", "vnd": "Đồng", "nights": "Đêm", "referrals": "Lượt", "addresses": "Địa chỉ",
            "hosts": "Người", "packages": "Gói", "proposals": "Phương án", "visits": "Lượt", "trainings": "Lớp"}

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "dhis2": "application/json",
    "dhis2-year": "application/json",
    "adx": "application/adx+xml",
    "sdmx": "text/csv; charset=utf-8",
    "manifest": "application/json",
}


# --- canonical long format (§2.7 per-cell fields) ------------------------------------------------

def dimension_columns(release: Release) -> list[str]:
    return sorted({d.variable for t in release.tables for d in t.dimensions})


def long_rows(release: Release) -> list[dict[str, Any]]:
    """One row per table and cell: a cell shared by several tables appears in each, with one status."""
    dims = dimension_columns(release)
    tables = {t.id: t for t in release.tables}
    rows: list[dict[str, Any]] = []
    for cell in shown_cells(release).values():
        for table_id in cell.tables:
            rows.append(_long_row(release, tables[table_id], cell, dims))
    rows.sort(key=lambda r: (r["table_id"], _sort_cell(r["_key"])))
    for r in rows:
        del r["_key"]
    return rows


def _sort_cell(key: CellKey) -> SortKey:
    return key.sort_key()


def _long_row(release: Release, table: TableDef, cell: ReleaseCell, dims: list[str]) -> dict[str, Any]:
    published = cell.status == PUBLISHED
    row: dict[str, Any] = {
        "release_id": release.release_id,
        "table_id": table.id,
        "geo_level": cell.key.geo_level,
        "geo_code": cell.key.geo_code,
        "geo_name": release.geography.name(cell.key.geo_level, cell.key.geo_code),
        "period": cell.key.period,
        "period_type": "quarterly" if period_type(cell.key.period) == "quarter" else "yearly",
    }
    for d in dims:
        row[d] = cell.key.dim(d) if d in table.dimension_ids else TOTAL
    row.update({
        "measure": cell.key.measure,
        "unit": cell.unit,
        "value": cell.value if published else None,
        "status": cell.status,
        "obs_status": "A" if published else "Q",   # SDMX CL_OBS_STATUS; Q = missing, suppressed
        "conf_status": "F" if published else "C",  # one code for every suppressed cell, never A/D (§1.6)
        "rounding_base": cell.rounding_base,
        "method": release.method,
        "_key": cell.key,
    })
    return row


def to_csv(release: Release) -> bytes:
    """Canonical long CSV, UTF-8 with a byte-order mark so that Excel shows Vietnamese letters."""
    rows = long_rows(release)
    fields = _long_fields(release)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fields)
    for r in rows:
        writer.writerow(["" if r[f] is None else r[f] for f in fields])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _long_fields(release: Release) -> list[str]:
    return ["release_id", "table_id", "geo_level", "geo_code", "geo_name", "period", "period_type",
            *dimension_columns(release), "measure", "unit", "value", "status", "obs_status", "conf_status",
            "rounding_base", "method"]


def to_manifest_json(release: Release) -> bytes:
    return _dump(release.manifest)


def to_json(release: Release) -> bytes:
    """Canonical JSON: the manifest and every cell with the fields of §2.7; suppressed values are null."""
    derived = [{"id": d.id, "kind": d.kind, "table_measure": d.key.measure, "geo_level": d.key.geo_level,
                "geo_code": d.key.geo_code, "period": d.key.period,
                "dimensions": dict(d.key.dims), "status": d.status, "value": d.value, "unit": d.unit}
               for d in release.derived]
    return _dump({"manifest": release.manifest, "cells": long_rows(release), "derived": derived})


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


# --- XLSX in the layout of the Vietnamese form (§2.9, Circular 07/2017 style) -----------------------

def to_xlsx(release: Release, reporting_unit: str = "Trung ương Hội Liên hiệp Phụ nữ Việt Nam",
            receiving_unit: str = "Ban Dân tộc – Tôn giáo") -> bytes:
    """Values only: no formulas, no hidden sheets, rows or columns, no comments; ``x`` for withheld.

    The first sheet, "Thông tin", says what the file is, how the figures are protected in plain words and
    which sheet holds which table; then one sheet per table, Plan 96's indicators first (issue 16)."""
    wb = Workbook()
    info = wb.active
    info.title = "Thông tin"
    used = {info.title}
    sheets: list[tuple[TableDef, str]] = []
    for table in report_tables(release):
        name = sheet_name(table, used)
        used.add(name)
        sheets.append((table, name))
    _info_sheet(info, release, reporting_unit, receiving_unit, sheets)
    shown = shown_cells(release)
    for table, name in sheets:
        _table_sheet(wb.create_sheet(name), release, table, shown, reporting_unit, receiving_unit)
    created = release.created_at.replace(tzinfo=None)  # workbook metadata is UTC by the file format's rule
    props = wb.properties
    props.creator = "Tin Cậy"
    props.lastModifiedBy = "Tin Cậy"
    props.title = f"Số liệu thống kê {release.release_id}"
    props.created = created
    props.modified = created
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        # ExcelWriter directly: openpyxl's save_workbook stamps "modified" with the clock.
        ExcelWriter(wb, archive).write_data()
    return _fixed_zip(buf.getvalue(), vn_time(release.created_at))


def report_tables(release: Release) -> list[TableDef]:
    """The release's tables in the report's order: Plan 96's indicators as the steering board reads them,
    the other activity tables, then the protected tables of persons in the catalogue's order."""
    by_id = {t.id: t for t in release.tables}
    first = [by_id[i] for i in PLAN96_ORDER if i in by_id and by_id[i].kind == "activity"]
    activity = [t for t in release.tables if t.kind == "activity" and t not in first]
    return first + activity + [t for t in release.tables if t.kind != "activity"]


def vn_time(moment: datetime) -> datetime:
    return moment.astimezone(VN_TZ) if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


def _fixed_zip(data: bytes, when: datetime) -> bytes:
    """The same archive with every entry dated from the release: byte-identical downloads (T13)."""
    stamp = when.replace(tzinfo=None).timetuple()[:6]
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, src.read(item.filename))
    return out.getvalue()


def sheet_name(table: TableDef, used: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """The table's Excel sheet: a short Vietnamese name within Excel's 31 characters, none of []:*?/\\,
    not starting or ending with an apostrophe, unique in the book (Excel compares names without case)."""
    name = SHEET_NAMES.get(table.id) or table.title_vi.split(",")[0].split("(")[0].strip()
    name = unicodedata.normalize("NFC", name)  # one character per letter: Excel counts characters
    name = "".join(ch for ch in name if ch not in SHEET_FORBIDDEN).strip().strip("'")[:31].strip()
    taken = {u.casefold() for u in used}
    candidate, n = name, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = name[:31 - len(suffix)].rstrip() + suffix, n + 1
    return candidate


def period_words(period: str) -> str:
    """"Quý III/2026" or "Năm 2026", as the PDF and the screens name a period."""
    return Period.parse(period).label("vi")


def vn_moment(moment: datetime) -> str:
    """dd/MM/yyyy HH:mm in Vietnam time, the one way every file and page writes a moment (issue 16)."""
    return vn_time(moment).strftime("%d/%m/%Y %H:%M")


def _header_block(ws: Worksheet, release: Release, title: str, reporting_unit: str, receiving_unit: str) -> int:
    bold = Font(bold=True)
    ws.append([f"Đơn vị báo cáo: {reporting_unit}"])
    ws.append([f"Đơn vị nhận báo cáo: {receiving_unit}"])
    ws.append([f"Kỳ báo cáo: {period_words(release.period)} (lần chốt số liệu {release.release_id})"])
    ws.append([f"Ngày lập: {vn_moment(release.created_at)} (giờ Việt Nam)"])
    ws.append([])
    ws.append([title])
    ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([])
    last_row: int = ws.max_row
    return last_row


def _info_sheet(ws: Worksheet, release: Release, reporting_unit: str, receiving_unit: str,
                sheets: list[tuple[TableDef, str]]) -> None:
    _header_block(ws, release, "Thông tin về bản số liệu", reporting_unit, receiving_unit)
    m = release.manifest
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.append(["Mã lần chốt số liệu", m["release_id"]])
    ws.append(["Kỳ báo cáo", period_words(release.period)])
    ws.append(["Ngày giờ", "Mọi ngày giờ trong tệp là giờ Việt Nam (UTC+7)"])
    ws.append(["Cách bảo vệ số liệu", METHOD_VI])
    ws.append(["Chi tiết", GUIDE_VI])
    ws.append([])
    ws.append(["Lưu ý"])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    for c in m["caveats"]:
        ws.append([c["vi"]])
    ws.append([])
    ws.append(["Các trang tính", "Bảng số liệu", "Mã bảng (trong tệp CSV, JSON)"])
    for col in (1, 2, 3):
        ws.cell(row=ws.max_row, column=col).font = Font(bold=True)
    for table, name in sheets:
        ws.append([name, table.title_vi, table.id])
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 90
    ws.column_dimensions["C"].width = 26
    for row in ws.iter_rows(min_row=9, max_row=ws.max_row):
        for cell in row:
            cell.alignment = wrap


def _table_sheet(ws: Worksheet, release: Release, table: TableDef, shown: dict[CellKey, ReleaseCell],
                 reporting_unit: str, receiving_unit: str) -> None:
    _header_block(ws, release, table.title_vi, reporting_unit, receiving_unit)
    cells = [c for c in shown.values() if table.id in c.tables]
    unit = UNITS_VI.get(table.unit, table.unit)
    columns, col_keys = _columns(table)
    ws.append(["TT", "Chỉ tiêu", "ĐVT", *columns])
    for col in range(1, len(columns) + 4):
        ws.cell(row=ws.max_row, column=col).font = Font(bold=True)
        ws.cell(row=ws.max_row, column=col).alignment = Alignment(wrap_text=True)
    rows = sorted({(c.key.period, c.key.geo_level, c.key.geo_code, _row_dims(table, c.key)) for c in cells},
                  key=lambda r: (period_sort_key(r[0]), {"national": 0, "province": 1, "commune": 2}[r[1]], r[2], r[3]))
    for n, (period, level, code, row_dims) in enumerate(rows, start=1):
        label = release.geography.name(level, code)
        if row_dims:
            label += " – " + table.dimensions[0].category(row_dims[0][1]).label_vi
        label += f" ({period_words(period)})"
        values = [_xlsx_value(shown.get(CellKey(table.measure, level, code, period, row_dims + extra)))
                  for extra in col_keys]
        ws.append([n, label, unit, *values])
    ws.append([])
    ws.append([FOOTNOTE["vi"]])
    ws.column_dimensions["B"].width = 48


def _columns(table: TableDef) -> tuple[list[str], list[tuple[tuple[str, str], ...]]]:
    """``Tổng số`` then the categories of the last dimension (the first is on the rows of a G3 table)."""
    if not table.dimensions:
        return ["Tổng số"], [()]
    dim = table.dimensions[-1]
    return (["Tổng số", *[c.label_vi for c in dim.categories]],
            [(), *[((dim.variable, c.code),) for c in dim.categories]])


def _row_dims(table: TableDef, key: CellKey) -> tuple[tuple[str, str], ...]:
    if len(table.dimensions) < 2:
        return ()
    first = table.dimensions[0].variable
    code = key.dim(first)
    return () if code == TOTAL else ((first, code),)


def zero_total(by_key: Mapping[CellKey, ReleaseCell], key: CellKey) -> bool:
    """True when a published total that ``key`` is part of is 0: then ``key`` is 0 too, and is shown as 0
    rather than x (issue 16). Reveals nothing: a published zero total says every part of it is zero
    (every category of a breakdown counts a part of its total's persons, events or money)."""
    parents = [key.without(var) for var, _ in key.dims] + ([key.__class__(key.measure, key.geo_level, key.geo_code,
                                                                          key.period)] if key.dims else [])
    for parent in parents:
        c = by_key.get(parent)
        if c is not None and c.status == PUBLISHED and c.value == 0:
            return True
    return False


def shown_cells(release: Release) -> dict[CellKey, ReleaseCell]:
    """The release's cells as every format shows them: a withheld cell whose published total is 0 is a
    published 0 (issue 16: a row whose total is 0 shows 0, not x; its value is known exactly anyway).
    The same in the screens, PDF, XLSX, CSV, JSON, SDMX, DHIS2 and ADX, so no two formats disagree: DHIS2
    and ADX keep their rule (a withheld cell is absent, a published one present, 0 included)."""
    by_key = release._by_key()
    out: dict[CellKey, ReleaseCell] = {}
    for key, cell in by_key.items():
        if cell.status != PUBLISHED and zero_total(by_key, key):
            cell = dataclasses.replace(cell, status=PUBLISHED, value=0)
        out[key] = cell
    return out


def _xlsx_value(cell: ReleaseCell | None) -> int | str | None:
    if cell is None:
        return None
    if cell.status != PUBLISHED:
        return SUPPRESSED_MARK
    return cell.value


# --- DHIS2 dataValueSets (§2.9) -------------------------------------------------------------------

def org_unit(level: str, code: str) -> str:
    """Women's Union codes for DHIS2 ``orgUnitIdScheme=CODE``: ``VN``, ``VN_P01``, ``VN_C00001``."""
    return {"national": NATIONAL_CODE, "province": f"VN_P{code}", "commune": f"VN_C{code}"}[level]


def data_element(key: CellKey) -> str:
    """One data element per measure, breakdown and level: DHIS2 adds children up, so a data element is
    pushed at one org-unit level only (§2.9)."""
    parts = [key.measure.upper(), *[v.upper() for v, _ in key.dims], key.geo_level[:4].upper()]
    return "TC_" + "_".join(parts)


def category_option_combo(key: CellKey) -> str:
    return "_".join(code for _, code in key.dims) if key.dims else "default"


def to_dhis2(release: Release, kind: str = "quarter") -> bytes:
    """Bulk ``dataValueSets`` JSON of one data set (quarterly or yearly: a DHIS2 data set has one period
    type), published cells only: DHIS2 has no "suppressed" flag and a 0 would be false data, so a
    suppressed cell is left out (§2.9, T12, T19). Values are strings, and there are no comments."""
    values = []
    for cell in shown_cells(release).values():
        if cell.status != PUBLISHED or period_type(cell.key.period) != kind:
            continue
        values.append({
            "dataElement": data_element(cell.key),
            "period": dhis2_period(cell.key.period),
            "orgUnit": org_unit(cell.key.geo_level, cell.key.geo_code),
            "categoryOptionCombo": category_option_combo(cell.key),
            "value": str(cell.value),
        })
    values.sort(key=lambda v: (v["period"], v["orgUnit"], v["dataElement"], v["categoryOptionCombo"]))
    payload = {"dataSet": DATASET_QUARTERLY if kind == "quarter" else DATASET_YEARLY,
               "completeDate": vn_time(release.created_at).strftime("%Y-%m-%d"), "dataValues": values}
    return _dump(payload)


def to_dhis2_year(release: Release) -> bytes:
    return to_dhis2(release, "year")


def dhis2_period(period: str) -> str:
    return str(Period.parse(period))


# --- ADX (IHE QRPH, §2.9) -------------------------------------------------------------------------

def adx_period(period: str) -> str:
    """ISO 8601 start/duration: ``2026-07-01/P3M`` for a quarter, ``2026-01-01/P1Y`` for a year."""
    p = Period.parse(period)
    return f"{p.start.isoformat()}/{'P3M' if p.is_quarter else 'P1Y'}"


def to_adx(release: Release) -> bytes:
    ET.register_namespace("", ADX_NS)
    root = ET.Element(f"{{{ADX_NS}}}adx", {"exported": vn_time(release.created_at).isoformat(timespec="seconds")})
    groups: dict[tuple[str, str, str], list[ReleaseCell]] = defaultdict(list)
    for cell in shown_cells(release).values():
        if cell.status != PUBLISHED:
            continue  # suppressed cells are absent (T19)
        dataset = DATASET_QUARTERLY if period_type(cell.key.period) == "quarter" else DATASET_YEARLY
        groups[(org_unit(cell.key.geo_level, cell.key.geo_code), adx_period(cell.key.period), dataset)].append(cell)
    for (unit, period, dataset), cells in sorted(groups.items()):
        group = ET.SubElement(root, f"{{{ADX_NS}}}group", {"orgUnit": unit, "period": period, "dataSet": dataset})
        for cell in sorted(cells, key=lambda c: c.key.sort_key()):
            attrs = {"dataElement": _adx_element(cell.key)}
            attrs.update({v.upper(): code for v, code in cell.key.dims})
            attrs["value"] = str(cell.value)
            ET.SubElement(group, f"{{{ADX_NS}}}dataValue", attrs)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8")  # bytes for any encoding but "unicode"
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def _adx_element(key: CellKey) -> str:
    # ADX carries the breakdown as attributes, so the element names the measure and level only.
    return f"TC_{key.measure.upper()}_{key.geo_level[:4].upper()}"


# --- SDMX-CSV 2.0 (§1.6, §2.9) ----------------------------------------------------------------------

def to_sdmx_csv(release: Release) -> bytes:
    dims = dimension_columns(release)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["STRUCTURE", "STRUCTURE_ID", "ACTION", "REF_AREA", "TIME_PERIOD", "MEASURE",
                     *[d.upper() for d in dims], "OBS_VALUE", "OBS_STATUS", "CONF_STATUS", "UNIT_MULT"])
    for cell in shown_cells(release).values():
        published = cell.status == PUBLISHED
        p = Period.parse(cell.key.period)
        writer.writerow(["dataflow", SDMX_STRUCTURE, "I", org_unit(cell.key.geo_level, cell.key.geo_code),
                         f"{p.year}-Q{p.quarter}" if p.quarter else str(p.year), cell.key.measure,
                         *[cell.key.dim(d) for d in dims], cell.value if published else "",
                         "A" if published else "Q", "F" if published else "C", 0])
    return out.getvalue().encode("utf-8")


RENDERERS = {
    "csv": to_csv,
    "json": to_json,
    "xlsx": to_xlsx,
    "dhis2": to_dhis2,
    "dhis2-year": to_dhis2_year,
    "adx": to_adx,
    "sdmx": to_sdmx_csv,
    "manifest": to_manifest_json,
}


def render(release: Release, fmt: str) -> bytes:
    """The download of a release in one format; raises KeyError for an unknown format."""
    return RENDERERS[fmt](release)


def formats() -> Iterable[str]:
    return tuple(RENDERERS)
