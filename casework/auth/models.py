from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.extensions import db
from casework.models import IdMixin, TimestampMixin, UTCDateTime, utcnow

# Which hosts run which trusted address: a host may run several, an address may have several hosts.
address_host = Table(
    "address_host",
    db.metadata,
    Column("address_id", String(22), ForeignKey("address.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(22), ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "user"

    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True, index=True)
    commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True, index=True)
    # No foreign key: the organisation table belongs to the referral package (DESIGN §3.1 layering).
    organisation_id: Mapped[str | None] = mapped_column(String(22), nullable=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(255), nullable=True)
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    locale: Mapped[str] = mapped_column(String(5), nullable=False, default="vi")
    can_override_consent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    addresses = relationship("Address", secondary=address_host, back_populates="hosts", lazy="selectin")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.id

    @property
    def address_ids(self) -> list[str]:
        return [a.id for a in self.addresses]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class UserSession(db.Model):
    """A server-side session: the cookie carries only a random token whose hash is the key here."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[str] = mapped_column(String(22), ForeignKey("user.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    second_factor_done: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the bearer token
    user_id: Mapped[str] = mapped_column(String(22), ForeignKey("user.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class RecoveryCode(db.Model):
    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(22), ForeignKey("user.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
