"""The case's timeline: the kinds this domain writes and the entries every domain appends (``add_timeline_entry``;
other domains register their kinds with ``casework.cases.extensions.register_timeline_kind``)."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select

from casework.auth.models import User
from casework.cases.models import Case, CaseEvent
from casework.extensions import db
from casework.loading import columns_of, objects
from casework.models import utcnow


def own_timeline_kinds() -> dict[str, Any]:
    """The timeline kinds of this domain and their labels (registered by ``casework.cases.register``)."""
    from flask_babel import lazy_gettext as _l

    return {
        "intake": _l("Intake recorded"),
        "updated": _l("Intake details changed"),
        "risk_assessed": _l("Risk assessed"),
        "commune_notified": _l("Commune People's Committee notified"),
        "consent_given": _l("Consent given"),
        "consent_withdrawn": _l("Consent withdrawn"),
        "consent_override": _l("Consent overridden: life in danger"),
        "shelter_started": _l("Shelter stay started"),
        "shelter_ended": _l("Shelter stay ended"),
        "shelter_ended_on_closure": _l("Shelter stay ended with the closure"),
        "contact_ban_requested": _l("Contact ban requested"),
        "contact_ban_decided": _l("Contact ban decided"),
        "contact_ban_revoked": _l("Contact ban revoked"),
        "follow_up": _l("Follow-up"),
        "closure_requested": _l("Closure requested"),
        "closure_approved": _l("Closure approved"),
        "closure_returned": _l("Closure returned"),
        "reopened": _l("Case reopened"),
    }


_KIND = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def add_timeline_entry(actor: User, case: Case, kind: str, *, note: str | None = None,
                       object_type: str | None = None, object_id: str | None = None,
                       at: datetime | None = None) -> CaseEvent:
    """Append an entry to the case's timeline; ``note`` (free text) is stored encrypted.

    The caller has already loaded the case through ``get_case_or_404`` and writes its own audit event.
    """
    if not _KIND.match(kind):
        raise ValueError("timeline kind must be a short code")
    entry = CaseEvent(case_id=case.id, kind=kind, object_type=object_type, object_id=object_id,
                      at=at or utcnow(), actor_id=getattr(actor, "id", None), actor_role=getattr(actor, "role", None))
    if note:
        entry.note = note
    db.session.add(entry)
    return entry


@cache
def _timeline_statement() -> Select[Any]:
    return (select(*columns_of(CaseEvent)).where(CaseEvent.case_id == bindparam("case_id"))
            .order_by(CaseEvent.at.desc(), CaseEvent.id))


def timeline(case: Case) -> list[CaseEvent]:
    """The case's timeline, newest first (read on every case page that has one: Core, ``casework.loading``)."""
    return objects(CaseEvent, _timeline_statement(), {"case_id": case.id}, built_once=True)
