"""Excel: the template, the all-or-nothing import with errors by row and column, and safe exports."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from casework.extensions import db
from casework.protect.audit import AuditEvent
from livelihood import workbook
from livelihood.models import Survivor

HEADER = [h for _c, h in workbook.COLUMNS]
GOOD = ["Demo Thị Ba", 1997, "Nữ", "06", "0912 345 678", "Đã xác định", "05/03/2025", "Công an tỉnh", "Có", "Có", 4,
        1500000, "dệt", "nuôi lợn"]


def xlsx(rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Survivor))


def _row(**changes):
    row = list(GOOD)
    for code, value in changes.items():
        row[[c for c, _h in workbook.COLUMNS].index(code)] = value
    return row


def test_template_has_the_expected_header_and_is_accepted_back(officers):
    wb = load_workbook(io.BytesIO(workbook.template_bytes()))
    assert [c.value for c in wb.worksheets[0][1]] == HEADER
    result = workbook.check_import(officers.user(officers.commune), workbook.template_bytes())
    assert [e.message for e in result.errors] == ["Tệp không có dòng nào để nhập."]


def test_valid_file_imports_every_row_into_the_officers_commune(officers):
    data = xlsx([GOOD, _row(full_name="Demo Thị Tư", status="đang xác định", status_on=datetime(2025, 4, 1),
                            ethnicity_code=1, birth_year=None)])
    result, created = workbook.import_survivors(officers.user(officers.commune), data)
    db.session.commit()
    assert result.ok and len(created) == 2 == _count()
    first, second = sorted(created, key=lambda s: s.full_name)
    assert (first.full_name, first.status, first.ethnicity_code, first.commune_code) == (
        "Demo Thị Ba", "identified", "06", "05533")
    assert (second.status, second.ethnicity_code, second.birth_year) == ("being_identified", "01", None)
    assert second.status_on.isoformat() == "2025-04-01"
    events = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("survivor_%"))))
    assert events.count("survivor_create") == 2 and "survivor_import" in events


def test_one_bad_row_imports_nothing_and_names_row_and_column(officers):
    data = xlsx([GOOD, _row(status_on="31/02/2025"), GOOD, _row(consent_record="Không", sex="?")])
    result, created = workbook.import_survivors(officers.user(officers.commune), data)
    assert not result.ok and created == []
    assert _count() == 0
    found = {(e.row, e.column) for e in result.errors}
    assert found == {(3, "Ngày xác định"), (5, "Đồng ý lưu hồ sơ"), (5, "Giới tính")}
    messages = {e.column: e.message for e in result.errors}
    assert messages["Ngày xác định"] == "Nhập ngày theo dạng dd/mm/yyyy."


def test_formulas_are_refused_whether_typed_or_stored(officers):
    data = xlsx([GOOD, _row(full_name="=HYPERLINK(\"http://x\",\"a\")"), _row(monthly_income_vnd="=1+1")])
    result = workbook.check_import(officers.user(officers.commune), data)
    assert {(e.row, e.column) for e in result.errors} == {(3, "Họ và tên"), (4, "Thu nhập hộ/tháng (đồng)")}
    assert all("công thức" in e.message for e in result.errors)


def test_wrong_missing_or_moved_columns_refuse_the_file(officers):
    actor = officers.user(officers.commune)
    renamed = HEADER[:-1] + ["Ghi chú"]
    moved = [HEADER[1], HEADER[0], *HEADER[2:]]
    for header in (renamed, moved, HEADER[:-1]):
        result = workbook.check_import(actor, xlsx([GOOD], header=header))
        assert not result.ok and result.errors[0].row == 1
    result = workbook.check_import(actor, xlsx([GOOD], header=renamed))
    assert any("Ghi chú" in e.message for e in result.errors) and any("Mong muốn" in e.message for e in result.errors)


def test_decimal_and_negative_numbers_are_refused(officers):
    data = xlsx([_row(monthly_income_vnd=1500000.5), _row(household_size=-2), _row(birth_year="1998,5")])
    result = workbook.check_import(officers.user(officers.commune), data)
    assert {(e.row, e.column) for e in result.errors} == {
        (2, "Thu nhập hộ/tháng (đồng)"), (3, "Số người trong hộ"), (4, "Năm sinh")}


def test_a_file_that_is_not_xlsx_or_too_large_is_refused(officers):
    actor = officers.user(officers.commune)
    assert not workbook.check_import(actor, b"name,year\nA,1990\n").ok
    assert not workbook.check_import(actor, b"PK\x03\x04 broken zip").ok
    big = workbook.check_import(actor, b"PK\x03\x04" + b"0" * (workbook.MAX_BYTES + 1))
    assert "MB" in big.errors[0].message


def test_too_many_rows_are_refused(officers, monkeypatch):
    monkeypatch.setattr(workbook, "MAX_ROWS", 3)
    result = workbook.check_import(officers.user(officers.commune), xlsx([GOOD] * 4))
    assert not result.ok and result.errors[0].row == 5


def test_import_screen_shows_errors_by_row_and_stores_nothing(client, login, officers):
    login(client, officers.commune)
    response = client.post("/livelihood/import", data={"file": (io.BytesIO(xlsx([GOOD, _row(full_name="")])),
                                                                 "danh-sach.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Không dòng nào được nhập" in page and "<td>3</td><td>Họ và tên</td>" in page
    assert _count() == 0


def test_import_screen_imports_and_shows_a_progress_bar(client, login, officers):
    login(client, officers.commune)
    response = client.post("/livelihood/import", data={"file": (io.BytesIO(xlsx([GOOD, GOOD])), "a.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<progress class="lv-progress" id="import-progress" max="2" value="2">' in page
    assert "Demo Thị Ba" not in page  # the result names nobody
    assert _count() == 2


def test_template_download_is_an_xlsx(client, login, officers):
    login(client, officers.commune)
    response = client.get("/livelihood/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == workbook.XLSX_MIME
    assert response.data.startswith(b"PK\x03\x04")


def test_exports_neutralise_formulas():
    data = workbook.workbook_bytes("x", ["a", "b"], [["=1+1", "+84 912", "-5", "@SUM(A1)", "ok", 12, -3]])
    row = [c.value for c in load_workbook(io.BytesIO(data)).active[2]]
    assert row == ["'=1+1", "'+84 912", "'-5", "'@SUM(A1)", "ok", 12, -3]


def test_proposal_export_holds_codes_not_names_and_is_audited(client, login, officers, make_proposal):
    proposal = make_proposal()
    proposal.title = "=cmd|' /C calc'!A0"
    db.session.commit()
    # The commune officer's export carries the title she wrote, neutralised; the province's carries the
    # structured replacement (issue 12). Neither carries her name.
    login(client, officers.commune)
    response = client.get("/livelihood/proposals/export.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    values = [c.value for c in ws[2]]
    assert values[0] == proposal.survivor.code
    assert values[4] == "'=cmd|' /C calc'!A0"
    assert "Demo Thị Hai" not in str([[c.value for c in row] for row in ws.iter_rows()])
    province = client.application.test_client()
    login(province, officers.province)
    ws = load_workbook(io.BytesIO(province.get("/livelihood/proposals/export.xlsx").data)).active
    values = [c.value for c in ws[2]]
    assert values[4] == f"Chăn nuôi — nạn nhân {proposal.survivor.code}"
    assert "cmd" not in str([[c.value for c in row] for row in ws.iter_rows()])
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "proposal_export")) == 2
