"""Attachments: checked by content, size-limited, photos without location, encrypted with the owner's key."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from casework.errors import NotFound, ValidationError
from casework.extensions import db
from casework.protect.attachments import (
    Attachment,
    AttachmentChunk,
    NewAttachment,
    add_attachment,
    attachment_filename,
    attachments_of,
    get_attachment,
    open_attachment,
    read_attachment,
    send_attachment,
)
from casework.protect.crypto import ProtectedDataError
from tests.protect.conftest import NAME, Person, tamper

GPS_IFD = 0x8825
PDF = b"%PDF-1.4\n1 0 obj << /Title (Don cua chi Xuyen) >> endobj\n" + bytes(range(256)) * 600 + b"\n%%EOF\n"


def _photo(fmt: str = "JPEG", size=(120, 80), orientation: int | None = None) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    img.putpixel((0, 0), (0, 0, 255))
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 50.0, 12.0)}
    exif[0x010F] = "CameraMakerSecret"
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, fmt, exif=exif)
    return out.getvalue()


def _stored_bytes(attachment: Attachment) -> bytes:
    return b"".join(db.session.scalars(select(AttachmentChunk.data).where(
        AttachmentChunk.attachment_id == attachment.id).order_by(AttachmentChunk.n)))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_photo_location_and_camera_metadata_are_removed_before_encryption(make_person, fmt):
    original = _photo(fmt)
    assert b"CameraMakerSecret" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    person = make_person()
    attachment = add_attachment(None, person, NewAttachment(original, "IMG_0001.jpg", "photo"))
    db.session.commit()
    served = read_attachment(person, attachment)
    assert b"CameraMakerSecret" not in served and b"Exif" not in served
    cleaned = Image.open(io.BytesIO(served))
    assert not cleaned.getexif() and not cleaned.getexif().get_ifd(GPS_IFD)
    assert cleaned.size == (120, 80)
    assert attachment.content_type == f"image/{fmt.lower()}"


def test_photo_orientation_is_applied_before_the_metadata_goes(make_person):
    person = make_person()
    attachment = add_attachment(None, person, NewAttachment(_photo(orientation=6), "", "photo"))
    assert Image.open(io.BytesIO(read_attachment(person, attachment))).size == (80, 120)


def test_attachment_bytes_and_name_are_stored_encrypted(make_person):
    person = make_person()
    attachment = add_attachment(None, person, NewAttachment(PDF, f"Đơn của {NAME}.pdf", "consent_form"))
    db.session.commit()
    stored = _stored_bytes(attachment) + (attachment.filename_ct or b"")
    assert b"Don cua chi Xuyen" not in stored and b"%PDF" not in stored and NAME.encode() not in stored
    assert read_attachment(person, attachment) == PDF
    assert attachment_filename(person, attachment) == f"Đơn của {NAME}.pdf"
    assert attachment.chunk_count == 3 and attachment.size_bytes == len(PDF)


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00\x03" + b"\x00" * 100,  # a Windows program renamed photo.jpg
    b"<html><script>alert(1)</script></html>",
    b"PK\x03\x04" + b"\x00" * 100,  # a zip or an office document
    b"\xff\xd8\xff\xe0 not really a jpeg",  # JPEG magic, but no picture behind it
])
def test_files_that_are_not_a_jpeg_png_or_pdf_are_refused(make_person, data):
    person = make_person()
    with pytest.raises(ValidationError) as info:
        add_attachment(None, person, NewAttachment(data, "photo.jpg", "photo"))
    assert "file" in info.value.fields
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(Attachment)) == 0


def test_an_oversized_file_is_refused(make_app, person_table):
    small = make_app(max_upload_mb=1)
    with small.app_context():
        person = Person(province_code="01")
        person.full_name = NAME
        db.session.add(person)
        with pytest.raises(ValidationError, match="1 MB"):
            add_attachment(None, person, NewAttachment(b"%PDF-1.4\n" + b"0" * (1024 * 1024), "big.pdf"))
        assert add_attachment(None, person, NewAttachment(b"%PDF-1.4\n" + b"0" * 1000, "small.pdf")).size_bytes
        db.session.rollback()


def test_an_empty_file_is_refused(make_person):
    with pytest.raises(ValidationError):
        add_attachment(None, make_person(), NewAttachment(b"", "empty.pdf"))


def test_chunks_swapped_cut_off_or_moved_to_another_owner_do_not_decrypt(make_person):
    a, b = make_person(), make_person(full_name="Lò Thị Mây")
    att_a = add_attachment(None, a, NewAttachment(PDF, "a.pdf"))
    att_b = add_attachment(None, b, NewAttachment(PDF, "b.pdf"))
    db.session.commit()
    # Cut off: drop the last chunk and say there were only two.
    tamper("DELETE FROM attachment_chunk WHERE attachment_id = :id AND n = 2;"
           "UPDATE attachment SET chunk_count = 2 WHERE id = :id", id=att_a.id)
    with pytest.raises(ProtectedDataError):
        read_attachment(a, db.session.get(Attachment, att_a.id))
    # Moved: b's file claimed by a.
    tamper("UPDATE attachment SET owner_id = :a WHERE id = :id", a=a.id, id=att_b.id)
    with pytest.raises(ProtectedDataError):
        read_attachment(a, db.session.get(Attachment, att_b.id))


def test_a_reordered_chunk_is_caught_before_it_is_sent(make_person):
    person = make_person()
    att = add_attachment(None, person, NewAttachment(PDF, "a.pdf"))
    db.session.commit()
    tamper("UPDATE attachment_chunk SET n = n + 10 WHERE attachment_id = :id AND n IN (0, 1);"
           "UPDATE attachment_chunk SET n = 11 - n WHERE attachment_id = :id AND n >= 10", id=att.id)
    chunks = open_attachment(person, db.session.get(Attachment, att.id))
    with pytest.raises(ProtectedDataError):
        next(chunks)


def test_another_owners_attachment_is_not_found(make_person):
    a, b = make_person(), make_person(full_name="Lò Thị Mây")
    att = add_attachment(None, a, NewAttachment(PDF, "a.pdf"))
    db.session.commit()
    assert get_attachment(a, att.id).id == att.id
    with pytest.raises(NotFound):
        get_attachment(b, att.id)
    with pytest.raises(ProtectedDataError):
        read_attachment(b, att)
    assert [x.id for x in attachments_of(a)] == [att.id] and attachments_of(b) == []


def test_deleting_the_owner_deletes_its_attachments(make_person):
    person = make_person()
    add_attachment(None, person, NewAttachment(PDF, "a.pdf"))
    db.session.commit()
    db.session.delete(person)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(Attachment)) == 0
    assert db.session.scalar(select(db.func.count()).select_from(AttachmentChunk)) == 0


def test_download_is_an_attachment_that_no_cache_keeps_with_a_neutral_name(app, make_person, make_user, login):
    from casework.auth.policy import allow
    from casework.auth.roles import Role

    @allow(Role.ADMIN)
    def download(person_id, attachment_id):
        person = db.session.get(Person, person_id)
        return send_attachment(person, get_attachment(person, attachment_id))

    app.add_url_rule("/test-file/<person_id>/<attachment_id>", "test_file", download)
    person = make_person()
    att = add_attachment(None, person, NewAttachment(PDF, f"{NAME}.pdf", "consent_form"))
    db.session.commit()
    client = app.test_client()
    login(client, make_user("admin"))
    response = client.get(f"/test-file/{person.id}/{att.id}")
    assert response.status_code == 200
    assert response.get_data() == PDF
    h = response.headers
    assert h["Content-Disposition"].startswith("attachment; filename=\"consent_form-")
    assert "Xuy" not in h["Content-Disposition"] and "Nguy" not in h["Content-Disposition"]
    assert h["Cache-Control"] == "no-store" and h["X-Content-Type-Options"] == "nosniff"
    assert h["Content-Type"] == "application/pdf" and h["Content-Length"] == str(len(PDF))
    assert "sandbox" in h["Content-Security-Policy"]


def test_download_with_a_broken_first_chunk_gives_the_generic_error_page(app, make_person, make_user, login):
    from casework.auth.policy import allow
    from casework.auth.roles import Role

    @allow(Role.ADMIN)
    def download(person_id, attachment_id):
        person = db.session.get(Person, person_id)
        return send_attachment(person, get_attachment(person, attachment_id))

    app.add_url_rule("/test-file/<person_id>/<attachment_id>", "test_file", download)
    person = make_person()
    att = add_attachment(None, person, NewAttachment(PDF, "a.pdf", "consent_form"))
    db.session.commit()
    blob = bytearray(db.session.scalar(select(AttachmentChunk.data).where(
        AttachmentChunk.attachment_id == att.id, AttachmentChunk.n == 0)))
    blob[40] ^= 1
    tamper("UPDATE attachment_chunk SET data = :d WHERE attachment_id = :id AND n = 0", d=bytes(blob), id=att.id)
    client = app.test_client()
    login(client, make_user("admin"))
    response = client.get(f"/test-file/{person.id}/{att.id}")
    assert response.status_code == 500
    assert b"%PDF" not in response.get_data()
