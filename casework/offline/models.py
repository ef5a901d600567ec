"""What the server keeps of entries sealed offline (issue 17).

``OfflineReceipt``: one row per (account, entry id) ever received, whatever the outcome. The unique
constraint is what makes a sync exactly-once: a retried or replayed entry finds its row and changes
nothing. A rejected entry keeps its sealed envelope here (ciphertext only), so it stays recoverable
(for instance once a missing key file is restored).

``OfflineDraft``: an entry that opened but could not be saved as it is (a field fails the online form's
rules, or it is older than the age limit). Its content is encrypted like case data (per-record data key,
wrapped by the master key); the host finishes it online from "Bản nháp cần hoàn thiện".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casework.extensions import Model
from casework.models import IdMixin, TimestampMixin, ref_id, utc_datetime, utcnow
from casework.protect.fields import Protected, ProtectedMixin

STATUSES = ("saved", "needs_correction", "rejected")
KINDS = ("intake", "follow_up", "shelter_stay")


class OfflineReceipt(IdMixin, Model):
    __tablename__ = "offline_receipt"

    user_id: Mapped[str] = ref_id("user", nullable=False, index=True)
    entry_id: Mapped[str] = mapped_column(String(36), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    case_id: Mapped[str | None] = ref_id(nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    captured_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    received_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    attempts: Mapped[int] = mapped_column(nullable=False, default=1)
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # the envelope of a rejected entry

    __table_args__ = (UniqueConstraint("user_id", "entry_id", name="uq_offline_receipt_user_entry"),)

    def __repr__(self) -> str:
        return f"<OfflineReceipt {self.id} {self.status}>"


class OfflineDraft(ProtectedMixin, IdMixin, TimestampMixin, Model):
    __tablename__ = "offline_draft"

    user_id: Mapped[str] = ref_id("user", nullable=False, index=True)
    receipt_id: Mapped[str] = ref_id("offline_receipt", nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    captured_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    finished_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    payload = Protected(max_length=200_000)  # the entry's JSON, as sealed on the phone
    problems = Protected(max_length=20_000)  # the validation messages (JSON), shown beside the fields

    def __repr__(self) -> str:
        return f"<OfflineDraft {self.id} {self.kind}>"
