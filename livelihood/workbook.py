"""Excel in and out: the survey-list template, its all-or-nothing import, and exports.

Import rules (issue 6, DESIGN §5): the header row must be the template's; every row is checked
and every error is reported with its row number and column; a formula (a cell of type ``f`` or a
text starting with ``=``) is refused, never evaluated; dates must be real dates or dd/mm/yyyy;
the file is size-limited and must be an .xlsx (a zip) by content, not by name. Nothing is stored
unless the whole file is valid: the rows are registered in the request's single transaction.

Exports neutralise formulas: a text cell starting with ``= + - @`` (or a tab / carriage return)
gets a leading apostrophe, so a spreadsheet program shows it instead of running it (OWASP CSV
injection).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError, iterparse

from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from casework.auth.models import User
from casework.protect import audit
from casework.text import nfc
from livelihood import schemas, services
from livelihood.models import Survivor

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
MAX_CELL_CHARS = 10_000
MAX_MEMBERS = 1000
DEFAULT_UNCOMPRESSED_MB = 20  # setting ``xlsx_max_uncompressed_mb``
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (code, header in the template). The header is fixed Vietnamese text: the file is exchanged
# between people, whatever language each one's screen is in.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("full_name", "Họ và tên"),
    ("birth_year", "Năm sinh"),
    ("sex", "Giới tính"),
    ("ethnicity_code", "Mã dân tộc"),
    ("phone", "Số điện thoại"),
    ("status", "Tình trạng"),
    ("status_on", "Ngày xác định"),
    ("status_authority", "Cơ quan xác định"),
    ("consent_record", "Đồng ý lưu hồ sơ"),
    ("consent_statistics", "Đồng ý thống kê"),
    ("household_size", "Số người trong hộ"),
    ("monthly_income_vnd", "Thu nhập hộ/tháng (đồng)"),
    ("skills", "Kỹ năng"),
    ("wishes", "Mong muốn"),
)
HEADERS = {code: header for code, header in COLUMNS}
# Error keys of ``SurvivorIn`` (the JSON body's names) → template columns.
FIELD_COLUMNS = {nested: flat for flat, nested in schemas.SURVIVOR_FLAT.items() if flat in HEADERS} | {
    name: name for name in ("status", "status_on", "status_authority")}
TEXT_COLUMNS = ("full_name", "ethnicity_code", "phone", "status_authority", "skills", "wishes")


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's own row number (the header is row 1)
    column: str  # the header text, or "" for the whole file or row
    message: str


@dataclass
class ImportResult:
    rows: list[tuple[int, schemas.SurvivorIn]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


# --- export -------------------------------------------------------------------------------------


DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text that a spreadsheet would run as a formula, made inert with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(DANGEROUS_START):
        return "'" + value
    return value


def workbook_bytes(sheet_title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title[:31]
    ws.append([neutralise(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([neutralise(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_bytes() -> bytes:
    """The survey-list template: the header row, one example row to overwrite, and the instructions."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sach"
    ws.append([h for _c, h in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    help_ws = wb.create_sheet("Huong dan")
    lines = [
        "Mỗi dòng của trang 'Danh sach' là một người. Giữ nguyên dòng tiêu đề; không thêm, bớt hay đổi tên cột.",
        "Họ và tên: bắt buộc.",
        "Năm sinh: 4 chữ số, ví dụ 1998.",
        "Giới tính: Nữ hoặc Nam.",
        "Mã dân tộc: 2 chữ số từ 01 đến 54, ví dụ 01 (Kinh), 03 (Thái), 08 (Mông).",
        "Tình trạng: 'Đang xác minh', 'Đã xác định là nạn nhân' hoặc 'Không phải nạn nhân' (Luật 53/2024/QH15); "
        "chỉ ghi 'Nạn nhân' là chưa rõ và sẽ bị báo lỗi.",
        "Ngày xác định: dd/mm/yyyy, ví dụ 05/03/2026.",
        "Đồng ý lưu hồ sơ: phải là 'Có' — không có sự đồng ý thì không lưu.",
        "Đồng ý thống kê: Có hoặc Không.",
        "Số tiền: số nguyên, đồng, không có phần thập phân, ví dụ 1500000.",
        "Không dùng công thức (ô bắt đầu bằng =). Tệp không quá 2 MB, không quá 2000 dòng.",
        "Nếu có bất kỳ lỗi nào, không dòng nào được nhập; sửa các lỗi được báo rồi tải lại tệp.",
    ]
    for line in lines:
        help_ws.append([line])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- import -------------------------------------------------------------------------------------


def _fold(value: object) -> str:
    from casework.text import fold

    return fold(str(value)) if value is not None else ""


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return nfc(str(value))


def uncompressed_limit() -> int:
    """Bytes an upload may expand to, in each zip member and in all of them together."""
    try:
        mb = int(current_app.config["SETTINGS"].xlsx_max_uncompressed_mb)
    except (RuntimeError, KeyError, AttributeError):
        mb = DEFAULT_UNCOMPRESSED_MB
    return mb * 1024 * 1024


def _too_large_message(limit: int) -> str:
    return _("The file expands to more than %(n)d MB when opened, which an Excel survey list never does. "
             "Save it again from Excel as .xlsx, or split it into smaller files.", n=limit // (1024 * 1024))


def _has_long_cell(handle) -> bool:
    """True when a shared string or a cell of a sheet holds more than ``MAX_CELL_CHARS`` characters
    (streamed: one cell at a time in memory)."""
    try:
        # Expat (>= 2.4.1) caps entity expansion and ElementTree never fetches external entities.
        for _event, elem in iterparse(handle, events=("end",)):  # noqa: S314  # nosec B314 (see above)
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag in ("si", "c", "t", "v", "is"):
                if sum(len(t) for t in elem.itertext()) > MAX_CELL_CHARS:
                    return True
            if tag in ("si", "c", "row"):
                elem.clear()
    except ParseError:
        return False  # not our concern here: the workbook reader refuses a broken file
    return False


def check_archive(data: bytes, limit: int | None = None) -> str | None:
    """Refuse a zip bomb before any spreadsheet parsing: a message when a member of the zip, or all
    of them together, would expand beyond ``limit`` bytes (declared sizes first, then the bytes
    actually inflated, so a lying header gains nothing), when it holds too many members, or when a
    cell holds more than ``MAX_CELL_CHARS`` characters; None when the file may be read."""
    limit = limit or uncompressed_limit()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                return _too_large_message(limit)
            if any(m.file_size > limit for m in members) or sum(m.file_size for m in members) > limit:
                return _too_large_message(limit)
            total = 0
            for member in members:
                size = 0
                with archive.open(member) as handle:
                    while chunk := handle.read(1024 * 1024):
                        size += len(chunk)
                        total += len(chunk)
                        if size > limit or total > limit:
                            return _too_large_message(limit)
                name = member.filename
                if name == "xl/sharedStrings.xml" or (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    with archive.open(member) as handle:
                        if _has_long_cell(handle):
                            return _("A cell holds more than %(n)s characters; a survey list never needs that "
                                     "much. Shorten it and upload the file again.", n="10.000")
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, OSError, ValueError):
        return _("This is not an Excel file (.xlsx). Download the template and fill it in.")
    return None


def read_rows(data: bytes) -> tuple[list[tuple[int, dict[str, object]]], list[RowError]]:
    """The data rows of an uploaded file keyed by column code, or the file-level errors."""
    if len(data) > MAX_BYTES:
        return [], [RowError(0, "", _("The file is larger than %(n)d MB.", n=MAX_BYTES // (1024 * 1024)))]
    if not data.startswith(b"PK\x03\x04") or not zipfile.is_zipfile(io.BytesIO(data)):
        return [], [RowError(0, "", _("This is not an Excel file (.xlsx). Download the template and fill it in."))]
    refused = check_archive(data)  # before openpyxl inflates anything
    if refused:
        return [], [RowError(0, "", refused)]
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        return [], [RowError(0, "", _("This is not an Excel file (.xlsx). Download the template and fill it in."))]
    try:
        ws = wb.worksheets[0]
        rows_iter = ws.iter_rows()
        header_cells = next(rows_iter, None)
        header = [nfc(str(c.value)) if c.value is not None else "" for c in (header_cells or ())]
        while header and header[-1] == "":
            header.pop()
        expected = [h for _c, h in COLUMNS]
        if [_fold(h) for h in header] != [_fold(h) for h in expected]:
            missing = [h for h in expected if _fold(h) not in {_fold(x) for x in header}]
            extra = [h for h in header if h and _fold(h) not in {_fold(x) for x in expected}]
            message = _("The columns are not the template's. Use the template without adding, removing, "
                        "renaming or moving columns.")
            errors = [RowError(1, "", message)]
            if missing:
                errors.append(RowError(1, "", _("Missing columns: %(names)s.", names=", ".join(missing))))
            if extra:
                errors.append(RowError(1, "", _("Unknown columns: %(names)s.", names=", ".join(extra))))
            return [], errors
        out: list[tuple[int, dict[str, object]]] = []
        errors = []
        for number, cells in enumerate(rows_iter, start=2):
            if number - 1 > MAX_ROWS:
                return [], [RowError(number, "", _("The file has more than %(n)d rows.", n=MAX_ROWS))]
            values: dict[str, object] = {}
            for (code, header_text), cell in zip(COLUMNS, cells, strict=False):
                value = cell.value
                typed_formula = isinstance(value, str) and value.lstrip().startswith("=")
                if getattr(cell, "data_type", None) == "f" or typed_formula:
                    errors.append(RowError(number, header_text, _("Formulas are not accepted; type the value.")))
                    value = None
                values[code] = value
            beyond = [c for c in list(cells)[len(COLUMNS):] if c.value not in (None, "")]
            if beyond:
                errors.append(RowError(number, "", _("There are values outside the template's columns.")))
            if all(v in (None, "") for v in values.values()):
                continue  # an empty row
            out.append((number, values))
        return out, errors
    finally:
        wb.close()


def _parse_row(number: int, values: dict[str, object], actor: User,
               already: AbstractSet[str] = frozenset()) -> tuple[schemas.SurvivorIn | None, list[RowError]]:
    """One row read by ``SurvivorIn`` (as the form and the API body are), or its errors by column;
    ``already`` are columns with an error of their own (a formula)."""
    cells = dict(values)
    for code in TEXT_COLUMNS:  # a number typed in a text column (a phone, "01") is its text
        cells[code] = _text(cells.get(code))
    ethnicity = cells["ethnicity_code"]
    if isinstance(ethnicity, str) and ethnicity.isdigit() and len(ethnicity) == 1:
        cells["ethnicity_code"] = "0" + ethnicity  # Excel drops the leading zero of "01"
    new, fields = schemas.SurvivorIn.collect_row({**schemas.nest(cells), "commune_code": actor.commune_code})
    if new is not None:
        fields = services.survivor_scope_errors(actor, new)
    errors: list[RowError] = []
    reported = set(already)
    for name, messages in fields.items():
        where = FIELD_COLUMNS.get(name)
        column = HEADERS[where] if where else ""
        if column and column in reported:
            continue  # the cell's own error (a formula) says it already
        errors.extend(RowError(number, column, m) for m in messages)
    return (None if errors else new), errors


def check_import(actor: User, data: bytes) -> ImportResult:
    """Read and check every row; the result holds either all rows or all errors."""
    rows, errors = read_rows(data)
    result = ImportResult(errors=list(errors))
    if errors and not rows:
        return result
    if not rows:
        result.errors.append(RowError(0, "", _("The file has no rows to import.")))
        return result
    for number, values in rows:
        already = {e.column for e in errors if e.row == number}
        new, row_errors = _parse_row(number, values, actor, already)
        if row_errors or already:
            result.errors.extend(row_errors)
        elif new is not None:
            result.rows.append((number, new))
    result.errors.sort(key=lambda e: (e.row, e.column))
    return result


def import_survivors(actor: User, data: bytes) -> tuple[ImportResult, list[Survivor]]:
    """Register every row of the file, or none: nothing is stored when any row has an error."""
    result = check_import(actor, data)
    if not result.ok:
        return result, []
    created = [services.register_survivor(actor, new) for _number, new in result.rows]
    audit.record("survivor_import", object_type="survivor", actor=actor, detail=f"rows:{len(created)}")
    return result, created
