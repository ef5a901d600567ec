"""Auditor screens: filter the trail, export it as CSV, verify the chain (DESIGN §3.4)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time

from flask import Blueprint, Response, current_app, render_template, request
from sqlalchemy import select

from casework.auth.policy import allow
from casework.auth.roles import Role
from casework.extensions import db
from casework.protect import audit
from casework.protect.audit import AuditEvent
from casework.text import VN_TZ

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


def _filtered():
    args = request.args
    q = select(AuditEvent)
    if args.get("actor"):
        q = q.where(AuditEvent.actor_id == args["actor"][:32])
    if args.get("action"):
        q = q.where(AuditEvent.action == args["action"][:64])
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
def events():
    before = request.args.get("before", type=int)
    q = _filtered().order_by(AuditEvent.seq.desc()).limit(PAGE_SIZE + 1)
    if before:
        q = q.where(AuditEvent.seq < before)
    rows = list(db.session.scalars(q))
    audit.record("audit_view", object_type="audit_event")
    next_before = rows[PAGE_SIZE - 1].seq if len(rows) > PAGE_SIZE else None
    actions = sorted(db.session.scalars(select(AuditEvent.action).distinct()))
    return render_template("audit/events.html", events=rows[:PAGE_SIZE], next_before=next_before, actions=actions)


@bp.get("/export.csv")
@allow(Role.AUDITOR)
def export():
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_FIELDS)
    for event in db.session.scalars(_filtered().order_by(AuditEvent.seq)):
        writer.writerow([getattr(event, f).isoformat() if f == "ts" else getattr(event, f) for f in EXPORT_FIELDS])
    audit.record("audit_export", object_type="audit_event")
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit-events.csv"})


@bp.route("/verify", methods=["GET", "POST"])
@allow(Role.AUDITOR)
def verify():
    from pathlib import Path

    result = None
    if request.method == "POST":
        result = audit.verify_chain(checkpoint_dir=Path(current_app.config["SETTINGS"].checkpoint_dir))
        audit.record("audit_verify", object_type="audit_event", outcome="allowed" if result.ok else "failed")
    return render_template("audit/verify.html", result=result)
