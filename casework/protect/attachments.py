"""Encrypted attachments: scanned consent forms, receipts, photos (DESIGN §3.3 and §5).

A file belongs to one record that holds personal data (any ``ProtectedMixin`` model, its *owner*) and is
encrypted with that record's data key, so it is as readable as the record and no more: rotation of the
master key re-wraps the owner's data key and the file follows; deleting the owner deletes its files.

Storage: in the database, table ``attachment_chunk``, in chunks of 64 KiB, each chunk AES-256-GCM with
its own nonce and associated data binding it to the attachment, its owner, its position and whether it
is the last chunk, so chunks cannot be swapped, reordered, moved to another file or cut off at the end.
The database was chosen over files under ``attachments_dir``: the file is written in the same
transaction as the owner's change and its audit event (a failed request leaves no orphan file), several
application hosts share nothing but the database, and one backup holds everything. Files are small (the
``max_upload_mb`` setting, 10 MB by default).

On the way in, the content type is decided from the bytes (JPEG, PNG and PDF only; the name and the
browser's type are ignored), the size is limited, and photos are decoded and re-encoded with Pillow from
their pixels alone, which drops EXIF (GPS position, camera, time), XMP, comments and colour profiles;
the EXIF orientation is applied first so the photo stays upright. PDFs are stored as given.

On the way out, callers use their own authorised view (they load the owner through their policy loader)
and return ``send_attachment(owner, attachment)``: a streamed download with ``Content-Disposition:
attachment``, ``Cache-Control: no-store`` and a neutral file name, audited on the owner.

The original file name may itself be personal ("Nguyen Thi Lan - don.pdf"): it is stored encrypted and
never used in a response unless the caller passes it explicitly.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, current_app, has_request_context, stream_with_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Index, Integer, LargeBinary, String, delete, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from casework.auth.models import User
from casework.errors import NotFound, ValidationError
from casework.extensions import Model, db
from casework.models import IdMixin, new_id, ref_id, utc_datetime, utcnow
from casework.protect import audit
from casework.protect.crypto import ProtectedDataError, decrypt_value, encrypt_value
from casework.protect.fields import ProtectedMixin
from casework.text import nfc

log = logging.getLogger("casework.protect")

CHUNK_BYTES = 64 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; more is refused before decoding (decompression bombs)
CONTENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf"))
_KIND = r"^[a-z0-9_]{1,32}$"


class Attachment(IdMixin, Model):
    """One encrypted file of one owner record. Only the type, size and kind are in clear."""

    __tablename__ = "attachment"

    owner_type: Mapped[str] = mapped_column(String(32), nullable=False)
    owner_id: Mapped[str] = ref_id(nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="document")
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    chunk_count: Mapped[int] = mapped_column(Integer, nullable=False)
    filename_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    created_by: Mapped[str | None] = ref_id(nullable=True)

    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.content_type}>"

    @property
    def extension(self) -> str:
        return CONTENT_TYPES.get(self.content_type, ".bin")


class AttachmentChunk(Model):
    __tablename__ = "attachment_chunk"

    attachment_id: Mapped[str] = ref_id("attachment", ondelete="CASCADE", nullable=False, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


@dataclass(frozen=True)
class NewAttachment:
    data: bytes
    filename: str = ""
    kind: str = "document"  # the caller's code: consent_form, receipt, photo…


# --- associated data ------------------------------------------------------------------------------


def _aad(attachment: Attachment, part: str, dek_version: int) -> bytes:
    items = ["1", "attachment", attachment.id, attachment.owner_type, attachment.owner_id, part, str(dek_version)]
    return b"".join(len(p.encode()).to_bytes(2, "big") + p.encode() for p in items)


def _chunk_part(n: int, last: bool) -> str:
    return f"chunk:{n}:{'last' if last else 'more'}"


# --- checks on the way in -------------------------------------------------------------------------


def sniff_content_type(data: bytes) -> str | None:
    """JPEG, PNG or PDF from the first bytes; anything else is None."""
    return next((ctype for magic, ctype in _MAGIC if data.startswith(magic)), None)


def _max_bytes() -> int:
    return int(current_app.config["SETTINGS"].max_upload_mb) * 1024 * 1024


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, {"file": [message]})


def strip_photo(data: bytes, content_type: str) -> bytes:
    """Decode and re-encode a photo from its pixels alone: no EXIF/GPS, XMP, comments or profiles remain."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    fmt = "JPEG" if content_type == "image/jpeg" else "PNG"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise _invalid(_("The photo is too large (at most %(mp)s megapixels).", mp=MAX_PIXELS // 1_000_000))
                img.load()
                upright = ImageOps.exif_transpose(img) or img
                if fmt == "JPEG":
                    upright = upright.convert("RGB") if upright.mode not in ("RGB", "L") else upright
                elif upright.mode not in ("1", "L", "LA", "RGB", "RGBA", "I", "I;16"):
                    upright = upright.convert("RGBA")
                # A new image built from the pixel bytes carries no metadata of the original at all.
                clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            SyntaxError, ValueError):
        raise _invalid(_("The photo cannot be read.")) from None
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, format="JPEG", quality=90)
    else:
        clean.save(out, format="PNG")
    return out.getvalue()


# --- services -------------------------------------------------------------------------------------


@contextmanager
def _messages() -> Iterator[None]:
    """Translated messages outside a request too (an import job, the shell): the default locale then."""
    if has_request_context():
        yield
        return
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "vi")):
        yield


def add_attachment(actor: User, owner: ProtectedMixin, new: NewAttachment) -> Attachment:
    """Check, clean and encrypt a file for ``owner``; audited on the owner; flushed, never committed.

    Raises ``ValidationError`` (field ``file``) for an empty, oversized or unsupported file.
    """
    if not re.match(_KIND, new.kind or ""):
        raise ValueError("attachment kind must be a short code")
    with _messages():
        data = _checked(new.data)
    content_type = sniff_content_type(data)
    dek = owner._data_key()  # creates the owner's data key if it has none yet
    attachment = Attachment(id=new_id(), owner_type=owner.__tablename__, owner_id=owner.id,
                            kind=new.kind, content_type=content_type, size_bytes=len(data),
                            chunk_count=max(1, -(-len(data) // CHUNK_BYTES)),
                            created_by=getattr(actor, "id", None))
    version = owner.dek_version or 1
    name = nfc(new.filename.replace("\\", "/").rsplit("/", 1)[-1])[:255]
    if name:
        attachment.filename_ct = encrypt_value(dek, name.encode("utf-8"), _aad(attachment, "filename", version))
    db.session.add(attachment)
    last = attachment.chunk_count - 1
    for n in range(attachment.chunk_count):
        piece = data[n * CHUNK_BYTES:(n + 1) * CHUNK_BYTES]
        aad = _aad(attachment, _chunk_part(n, n == last), version)
        db.session.add(AttachmentChunk(attachment_id=attachment.id, n=n, data=encrypt_value(dek, piece, aad)))
    audit.record("attachment_add", object_type=attachment.owner_type, object_id=owner.id,
                 fields=[f"attachment.{new.kind}"], actor=actor)
    db.session.flush()
    return attachment


def _checked(data: bytes) -> bytes:
    """The bytes to store: size and type checked, photos re-encoded without metadata."""
    limit = _max_bytes()
    if not data:
        raise _invalid(_("The file is empty."))
    if len(data) > limit:
        raise _invalid(_("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024)))
    content_type = sniff_content_type(data)
    if content_type is None:
        raise _invalid(_("Only JPEG or PNG photos and PDF documents are accepted."))
    if content_type != "application/pdf":
        data = strip_photo(data, content_type)
        if len(data) > limit:
            raise _invalid(_("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024)))
    return data


def attachments_of(owner: ProtectedMixin) -> list[Attachment]:
    """The owner's attachments, newest first (metadata only; nothing is decrypted)."""
    return list(db.session.scalars(
        select(Attachment).where(Attachment.owner_type == owner.__tablename__,
                                 Attachment.owner_id == owner.id)
        .order_by(Attachment.created_at.desc(), Attachment.id)))


def get_attachment(owner: ProtectedMixin, attachment_id: str) -> Attachment:
    """The attachment of this owner, or ``NotFound``: an id of another owner's file looks like a missing one."""
    found = db.session.get(Attachment, attachment_id) if isinstance(attachment_id, str) else None
    if found is None or found.owner_type != owner.__tablename__ or found.owner_id != owner.id:
        with _messages():
            raise NotFound(_("Not found"))
    return found


def _owner_key(owner: ProtectedMixin, attachment: Attachment) -> bytes:
    if attachment.owner_type != owner.__tablename__ or attachment.owner_id != owner.id:
        raise ProtectedDataError(f"Attachment {attachment.id} does not belong to the record given.")
    if owner.dek_wrapped is None:
        raise ProtectedDataError(f"The owner of attachment {attachment.id} has no data key.")
    return owner._data_key()


def attachment_filename(owner: ProtectedMixin, attachment: Attachment) -> str | None:
    """The original file name, decrypted (personal data: never put it in a URL, title or log)."""
    if attachment.filename_ct is None:
        return None
    dek = _owner_key(owner, attachment)
    return decrypt_value(dek, attachment.filename_ct, _aad(attachment, "filename", owner.dek_version or 1),
                         f"attachment.filename_ct[{attachment.id}]").decode("utf-8")


def open_attachment(owner: ProtectedMixin, attachment: Attachment, batch: int = 8) -> Iterator[bytes]:
    """The plaintext, chunk by chunk; each chunk is authenticated before it is yielded.

    The owner's data key is unwrapped before the first chunk is read, so a wrong key fails at once. A
    corrupted, swapped, missing or cut-off chunk raises ``ProtectedDataError`` when it is reached.
    """
    dek = _owner_key(owner, attachment)
    version = owner.dek_version or 1
    count = attachment.chunk_count

    def chunks() -> Iterator[bytes]:
        for start in range(0, count, batch):
            rows = dict(db.session.execute(
                select(AttachmentChunk.n, AttachmentChunk.data).where(
                    AttachmentChunk.attachment_id == attachment.id,
                    AttachmentChunk.n >= start, AttachmentChunk.n < start + batch)).all())
            for n in range(start, min(start + batch, count)):
                where = f"attachment_chunk[{attachment.id}:{n}]"
                if n not in rows:
                    log.error("attachment chunk missing: %s", where)
                    raise ProtectedDataError(f"The protected value {where} is missing.")
                yield decrypt_value(dek, rows[n], _aad(attachment, _chunk_part(n, n == count - 1), version), where)

    return chunks()


def read_attachment(owner: ProtectedMixin, attachment: Attachment) -> bytes:
    return b"".join(open_attachment(owner, attachment))


def delete_attachment(actor: User, owner: ProtectedMixin, attachment: Attachment) -> None:
    _owner_key(owner, attachment)  # the same ownership check as for reading
    kind = attachment.kind
    db.session.execute(delete(AttachmentChunk).where(AttachmentChunk.attachment_id == attachment.id))
    db.session.delete(attachment)
    audit.record("attachment_delete", object_type=attachment.owner_type, object_id=attachment.owner_id,
                 fields=[f"attachment.{kind}"], actor=actor)
    db.session.flush()


def send_attachment(owner: ProtectedMixin, attachment: Attachment, *, filename: str | None = None,
                    audit_action: str | None = "attachment_download") -> Response:
    """A download response for an authorised view: the caller has already loaded ``owner`` through its
    policy loader (``get_case_or_404``) and checked the role. The read is audited on the owner unless
    ``audit_action`` is None (when the view records its own event).

    The first chunk is decrypted before the response starts, so a wrong key or a corrupted start gives the
    generic error page; a chunk corrupted further on cuts the transfer short (the browser sees fewer bytes
    than ``Content-Length``) and is logged, and no unauthenticated byte is ever sent.
    """
    from urllib.parse import quote

    body = open_attachment(owner, attachment)
    first = next(body)
    if audit_action:
        audit.record(audit_action, object_type=attachment.owner_type, object_id=attachment.owner_id,
                     fields=[f"attachment.{attachment.kind}"])

    def stream() -> Iterator[bytes]:
        yield first
        try:
            yield from body
        except ProtectedDataError:
            log.error("attachment download cut short: %s", attachment.id)
            raise

    name = filename or f"{attachment.kind}-{attachment.id[:8]}{attachment.extension}"
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name) or "file"
    response = Response(stream_with_context(stream()), mimetype=attachment.content_type, direct_passthrough=True)
    response.headers["Content-Length"] = str(attachment.size_bytes)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@event.listens_for(Session, "before_flush")
def _delete_files_of_deleted_owners(session: Session, _flush_context: Any, _instances: Any) -> None:
    for obj in list(session.deleted):
        if isinstance(obj, ProtectedMixin) and not isinstance(obj, Attachment):
            ids = select(Attachment.id).where(Attachment.owner_type == obj.__tablename__,
                                              Attachment.owner_id == obj.id)
            session.execute(delete(AttachmentChunk).where(AttachmentChunk.attachment_id.in_(ids)))
            session.execute(delete(Attachment).where(Attachment.owner_type == obj.__tablename__,
                                                     Attachment.owner_id == obj.id))
