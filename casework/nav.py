"""The main menu: each domain adds its entries, so the core never imports a domain (DESIGN §3.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context, request, url_for
from flask_babel import get_locale
from flask_babel.speaklater import LazyString
from flask_login import current_user

from casework import bounded


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    roles: frozenset[str]
    order: int = 50


def add(app, endpoint: str, label, roles, order: int = 50) -> None:
    items = app.extensions.setdefault("tincay.nav", [])
    if all(i.endpoint != endpoint for i in items):
        items.append(NavItem(endpoint, label, frozenset(str(r) for r in roles), order))
        app.extensions.pop(_BY_ROLE, None)


_BY_ROLE = "tincay.nav.by_role"


def _items_of(role: str) -> tuple[tuple[NavItem, str | None], ...]:
    """The entries a role sees, in order, each with its label in this request's language when the label is fixed
    (None for a label that counts, such as the work queue's): worked out once per role, language and process,
    as the entries are all added at start-up (issue 18: translating the labels again was a tenth of a page)."""
    key = (role, str(get_locale()))
    by_role = current_app.extensions.setdefault(_BY_ROLE, {})
    items = by_role.get(key)
    if items is None:
        everything = sorted(current_app.extensions.get("tincay.nav", []), key=lambda i: i.order)
        items = by_role[key] = tuple((i, str(i.label) if isinstance(i.label, LazyString) else None)
                                     for i in everything if role in i.roles)
    return items


def nav_items() -> list[tuple[str, str]]:
    user = current_user._get_current_object()  # one look-up through the proxy, not one per entry
    if not user.is_authenticated:
        return []
    return [(i.endpoint, str(i.label) if label is None else label) for i, label in _items_of(user.role)]


# The work queue and the notifications stay in sight; with more than four entries the rest fold behind one button
# that works without JavaScript (issue 13).
PINNED = ("work.index", "notify.index")
MENU_IN_SIGHT = 4


def menu(own_account: str) -> tuple[list[tuple[str, str, bool]], list[tuple[str, str, bool]]]:
    """The header's menu: (entries in sight, entries folded), each (href, label, is this page), the last entry
    the account page labelled ``own_account``. Each entry's URL is built once per process (issue 18: the
    menu's URLs were a third of the header's time on every page); the labels are this request's (counts)."""
    items = [*nav_items(), ("auth.account", own_account)]
    here = request.endpoint
    entries = [(fixed_url(endpoint), label, endpoint == here, endpoint) for endpoint, label in items]
    if len(entries) <= MENU_IN_SIGHT:
        return [e[:3] for e in entries], []
    return [e[:3] for e in entries if e[3] in PINNED], [e[:3] for e in entries if e[3] not in PINNED]


_URLS = "tincay.nav.urls"


def fixed_url(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` of a URL that is the same on every page (a screen without arguments, a
    static file): built once per process and mount point (issue 18: the header alone built eight on every
    page). Kept by the app, as ``_items_of`` keeps its entries: two apps in one process share nothing. Only for
    constant arguments: each distinct call is kept for the life of the process."""
    if not has_request_context():  # a template rendered by a command: no mount point to key it by
        return url_for(endpoint, **values)
    urls: dict[tuple, str] = current_app.extensions.setdefault(_URLS, {})
    key = (request.script_root, endpoint, *sorted(values.items())) if values else (request.script_root, endpoint)
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for(endpoint, **values)
    return url


# --- counts in the menu ("Việc cần làm (3)", "Thông báo (2)"), kept a minute per session (issue 18) -----------
#
# Each count costs queries on every page (the work queue's count alone runs one query per kind of work), yet
# it changes only when something is written. So a count is kept per signed-in session for COUNT_SECONDS and
# dropped early, for every session of this process, as soon as this process commits any change other than
# the audit trail's and the session's own bookkeeping (an intake, a notification created or read, a
# referral answered, a sweep): whatever she or anyone does through this process shows on the next page.
# A change made by another process (another web worker, ``flask notify overdue`` from cron) shows within
# COUNT_SECONDS. The pages themselves (the queue, the notification list) always read live.

COUNT_SECONDS = 60.0
_MAX_ENTRIES = 20_000
# Tables whose writes leave every count as it was: the trail written by every read, and the session's or the
# token's "last seen" time.
_NEUTRAL_TABLE_PREFIXES = ("audit", "user_session", "api_token")

_counts: dict[tuple[str, str], tuple[int, float, int]] = {}
_generation = 0


def cached_count(kind: str, compute) -> int:
    """``compute()``, or its value for this session from the last COUNT_SECONDS if nothing changed since."""
    import time

    from flask import g, has_request_context

    sess = g.get("user_session") if has_request_context() else None
    if sess is None:  # the API with a token, the command line: nothing to share between requests
        return compute()
    key, now, generation = (sess.id, kind), time.monotonic(), _generation
    hit = _counts.get(key)
    if hit is not None and hit[1] > now and hit[2] == generation:
        return hit[0]
    value = compute()
    remember_count(kind, value, generation)
    return value


def remember_count(kind: str, value: int, generation: int | None = None) -> None:
    """Keep a count a page has just computed anyway (the queue's first page counts its items)."""
    import time

    from flask import g, has_request_context

    sess = g.get("user_session") if has_request_context() else None
    if sess is None:
        return
    now = time.monotonic()
    kept = (value, now + COUNT_SECONDS, _generation if generation is None else generation)
    bounded.put(_counts, (sess.id, kind), kept, _MAX_ENTRIES, lambda v: v[1] <= now or v[2] != _generation)


def forget_counts() -> None:
    """Every kept count is out of date (called after a commit that changed something)."""
    global _generation
    _generation += 1


def _neutral(table_name: str | None) -> bool:
    return bool(table_name) and table_name.startswith(_NEUTRAL_TABLE_PREFIXES)  # type: ignore[union-attr]


def _watch_writes() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_flush")
    def _flushed(session, _context):
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = getattr(getattr(obj, "__table__", None), "name", None)
            if not _neutral(table):
                session.info["tincay.menu_stale"] = True
                return

    @event.listens_for(Session, "do_orm_execute")
    def _bulk(state):
        if state.is_insert or state.is_update or state.is_delete:
            table = getattr(getattr(state.statement, "table", None), "name", None)
            if not _neutral(table):
                state.session.info["tincay.menu_stale"] = True

    @event.listens_for(Session, "after_commit")
    def _committed(session):
        if session.info.pop("tincay.menu_stale", False):
            forget_counts()

    @event.listens_for(Session, "after_rollback")
    def _rolled_back(session):
        session.info.pop("tincay.menu_stale", None)


_watch_writes()
