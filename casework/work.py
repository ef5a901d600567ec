"""The work queue ("Việc cần làm"): what each person must do next, most urgent first (issue 13).

Each domain contributes *providers* from its own ``register()``; the core never imports a domain
(DESIGN §3.1). A provider is one kind of work (a commune notice not sent, a contact-ban decision due, a
referral waiting for an answer…): for a user it runs one scoped, indexed query that returns the objects
whose work is open, ordered by the time the deadline is counted from, a page at a time. The queue merges
the providers' pages by due time, so a page of the queue costs one small query per kind of work and never
loads every case.

An item carries codes and ids only (its kind, the object's type, id and public code): never a name.
The item disappears when the work is done, because the provider's query no longer finds it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from casework import paging
from casework.auth.models import User
from casework.auth.policy import allow
from casework.errors import ValidationError
from casework.models import utcnow
from casework.text import VN_TZ

PAGE_SIZE = 50
MENU_CAP = 99  # the menu shows at most this number
MENU_COUNT_KEY = "tincay.work_count"
EXTENSION = "tincay.work"
# The roles whose home page is the queue: the people who receive hand-overs.
WORK_ROLES = ("host", "commune_officer", "province_officer", "service_provider", "admin")

bp = Blueprint("work", __name__, url_prefix="/work")


@dataclass(frozen=True)
class Row:
    """What a provider's query returns for one open piece of work."""

    base: datetime  # the moment the deadline is counted from (aware UTC)
    object_id: str
    reference: str  # the object's public code (case code, referral code…), never personal data
    link: tuple[tuple[str, str], ...] = ()  # the arguments of the screen that clears the work


@dataclass(frozen=True)
class Provider:
    """One kind of work.

    ``rows(user, after, limit)`` returns up to ``limit`` rows ordered by ``(base, object_id)`` and strictly
    after ``after = (base, object_id)`` when given (``inclusive=True`` means "at or after ``base``").
    ``delay(user)`` is the time from ``base`` to the deadline for this user (a law's hours, a province's
    setting); it must not depend on the row, so that the order of ``base`` is the order of deadlines.
    """

    kind: str
    object_type: str
    roles: frozenset[str]
    label: Any  # a lazy string: what to do, in the reader's language
    endpoint: str  # the screen that clears the work, called with each row's ``link`` arguments
    rows: Callable[[User, tuple[datetime, str] | None, bool, int], Sequence[Row]]
    delay: Callable[[Any], timedelta]
    name: str = ""  # several providers may share a kind (e.g. one per risk level); the pair is unique


@dataclass(frozen=True)
class WorkItem:
    kind: str
    object_type: str
    object_id: str
    reference: str
    due_at: datetime
    label: Any
    endpoint: str
    link: dict[str, str]

    def overdue(self, now: datetime | None = None) -> bool:
        return self.due_at < (now or utcnow())

    def late_by(self, now: datetime | None = None) -> timedelta:
        return max((now or utcnow()) - self.due_at, timedelta(0))


@dataclass
class WorkPage:
    items: list[WorkItem]
    next_cursor: str | None


def add_provider(app: Flask, provider: Provider) -> None:
    """Called by a domain's ``register(app)``; the providers belong to that app only."""
    providers: list[Provider] = app.extensions.setdefault(EXTENSION, [])
    if all((p.kind, p.name) != (provider.kind, provider.name) for p in providers):
        providers.append(provider)


def providers_for(user: User) -> list[Provider]:
    role = str(getattr(user, "role", ""))
    return [p for p in current_app.extensions.get(EXTENSION, []) if role in p.roles]


def has_work(user: User) -> bool:
    """Whether this role has a work queue at all (its home page is the queue)."""
    return bool(providers_for(user))


def keyset(base_col: Any, id_col: Any, after: tuple[datetime, str] | None, inclusive: bool) -> Any:
    """The SQL condition "(base, id) after the cursor" for a provider whose base is a timestamp column."""
    from sqlalchemy import and_, or_, true

    if after is None:
        return true()
    base, object_id = after
    if inclusive:
        return base_col >= base
    return or_(base_col > base, and_(base_col == base, id_col > object_id))


def day_start(day: date) -> datetime:
    """Midnight in Vietnam of a calendar day, as an aware time: the base of a deadline counted in days."""
    return datetime.combine(day, time.min, tzinfo=VN_TZ).astimezone(UTC)


def keyset_days(day_col: Any, id_col: Any, after: tuple[datetime, str] | None, inclusive: bool) -> Any:
    """Like :func:`keyset` for a provider whose base is a calendar day (its midnight in Vietnam)."""
    from sqlalchemy import and_, or_, true

    if after is None:
        return true()
    base, object_id = after
    local = base.astimezone(VN_TZ)
    day = local.date()
    if local.time() != time.min:  # no row's base equals the cursor: strictly later days only
        return day_col > day
    if inclusive:
        return day_col >= day
    return or_(day_col > day, and_(day_col == day, id_col > object_id))


# --- the cursor: (due, kind, object id) of the last item of a page ---------------------------------------------


def _encode(item: WorkItem) -> str:
    return paging.encode_cursor(item.due_at, item.kind, item.object_id)


def _decode(value: str) -> tuple[datetime, str, str]:
    due, kind, object_id = paging.decode_cursor(value, datetime, str, str)
    return due, kind, object_id  # type: ignore[return-value]  # typed by the shape above


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _items(provider: Provider, user: User, cursor: tuple[datetime, str, str] | None,
           limit: int) -> Iterable[tuple[tuple[datetime, str, str], WorkItem]]:
    delay = provider.delay(user)
    after: tuple[datetime, str] | None = None
    inclusive = False
    if cursor is not None:
        due, kind, object_id = cursor
        base = due - delay
        # Items are ordered by (due, kind, object id): compare this provider's kind with the cursor's.
        if provider.kind > kind:
            after, inclusive = (base, ""), True
        elif provider.kind == kind:
            after = (base, object_id)
        else:
            after = (base, "\uffff")
    for row in provider.rows(user, after, inclusive, limit):
        due_at = _aware(row.base) + delay
        item = WorkItem(provider.kind, provider.object_type, row.object_id, row.reference, due_at, provider.label,
                        provider.endpoint, dict(row.link))
        yield (due_at, provider.kind, row.object_id), item


def work_for(user: User, after: str | None = None, limit: int = PAGE_SIZE) -> WorkPage:
    """The user's open work, most urgent (earliest deadline) first, a keyset page at a time."""
    cursor = _decode(after) if after else None
    streams = [_items(p, user, cursor, limit + 1) for p in providers_for(user)]
    merged = list(heapq.merge(*streams, key=lambda pair: pair[0]))
    # Each stream is sorted already; only the first ``limit + 1`` of the merge can be on this page.
    page = [item for _key, item in merged[: limit + 1]]
    if len(page) > limit:
        return WorkPage(page[:limit], _encode(page[limit - 1]))
    return WorkPage(page, None)


def count_for(user: User, cap: int = MENU_CAP) -> int:
    """How many items are open (at most ``cap``): the number beside "Việc cần làm" in the menu."""
    return len(work_for(user, limit=cap).items)


def _menu_count(user: User) -> int:
    """The menu's count, computed at most once per request (the menu may be rendered more than once) and
    taken from the queue's own query on its first page (issue 13: measured in bench/results/work_queue.md,
    the count costs every page about as much as the queue's queries)."""
    from flask import has_request_context

    if not has_request_context():
        return count_for(user)
    # Kept in the request's environ, not in ``g``: an application context may outlive a request.
    if MENU_COUNT_KEY not in request.environ:
        from casework import nav

        # Kept a minute per session unless something is written meanwhile (issue 18, casework.nav).
        request.environ[MENU_COUNT_KEY] = nav.cached_count("work", lambda: count_for(user))
    return request.environ[MENU_COUNT_KEY]


def describe_delay(delta: timedelta) -> str:
    """"2 ngày", "5 giờ", "dưới 1 giờ": how late an item is, in whole days or hours."""
    hours = int(delta.total_seconds() // 3600)
    if hours >= 48:
        return _("%(days)d days", days=hours // 24)
    if hours >= 1:
        return _("%(hours)d hours", hours=hours)
    return _("less than an hour")


# --- screens and API ----------------------------------------------------------------------------------------


class MenuLabel:
    """The menu entry "Việc cần làm (3)"."""

    def __str__(self) -> str:
        user = current_user._get_current_object()  # once through the proxy: the menu is on every page (issue 18)
        count = _menu_count(user) if user and user.is_authenticated and has_work(user) else 0
        return _("To do (%(n)d)", n=count) if count else _("To do")


@bp.get("/")
@allow(*WORK_ROLES)
def index():
    from flask import abort

    user = current_user._get_current_object()
    after = request.args.get("after", "")[:200] or None
    if after is None:
        # One run of the providers serves the first page and the menu's count (issue 13, measured in
        # bench/results/work_queue.md): the first MENU_CAP items, of which the page shows PAGE_SIZE.
        upto = work_for(user, limit=MENU_CAP).items
        request.environ[MENU_COUNT_KEY] = len(upto)
        from casework import nav

        nav.remember_count("work", len(upto))
        page = WorkPage(upto[:PAGE_SIZE], _encode(upto[PAGE_SIZE - 1]) if len(upto) > PAGE_SIZE else None)
    else:
        try:
            page = work_for(user, after=after)
        except ValidationError:
            abort(404)
    response = current_app.make_response(render_template("work/index.html", page=page, now=utcnow(),
                                                                describe_delay=describe_delay))
    return response


def register(app: Flask) -> None:
    from casework import nav

    app.register_blueprint(bp)
    nav.add(app, "work.index", MenuLabel(), WORK_ROLES, order=5)


def api_items(page: WorkPage, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "items": [{"kind": i.kind, "due_at": i.due_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                   "overdue": i.overdue(now), "object_type": i.object_type, "object_id": i.object_id,
                   "reference": i.reference} for i in page.items],
        "next": page.next_cursor,
    }
