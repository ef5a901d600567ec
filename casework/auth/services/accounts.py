"""Accounts, their scope and passwords, sign-in and the second factor (sessions and API tokens: ``sessions``).
Services flush and never commit (STYLE rule 3)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NoReturn

import pyotp
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from casework.auth import passwords
from casework.auth.addresses import TrustedAddress, load_addresses
from casework.auth.models import LoginThrottle, RecoveryCode, User
from casework.auth.roles import SCOPE_OF_ROLE, Role
from casework.auth.services.common import _settings, token_hash
from casework.auth.services.sessions import end_all_sessions, end_other_sessions
from casework.errors import NotFound, ValidationError
from casework.extensions import db
from casework.geo import data as geo
from casework.models import utcnow
from casework.protect import audit
from casework.protect.ring import current_keys
from casework.protect.sealed import seal, unseal
from casework.text import nfc

RECOVERY_CODES = 8
TOTP_ISSUER = "Tin Cậy"


# --- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    username: str
    role: str
    password: str = field(repr=False)
    display_name: str = ""
    scope: str | None = None  # commune code or province code
    address_ids: tuple[str, ...] = ()
    organisation_id: str | None = None


def normalise_username(username: str) -> str:
    return nfc(username).casefold()


def _apply_scope(user: User, role: str, scope: str | None, address_ids: tuple[str, ...],
                 organisation_id: str | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    user.province_code = user.commune_code = user.organisation_id = None
    addresses: list[TrustedAddress] = []
    kind = SCOPE_OF_ROLE[Role(role)]
    if kind == "commune":
        c = geo.commune(scope)
        if c is None:
            errors["scope"] = [_("Choose an existing commune code (5 digits) for a commune officer.")]
        else:
            user.commune_code, user.province_code = c.code, c.province_code
    elif kind == "province":
        p = geo.province(scope)
        if p is None:
            errors["scope"] = [_("Choose an existing province code (2 digits) for a province officer.")]
        else:
            user.province_code = p.code
    elif kind == "address":
        found = {a.id: a for a in load_addresses(address_ids)}
        for aid in address_ids:
            a = found.get(aid)
            if a is None:
                errors["address"] = [_("This trusted address does not exist.")]
                break
            addresses.append(a)
        if not addresses and "address" not in errors:
            errors["address"] = [_("A host needs at least one trusted address.")]
        if addresses:
            user.province_code = addresses[0].province_code
            user.commune_code = addresses[0].commune_code
    elif kind == "organisation":
        if not organisation_id:
            errors["organisation"] = [_("A service provider needs an organisation.")]
        else:
            user.organisation_id = organisation_id
    user.addresses = addresses
    return errors


def check_password_rules(password: str, username: str = "", display_name: str = "") -> list[str]:
    """NIST SP 800-63B: length limits and a blocklist, no composition rules; one clear message."""
    reason = passwords.weakness(password, username, display_name)
    if reason == "short":
        return [_("The password needs at least %(n)d characters.", n=passwords.MIN_LENGTH)]
    if reason == "long":
        return [_("The password may have at most %(n)d characters.", n=passwords.MAX_LENGTH)]
    if reason == "common":
        return [_("This password is among the most common ones and easy to guess. Choose a longer phrase "
                  "that only you know.")]
    if reason == "project":
        return [_("The password may not contain the name of the Union or of this system. Choose a phrase "
                  "that only you know.")]
    if reason == "personal":
        return [_("The password may not contain your username or your name.")]
    return []


def create_user(actor: User | None, new: NewUser) -> tuple[User, str]:
    """Create an account with a TOTP seed; returns the user and the seed (shown once, never stored clear)."""
    errors: dict[str, list[str]] = {}
    username = normalise_username(new.username)
    if not username or len(username) > 64 or not all(ch.isalnum() or ch in "._-" for ch in username):
        errors["username"] = [_("Use 1 to 64 letters, digits, dots, dashes or underscores.")]
    elif db.session.scalar(select(User.id).where(User.username == username)):
        errors["username"] = [_("This username is taken.")]
    if new.role not in {r.value for r in Role}:
        errors["role"] = [_("Choose a role from the list.")]
    pw_errors = check_password_rules(new.password, username, new.display_name)
    if pw_errors:
        errors["password"] = pw_errors
    user = User(username=username, display_name=nfc(new.display_name)[:120], role=new.role)
    if "role" not in errors:
        errors.update(_apply_scope(user, new.role, new.scope, new.address_ids, new.organisation_id))
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    user.password_hash = passwords.hash_password(new.password)
    db.session.add(user)
    db.session.flush()
    secret = pyotp.random_base32()
    user.totp_secret_sealed = seal(secret, "totp", user.id)
    user.totp_confirmed = actor is None  # a CLI-created account receives its seed on the terminal
    # An admin typed this password: the user replaces it at her first sign-in before anything else.
    user.must_change_password = actor is not None
    audit.record("user_create", object_type="user", object_id=user.id, actor=actor,
                 fields=["role", "scope"])
    return user, secret


def change_scope(actor: User, user_id: str, role: str, scope: str | None, address_ids: tuple[str, ...],
                 organisation_id: str | None) -> User:
    user = db.session.get(User, user_id) or _not_found()
    if role not in {r.value for r in Role}:
        raise ValidationError(_("Please correct the marked fields."), {"role": [_("Choose a role from the list.")]})
    errors = _apply_scope(user, role, scope, address_ids, organisation_id)
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    user.role = role
    db.session.flush()
    audit.record("user_rescope", object_type="user", object_id=user.id, actor=actor, fields=["role", "scope"])
    return user


def set_active(actor: User, user_id: str, active: bool) -> User:
    user = db.session.get(User, user_id) or _not_found()
    if user.id == actor.id and not active:
        raise ValidationError(_("You cannot disable your own account."))
    user.active = active
    if not active:
        end_all_sessions(user, "disabled")
    audit.record("user_enable" if active else "user_disable", object_type="user", object_id=user.id, actor=actor)
    return user


ENROLMENT_CODE_HOURS = 24


def _new_enrolment_code() -> tuple[str, str]:
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")  # 80 bits, 16 characters
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}", token_hash(raw)


def reset_second_factor(actor: User, user_id: str) -> tuple[User, str]:
    """Apply a confirmed reset: a new seed that only the holder of the enrolment code can see and confirm.

    Her sessions and tokens end now; the returned enrolment code (single use, 24 hours) is shown once to
    the confirming admin for delivery out of band. The password alone never leads to enrolment.
    """
    user = db.session.get(User, user_id) or _not_found()
    user.totp_secret_sealed = seal(pyotp.random_base32(), "totp", user.id)
    user.totp_confirmed = False
    user.totp_last_step = 0
    code, code_hash = _new_enrolment_code()
    user.enrolment_code_hash = code_hash
    user.enrolment_code_expires_at = utcnow() + timedelta(hours=ENROLMENT_CODE_HOURS)
    db.session.execute(update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
                       .values(used_at=utcnow()))
    end_all_sessions(user, "second_factor_reset")
    return user, code


def needs_enrolment_code(user: User) -> bool:
    return user.enrolment_code_hash is not None


def redeem_enrolment_code(user: User, code: str) -> bool:
    """Check and use up the enrolment code; a new seed is drawn, so any seed seen before is void."""
    normalised = "".join(code.split()).replace("-", "").upper()
    expires = user.enrolment_code_expires_at
    ok = (user.enrolment_code_hash is not None and len(normalised) == 16 and expires is not None
          and expires > utcnow() and hmac.compare_digest(user.enrolment_code_hash, token_hash(normalised)))
    if not ok:
        user.totp_failures += 1
        audit.record("enrolment_code_failed", object_type="user", object_id=user.id, actor=user, outcome="denied")
        if user.totp_failures >= _settings().login_max_failures:
            _lock_account(user)
            end_all_sessions(user, "locked")
        return False
    user.enrolment_code_hash = None
    user.enrolment_code_expires_at = None
    user.totp_secret_sealed = seal(pyotp.random_base32(), "totp", user.id)
    user.totp_failures = 0
    audit.record("enrolment_code_used", object_type="user", object_id=user.id, actor=user)
    return True


def change_password(user: User, current: str, new: str, totp_code: str, *, keep_session_id: str | None = None,
                    keep_token_id: str | None = None) -> None:
    """The user replaces her own password: the current one and, once enrolled, a code are needed.

    Every other session and token of hers ends. Refusals raise ValidationError with a message per field.
    """
    errors: dict[str, list[str]] = {}
    if not passwords.verify_password(user.password_hash, current or ""):
        errors["current_password"] = [_("The current password is not right.")]
    if user.totp_confirmed and "current_password" not in errors and not _check_totp(user, totp_code or ""):
        errors["totp"] = [_("This code is not right. Check the time on your phone and try again.")]
    rules = check_password_rules(new or "", user.username, user.display_name)
    if rules:
        errors["new_password"] = rules
    elif not errors and passwords.verify_password(user.password_hash, new):
        errors["new_password"] = [_("Choose a password different from the current one.")]
    if errors:
        audit.record_after_rollback("password_change_failed", object_type="user", object_id=user.id,
                                    outcome="denied", fields=sorted(errors))
        raise ValidationError(_("Please correct the marked fields."), errors)
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    end_other_sessions(user, keep_session_id, keep_token_id, "password_changed")
    audit.record("password_change", object_type="user", object_id=user.id, actor=user)


def _not_found() -> NoReturn:
    raise NotFound(_("Not found."))


# --- sign-in ------------------------------------------------------------------------------------


class SignInFailed(Exception):
    """One exception, one message for every failure: no account enumeration (security.md §1.1)."""


def _totp(user: User) -> pyotp.TOTP:
    return pyotp.TOTP(unseal(user.totp_secret_sealed or "", "totp", user.id))


def _check_totp(user: User, code: str) -> bool:
    code = "".join(code.split())
    if len(code) == 6 and code.isdigit():
        totp = _totp(user)
        now = utcnow()
        for offset in (-1, 0, 1):  # ±30 s of clock drift
            at = now + timedelta(seconds=30 * offset)
            step = totp.timecode(at)
            if hmac.compare_digest(totp.at(at), code):
                if step <= user.totp_last_step:
                    return False  # replayed code (ASVS 6.5.1)
                user.totp_last_step = step
                return True
        return False
    return _use_recovery_code(user, code)


def _use_recovery_code(user: User, code: str) -> bool:
    normalised = code.replace("-", "").upper()
    if len(normalised) != 16:
        return False
    row = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == token_hash(normalised),
        RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    row.used_at = utcnow()
    audit.record("recovery_code_used", object_type="user", object_id=user.id, actor=user)
    return True


@dataclass(frozen=True)
class SignIn:
    user: User
    needs_enrolment: bool


def client_key(user: User, address: str | None) -> str:
    """The throttle key of one account from one client address: the address is not stored.

    An HMAC under the instance's secret key, not a bare hash: there are only 2^32 IPv4 addresses, so a
    plain SHA-256 of "user|address" read from a copy of the database would give away where each account
    signs in from. Without the key folder the column says nothing."""
    message = f"throttle|{user.id}|{address or '-'}".encode()
    return hmac.new(current_keys().secret_key, message, hashlib.sha256).hexdigest()


def _throttle(user: User, address: str | None) -> LoginThrottle:
    key = client_key(user, address)
    row = db.session.scalar(select(LoginThrottle).where(LoginThrottle.user_id == user.id,
                                                        LoginThrottle.client_key == key))
    if row is None:
        row = LoginThrottle(user_id=user.id, client_key=key, failures=0, locks=0)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # a concurrent failure from the same place created it first
            row = db.session.scalars(select(LoginThrottle).where(LoginThrottle.user_id == user.id,
                                                                 LoginThrottle.client_key == key)).one()
    return row


MAX_LOCK = timedelta(hours=24)


def _lock_account(user: User) -> None:
    settings = _settings()
    user.locked_until = utcnow() + timedelta(minutes=settings.login_lockout_minutes)
    user.totp_failures = 0
    audit.record("account_locked", object_type="user", object_id=user.id, actor=user, outcome="denied")


def authenticate(username: str, password: str, totp_code: str, client: str | None = None) -> SignIn:
    """Check password and second factor; count failures and lock after too many.

    Wrong passwords lock only this account from this client address (``client``), with a lock that
    doubles each time (15 min, 30 min, … at most a day): nobody can lock a user out from elsewhere.
    The whole account locks only after repeated wrong codes with the right password. Raises
    SignInFailed for every kind of failure. A user who has not enrolled a second factor yet passes with
    the password alone and must enrol before anything else (``needs_enrolment``).
    """
    settings = _settings()
    name = normalise_username(username)[:64] if len(username) <= 256 else ""
    user = db.session.scalar(select(User).where(User.username == name)) if name else None
    too_long = len(password) > passwords.MAX_LENGTH
    password_ok = False
    if not too_long:
        password_ok = passwords.verify_password(user.password_hash if user else passwords.dummy_hash(), password)
    now = utcnow()
    if user is None:
        audit.record_after_rollback("login_failed", outcome="denied")
        raise SignInFailed
    throttle = _throttle(user, client)
    pair_locked = throttle.locked_until is not None and throttle.locked_until > now
    account_locked = user.locked_until is not None and user.locked_until > now
    locked = pair_locked or account_locked
    ok = password_ok and user.active and not locked
    if ok and user.totp_confirmed:
        ok = _check_totp(user, totp_code)
        if not ok:
            user.totp_failures += 1
            if user.totp_failures >= settings.login_max_failures:
                _lock_account(user)
    elif not ok and not locked:
        throttle.failures += 1
        if throttle.failures >= settings.login_max_failures:
            throttle.locks += 1
            throttle.failures = 0
            minutes = settings.login_lockout_minutes * 2 ** min(throttle.locks - 1, 10)
            throttle.locked_until = now + min(timedelta(minutes=minutes), MAX_LOCK)
            audit.record("login_throttled", object_type="user", object_id=user.id, actor=user, outcome="denied")
    if not ok:
        audit.record("login_failed", object_type="user", object_id=user.id, actor=user, outcome="denied")
        raise SignInFailed
    throttle.failures = 0
    throttle.locks = 0
    throttle.locked_until = None
    user.totp_failures = 0
    user.failed_logins = 0
    user.locked_until = None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    audit.record("login", object_type="user", object_id=user.id, actor=user)
    return SignIn(user, needs_enrolment=not user.totp_confirmed)


def totp_uri(user: User) -> str:
    return _totp(user).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Confirm the authenticator with one code; returns fresh single-use recovery codes (shown once)."""
    totp = _totp(user)
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit() and totp.verify(code, valid_window=1)):
        raise ValidationError(_("This code is not right. Check the time on your phone and try again."),
                              {"code": [_("This code is not right. Check the time on your phone and try again.")]})
    user.totp_confirmed = True
    user.totp_last_step = totp.timecode(utcnow())
    db.session.execute(update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
                       .values(used_at=utcnow()))
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")  # 80 bits, 16 characters
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=token_hash(raw)))
    audit.record("enrol_2fa", object_type="user", object_id=user.id, actor=user)
    return codes
