"""Who is told when a case changes hands (issue 13): case codes only, never her name (DESIGN §3.3).

A closure request goes to the commune officers of the case's commune and the decision back to the host
who asked; a contact-ban request goes to the commune officers, because the commune chair must decide it
within 12 hours (Law 13/2022 Art. 25) and the officer is the one who follows it up.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from casework import notify
from casework.auth.models import User
from casework.cases.models import Case, ContactBan

KINDS = {
    "closure_requested": _l("Closure of case %(ref)s was requested: please decide."),
    "closure_approved": _l("Closure of case %(ref)s was approved."),
    "closure_returned": _l("Closure of case %(ref)s was returned: see what is still needed."),
    "contact_ban_due": _l("A contact-ban request for case %(ref)s needs the commune chair's decision within 12 hours."),
}


def _officers(case: Case, actor: User) -> list[str]:
    return notify.users_with_role("commune_officer", commune_code=case.commune_code, exclude=(actor.id,))


def closure_requested(actor: User, case: Case) -> int:
    return notify.notify(_officers(case, actor), "closure_requested", "case", case.id, case.reference)


def closure_decided(actor: User, case: Case, requester_id: str | None, decision: str) -> int:
    kind = "closure_approved" if decision == "approve" else "closure_returned"
    return notify.notify([requester_id] if requester_id != actor.id else [], kind, "case", case.id, case.reference)


def contact_ban_requested(actor: User, case: Case, ban: ContactBan) -> int:
    return notify.notify(_officers(case, actor), "contact_ban_due", "case", case.id, case.reference)


def register(app: Flask) -> None:
    for kind, template in KINDS.items():
        notify.add_kind(app, kind, template)
    notify.add_link(app, "case", "cases.view", "case_id")
