"""Receipts of tranches and photos of monitoring visits: encrypted, scoped, all-or-nothing with the record."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import func, select

from casework.extensions import db
from casework.protect.attachments import Attachment, AttachmentChunk
from livelihood import services
from livelihood.models import Disbursement, MonitoringVisit


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (8, 8), (10, 120, 30))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (21.0, 35.0, 0.0), 3: "E", 4: (105.0, 50.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _pay(client, proposal, file_bytes: bytes, name: str = "bien-nhan.png"):
    return client.post(f"/livelihood/proposals/{proposal.id}/disbursements/new",
                       data={"amount_vnd": "1.000.000", "paid_on": services.today().isoformat(), "form": "cash",
                             "receipt": (io.BytesIO(file_bytes), name)},
                       content_type="multipart/form-data")


def test_receipt_is_stored_encrypted_and_downloadable_in_scope(client, login, officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("approved")
    login(client, officers.province)
    assert _pay(client, proposal, _png()).status_code == 302
    tranche = db.session.scalar(select(Disbursement))
    attachment = db.session.scalar(select(Attachment))
    assert (attachment.owner_type, attachment.owner_id, attachment.kind) == ("disbursement", tranche.id, "receipt")
    assert _png()[:8] not in b"".join(db.session.scalars(select(AttachmentChunk.data)))
    url = f"/livelihood/proposals/{proposal.id}/receipt/{tranche.id}/{attachment.id}"
    # Updated for issue 12: receipts are seen by her commune's officer only, never by the province.
    assert url not in client.get(f"/livelihood/proposals/{proposal.id}").get_data(as_text=True)
    assert client.get(url).status_code == 404
    other = client.application.test_client()
    login(other, officers.other_province)
    assert other.get(url).status_code == 404
    commune = client.application.test_client()
    login(commune, officers.commune)
    assert url in commune.get(f"/livelihood/proposals/{proposal.id}").get_data(as_text=True)
    response = commune.get(url)
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "bien-nhan" not in response.headers["Content-Disposition"]  # the original name stays private
    assert commune.get(url.replace("/receipt/", "/photo/")).status_code == 404


def test_a_receipt_that_is_not_an_image_or_pdf_keeps_nothing(client, login, officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("approved")
    login(client, officers.province)
    response = _pay(client, proposal, b"MZ\x90\x00 an executable", "bien-nhan.exe")
    assert response.status_code == 422
    assert "JPEG" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 0
    assert db.session.get(type(proposal), proposal.id).disbursed_vnd == 0


def test_visit_photos_lose_their_location(client, login, officers, make_proposal, make_budget):
    make_budget()
    proposal = make_proposal("disbursing")
    login(client, officers.commune)
    response = client.post(f"/livelihood/proposals/{proposal.id}/visits/new", content_type="multipart/form-data",
                           data={"visited_on": services.today().isoformat(), "progress": "on_track",
                                 "funds_used_as_planned": "yes",
                                 "photos": [(io.BytesIO(_jpeg_with_gps()), "a.jpg"), (io.BytesIO(_png()), "b.png")]})
    assert response.status_code == 302
    visit = db.session.scalar(select(MonitoringVisit))
    photos = db.session.scalars(select(Attachment).where(Attachment.owner_id == visit.id)).all()
    assert sorted(a.content_type for a in photos) == ["image/jpeg", "image/png"]
    jpeg = next(a for a in photos if a.content_type == "image/jpeg")
    data = client.get(f"/livelihood/proposals/{proposal.id}/photo/{visit.id}/{jpeg.id}").data
    assert Image.open(io.BytesIO(data)).getexif().get(0x8825) is None
