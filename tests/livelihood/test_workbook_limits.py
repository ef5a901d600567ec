"""Zip bombs and giant cells in an .xlsx upload are refused before any parsing (issue 12).

The bomb is built here without ever holding its expanded content: a raw deflate block of 1 MiB of
zeros, flushed with Z_FULL_FLUSH, compresses to the same bytes every time, so 1024 copies of it are a
valid 1 GiB member in a file of about 1 MB."""

from __future__ import annotations

import dataclasses
import io
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from casework.extensions import db
from livelihood import workbook
from livelihood.models import Survivor

MIB = 1024 * 1024


def _zip_bomb(blocks: int = 1024, *, declared_size: int | None = None) -> bytes:
    """A zip with one ``xl/worksheets/sheet1.xml`` member inflating to ``blocks`` MiB of zeros."""
    chunk = bytes(MIB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert again == block  # the property the construction relies on
    stream = block * blocks + compressor.flush()
    crc = 0
    for _i in range(blocks):
        crc = zlib.crc32(chunk, crc)
    size = blocks * MIB if declared_size is None else declared_size
    name = b"xl/worksheets/sheet1.xml"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(stream), size, len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(stream), size, len(name),
                          0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(stream), 0)
    return local + stream + central + end


def _workbook_with(value: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([header for _code, header in workbook.COLUMNS])
    ws.append(["Demo Thị Dài", 1990, "Nữ", "01", "", "Đã xác định", "", value, "Có", "Không", 3, 1_000_000, "",
               ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_bomb_is_about_one_megabyte_and_declares_a_gigabyte():
    data = _zip_bomb()
    assert len(data) < 1.1 * MIB
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.infolist()[0].file_size == 1024 * MIB


def test_a_zip_bomb_is_refused_before_parsing_without_using_memory(app, officers, monkeypatch):
    data = _zip_bomb()

    def never(*_args, **_kwargs):
        raise AssertionError("the workbook must not be parsed")

    monkeypatch.setattr(workbook, "load_workbook", never)
    tracemalloc.start()
    try:
        rows, errors = workbook.read_rows(data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == [] and len(errors) == 1 and errors[0].row == 0
    assert "20 MB" in errors[0].message
    assert peak < 16 * MIB  # about the upload itself, never its expansion


def test_a_member_lying_about_its_size_is_refused_too(app, monkeypatch):
    # The header says 1 KiB, the stream inflates to 64 MiB: the reader stops at what was declared.
    data = _zip_bomb(64, declared_size=1024)
    monkeypatch.setattr(workbook, "load_workbook", lambda *_a, **_k: pytest.fail("parsed"))
    assert workbook.check_archive(data) is not None


def test_members_that_together_pass_the_limit_are_refused(app):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(3):  # 3 × 8 MiB: each member is below 20 MB, together they are not
            archive.writestr(f"xl/media/image{i}.bin", bytes(8 * MIB))
    assert len(out.getvalue()) < workbook.MAX_BYTES
    assert "20 MB" in workbook.check_archive(out.getvalue())


def test_the_limit_is_a_setting(app):
    small = _zip_bomb(4)  # 4 MiB: within the default 20 MB
    assert workbook.check_archive(small) is None
    app.config["SETTINGS"] = dataclasses.replace(app.config["SETTINGS"], xlsx_max_uncompressed_mb=2)
    assert "2 MB" in workbook.check_archive(small)


def test_a_cell_above_ten_thousand_characters_is_refused(app, officers):
    assert workbook.check_archive(_workbook_with("x" * 10_000)) is None
    message = workbook.check_archive(_workbook_with("x" * 10_001))
    assert message and "10.000" in message


def test_the_import_screen_says_it_on_the_file_field_and_imports_nothing(client, login, officers):
    login(client, officers.commune)
    # 400 MiB in about 400 kB: below the test client's 500 kB threshold, above which it spools the
    # body to a temporary file that it never closes (a ResourceWarning in a later test).
    response = client.post("/livelihood/import", data={"file": (io.BytesIO(_zip_bomb(400)), "danh-sach.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "khi mở ra lớn hơn 20 MB" in page
    assert 'id="file-error"' in page  # on the file field itself
    response = client.post("/livelihood/import",
                           data={"file": (io.BytesIO(_workbook_with("x" * 10_001)), "danh-sach.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "10.000 ký tự" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Survivor)) == 0
