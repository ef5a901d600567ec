"""Downloads: leakage (T12), determinism and replay (T13), format conformance (T19), and the shape of
each format (DHIS2 dataValueSets, ADX, XLSX, canonical CSV and JSON)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
import re
import zipfile
from datetime import timedelta
from xml.etree import ElementTree as ET

import openpyxl
import pytest

from casework.stats import formats
from casework.stats.counting import count_cells
from casework.stats.release import MeanSpec, PercentSpec, compute_release
from tests.stats.fixtures import CREATED, G1, G2_AGE, G2_REF, G4, GEOGRAPHY, L1, L2, People, fill, release

TABLES = [G1, G2_AGE, G2_REF, G4, L1, L2]
DERIVED = [PercentSpec("survivors", "age_group"), MeanSpec("disbursed")]
ADX = "{urn:ihe:qrph:adx:2015}"


def adx_root(r) -> ET.Element:
    return ET.fromstring(formats.to_adx(r))  # noqa: S314 - our own output, parsed by a test


def fixture_records() -> list:
    p = People()
    fill(p, "2026Q4", communes=("91001", "91002", "91003", "91004", "92001"), ref=("POLICE",))
    fill(p, "2026Q4", communes=("92002", "92003", "93001", "93002"), ref=("HEALTH",))
    p.add("2026Q4", "92002", age="UNK", ref=("HEALTH", "LEGAL"))
    p.add("2026Q4", "91003", n=4)
    for _ in range(12):
        p.grant("2026Q4", "91001", 5_000_000)
    p.grant("2026Q4", "93001", 7_000_000)
    return p.records


def year_end(records, **kw):
    """The fourth quarter's release, after the first three (all empty here) are in the ledger."""
    earlier: tuple = ()
    for q in ("2026Q1", "2026Q2", "2026Q3"):
        earlier += (release(TABLES, records, q, earlier=earlier),)
    return release(TABLES, records, "2026Q4", earlier=earlier, derived=DERIVED, **kw)


@pytest.fixture(scope="module")
def rel():
    return year_end(fixture_records())


def leaks(r) -> list[str]:
    """T12: everything in the files that could reveal a suppressed value or which cells are primary."""
    problems: list[str] = []
    suppressed = {c.key for c in r.cells if c.status == "suppressed"}
    assert suppressed, "the fixture must suppress something"
    rows = list(csv.DictReader(io.StringIO(formats.to_csv(r).decode("utf-8-sig"))))
    for row in rows:
        if row["status"] not in ("published", "suppressed") or row["conf_status"] not in ("F", "C"):
            problems.append(f"csv: status {row['status']}/{row['conf_status']}")
        if row["status"] == "suppressed" and (row["value"], row["obs_status"], row["conf_status"]) != ("", "Q", "C"):
            problems.append(f"csv: suppressed {row['geo_code']} {row['period']} shows {row['value']!r}")
        if row["geo_level"] not in ("national", "province", "commune"):
            problems.append(f"csv: geography below the commune: {row['geo_level']}")
    body = json.loads(formats.to_json(r))
    for cell in body["cells"]:
        if cell["status"] == "suppressed" and cell["value"] is not None:
            problems.append(f"json: suppressed cell with value {cell['value']}")
    words = json.dumps(body).lower()
    for word in ("primary", "secondary", "complement", "\"true_value\"", "debug"):
        if word in words:
            problems.append(f"json: the word {word}")
    for d in body["derived"]:
        if d["status"] == "suppressed" and d["value"] is not None:
            problems.append("json: suppressed derived value")
    problems += _xlsx_leaks(r, suppressed)
    published = {(formats.data_element(c.key), formats.dhis2_period(c.key.period),
                  formats.org_unit(c.key.geo_level, c.key.geo_code), formats.category_option_combo(c.key))
                 for c in r.cells if c.status == "published"}
    for kind in ("quarter", "year"):
        for v in json.loads(formats.to_dhis2(r, kind))["dataValues"]:
            if "comment" in v:
                problems.append("dhis2: comment")
            if (v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"]) not in published:
                problems.append(f"dhis2: a value for a cell that is not published: {v}")
    n_adx = sum(1 for _ in adx_root(r).iter(f"{ADX}dataValue"))
    if n_adx != len(published):
        problems.append(f"adx: {n_adx} values for {len(published)} published cells")
    for row in csv.DictReader(io.StringIO(formats.to_sdmx_csv(r).decode())):
        if row["CONF_STATUS"] not in ("F", "C") or (row["CONF_STATUS"] == "C" and row["OBS_VALUE"] != ""):
            problems.append(f"sdmx: {row['CONF_STATUS']} {row['OBS_VALUE']}")
    return problems


def _xlsx_leaks(r, suppressed) -> list[str]:
    problems: list[str] = []
    data = formats.to_xlsx(r)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    if any("comment" in n or "chart" in n or "vbaProject" in n for n in names):
        problems.append(f"xlsx: parts {names}")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    if wb.defined_names:
        problems.append("xlsx: defined names")
    marks = 0
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            problems.append(f"xlsx: hidden sheet {ws.title}")
        if any(d.hidden for d in ws.row_dimensions.values()) or any(d.hidden for d in ws.column_dimensions.values()):
            problems.append(f"xlsx: hidden rows or columns in {ws.title}")
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                    problems.append(f"xlsx: formula in {ws.title}!{cell.coordinate}")
                if cell.comment is not None:
                    problems.append(f"xlsx: comment in {ws.title}!{cell.coordinate}")
                marks += cell.value == "x"
    if marks < len({k for k in suppressed}):
        problems.append(f"xlsx: {marks} cells marked x for {len(suppressed)} suppressed")
    return problems


def test_t12_no_file_holds_a_suppressed_value_or_tells_primary_from_secondary(rel):
    assert leaks(rel) == []


def test_t12_leak_scan_finds_a_suppressed_value_written_into_the_files(rel, monkeypatch):
    # A release that kept a true value behind a suppressed cell, written by writers that trust the
    # value rather than the status: the release never holds such a value, and the writers check the
    # status; both safeguards are switched off here.
    cells = list(rel.cells)
    i = next(i for i, c in enumerate(cells) if c.status == "suppressed" and c.unit == "persons")
    cells[i] = dataclasses.replace(cells[i], value=3)
    leaky = dataclasses.replace(rel, cells=tuple(cells))
    original = formats._long_row

    def naive_row(release, table, cell, dims):
        return {**original(release, table, cell, dims), "value": cell.value}

    monkeypatch.setattr(formats, "_long_row", naive_row)
    monkeypatch.setattr(formats, "_xlsx_value", lambda cell: None if cell is None else cell.value)
    found = leaks(leaky)
    assert any(p.startswith("csv: suppressed") for p in found)
    assert any(p.startswith("json: suppressed cell") for p in found)
    assert any(p.startswith("xlsx:") for p in found)


# --- T13 determinism and replay ----------------------------------------------------------------------

def test_t13_same_release_downloads_byte_identical_in_every_format(rel):
    for fmt in formats.formats():
        assert formats.render(rel, fmt) == formats.render(rel, fmt), fmt


def test_t13_recomputing_from_records_in_another_order_gives_identical_files():
    records = fixture_records()
    shuffled = list(records)
    random.Random(5).shuffle(shuffled)
    one, two = year_end(records), year_end(shuffled)
    for fmt in formats.formats():
        assert formats.render(one, fmt) == formats.render(two, fmt), fmt


def test_t13_comparison_notices_a_release_frozen_at_another_time():
    records = fixture_records()
    one = year_end(records)
    two = year_end(records, created=CREATED + timedelta(seconds=1))
    assert formats.to_xlsx(one) != formats.to_xlsx(two)
    assert formats.to_json(one) != formats.to_json(two)


@pytest.mark.parametrize("period", ["2026-07-01/2026-08-15", "2026Q5", "2026-Q3", "2026"])
def test_t13_free_date_ranges_and_other_periods_are_refused(period):
    with pytest.raises(ValueError):
        counted = count_cells([G1], fixture_records(), period, GEOGRAPHY)
        compute_release(release_id="x", period=period, created_at=CREATED, tables=[G1], counted=counted,
                        geography=GEOGRAPHY)


# --- T19 format conformance ---------------------------------------------------------------------------

def conformance(r) -> list[str]:
    problems = []
    q = json.loads(formats.to_dhis2(r, "quarter"))
    y = json.loads(formats.to_dhis2(r, "year"))
    problems += [f"dhis2 period {v['period']}" for v in q["dataValues"]
                 if not re.fullmatch(r"\d{4}Q[1-4]", v["period"])]
    problems += [f"dhis2 period {v['period']}" for v in y["dataValues"] if not re.fullmatch(r"\d{4}", v["period"])]
    for g in adx_root(r).iter(f"{ADX}group"):
        if not re.fullmatch(r"\d{4}-\d{2}-01/P(3M|1Y)", g.get("period", "")):
            problems.append(f"adx period {g.get('period')}")
    if not formats.to_sdmx_csv(r).decode().startswith("STRUCTURE,STRUCTURE_ID,ACTION"):
        problems.append("sdmx header")
    return problems


def test_t19_periods_and_headers_conform(rel):
    assert conformance(rel) == []
    quarter_groups = [g.get("period") for g in adx_root(rel).iter(f"{ADX}group")]
    assert "2026-10-01/P3M" in quarter_groups and "2026-01-01/P1Y" in quarter_groups


def test_t19_conformance_check_rejects_a_sdmx_style_period_in_dhis2(rel, monkeypatch):
    monkeypatch.setattr(formats, "dhis2_period", lambda period: period[:4] + "-Q" + period[-1])
    assert any(p.startswith("dhis2 period") for p in conformance(rel))


# --- shapes --------------------------------------------------------------------------------------------

def test_dhis2_payload_has_the_data_value_set_keys_and_one_level_per_data_element(rel):
    payload = json.loads(formats.to_dhis2(rel))
    assert set(payload) == {"dataSet", "completeDate", "dataValues"}
    assert payload["dataSet"] == formats.DATASET_QUARTERLY
    levels: dict[str, set[str]] = {}
    for v in payload["dataValues"]:
        assert set(v) == {"dataElement", "period", "orgUnit", "categoryOptionCombo", "value"}
        assert isinstance(v["value"], str) and v["value"].isdigit()
        assert v["period"] == "2026Q4"
        levels.setdefault(v["dataElement"], set()).add(v["orgUnit"].split("_")[1][0] if "_" in v["orgUnit"] else "N")
    assert levels and all(len(s) == 1 for s in levels.values())


def test_adx_is_well_formed_with_groups_and_data_values(rel):
    root = adx_root(rel)
    assert root.tag == f"{ADX}adx" and root.get("exported") == "2026-10-05T10:00:00+07:00"  # Vietnam time (issue 16)
    groups = list(root)
    assert groups and all(g.tag == f"{ADX}group" for g in groups)
    for g in groups:
        assert set(g.attrib) == {"orgUnit", "period", "dataSet"}
        for dv in g:
            assert dv.tag == f"{ADX}dataValue" and dv.get("dataElement") and dv.get("value").isdigit()
    forms = {dv.get("REFERRAL_SERVICE") for g in groups for dv in g}
    assert {"HEALTH", "POLICE"} <= forms


def test_xlsx_has_the_form_layout_values_only_and_x_for_suppressed(rel):
    wb = openpyxl.load_workbook(io.BytesIO(formats.to_xlsx(rel)))
    # Sheets in Vietnamese within Excel's 31 characters, the first "Thông tin" with its accents (issue 16).
    assert wb.sheetnames[0] == "Thông tin" and not {"G1", "G2-age", "L2"} & set(wb.sheetnames)
    assert all(len(name) <= 31 for name in wb.sheetnames) and len(set(wb.sheetnames)) == len(wb.sheetnames)
    names, used = {}, {"Thông tin"}
    for t in rel.tables:
        names[t.id] = formats.sheet_name(t, used)
        used.add(names[t.id])
    assert wb.sheetnames[1:] == [names[t.id] for t in rel.tables]
    ws = wb[names["G2-age"]]
    header = [c.value for c in ws[8]]
    assert header[:4] == ["TT", "Chỉ tiêu", "ĐVT", "Tổng số"]
    assert ws["A1"].value.startswith("Đơn vị báo cáo") and ws["A3"].value.startswith("Kỳ báo cáo: Quý IV/2026")
    values = [c.value for row in ws.iter_rows(min_row=9) for c in row[3:]]
    assert "x" in values and all(v is None or v == "x" or isinstance(v, int) for v in values)
    assert wb.properties.creator == "Tin Cậy" and wb.properties.modified == CREATED.replace(tzinfo=None)


def test_canonical_csv_and_json_carry_the_release_fields(rel):
    text = formats.to_csv(rel).decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    for field in ("release_id", "table_id", "geo_level", "geo_code", "geo_name", "period", "period_type",
                  "measure", "unit", "value", "status", "obs_status", "conf_status", "rounding_base", "method"):
        assert field in header
    assert "age_group" in header and "referral_service" in header
    body = json.loads(formats.to_json(rel))
    m = body["manifest"]
    assert m["release_id"] == "2026Q4-r1" and m["method"] == "sdc-suppression-v1"
    assert m["parameters"]["k"] == 10 and m["audit"]["suppressed"] > 0
    assert all(set(c) == {"vi", "en"} for c in m["caveats"])
    assert "không phải tỷ lệ" in m["caveats"][0]["vi"] and "not the prevalence" in m["caveats"][0]["en"]
    money = [c for c in body["cells"] if c["measure"] == "disbursed" and c["status"] == "published"]
    assert money and all(c["value"] % 1_000_000 == 0 and c["rounding_base"] == 1_000_000 for c in money)


# --- issue 16: the coordinator's words ------------------------------------------------------------

def test_a_breakdown_of_a_published_zero_total_is_zero_everywhere_it_is_shown():
    from casework.stats.cells import CellKey
    from casework.stats.release import ReleaseCell

    total = CellKey("m", "province", "19", "2026Q3")
    part = total.with_dim("age_group", "U16")
    other = CellKey("m", "province", "11", "2026Q3").with_dim("age_group", "U16")
    cells = {total: ReleaseCell(total, ("T",), "published", 0, "persons", 1),
             part: ReleaseCell(part, ("T",), "suppressed", None, "persons", 1),
             other.without("age_group"): ReleaseCell(other.without("age_group"), ("T",), "suppressed", None,
                                                     "persons", 1)}
    assert formats.zero_total(cells, part)
    assert not formats.zero_total(cells, other)  # a withheld total says nothing
    assert not formats.zero_total(cells, total)


def test_xlsx_and_files_speak_plainly_and_in_vietnam_time(rel):
    wb = openpyxl.load_workbook(io.BytesIO(formats.to_xlsx(rel)))
    info = " ".join(str(v) for row in wb["Thông tin"].iter_rows(values_only=True) for v in row if v)
    for word in ("integer programming", "HiGHS", "p = ", "sdc-suppression", "milp", "Parameter"):
        assert word not in info
    assert "dưới 10 người" in info and "giờ Việt Nam (UTC+7)" in info
    assert "(giờ Việt Nam)" in wb.worksheets[1]["A4"].value
    assert json.loads(formats.to_dhis2(rel))["completeDate"] == "2026-10-05"
