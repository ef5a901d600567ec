"""In-app notifications for every hand-over (issue 13): codes and ids only, never personal data.

A notification names a kind, the object it is about (type and opaque id) and the object's public code
(a case code, a referral code, a survivor's code). Its sentence is written when the page is shown, in the
reader's language, from the template its domain registered; the link comes from the screen its domain
registered for the object type. The core never imports a domain (DESIGN §3.1): domains call
``add_kind`` and ``add_link`` from their ``register(app)`` and ``notify`` from their services.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import Index, String, func, select, tuple_, update
from sqlalchemy.orm import Mapped, mapped_column

from casework import paging
from casework.auth.models import User
from casework.auth.policy import allow
from casework.errors import ValidationError
from casework.extensions import Model, db, execute_dml
from casework.hooks import Hooks
from casework.models import ID_LENGTH, IdMixin, ref_id, utc_datetime, utcnow

PAGE_SIZE = 50
# Everyone who receives hand-overs; coordinators and auditors receive none.
NOTIFIED_ROLES = ("host", "commune_officer", "province_officer", "service_provider", "admin")

bp = Blueprint("notify", __name__, url_prefix="/notifications")


class Notification(IdMixin, Model):
    """An in-app message to one user about one object. Codes only, never personal data (DESIGN §3.3)."""

    __tablename__ = "notification"

    user_id: Mapped[str] = ref_id("user", ondelete="CASCADE", nullable=False)
    kind: Mapped[str] = mapped_column(String(48), nullable=False)
    reference: Mapped[str] = mapped_column(String(16), nullable=False)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    object_id: Mapped[str | None] = ref_id(nullable=True)
    created_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    read_at: Mapped[datetime | None] = utc_datetime(nullable=True)

    __table_args__ = (
        Index("ix_notification_user_order", "user_id", "created_at", "id"),
        Index("ix_notification_object", "object_type", "object_id"),
    )

    @property
    def referral_id(self) -> str | None:
        return self.object_id if self.object_type == "referral" else None

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind}>"


# --- what domains register -------------------------------------------------------------------------------------


def add_kind(app: Flask, kind: str, template: Any) -> None:
    """``template`` is a lazy string with ``%(ref)s`` for the object's code."""
    app.extensions.setdefault("tincay.notify.kinds", {})[kind] = template


def add_link(app: Flask, object_type: str, endpoint: str, arg: str) -> None:
    """The screen a notification about ``object_type`` opens: ``url_for(endpoint, **{arg: object_id})``."""
    app.extensions.setdefault("tincay.notify.links", {})[object_type] = (endpoint, arg)


_SWEEPS = Hooks[Callable[[], int]]("tincay.notify.sweeps")


def add_sweep(app: Flask, sweep: Callable[[], int]) -> None:
    """A function that finds deadlines passed and notifies them (each once), claiming each by a conditional
    UPDATE so that two processes never notify one twice; run by ``flask notify overdue`` (cron) and by each
    web process's sweeper thread, never inside a page (issue 18)."""
    _SWEEPS.add(app, sweep)


def run_sweeps() -> int:
    return sum(sweep() for sweep in _SWEEPS.of())


class Sweeper:
    """The deadline sweep of one web process: at most once per ``seconds``, in a thread of its own.

    After each request a clock is compared (no query); when the interval has passed, one thread runs the
    sweeps in its own application context and commits. A page never waits for it and never writes because
    of it (issue 18: the sweep used to run inside the notification and referral lists). Several processes
    may sweep at once: each deadline is claimed by one conditional UPDATE.
    """

    def __init__(self, app: Flask, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.next_at = 0.0
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def poke(self, now: float | None = None) -> threading.Thread | None:
        """Start a sweep if one is due and none is running; returns its thread (None: nothing started)."""
        now = time.monotonic() if now is None else now
        if now < self.next_at or not self._lock.acquire(blocking=False):
            return None
        try:
            if now < self.next_at or (self.thread is not None and self.thread.is_alive()):
                return None
            self.next_at = now + self.seconds
            self.thread = threading.Thread(target=self._run, name="tincay-notify-sweep", daemon=True)
            self.thread.start()
            return self.thread
        finally:
            self._lock.release()

    def _run(self) -> None:
        with self.app.app_context():
            try:
                count = run_sweeps()
                db.session.commit()
                if count:
                    logging.getLogger("casework.notify").info("deadline sweep: %d notified", count)
            except Exception:
                db.session.rollback()
                logging.getLogger("casework.notify").exception("deadline sweep failed; next try in %ds",
                                                               self.seconds)
            finally:
                db.session.remove()


def start_sweeper(app: Flask) -> Sweeper | None:
    """Each web process sweeps at most every ``notify_sweep_seconds`` (0: cron alone; never while testing,
    where a test runs the sweep itself)."""
    settings = app.config["SETTINGS"]
    if settings.notify_sweep_seconds <= 0 or settings.environment == "testing":
        return None
    sweeper = Sweeper(app, settings.notify_sweep_seconds)
    app.extensions["tincay.notify.sweeper"] = sweeper

    @app.teardown_request
    def _maybe_sweep(_exc: BaseException | None) -> None:
        sweeper.poke()

    return sweeper


# --- writing -------------------------------------------------------------------------------------------------


def notify(user_ids: Iterable[str | None], kind: str, object_type: str, object_id: str | None,
           reference: str) -> int:
    """One notification to each distinct user; returns how many were written (flushed, never committed)."""
    ids = sorted({u for u in user_ids if u})
    for user_id in ids:
        db.session.add(Notification(user_id=user_id, kind=kind, reference=reference, object_type=object_type,
                                    object_id=object_id))
    if ids:
        db.session.flush()
    return len(ids)


def active_users(*conditions: Any) -> list[str]:
    from casework.auth.models import User

    return list(db.session.scalars(select(User.id).where(User.active.is_(True), *conditions)))


def users_with_role(role: str, *, commune_code: str | None = None, province_code: str | None = None,
                    exclude: Iterable[str | None] = ()) -> list[str]:
    """The active accounts of a role in a commune or a province (the people a hand-over goes to)."""
    from casework.auth.models import User

    conditions = [User.role == role]
    if commune_code is not None:
        conditions.append(User.commune_code == commune_code)
    if province_code is not None:
        conditions.append(User.province_code == province_code)
    skip = {u for u in exclude if u}
    return [u for u in active_users(*conditions) if u not in skip]


# --- reading -------------------------------------------------------------------------------------------------


def message(notification: Notification) -> str:
    """The notification's sentence in the reader's language, with its code filled in."""
    template = current_app.extensions.get("tincay.notify.kinds", {}).get(notification.kind)
    if template is None:
        return _("Something changed: %(ref)s.", ref=notification.reference)
    return str(template) % {"ref": notification.reference}


def link(notification: Notification) -> str | None:
    target = current_app.extensions.get("tincay.notify.links", {}).get(notification.object_type)
    if target is None or not notification.object_id:
        return None
    endpoint, arg = target
    values: dict[str, Any] = {arg: notification.object_id}
    return url_for(endpoint, **values)


def unread_count(user: User) -> int:
    return int(db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0)


@dataclass
class NotificationPage:
    items: list[Notification]
    next_cursor: str | None


def _encode(n: Notification) -> str:
    return paging.encode_cursor(n.created_at, n.id)


def _decode(value: str) -> tuple[datetime, str]:
    when, notification_id = paging.decode_cursor(value, datetime, str)
    return when, notification_id  # type: ignore[return-value]  # typed by the shape above


def notifications_for(user: User, after: str | None = None, limit: int = PAGE_SIZE) -> NotificationPage:
    """The user's notifications, newest first, a keyset page at a time."""
    q = select(Notification).where(Notification.user_id == user.id)
    if after:
        when, notification_id = _decode(after)
        q = q.where(tuple_(Notification.created_at, Notification.id) < tuple_(when, notification_id))
    rows = list(db.session.scalars(q.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)))
    return NotificationPage(rows[:limit], _encode(rows[limit - 1]) if len(rows) > limit else None)


def mark_read(user: User, notification_id: str | None = None) -> int:
    """Mark one of the user's notifications, or all of them, as read; another user's id changes nothing."""
    q = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        q = q.where(Notification.id == notification_id)
    return execute_dml(q.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount or 0


class MenuLabel:
    """The menu entry "Thông báo (3)": a label whose text counts the reader's unread notifications."""

    def __str__(self) -> str:
        count = 0
        user = current_user._get_current_object()  # once through the proxy: the menu is on every page (issue 18)
        if user and user.is_authenticated and user.role in NOTIFIED_ROLES:
            from casework import nav

            count = nav.cached_count("notify.unread", lambda: unread_count(user))
        return _("Notifications (%(n)d)", n=count) if count else _("Notifications")


# --- screens ---------------------------------------------------------------------------------------------------


class ReadForm(FlaskForm):
    """A button only (mark as read): the CSRF token is the whole form."""


def render_list(read_endpoint: str = "notify.read", list_endpoint: str = "notify.index") -> Any:
    user = current_user._get_current_object()
    # No sweep here (issue 18): a page that shows the menu never writes. Deadlines passed are notified by
    # ``flask notify overdue`` from cron and by each web process's sweeper thread (``start_sweeper``).
    try:
        page = notifications_for(user, after=request.args.get("after", "")[:200] or None)
    except ValidationError:
        abort(404)
    return render_template("notify/index.html", page=page, message=message, link=link, form=ReadForm(formdata=None),
                           read_endpoint=read_endpoint, list_endpoint=list_endpoint)


def handle_read(list_endpoint: str = "notify.index") -> Any:
    form = ReadForm()
    if not form.validate_on_submit():
        abort(400)
    notification_id = request.form.get("notification_id") or None
    mark_read(current_user._get_current_object(), notification_id[:ID_LENGTH] if notification_id else None)
    return redirect(url_for(list_endpoint))


@bp.get("/")
@allow(*NOTIFIED_ROLES)
def index():
    return render_list()


@bp.post("/read")
@allow(*NOTIFIED_ROLES)
def read():
    return handle_read()


def register(app: Flask) -> None:
    from casework import nav

    app.register_blueprint(bp)
    nav.add(app, "notify.index", MenuLabel(), NOTIFIED_ROLES, order=85)
    app.cli.add_command(_cli())
    start_sweeper(app)


def _cli() -> Any:
    from flask.cli import AppGroup

    group = AppGroup("notify", help="Notifications: deadlines passed; the daily e-mail digest.")

    @group.command("overdue")
    def overdue() -> None:
        """Notify every deadline passed since the last run, each once (cron: every minute or five)."""
        import click

        count = run_sweeps()
        db.session.commit()
        click.echo(f"notified: {count}")

    @group.command("sweep")
    def sweep() -> None:
        """``overdue``, then erase the form drafts past their expiry (run it from a timer, e.g. every 5 minutes)."""
        import click

        from casework.drafts.services import remove_expired

        count = run_sweeps()
        removed = remove_expired()  # issue 13: drafts past their expiry are erased by the same timer
        db.session.commit()
        click.echo(f"notified: {count}")
        click.echo(f"expired drafts removed: {removed}")

    return group


def api_items(page: NotificationPage) -> dict[str, Any]:
    return {
        "items": [{"id": n.id, "kind": n.kind, "object_type": n.object_type, "object_id": n.object_id,
                   "reference": n.reference, "read": n.read_at is not None,
                   "created_at": n.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")}
                  for n in page.items],
        "next": page.next_cursor,
    }
