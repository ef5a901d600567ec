"""What a user may see of a livelihood record: the one place that applies the identity rule (issue 12).

Her commune's officer sees everything she and the commune wrote. Anyone else who may open the record
(the province officers of the province) sees only structured fields: codes, kinds, states, amounts,
quantities, dates and counts. Free text written by commune officers or hosts (a proposal's title,
description and expected results, a budget line's item and unit, a visit's problems and notes, an
event's description, a survivor's survey answers and the authority that identified her, a tranche's
"handed over by" and goods, a commune officer's notes on transitions, the outcome note) and
attachments (receipts, visit photos) are hidden or replaced by structured wording; an attachment
download answers 404 to them. Province officers write appraisal comments and decision notes
themselves; those stay visible to them.

Every view, template and API answer of the livelihood domain reads records through ``present``:
the proxy it returns exposes an *allow-list* of attributes for a restricted reader, so a field added
to a model later stays hidden until it is listed here on purpose.

A read event records what was shown (issue 18): a page or an answer is built inside ``reading(record)``,
which notes every personal field (a ``Protected`` one, or one of ``PERSONAL``) that the template or the
answer read through a proxy with a non-empty value; the event records ``reading.fields``. A field of the
record itself is named as it is (``full_name``), one of another record with its kind (``visit.notes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from typing import Any

from flask import g, has_app_context
from flask_babel import gettext as _

from casework.auth.models import User
from casework.auth.roles import Role
from casework.shown import is_empty
from livelihood.codes import KIND_LABELS
from livelihood.models import (
    AccompanyingChild,
    Appraisal,
    Budget,
    Disbursement,
    MonitoringVisit,
    Proposal,
    ProposalLine,
    ProposalTransition,
    SupportEvent,
    Survivor,
)

_COMMON = frozenset({"id", "created_at", "updated_at"})

# What a reader who is not her commune's officer may see, per model.
ALLOWED: dict[type, AbstractSet[str]] = {
    Survivor: _COMMON | {"code", "province_code", "commune_code", "geo_scheme", "age_band", "sex", "ethnicity_code",
                         "status", "status_on", "consent_record", "consent_statistics", "registered_on"},
    Proposal: _COMMON | {"survivor_id", "province_code", "commune_code", "kind", "state", "state_changed_at",
                         "total_vnd", "co_contribution_vnd", "requested_vnd", "approved_amount_vnd", "committed_vnd",
                         "disbursed_vnd", "pending_disbursement_vnd", "budget_id", "budget",
                         "second_approval_above_vnd", "drafted_by_id", "last_edited_by_id", "submitted_at",
                         "decided_at", "decided_by_id", "first_approved_by_id", "first_approved_amount_vnd",
                         "outcome", "remaining_vnd", "awaiting_second_approval"},
    ProposalLine: {"id", "proposal_id", "position", "quantity", "unit_cost_vnd", "co_contribution_vnd", "total_vnd"},
    Disbursement: {"id", "proposal_id", "amount_vnd", "paid_on", "form", "state", "pending", "recorded_by_id",
                   "recorded_at", "confirmed_by_id", "confirmed_at"},
    MonitoringVisit: {"id", "proposal_id", "visited_on", "progress", "income_before_vnd", "income_after_vnd",
                      "funds_used_as_planned", "recorded_by_id", "recorded_at"},
    SupportEvent: {"id", "survivor_id", "kind", "held_on", "completed", "recorded_by_id", "recorded_at"},
    ProposalTransition: {"id", "proposal_id", "action", "from_state", "to_state", "actor_id", "actor", "at",
                         "amount_vnd"},
    # Written by province officers for province officers: shown whole.
    Appraisal: frozenset({"*"}),
    Budget: frozenset({"*"}),
}


# Clear columns that are about her (besides the ``Protected`` ones, which always are), per model.
PERSONAL: dict[type, frozenset[str]] = {
    Survivor: frozenset({"code", "commune_code", "sex", "age_band", "ethnicity_code", "status", "status_on",
                         "household_size", "monthly_income_vnd", "supports", "consent_given_by"}),
    AccompanyingChild: frozenset({"sex", "supports", "support_list"}),
    # A budget line's wording is the commune officer's free text about her plan (hidden from the province).
    ProposalLine: frozenset({"item", "unit"}),
}
# How a field of another record than the page's own is named in its read event.
KINDS: dict[type, str] = {
    Survivor: "survivor", Proposal: "proposal", ProposalLine: "line", Disbursement: "disbursement",
    MonitoringVisit: "visit", SupportEvent: "event", ProposalTransition: "transition", Appraisal: "appraisal",
    AccompanyingChild: "child",
}


class Reading:
    """The personal fields a page or an answer read through ``present``'s proxies (see the module doc)."""

    def __init__(self, root: Any):
        self.root = root
        self.names: set[str] = set()

    def note(self, record: Any, name: str, value: Any) -> None:
        model = type(record)
        if is_empty(value) or (name not in getattr(model, "__protected__", {})
                               and name not in PERSONAL.get(model, ())):
            return
        same = record is self.root or (getattr(record, "id", None) is not None and type(self.root) is model
                                       and record.id == getattr(self.root, "id", None))
        self.names.add(name if same else f"{KINDS.get(model, model.__tablename__)}.{name}")

    @property
    def fields(self) -> list[str]:
        return sorted(self.names)


@contextmanager
def reading(root: Any) -> Iterator[Reading]:
    """Note the personal fields read through ``present`` while the page or answer of ``root`` is built."""
    outer = g.get("livelihood_reading")
    g.livelihood_reading = current = Reading(root)
    try:
        yield current
    finally:
        g.livelihood_reading = outer


def _note(record: Any, name: str, value: Any) -> None:
    current = g.get("livelihood_reading") if has_app_context() else None
    if current is not None:
        current.note(record, name, value)


def _commune_of(record: Any) -> str | None:
    commune = getattr(record, "commune_code", None)
    if commune is None and isinstance(record, ProposalLine | Disbursement | MonitoringVisit | ProposalTransition):
        from casework.extensions import db

        proposal = db.session.get(Proposal, record.proposal_id)
        commune = proposal.commune_code if proposal is not None else None
    if commune is None and isinstance(record, SupportEvent):
        from casework.extensions import db

        survivor = db.session.get(Survivor, record.survivor_id)
        commune = survivor.commune_code if survivor is not None else None
    return commune


def sees_everything(user: User, record: Any, commune_code: str | None = None) -> bool:
    """Only the commune officer of the record's commune reads its free text and attachments."""
    commune = commune_code if commune_code is not None else _commune_of(record)
    return user.role == Role.COMMUNE_OFFICER and bool(user.commune_code) and user.commune_code == commune


class Shown:
    """A read-only view of ``record`` for one reader: allowed attributes pass, replaced ones are
    computed here, everything else is None."""

    __slots__ = ("_allowed", "_own", "_record", "_replaced")

    def __init__(self, record: Any, allowed: AbstractSet[str] | None, replaced: dict[str, Any] | None = None,
                 own: frozenset[str] = frozenset()):
        object.__setattr__(self, "_record", record)
        object.__setattr__(self, "_allowed", allowed)
        object.__setattr__(self, "_replaced", replaced or {})
        # Replaced attributes whose value is still the record's own (not structured wording): noted when read.
        object.__setattr__(self, "_own", own)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._replaced:
            value = self._replaced[name]
            if name in self._own:
                _note(self._record, name, value)
            return value
        if self._allowed is None or "*" in self._allowed or name in self._allowed:
            value = getattr(self._record, name)
            _note(self._record, name, value)
            return value
        return None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a presented record is read-only")

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    @property
    def full(self) -> bool:
        return self._allowed is None

    def __repr__(self) -> str:
        return f"<Shown {self._record!r} full={self.full}>"


def present(user: User, record: Any, *, commune_code: str | None = None) -> Shown:
    """``record`` as ``user`` may see it (see the module doc); ``commune_code`` spares a lookup."""
    if record is None:
        return None  # type: ignore[return-value]
    if isinstance(record, Shown):
        return record
    full = sees_everything(user, record, commune_code)
    if isinstance(record, Proposal):
        return _proposal(user, record, full)
    if full:
        return Shown(record, None)
    allowed = ALLOWED.get(type(record), frozenset(_COMMON))
    replaced: dict[str, Any] = {}
    if isinstance(record, ProposalLine):
        replaced = {"item": _("Line %(n)d", n=record.position + 1), "unit": ""}
    elif isinstance(record, ProposalTransition):
        actor = record.actor
        if actor is not None and actor.role == Role.PROVINCE_OFFICER:
            replaced = {"note": record.note}  # a province officer's own decision note
    elif isinstance(record, Survivor):
        replaced = {"supports": list(record.supports)}
    return Shown(record, allowed, replaced, own=frozenset({"note", "supports"}) & replaced.keys())


def _proposal(user: User, p: Proposal, full: bool) -> Shown:
    survivor = present(user, p.survivor, commune_code=p.commune_code)
    lines = [present(user, line, commune_code=p.commune_code) for line in p.lines]
    if full:
        return Shown(p, None, {"survivor": survivor, "lines": lines})
    title = _("%(kind)s — survivor %(code)s", kind=str(KIND_LABELS.get(p.kind, p.kind)), code=p.survivor.code)
    return Shown(p, ALLOWED[Proposal], {"survivor": survivor, "lines": lines, "title": title})


def present_all(user: User, records, *, commune_code: str | None = None) -> list[Shown]:
    return [present(user, r, commune_code=commune_code) for r in records]


def may_download_attachments(user: User, proposal: Proposal) -> bool:
    """Receipts and visit photos: only her commune's officer (they show faces, places, names)."""
    return sees_everything(user, proposal, proposal.commune_code)
