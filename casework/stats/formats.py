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
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.writer.excel import ExcelWriter

from casework.stats.catalogue import TOTAL, TableDef
from casework.stats.cells import NATIONAL_CODE, CellKey, parse_period, period_sort_key, period_start, period_type
from casework.stats.release import FOOTNOTE, PUBLISHED, Release, ReleaseCell

SUPPRESSED_MARK = "x"  # §2.9: the Vietnamese form's mark for a withheld figure
ADX_NS = "urn:ihe:qrph:adx:2015"
SDMX_STRUCTURE = "VNWU:TINCAY(1.0.0)"
DATASET_QUARTERLY = "TINCAY_Q"
DATASET_YEARLY = "TINCAY_Y"

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
    for cell in release.cells:
        for table_id in cell.tables:
            rows.append(_long_row(release, tables[table_id], cell, dims))
    rows.sort(key=lambda r: (r["table_id"], _sort_cell(r["_key"])))
    for r in rows:
        del r["_key"]
    return rows


def _sort_cell(key: CellKey) -> tuple:
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
    """Values only: no formulas, no hidden sheets, rows or columns, no comments; ``x`` for withheld."""
    wb = Workbook()
    info = wb.active
    info.title = "Thong tin"
    _info_sheet(info, release, reporting_unit, receiving_unit)
    for table in release.tables:
        ws = wb.create_sheet(_sheet_title(table.id))
        _table_sheet(ws, release, table, reporting_unit, receiving_unit)
    created = release.created_at.replace(tzinfo=None)
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
    return _fixed_zip(buf.getvalue(), release.created_at)


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


def _sheet_title(table_id: str) -> str:
    return "".join(ch for ch in table_id if ch not in "[]:*?/\\")[:31]


def _header_block(ws, release: Release, title: str, reporting_unit: str, receiving_unit: str) -> int:
    bold = Font(bold=True)
    year, quarter = parse_period(release.period)
    ws.append([f"Đơn vị báo cáo: {reporting_unit}"])
    ws.append([f"Đơn vị nhận báo cáo: {receiving_unit}"])
    ws.append([f"Kỳ báo cáo: Quý {quarter}/{year} (bản phát hành {release.release_id})"])
    ws.append([f"Ngày lập: {release.created_at.strftime('%d/%m/%Y')}"])
    ws.append([])
    ws.append([title])
    ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([])
    return ws.max_row


def _info_sheet(ws, release: Release, reporting_unit: str, receiving_unit: str) -> None:
    _header_block(ws, release, "Thông tin bản phát hành số liệu / Release information", reporting_unit,
                  receiving_unit)
    m = release.manifest
    ws.append(["Mã bản phát hành / Release", m["release_id"]])
    ws.append(["Kỳ / Period", m["period"]])
    ws.append(["Phương pháp / Method", m["method"]])
    for name, value in sorted(m["parameters"].items()):
        ws.append([f"Tham số / Parameter {name}", value])
    ws.append([])
    ws.append(["Lưu ý / Caveats"])
    for c in m["caveats"]:
        ws.append([c["vi"]])
        ws.append([c["en"]])
    ws.column_dimensions["A"].width = 60


def _table_sheet(ws, release: Release, table: TableDef, reporting_unit: str, receiving_unit: str) -> None:
    _header_block(ws, release, f"{table.title_vi} ({table.id})", reporting_unit, receiving_unit)
    cells = [c for c in release.cells if table.id in c.tables]
    unit = {"persons": "Người", "vnd": "Đồng"}.get(table.unit, table.unit)
    columns, col_keys = _columns(table)
    ws.append(["TT", "Chỉ tiêu", "ĐVT", *columns])
    for col in range(1, len(columns) + 4):
        ws.cell(row=ws.max_row, column=col).font = Font(bold=True)
        ws.cell(row=ws.max_row, column=col).alignment = Alignment(wrap_text=True)
    by_key = {c.key: c for c in cells}
    rows = sorted({(c.key.period, c.key.geo_level, c.key.geo_code, _row_dims(table, c.key)) for c in cells},
                  key=lambda r: (period_sort_key(r[0]), {"national": 0, "province": 1, "commune": 2}[r[1]], r[2], r[3]))
    for n, (period, level, code, row_dims) in enumerate(rows, start=1):
        label = release.geography.name(level, code)
        if row_dims:
            label += " – " + table.dimensions[0].category(row_dims[0][1]).label_vi
        label += f" ({'Quý ' + period[-1] + '/' + period[:4] if 'Q' in period else 'Năm ' + period})"
        values: list[Any] = []
        for extra in col_keys:
            key = CellKey(table.measure, level, code, period, row_dims + extra)
            cell = by_key.get(key)
            values.append(_xlsx_value(cell))
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
    for cell in release.cells:
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
               "completeDate": release.created_at.strftime("%Y-%m-%d"), "dataValues": values}
    return _dump(payload)


def to_dhis2_year(release: Release) -> bytes:
    return to_dhis2(release, "year")


def dhis2_period(period: str) -> str:
    year, quarter = parse_period(period)
    return f"{year}Q{quarter}" if quarter else str(year)


# --- ADX (IHE QRPH, §2.9) -------------------------------------------------------------------------

def adx_period(period: str) -> str:
    """ISO 8601 start/duration: ``2026-07-01/P3M`` for a quarter, ``2026-01-01/P1Y`` for a year."""
    start = period_start(period)
    return f"{start.isoformat()}/{'P3M' if period_type(period) == 'quarter' else 'P1Y'}"


def to_adx(release: Release) -> bytes:
    ET.register_namespace("", ADX_NS)
    root = ET.Element(f"{{{ADX_NS}}}adx", {"exported": release.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    groups: dict[tuple[str, str, str], list[ReleaseCell]] = defaultdict(list)
    for cell in release.cells:
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
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


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
    for cell in release.cells:
        published = cell.status == PUBLISHED
        year, quarter = parse_period(cell.key.period)
        writer.writerow(["dataflow", SDMX_STRUCTURE, "I", org_unit(cell.key.geo_level, cell.key.geo_code),
                         f"{year}-Q{quarter}" if quarter else str(year), cell.key.measure,
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
