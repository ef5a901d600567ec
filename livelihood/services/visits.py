"""Monitoring visits (with photos, re-encoded and encrypted) and the attachments of tranches and visits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import NotFound
from casework.extensions import db
from casework.protect import audit
from casework.protect.attachments import NewAttachment, add_attachment
from livelihood.models import (
    Disbursement,
    MonitoringVisit,
    Proposal,
)
from livelihood.policy import (
    _opaque,
)
from livelihood.schemas import (
    VisitIn,
)
from livelihood.services.common import (
    MONITORED_STATES,
    _require_state,
)
from livelihood.work import MONITORING_DAYS

# --- monitoring visits ---------------------------------------------------------------------------


def VisitInput(visited_on: object, progress: str, income_before_vnd: object = None,
               income_after_vnd: object = None, funds_used_as_planned: bool | None = None, problems: str = "",
               notes: str = "") -> VisitIn:
    """A ``VisitIn`` from Python callers (the demo loader, tests), read by the schema."""
    return VisitIn.of(date=visited_on, progress=progress, income_before_vnd=income_before_vnd,
                      income_after_vnd=income_after_vnd, funds_used_as_planned=funds_used_as_planned,
                      problems=problems, notes=notes)


def record_visit(actor: User, proposal: Proposal, new: VisitIn,
                 photos: Sequence[NewAttachment] = ()) -> MonitoringVisit:
    """A commune officer records a monitoring visit to an approved proposal, with photos (re-encoded
    without their location data and encrypted by ``casework.protect.attachments``)."""
    if actor.role != Role.COMMUNE_OFFICER or actor.commune_code != proposal.commune_code:
        raise NotFound(_("Not found."))
    _require_state(proposal, MONITORED_STATES, _l("Monitoring visits are recorded once a proposal is approved."))
    visit = MonitoringVisit(proposal_id=proposal.id, visited_on=new.date, progress=new.progress,
                            income_before_vnd=new.income_before_vnd, income_after_vnd=new.income_after_vnd,
                            funds_used_as_planned=new.funds_used_as_planned, recorded_by_id=actor.id)
    visit.problems = new.problems
    visit.notes = new.notes
    db.session.add(visit)
    if proposal.state in ("approved", "disbursing"):
        # The next visit is due MONITORING_DAYS after the newest one (a visit typed in late does not move it back).
        due = new.date + timedelta(days=MONITORING_DAYS)
        if proposal.monitoring_due_on is None or due > proposal.monitoring_due_on:
            proposal.monitoring_due_on = due
    db.session.flush()
    audit.record("visit_create", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=["date", "progress", "income", *(["problems"] if new.problems else [])])
    for photo in photos:
        if photo.data:
            add_attachment(actor, visit, NewAttachment(data=photo.data, filename=photo.filename, kind="photo"))
    return visit


def visits_of(proposal: Proposal) -> list[MonitoringVisit]:
    return list(db.session.scalars(select(MonitoringVisit).where(MonitoringVisit.proposal_id == proposal.id)
                                   .order_by(MonitoringVisit.visited_on, MonitoringVisit.recorded_at)))


def attachments_by_owner(owners: Iterable[Disbursement | MonitoringVisit]) -> dict[str, list]:
    """The attachments (metadata only) of each tranche or visit, by owner id."""
    from casework.protect.attachments import attachments_of

    return {o.id: attachments_of(o) for o in owners}


def find_owner(proposal: Proposal, kind: str, owner_id: str) -> Disbursement | MonitoringVisit | None:
    """A tranche (``kind`` "receipt") or visit ("photo") of this proposal, or None."""
    owners: dict[str, type[Disbursement] | type[MonitoringVisit]] = {"receipt": Disbursement,
                                                                     "photo": MonitoringVisit}
    model = owners.get(kind)
    if model is None or not _opaque(owner_id):
        return None
    found = db.session.scalar(select(model).where(model.id == owner_id, model.proposal_id == proposal.id))
    return cast("Disbursement | MonitoringVisit | None", found)
