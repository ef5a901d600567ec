"""Moving a case to another trusted address (issue 13).

A woman who moves on is transferred by the commune officer of the case's commune to another address, in the
same commune or another one, in the same province or another. A commune officer of the receiving address's
commune accepts it (or declines with a reason); until then nothing changes. On acceptance the case belongs
to the new address: its host and commune see it, the old host and commune no longer do (their scope is the
case's address and commune), and the history stays with the case. Across provinces the blind indexes of her
name and phone are rewritten under the new province's keys (DESIGN §3.3).

Who sees a transfer: the commune officers of both communes. Nobody else, and the receiving officer sees
only codes and the reason until she accepts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, or_, select, update

from casework import notify
from casework.auth.models import User
from casework.auth.roles import Role
from casework.cases import codes
from casework.cases.models import Address, Case, CaseTransfer, ContactBan, ShelterStay
from casework.cases.policy import deny_not_found
from casework.cases.timeline import add_timeline_entry
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db, read_columns
from casework.models import ID_LENGTH, utcnow
from casework.protect import audit

KINDS = {
    "transfer_requested": _l("Case %(ref)s is being moved to an address of your commune: accept or decline."),
    "transfer_accepted": _l("The move of case %(ref)s was accepted."),
    "transfer_declined": _l("The move of case %(ref)s was declined."),
    # The hosts of both addresses (issue 13, found by the moving journey: neither was told).
    "transfer_arrived": _l("Case %(ref)s was moved to your trusted address: it is now in your list."),
    "transfer_moved_away": _l("Case %(ref)s was moved to another trusted address; you no longer see it."),
}


def _hosts(address_id: str | None, exclude: Any = ()) -> list[str]:
    """The active hosts of one address."""
    from casework.auth.models import User, address_host

    if not address_id:
        return []
    return [u for u in notify.active_users(User.role == Role.HOST.value,
                                           User.id.in_(select(address_host.c.user_id)
                                                       .where(address_host.c.address_id == address_id)))
            if u not in set(exclude)]


def _officer_commune(user: User) -> str | None:
    if str(getattr(user, "role", "")) != Role.COMMUNE_OFFICER.value:
        return None
    return getattr(user, "commune_code", None)


def transfers_visible_to(user: User) -> Any:
    commune = _officer_commune(user)
    if not commune:
        return select(CaseTransfer).where(db.false())
    return select(CaseTransfer).where(or_(CaseTransfer.from_commune_code == commune,
                                          CaseTransfer.to_commune_code == commune))


def get_transfer_or_404(user: User, transfer_id: str) -> CaseTransfer:
    transfer = None
    if transfer_id and len(transfer_id) <= ID_LENGTH:
        transfer = db.session.scalar(transfers_visible_to(user).where(CaseTransfer.id == transfer_id))
    if transfer is None:
        deny_not_found("case_transfer", transfer_id)
    return transfer


def pending_transfer(case: Case) -> CaseTransfer | None:
    return db.session.scalar(select(CaseTransfer).where(CaseTransfer.case_id == case.id,
                                                        CaseTransfer.state == "pending"))


def pending_move(case: Case) -> Row[str, datetime] | None:
    """What the case page says of a pending move (its ``id`` and ``requested_at``), two columns read without
    an ORM object (issue 18); None when no move is pending."""
    t = CaseTransfer.__table__.c
    row: Row[str, datetime] | None = read_columns(
        select(t.id, t.requested_at).where(t.case_id == case.id, t.state == "pending")).first()
    return row


def request_transfer(actor: User, case: Case, to_address_id: str | None, reason: str | None) -> CaseTransfer:
    """The commune officer of the case's commune asks to move it. 409 while another move is pending or the
    case is closed; 422 for a missing, inactive or identical address or a missing reason, in one answer
    (types and lengths: ``schemas.TransferIn``)."""
    if _officer_commune(actor) != case.commune_code:
        raise NotFound(_("Not found."))
    if case.status not in codes.OPEN_STATUSES:
        raise StateError(_("Only an open case can be moved."), {"address_id": [_("This case is closed.")]})
    if pending_transfer(case) is not None:
        raise StateError(_("A move of this case is already waiting for the receiving commune."),
                         {"address_id": [_("A move is already waiting.")]})
    errors: dict[str, list[str]] = {}
    target = db.session.get(Address, to_address_id) if to_address_id and len(to_address_id) <= ID_LENGTH else None
    if target is None or not target.active:
        errors["address_id"] = [_("Choose an active trusted address.")]
    elif target.id == case.address_id:
        errors["address_id"] = [_("The case is already at this address.")]
    if not reason:
        errors["reason"] = [_("Say why she moves (no name, no address).")]
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    assert target is not None  # checked above  # noqa: S101  # nosec B101
    transfer = CaseTransfer(case_id=case.id, from_address_id=case.address_id, to_address_id=target.id,
                            from_commune_code=case.commune_code, to_commune_code=target.commune_code,
                            province_code=target.province_code, requested_by_id=actor.id, requested_at=utcnow())
    db.session.add(transfer)
    db.session.flush()
    transfer.reason = reason
    db.session.flush()
    add_timeline_entry(actor, case, "transfer_requested", object_type="case_transfer", object_id=transfer.id)
    audit.record("case_transfer_request", object_type="case", object_id=case.id, actor=actor,
                 detail="case_transfer")
    receivers = notify.users_with_role("commune_officer", commune_code=target.commune_code, exclude=(actor.id,))
    notify.notify(receivers, "transfer_requested", "case_transfer", transfer.id, case.reference)
    return transfer


def _require_receiver(actor: User, transfer: CaseTransfer) -> None:
    if _officer_commune(actor) != transfer.to_commune_code:
        raise NotFound(_("Not found."))
    if transfer.state != "pending":
        raise StateError(_("This move was already decided."), {"decision": [_("This move was already decided.")]})


def accept_transfer(actor: User, transfer: CaseTransfer) -> Case:
    """A commune officer of the receiving commune accepts: the case now belongs to the new address."""
    _require_receiver(actor, transfer)
    case = db.session.get(Case, transfer.case_id)
    target = db.session.get(Address, transfer.to_address_id)
    if case is None or target is None or not target.active:
        raise StateError(_("The receiving address is no longer active."), {"decision": [_("Address not active.")]})
    now = utcnow()
    moved_province = case.province_code != target.province_code
    case.address_id, case.commune_code, case.province_code = target.id, target.commune_code, target.province_code
    case.version += 1
    for model in (ShelterStay, ContactBan):  # their copy of the case's place (the work queue's scope)
        db.session.execute(update(model).where(model.case_id == case.id)
                           .values(address_id=target.id, commune_code=target.commune_code))
    if moved_province:
        person = case.person
        person.province_code = target.province_code
        # The blind indexes are keyed per province: write them again under the new province's keys.
        for name in ("full_name", "phone"):
            value = getattr(person, name, None)
            if value is not None:
                setattr(person, name, value)
    transfer.state, transfer.decided_by_id, transfer.decided_at = "accepted", actor.id, now
    db.session.flush()
    add_timeline_entry(actor, case, "transfer_accepted", object_type="case_transfer", object_id=transfer.id)
    audit.record("case_transfer_accept", object_type="case", object_id=case.id, actor=actor,
                 detail="case_transfer")
    notify.notify([transfer.requested_by_id], "transfer_accepted", "case_transfer", transfer.id, case.reference)
    # The new host opens the case from her notification; the old one is told it left (no link: she can no
    # longer open it). A host of both addresses keeps it and hears only that it arrived.
    arrived = _hosts(target.id)
    notify.notify(arrived, "transfer_arrived", "case", case.id, case.reference)
    notify.notify(_hosts(transfer.from_address_id, exclude=arrived), "transfer_moved_away", "case_moved", None,
                  case.reference)
    return case


def decline_transfer(actor: User, transfer: CaseTransfer, reason: str) -> CaseTransfer:
    """The receiving commune declines the move; the reason is read by ``schemas.TransferDeclineIn``."""
    _require_receiver(actor, transfer)
    transfer.state, transfer.decided_by_id, transfer.decided_at = "declined", actor.id, utcnow()
    transfer.decline_reason = reason
    db.session.flush()
    case = db.session.get(Case, transfer.case_id)
    if case is not None:
        add_timeline_entry(actor, case, "transfer_declined", object_type="case_transfer", object_id=transfer.id)
        notify.notify([transfer.requested_by_id], "transfer_declined", "case_transfer", transfer.id, case.reference)
    audit.record("case_transfer_decline", object_type="case", object_id=transfer.case_id, actor=actor,
                 detail="case_transfer")
    return transfer


def case_reference(transfer: CaseTransfer) -> str:
    case = db.session.get(Case, transfer.case_id)
    return case.reference if case is not None else ""
