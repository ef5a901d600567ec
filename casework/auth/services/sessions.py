"""Sessions and API tokens: started at sign-in, found by the hash of their token on every request (with the
user and her trusted addresses, in one statement), ended by sign-out, time limits or an administrator.
Services flush and never commit (STYLE rule 3)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, bindparam, inspect, select, update
from sqlalchemy.sql import Executable

from casework.auth.models import ApiToken, User, UserSession, address_host
from casework.auth.services.common import _settings, token_hash
from casework.extensions import BUILT_ONCE, db, execute_dml, read_columns
from casework.loading import from_row, load_if_unloaded, loaded_columns
from casework.models import utcnow
from casework.protect import audit

# --- sessions -----------------------------------------------------------------------------------


def client_label(user_agent: str | None) -> str | None:
    """A coarse name of the browser and system from a fixed vocabulary, never the agent string itself."""
    ua = (user_agent or "")[:512]
    browser = next((name for key, name in (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("CriOS", "Chrome"),
                                            ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"),
                                            ("python", "Python"), ("Werkzeug", "Werkzeug")) if key in ua), None)
    system = next((name for key, name in (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
                                           ("Windows", "Windows"), ("Mac OS", "macOS"), ("Linux", "Linux"))
                   if key in ua), None)
    label = " · ".join(part for part in (browser, system) if part)
    return label or None


def start_session(user: User, second_factor_done: bool, client: str | None = None) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=token_hash(token), user_id=user.id, second_factor_done=second_factor_done,
                               client=client))
    db.session.flush()
    return token


def load_session(token: str | None) -> UserSession | None:
    """The live session for a cookie token, or None when ended, idle too long, too old or disabled."""
    if not token or len(token) > 100:
        return None
    sess = _holder_with_user(UserSession, token_hash(token))
    if sess is None or sess.ended_at is not None:
        return None
    now = utcnow()
    seen_since, started_since = _live_session_bounds(now)
    if sess.last_seen_at < seen_since:
        end_session(sess, "idle")
        return None
    if sess.created_at < started_since:
        end_session(sess, "expired")
        return None
    if not sess.user.active:
        end_session(sess, "disabled")
        return None
    if now - sess.last_seen_at > timedelta(seconds=60):
        sess.last_seen_at = now
    return sess


def _live_session_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The earliest last activity and the earliest start a session may have and still be accepted at ``now``
    (the idle and the absolute limit): ``load_session`` refuses what is older, ``active_sessions`` lists only
    what is not."""
    settings = _settings()
    return (now - timedelta(minutes=settings.session_idle_minutes),
            now - timedelta(hours=settings.session_absolute_hours))


# Every request reads its session (or API token), her user and her trusted addresses (a host's scope). Issue 18:
# through the ORM (a joined eager load, one statement) this cost a fifth of a page without case data, twice the
# same statement on the session's connection; so the statement is Core, built once, and its row becomes the
# session's objects as a query would leave them (casework.loading). The credentials stay unread (deferred) until a
# check needs them.


@dataclass(frozen=True)
class _HolderLookup:
    statement: Select[Any]
    keys: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # holder's, user's, address's, in row order
    address_class: type[Any]


@cache
def _holder_lookup(model: type[UserSession] | type[ApiToken]) -> _HolderLookup:
    # The domain that keeps the addresses maps them (casework.auth.addresses): reached through the relationship.
    address_mapper = User.addresses.property.mapper
    holder, user = loaded_columns(inspect(model)), loaded_columns(inspect(User))
    hosts, places = address_host.alias(), address_mapper.local_table.alias()
    address = [(key, places.c[column.name]) for key, column in loaded_columns(address_mapper)]
    holder_table, user_table = model.__table__, User.__table__
    statement = (select(*(c for _k, c in holder), *(c for _k, c in user), *(c for _k, c in address))
                 .select_from(holder_table.join(user_table, user_table.c.id == holder_table.c.user_id)
                              .outerjoin(hosts, hosts.c.user_id == user_table.c.id)
                              .outerjoin(places, places.c.id == hosts.c.address_id))
                 .where(holder_table.c.id == bindparam("token_hash")))
    keys = tuple(k for k, _c in holder), tuple(k for k, _c in user), tuple(k for k, _c in address)
    return _HolderLookup(statement, keys, address_mapper.class_)


def _holder_with_user[H: (UserSession, ApiToken)](model: type[H], hashed: str) -> H | None:
    """The session or token row whose id is ``hashed``, with its ``user`` and her ``addresses``, or None."""
    lookup = _holder_lookup(model)
    rows = db.session.connection().execute(lookup.statement, {"token_hash": hashed}, execution_options=BUILT_ONCE).all()
    if not rows:
        return None
    holder_keys, user_keys, address_keys = lookup.keys
    first, n, m = rows[0], len(holder_keys), len(holder_keys) + len(user_keys)
    holder = from_row(model, holder_keys, first[:n])
    user = from_row(User, user_keys, first[n:m])
    addresses = [from_row(lookup.address_class, address_keys, row[m:]) for row in rows if row[m] is not None]
    load_if_unloaded(user, "addresses", addresses)
    load_if_unloaded(holder, "user", user)
    db.session.add(holder)  # and, by cascade, her user and addresses: persistent, nothing to write
    return holder


def end_session(sess: UserSession, reason: str) -> None:
    if sess.ended_at is None:
        sess.ended_at = utcnow()
        sess.ended_reason = reason


def _rowcount(statement: Executable) -> int:
    return execute_dml(statement).rowcount or 0


def end_all_sessions(user: User, reason: str) -> int:
    now = utcnow()
    n = _rowcount(update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                  .values(ended_at=now, ended_reason=reason))
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))
    return n or 0


def end_other_sessions(user: User, keep_session_id: str | None, keep_token_id: str | None, reason: str) -> int:
    """End every session and revoke every bearer token of ``user`` except the ones named."""
    now = utcnow()
    q = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep_session_id:
        q = q.where(UserSession.id != keep_session_id)
    n = _rowcount(q.values(ended_at=now, ended_reason=reason))
    t = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if keep_token_id:
        t = t.where(ApiToken.id != keep_token_id)
    n += _rowcount(t.values(revoked_at=now))
    return n


def active_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
        .order_by(ApiToken.created_at.desc())))


def active_sessions(user: User) -> list[Row[str, datetime, datetime, str | None]]:
    """Her open sessions, newest first: the ones ``load_session`` would still accept (not ended, not idle
    longer than the idle limit, not older than the absolute one; a session past a limit is marked ended only
    when its cookie comes back, so without these two conditions the list showed every session she had left
    open in a browser as open). The columns the account pages show (``id``, ``created_at``, ``last_seen_at``,
    ``client``), read as rows (issue 18: as ORM objects, with each one's user and her addresses, a quarter of
    the account page)."""
    seen_since, started_since = _live_session_bounds(utcnow())
    return list(read_columns(_open_sessions(), {"user_id": user.id, "seen_since": seen_since,
                                                "started_since": started_since}, built_once=True))


@cache
def _open_sessions() -> Select[str, datetime, datetime, str | None]:
    """``active_sessions``'s statement, built once (building it was a tenth of the account page), its values bound."""
    return (select(UserSession.id, UserSession.created_at, UserSession.last_seen_at, UserSession.client)
            .where(UserSession.user_id == bindparam("user_id"), UserSession.ended_at.is_(None),
                   UserSession.last_seen_at >= bindparam("seen_since"),
                   UserSession.created_at >= bindparam("started_since"))
            .order_by(UserSession.created_at.desc()))


# --- API tokens ---------------------------------------------------------------------------------


def issue_api_token(user: User, client: str | None = None) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=_settings().api_token_hours)
    db.session.add(ApiToken(id=token_hash(token), user_id=user.id, expires_at=expires, client=client))
    audit.record("api_token_issue", object_type="user", object_id=user.id, actor=user)
    return token, expires


def load_api_token(token: str) -> User | None:
    if not token or len(token) > 100:
        return None
    row = _holder_with_user(ApiToken, token_hash(token))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(seconds=60):
        row.last_used_at = now
    return row.user
