"""Form drafts (issue 13): what a signed-in user typed, kept encrypted when her session ended before she
saved, or when she chose "Lưu nháp".

The content (the form's fields and the screen's arguments) is encrypted like case data: a per-record
data key wrapped by the master key (``casework.protect.fields``). In clear there are only codes: the
screen's endpoint, why it was kept, and when it expires. A draft belongs to one account; only a
signed-in session of that account opens it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.extensions import Model
from casework.models import IdMixin, TimestampMixin, ref_id, utc_datetime
from casework.protect.fields import Protected, ProtectedMixin

REASONS = ("session_ended", "explicit")


class FormDraft(ProtectedMixin, IdMixin, TimestampMixin, Model):
    __tablename__ = "form_draft"

    user_id: Mapped[str] = ref_id("user", ondelete="CASCADE", nullable=False)
    endpoint: Mapped[str] = mapped_column(String(64), nullable=False)  # the form's screen, e.g. "cases.new"
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    expires_at: Mapped[datetime] = utc_datetime(nullable=False, index=True)
    payload = Protected(max_length=400_000)  # JSON: {"args": {...}, "fields": [[name, value], ...]}

    __table_args__ = (Index("ix_form_draft_user_expires", "user_id", "expires_at", "id"),)

    def __repr__(self) -> str:
        return f"<FormDraft {self.id} {self.reason}>"
