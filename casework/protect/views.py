"""Auditor screens: filter the trail, export it as CSV, verify the chain (DESIGN §3.4)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select

from casework.auth.policy import allow
from casework.auth.roles import Role
from casework.extensions import db
from casework.protect import audit, labels
from casework.protect.audit import AuditEvent
from casework.text import VN_TZ, vi_sort_key

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 100
EXPORT_FIELDS = ("seq", "ts", "actor_id", "actor_role", "action", "object_type", "object_id", "fields",
                 "outcome", "detail", "request_id", "client_ip", "prev_mac", "mac")


def _parse_day(value: str | None, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.max if end else time.min, tzinfo=VN_TZ)


def _filtered() -> Select[AuditEvent]:
    args = request.args
    q = select(AuditEvent)
    if args.get("actor"):
        q = q.where(AuditEvent.actor_id.in_(_actor_ids(args["actor"][:64])))
    if args.get("action"):
        q = q.where(AuditEvent.action == args["action"][:64])
    # Filters by the labels the auditor reads (issue 13): outcome, kind of object and role.
    if args.get("outcome"):
        q = q.where(AuditEvent.outcome == args["outcome"][:32])
    if args.get("object_type"):
        q = q.where(AuditEvent.object_type == args["object_type"][:64])
    if args.get("role"):
        q = q.where(AuditEvent.actor_role == args["role"][:32])
    if args.get("object"):
        q = q.where(AuditEvent.object_id == args["object"][:64])
    start, end = _parse_day(args.get("from")), _parse_day(args.get("to"), end=True)
    if start:
        q = q.where(AuditEvent.ts >= start)
    if end:
        q = q.where(AuditEvent.ts <= end)
    return q


@bp.get("/")
@allow(Role.AUDITOR)
def events() -> ResponseReturnValue:
    before = request.args.get("before", type=int)
    q = _filtered().order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)
    if before:
        q = q.where(AuditEvent.id < before)
    rows = list(db.session.scalars(q))
    audit.record("audit_view", object_type="audit_event")
    next_before = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    codes = db.session.scalars(select(AuditEvent.action).distinct())
    # The filter lists every action in the trail by its label, in Vietnamese order (issue 13).
    actions = sorted(((code, labels.action_label(code)) for code in codes), key=lambda pair: vi_sort_key(pair[1]))
    shown = rows[:PAGE_SIZE]
    names = _usernames({e.actor_id for e in shown if e.actor_id})
    from casework.auth.roles import ROLE_LABELS

    objects = sorted(((c, str(v)) for c, v in labels.OBJECT_TYPES.items()), key=lambda pair: vi_sort_key(pair[1]))
    outcomes = [(c, str(v)) for c, v in labels.OUTCOMES.items()]
    roles = [(r.value, str(v)) for r, v in ROLE_LABELS.items()]
    return render_template("audit/events.html", events=shown, next_before=next_before, actions=actions,
                           names=names, labels=labels, role_label=_role_label, objects=objects,
                           outcomes=outcomes, roles=roles)


def _actor_ids(value: str) -> list[str]:
    """The account filter takes an id or a username (the auditor reads names, not 22-character ids)."""
    from casework.auth.models import User

    value = value.strip()
    found = db.session.scalar(select(User.id).where(User.username == value.casefold()))
    return [value, found] if found else [value]


def _usernames(ids: set[str]) -> dict[str, str]:
    """The account name beside each id on the page, in one query (staff accounts, never a woman)."""
    from casework.auth.models import User

    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(sorted(ids)))).all())


def _role_label(code: str | None) -> str:
    from casework.auth.roles import ROLE_LABELS

    label = ROLE_LABELS.get(code or "")  # type: ignore[call-overload]
    return str(label) if label is not None else (code or "")


@bp.get("/export.csv")
@allow(Role.AUDITOR)
def export() -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_FIELDS)
    for event in db.session.scalars(_filtered().order_by(AuditEvent.id)):
        writer.writerow([getattr(event, f).isoformat() if f == "ts" else getattr(event, f) for f in EXPORT_FIELDS])
    audit.record("audit_export", object_type="audit_event")
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit-events.csv"})


@bp.route("/verify", methods=["GET", "POST"])
@allow(Role.AUDITOR)
def verify() -> ResponseReturnValue:
    from pathlib import Path

    result = None
    if request.method == "POST":
        result = audit.verify_chain(checkpoint_dir=Path(current_app.config["SETTINGS"].checkpoint_dir))
        audit.record("audit_verify", object_type="audit_event", outcome="allowed" if result.ok else "failed")
    return render_template("audit/verify.html", result=result)
