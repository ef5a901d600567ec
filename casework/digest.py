"""The daily e-mail digest (issue 13): counts only, and a link to the queue.

Optional: nothing is sent while ``smtp_host`` is empty (docs/operations.md). A user who wants the digest
gives her address on "My account → Daily e-mail"; ``flask notify digest`` (from a daily timer) then sends
her one message a day with how many items wait in her queue, how many are late and how many notifications
she has not read: never a name, a case code or any other personal data (DESIGN §3.3), because e-mail
leaves our servers in clear and is read on shared phones. Nothing to report: nothing is sent. The day of
the last digest is kept per user, so a second run on the same day sends nothing twice.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import StringField
from wtforms.validators import Length, Optional

from casework.auth.models import User
from casework.auth.policy import allow
from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit
from casework.text import VN_TZ

CAP = 99  # the same cap as the number beside "Việc cần làm" in the menu
EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")

bp = Blueprint("digest", __name__, url_prefix="/account/digest")


@dataclass(frozen=True)
class Digest:
    work: int  # open items in her queue, at most CAP
    more: bool  # more than CAP
    late: int  # of those, past their deadline
    unread: int  # notifications not read

    @property
    def empty(self) -> bool:
        return not self.work and not self.unread


def _roles() -> tuple[str, ...]:
    from casework import notify, work

    return tuple(sorted(set(work.WORK_ROLES) | set(notify.NOTIFIED_ROLES)))


def digest_for(user: User) -> Digest:
    """The counts of one user's digest, from the same queries as her queue and her notifications menu."""
    from casework import notify, work

    now = utcnow()
    items, more = [], False
    if work.has_work(user):
        page = work.work_for(user, limit=CAP)
        items, more = page.items, page.next_cursor is not None
    unread = notify.unread_count(user) if user.role in notify.NOTIFIED_ROLES else 0
    return Digest(work=len(items), more=more, late=sum(1 for i in items if i.overdue(now)), unread=unread)


def _today() -> date:
    return utcnow().astimezone(VN_TZ).date()


def compose(user: User, digest: Digest, settings: Any) -> EmailMessage:
    """The message in the user's language (Vietnamese unless she chose English): counts and links only."""
    base = settings.public_url.rstrip("/")
    with force_locale("en" if user.locale == "en" else "vi"):
        count = f"{CAP}+" if digest.more else str(digest.work)
        subject = _("Tin Cậy: your day's summary")
        lines = [
            _("Hello,"),
            "",
            _("Waiting in your work queue: %(n)s (late: %(late)d).", n=count, late=digest.late),
            _("Notifications you have not read: %(n)d.", n=digest.unread),
            "",
            _("Open your work queue: %(url)s", url=f"{base}/work/"),
            "",
            _("This e-mail only counts; names and case codes stay in the app. To stop it, empty the e-mail "
              "address on this page: %(url)s", url=f"{base}/account/digest/"),
        ]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from
    message["To"] = user.digest_email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(lines))
    return message


def _connect(settings: Any) -> smtplib.SMTP:
    server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    if settings.smtp_starttls:
        server.starttls(context=ssl.create_default_context())
    if settings.smtp_username:
        server.login(settings.smtp_username, settings.smtp_password)
    return server


@dataclass
class DigestRun:
    sent: int = 0
    nothing_to_say: int = 0
    refused: int = 0  # addresses the mail server refused


def send_digests(today: date | None = None,
                 connect: Callable[[Any], smtplib.SMTP] = _connect) -> DigestRun | None:
    """Send today's digest to every active user who asked for it and has not had it today.

    Returns None when no SMTP server is configured. Each user's "sent today" is committed after her message
    was accepted, so a run stopped half-way (the mail server gone) sends only the rest the next time."""
    from casework.auth.models import User

    settings = current_app.config["SETTINGS"]
    if not settings.smtp_host:
        return None
    today = today or _today()
    run = DigestRun()
    users = list(db.session.scalars(
        select(User).where(User.active.is_(True), User.digest_email.is_not(None), User.role.in_(_roles()),
                           or_(User.digest_sent_on.is_(None), User.digest_sent_on < today))
        .order_by(User.id)))
    if not users:
        return run
    server: smtplib.SMTP | None = None
    try:
        for user in users:
            digest = digest_for(user)
            if digest.empty:
                run.nothing_to_say += 1
            else:
                if server is None:
                    server = connect(settings)
                try:
                    server.send_message(compose(user, digest, settings))
                except smtplib.SMTPRecipientsRefused:
                    run.refused += 1
                    continue
                run.sent += 1
            user.digest_sent_on = today
            db.session.commit()
    finally:
        if server is not None:
            try:
                server.quit()
            except smtplib.SMTPException:  # pragma: no cover - the server hung up first
                pass
    return run


# --- her own address: "My account → Daily e-mail" ----------------------------------------------------------


class DigestForm(FlaskForm):
    email = StringField(_l("E-mail address for the daily summary"), validators=[Optional(), Length(max=254)])


@bp.route("/", methods=["GET", "POST"])
@allow(*_roles())
def settings_page():
    from casework.forms import form_status

    user = current_user._get_current_object()
    form = DigestForm()
    if form.validate_on_submit():
        value = (form.email.data or "").strip()
        if value and not EMAIL.fullmatch(value):
            form.email.errors = [_("Enter an e-mail address like ten@example.vn, or leave it empty.")]
        else:
            user.digest_email = value or None
            # Who turned the daily e-mail on or off, never the address itself (codes and ids only).
            audit.record("digest_address_set" if value else "digest_address_cleared", object_type="user",
                         object_id=user.id)
            db.session.commit()
            flash(_("The daily e-mail is on.") if value else _("The daily e-mail is off."), "info")
            return redirect(url_for("auth.account"))
    elif not form.is_submitted():
        form.email.data = user.digest_email or ""
    return render_template("notify/digest.html", form=form,
                           enabled=bool(current_app.config["SETTINGS"].smtp_host)), form_status(form)


def register(app: Flask) -> None:
    """After ``notify.register``: the page, and ``digest`` in the ``flask notify`` group."""
    app.register_blueprint(bp)
    group = app.cli.commands.get("notify")
    if group is not None and hasattr(group, "add_command"):
        group.add_command(cli_command())
    else:  # pragma: no cover - notify is always registered first
        app.cli.add_command(cli_command(), "notify-digest")


def cli_command() -> Any:
    import click

    @click.command("digest")
    def digest() -> None:
        """Send today's e-mail digest (counts only) to every user who asked for it; run it once a day."""
        run = send_digests()
        if run is None:
            click.echo("No SMTP server configured (smtp_host): no digest sent.")
            return
        click.echo(f"digests sent: {run.sent}, nothing to report: {run.nothing_to_say}, refused: {run.refused}")

    return digest
