from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.extensions import Model, db
from casework.models import ID_LENGTH, IdMixin, TimestampMixin, code_list, ref_id, utc_datetime, utcnow

# Which hosts run which trusted address: a host may run several, an address may have several hosts.
address_host = Table(
    "address_host",
    db.metadata,
    Column("address_id", String(ID_LENGTH), ForeignKey("address.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(ID_LENGTH), ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(IdMixin, TimestampMixin, Model):
    __tablename__ = "user"

    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True, index=True)
    commune_code: Mapped[str | None] = mapped_column(String(5), nullable=True, index=True)
    # No foreign key: the organisation table belongs to the referral package (DESIGN §3.1 layering).
    organisation_id: Mapped[str | None] = ref_id(nullable=True, index=True)
    # Credentials are loaded only by the code that checks or changes them (issue 18): the session's user,
    # loaded on every request, and every list that names a user never carry a password hash or a sealed
    # second-factor secret. The three load together, in one query, the first time one is read.
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False, deferred=True,
                                               deferred_group="credentials")
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(255), nullable=True, deferred=True,
                                                           deferred_group="credentials")
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = utc_datetime(nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    locale: Mapped[str] = mapped_column(String(5), nullable=False, default="vi")
    can_override_consent: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # An account an admin created must choose her own password before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Right password, wrong second factor: counted per account (an attacker already knows the password).
    totp_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # After a confirmed second-factor reset: the hash of the single-use enrolment code and its expiry.
    enrolment_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, deferred=True,
                                                            deferred_group="credentials")
    enrolment_code_expires_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    # Issue 13: where the daily digest goes (set by the user herself; empty: no e-mail) and the last day
    # (Vietnam's calendar) one was sent, so that a second run on the same day sends nothing twice.
    digest_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    digest_sent_on: Mapped[date | None] = mapped_column(Date, nullable=True)

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
    def is_locked(self) -> bool:
        """Locked account-wide (repeated wrong second-factor codes); per-client locks are not counted."""
        return self.locked_until is not None and self.locked_until > utcnow()

    @property
    def address_ids(self) -> list[str]:
        return [a.id for a in self.addresses]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class _TokenOfUser:
    """A row found by the hash of a secret token that its holder carries (a cookie, a bearer token)."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[str] = ref_id("user", ondelete="CASCADE", nullable=False, index=True)
    created_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)


class UserSession(_TokenOfUser, Model):
    """A server-side session: the cookie carries only a random token whose hash is the key here."""

    __tablename__ = "user_session"

    last_seen_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    ended_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    second_factor_done: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)  # "Firefox · Android", never the raw agent
    # sha256 of the session's form (CSRF) token: a form posted after the session ended names the account it
    # was shown to, so what she typed is kept for that account only (issue 13, casework.drafts).
    form_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(_TokenOfUser, Model):
    """A bearer token of the API: the client carries the token, the hash is the key here."""

    __tablename__ = "api_token"

    expires_at: Mapped[datetime] = utc_datetime(nullable=False)
    revoked_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    last_used_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class RecoveryCode(Model):
    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = ref_id("user", ondelete="CASCADE", nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    used_at: Mapped[datetime | None] = utc_datetime(nullable=True)


class LoginThrottle(Model):
    """Failed sign-ins of one account from one client address (its hash): the lock is per pair."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("user_id", "client_key", name="uq_login_throttle_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = ref_id("user", ondelete="CASCADE", nullable=False)
    client_key: Mapped[str] = mapped_column(String(64), nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locks: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = utc_datetime(nullable=True)


class AccountChange(IdMixin, Model):
    """A change to an account that a second admin confirms before it takes effect (separation of duties).

    ``kind`` is ``change`` (role, scope, addresses, organisation, override permission: the new values are
    in ``payload``, codes and ids only), ``second_factor_reset`` or ``reenable``.
    """

    __tablename__ = "account_change"

    target_user_id: Mapped[str] = ref_id("user", ondelete="CASCADE", nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    fields: Mapped[list[str]] = code_list(200)  # the account's fields it changes
    payload: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    requested_by_id: Mapped[str] = ref_id("user", nullable=False)
    requested_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = utc_datetime(nullable=False)
    decided_by_id: Mapped[str | None] = ref_id("user", nullable=True)
    decided_at: Mapped[datetime | None] = utc_datetime(nullable=True)

    target: Mapped[User] = relationship(foreign_keys=[target_user_id], lazy="joined")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id], lazy="joined")
