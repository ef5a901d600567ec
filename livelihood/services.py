"""Livelihood services: each takes the acting user, validates, changes rows, writes the audit event,
flushes and never commits (STYLE rule 3). Errors are ``ValidationError`` (422, per field),
``StateError`` (409, a transition not allowed now), ``Forbidden`` (403, the four-eyes rule) and
``NotFound`` (404, outside the actor's scope).

Money rules (DESIGN §2):

- amounts are whole VND, more than zero; totals are computed here, never taken from the client;
- an approval adds its amount to the budget row's ``committed_vnd`` in one conditional UPDATE
  (``... WHERE committed_vnd + :amount <= amount_vnd``). On PostgreSQL a second approver's UPDATE
  waits for the first one's row lock and re-checks the condition against the committed row, so two
  approvals at the same moment can never both pass; on SQLite writers are serialised. A CHECK
  constraint on the table is the last line of defence;
- a tranche is added to the proposal's ``disbursed_vnd`` the same way (``<= approved``);
- rows are locked in the same order everywhere (the proposal, then the budget) and the audit events
  are written last, because on PostgreSQL the audit chain's lock serialises every writer: taking it
  before a budget row in one transaction and after it in another could deadlock.

Every state change goes through ``_move``: a compare-and-set UPDATE on the state, a transition row
(who, when, note) and an audit event with ids and codes only.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, Table, and_, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from casework import paging
from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import Forbidden, NotFound, StateError, ValidationError
from casework.extensions import db, execute_dml
from casework.geo import data as geo
from casework.models import utcnow
from casework.protect import audit
from casework.protect.attachments import NewAttachment, add_attachment
from casework.text import VN_TZ, format_vnd, nfc
from livelihood import handover
from livelihood.models import (
    AGE_BANDS,
    CONSENT_GIVERS,
    DISBURSEMENT_FORMS,
    ENTITLEMENTS,
    EVENT_KINDS,
    OUTCOMES,
    PROPOSAL_KINDS,
    SEXES,
    SURVIVOR_STATUSES,
    VISIT_PROGRESS,
    Appraisal,
    Budget,
    BudgetChange,
    Disbursement,
    MonitoringVisit,
    Proposal,
    ProposalLine,
    ProposalTransition,
    SupportEvent,
    Survivor,
    SurvivorSupport,
)
from livelihood.work import MONITORING_DAYS

Errors = dict[str, list[str]]


class SecondPersonRequired(Forbidden):
    """The four-eyes rule: the person who started an action cannot be the one who completes it."""

    code = "second_person_required"


class PendingConfirmation(StateError):
    """A change is already waiting for a second person's confirmation."""

    code = "pending_confirmation"


def _refuse(error: Forbidden | StateError, action: str, object_type: str, object_id: str | None) -> None:
    """Raise ``error`` and keep one ``denied`` audit event, although the request rolls back."""
    audit.record_after_rollback(action, object_type=object_type, object_id=audit.opaque_id(object_id),
                                outcome="denied", detail=error.code)
    raise error

# Law 53/2024 Art. 37(1): an identified victim is entitled to a–k; Art. 37(3): a person being
# identified in Vietnam to a–g (the items in Vietnam; a–d only while abroad).
ENTITLED_BY_STATUS: dict[str, tuple[str, ...]] = {
    "identified": ENTITLEMENTS,
    "being_identified": ("a", "b", "c", "d", "đ", "e", "g"),
    "not_victim": (),  # found not to be a victim: no Art. 37 entitlement
}
# Who may decide what, in which state (DESIGN §2).
EDITABLE_STATES = ("draft", "returned")
DECIDABLE_STATES = ("submitted", "under_appraisal")
DISBURSABLE_STATES = ("approved", "disbursing")
MONITORED_STATES = ("approved", "disbursing", "completed")
WITHDRAWABLE_STATES = ("draft", "returned")  # by the commune officer
CLOSABLE_STATES = ("approved", "disbursing")  # by the province officer
MAX_LINES = 30
MAX_AMOUNT_VND = 10**13  # far above any programme, far below BigInteger's limit
SCORE_CRITERIA = ("feasibility", "market", "skills", "risks", "cost")
PAGE_SIZE = 25


def today() -> date:
    """Today in Vietnam: dates on screens and in the budget year are local dates."""
    return datetime.now(VN_TZ).date()


def _schedule_monitoring(proposal: Proposal, to_state: str) -> None:
    """The first monitoring visit is due a quarter after the approval; none once the proposal ends."""
    if to_state == "approved":
        proposal.monitoring_due_on = today() + timedelta(days=MONITORING_DAYS)
    elif to_state in ("completed", "closed", "rejected"):
        proposal.monitoring_due_on = None


def _add(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)


def _clean(value: str | None, max_length: int) -> str:
    return nfc(value or "")[:max_length]


# --- input parsing shared by forms, the API and the Excel import ---------------------------------

_GROUPED = re.compile(r"^\d{1,3}(?:[.,\s]\d{3})+$")


def parse_whole_number(value: object, *, allow_zero: bool = False) -> int:
    """A whole number from an int or from text such as ``1.500.000`` / ``1 500 000`` / ``1500000``.

    Raises ``ValueError`` with a translated message for decimals ("1,5", 2.5), text, zero (unless
    allowed) and negative numbers: VND has no minor unit, and quantities are counted.
    """
    if isinstance(value, bool):
        raise ValueError(_("Enter a whole number."))
    if isinstance(value, float):
        # JSON 1500000.0 or 1.5: money and quantities are sent as integers, never as decimals.
        raise ValueError(_("Enter a whole number, without decimals."))
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = nfc(value).replace("₫", "").strip()
        text = re.sub(r"\s*(?:vnđ|vnd|đồng|đ)$", "", text, flags=re.IGNORECASE).strip()
        negative = text.startswith("-")
        digits = text[1:].strip() if negative else text
        if digits.isdigit():
            number = int(digits)
        elif _GROUPED.match(digits):
            number = int(re.sub(r"[.,\s]", "", digits))
        elif re.fullmatch(r"\d+(?:[.,]\d+)+", digits):
            raise ValueError(_("Enter a whole number, without decimals."))
        else:
            raise ValueError(_("Enter a whole number."))
        if negative:
            number = -number
    else:
        raise ValueError(_("Enter a whole number."))
    if number < 0 or (number == 0 and not allow_zero):
        raise ValueError(_("Enter a number greater than zero.") if not allow_zero
                         else _("Enter zero or a positive number."))
    if number > MAX_AMOUNT_VND:
        raise ValueError(_("This number is too large."))
    return number


def parse_day(value: object) -> date:
    """A date from a ``date`` or from ``YYYY-MM-DD`` / ``dd/mm/yyyy`` text; ``ValueError`` otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar day, no time
            except ValueError:
                continue
    raise ValueError(_("Enter a date as dd/mm/yyyy."))


def _past_day(errors: Errors, name: str, value: object) -> date | None:
    """The day of something done (a payment, a visit, a support event), typed or sent: required, read by
    ``parse_day``, not in the future; what is wrong with it goes to ``errors`` under ``name``."""
    try:
        day = parse_day(value) if value not in (None, "") else None
    except ValueError as e:
        _add(errors, name, str(e))
        return None
    _check_past_day(errors, name, day)
    return day


def _check_past_day(errors: Errors, name: str, value: date | None, required: bool = True) -> None:
    if value is None:
        if required:
            _add(errors, name, _("Enter a date as dd/mm/yyyy."))
        return
    if value > today():
        _add(errors, name, _("This date is in the future."))
    elif value.year < 2000:
        _add(errors, name, _("This date is too long ago."))


def _check_amount(errors: Errors, name: str, value: object, *, allow_zero: bool = False,
                  required: bool = True) -> int | None:
    if value is None or value == "":
        if required:
            _add(errors, name, _("This field is required."))
        return None
    try:
        return parse_whole_number(value, allow_zero=allow_zero)
    except ValueError as e:
        _add(errors, name, str(e))
        return None


# --- scope ----------------------------------------------------------------------------------------

_OPAQUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _opaque(value: str | None) -> str | None:
    return value if value and _OPAQUE.match(value) else None


def _in_officers_area(model: type[Survivor] | type[Proposal], user: User) -> Select:
    """Rows of ``model`` in the officer's area: her commune for a commune officer, her province for a province
    officer; none for anybody else."""
    query = select(model)
    if user.role == Role.COMMUNE_OFFICER and user.commune_code:
        return query.where(model.commune_code == user.commune_code)
    if user.role == Role.PROVINCE_OFFICER and user.province_code:
        return query.where(model.province_code == user.province_code)
    return query.where(false())


def survivors_visible_to(user: User) -> Select:
    """Commune officers see the survivors of their commune; province officers those of their province
    (without identity: see ``can_see_identity``); nobody else sees any."""
    return _in_officers_area(Survivor, user)


def proposals_visible_to(user: User) -> Select:
    return _in_officers_area(Proposal, user)


def budgets_visible_to(user: User) -> Select:
    query = select(Budget)
    if user.role == Role.PROVINCE_OFFICER and user.province_code:
        return query.where(Budget.province_code == user.province_code)
    return query.where(false())


def find_survivor(user: User, survivor_id: str | None) -> Survivor | None:
    if not _opaque(survivor_id):
        return None
    return db.session.scalar(survivors_visible_to(user).where(Survivor.id == survivor_id))


def find_proposal(user: User, proposal_id: str | None) -> Proposal | None:
    if not _opaque(proposal_id):
        return None
    return db.session.scalar(proposals_visible_to(user).where(Proposal.id == proposal_id))


def get_survivor_or_404(user: User, survivor_id: str) -> Survivor:
    """The survivor if the user may see her; otherwise 404 and an ``access_denied`` event."""
    from casework.auth.policy import deny

    survivor = find_survivor(user, survivor_id)
    if survivor is None:
        deny("survivor", _opaque(survivor_id))
    return survivor  # type: ignore[return-value]


def get_proposal_or_404(user: User, proposal_id: str) -> Proposal:
    from casework.auth.policy import deny

    proposal = find_proposal(user, proposal_id)
    if proposal is None:
        deny("proposal", _opaque(proposal_id))
    return proposal  # type: ignore[return-value]


def can_see_identity(user: User, survivor: Survivor) -> bool:
    """Only her commune's officer sees her name, phone, birth year and survey answers.

    Province officers decide on a proposal with what the decision needs: her code, commune, status,
    sex, age band and ethnicity, the plan and its money (data minimisation, DESIGN §3.3).
    """
    return user.role == Role.COMMUNE_OFFICER and user.commune_code == survivor.commune_code


def record_survivor_view(user: User, survivor: Survivor, fields: Iterable[str]) -> None:
    """Her record was read: ``fields`` are the names the page or answer read (``presenters.reading``, issue 18)."""
    audit.record("survivor_view", object_type="survivor", object_id=survivor.id, actor=user, fields=list(fields))


def record_proposal_view(user: User, proposal: Proposal, fields: Iterable[str]) -> None:
    """A proposal was read: ``fields`` as for ``record_survivor_view``."""
    audit.record("proposal_view", object_type="proposal", object_id=proposal.id, actor=user, fields=list(fields))


def entitlements_of(survivor_or_status: Survivor | str) -> tuple[str, ...]:
    status = survivor_or_status if isinstance(survivor_or_status, str) else survivor_or_status.status
    return ENTITLED_BY_STATUS.get(status, ())


# --- keyset pagination ----------------------------------------------------------------------------


@dataclass
class Page:
    items: list
    next: str | None


def page_of(query: Select, model, after: str | None, size: int | None = None) -> Page:
    """Newest first, ``size`` rows after the cursor; the cursor carries no personal data."""
    size = size or PAGE_SIZE
    if after:
        at, row_id = paging.decode_cursor(after, datetime, str)
        query = query.where(or_(model.created_at < at, and_(model.created_at == at, model.id < row_id)))
    rows = list(db.session.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, paging.encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None)


# --- survivors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonInput:
    full_name: str
    birth_year: int | None = None
    sex: str = "female"
    ethnicity_code: str | None = None
    phone: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SurvivorInput:
    person: PersonInput = field(repr=False)
    commune_code: str | None
    status: str
    consent_record: bool
    consent_statistics: bool = False
    consent_given_by: str = "self"
    status_on: date | None = None
    status_authority: str = ""
    household_size: int | None = None
    monthly_income_vnd: int | None = None
    skills: str = field(default="", repr=False)
    assets: str = field(default="", repr=False)
    health: str = field(default="", repr=False)
    wishes: str = field(default="", repr=False)
    supports_received: tuple[str, ...] = ()


def age_band(birth_year: int | None, on: date) -> str | None:
    if birth_year is None:
        return None
    age = on.year - birth_year
    for limit, band in ((18, "under_18"), (25, "18_24"), (35, "25_34"), (45, "35_44"), (60, "45_59")):
        if age < limit:
            return band
    return "60_plus"


def check_survivor(actor: User, new: SurvivorInput, *, creating: bool = True) -> Errors:
    """Every rule a survivor record must meet, as messages per field (``person.full_name`` …)."""
    errors: Errors = {}
    p = new.person
    if creating:
        name = nfc(p.full_name or "")
        if not name:
            _add(errors, "person.full_name", _("Enter her full name."))
        elif len(name) > 200:
            _add(errors, "person.full_name", _("At most %(n)d characters.", n=200))
        if p.birth_year is not None and not (1900 <= p.birth_year <= today().year):
            _add(errors, "person.birth_year", _("Enter a year between 1900 and this year."))
        if p.sex not in SEXES:
            _add(errors, "person.sex", _("Choose female or male."))
        if p.ethnicity_code and geo.ethnic_group(p.ethnicity_code) is None:
            _add(errors, "person.ethnicity_code", _("Choose an ethnic group from the list (01–54)."))
        if p.phone:
            digits = re.sub(r"[\s.()+-]", "", p.phone)
            if not digits.isdigit() or not 8 <= len(digits) <= 15:
                _add(errors, "person.phone", _("Enter a phone number of 8 to 15 digits."))
        commune = geo.commune(new.commune_code) if new.commune_code else None
        if new.commune_code and commune is None:
            _add(errors, "commune_code", _("Choose an existing commune code (5 digits)."))
        elif new.commune_code and new.commune_code != actor.commune_code:
            _add(errors, "commune_code", _("You can register survivors of your own commune only."))
        if not new.consent_record:
            # Law 53/2024 Art. 3(10): her information is kept and shared only with her consent.
            _add(errors, "consent.record", _("She must agree that her record is kept; without it nothing is stored."))
        if new.consent_given_by not in CONSENT_GIVERS:
            _add(errors, "consent.given_by", _("Choose who gave the consent."))
    if new.status not in SURVIVOR_STATUSES:
        _add(errors, "status", _("Choose \"being identified\", \"identified\" or \"not a victim\"."))
    elif new.status == "not_victim":
        # Law 53/2024: the competent body's decision that she is not a victim names the body and the date.
        if new.status_on is None:
            _add(errors, "status_on", _("Enter the date of the decision that she is not a victim."))
        if not nfc(new.status_authority or "").strip():
            _add(errors, "status_authority", _("Enter the body that decided she is not a victim."))
    if new.status_on is not None:
        _check_past_day(errors, "status_on", new.status_on)
    if len(nfc(new.status_authority or "")) > 200:
        _add(errors, "status_authority", _("At most %(n)d characters.", n=200))
    if new.household_size is not None and not 1 <= new.household_size <= 50:
        _add(errors, "household_size", _("Enter a number of people between 1 and 50."))
    if new.monthly_income_vnd is not None and not 0 <= new.monthly_income_vnd <= MAX_AMOUNT_VND:
        _add(errors, "monthly_income_vnd", _("Enter zero or a positive number."))
    for name in ("skills", "assets", "health", "wishes"):
        if len(nfc(getattr(new, name) or "")) > 2000:
            _add(errors, name, _("At most %(n)d characters.", n=2000))
    entitled = entitlements_of(new.status) if new.status in SURVIVOR_STATUSES else ENTITLEMENTS
    unknown = [s for s in new.supports_received if s not in ENTITLEMENTS]
    not_entitled = [s for s in new.supports_received if s in ENTITLEMENTS and s not in entitled]
    if unknown:
        _add(errors, "supports_received", _("Choose support items from the list."))
    elif not_entitled:
        _add(errors, "supports_received",
             _("Items %(items)s are not among her entitlements for this status (Law 53/2024 Art. 37).",
               items=", ".join(not_entitled)))
    return errors


def _new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
    for _attempt in range(10):
        code = "NV-" + "".join(secrets.choice(alphabet) for _i in range(6))
        if not db.session.scalar(select(Survivor.id).where(Survivor.code == code)):
            return code
    raise RuntimeError("could not draw a free survivor code")  # pragma: no cover - 32^6 codes


def _apply_survey(survivor: Survivor, new: SurvivorInput) -> None:
    survivor.status = new.status
    survivor.status_on = new.status_on
    survivor.status_authority = _clean(new.status_authority, 200) or None
    survivor.household_size = new.household_size
    survivor.monthly_income_vnd = new.monthly_income_vnd
    for name in ("skills", "assets", "health", "wishes"):
        setattr(survivor, name, _clean(getattr(new, name), 2000) or None)


def _set_supports(actor: User, survivor: Survivor, items: Iterable[str]) -> None:
    wanted = set(items)
    for row in list(survivor.supports):
        if row.item not in wanted:
            survivor.supports.remove(row)
    have = {row.item for row in survivor.supports}
    for item in sorted(wanted - have, key=ENTITLEMENTS.index):
        survivor.supports.append(SurvivorSupport(item=item, recorded_by_id=actor.id))


def register_survivor(actor: User, new: SurvivorInput, *, audit_event: bool = True) -> Survivor:
    """List a survivor in the actor's commune. Needs her consent to keep the record."""
    if actor.role != Role.COMMUNE_OFFICER or not actor.commune_code:
        raise Forbidden(_("Only a commune officer can register a survivor."))
    _raise_if(check_survivor(actor, new))
    commune = geo.commune(new.commune_code or actor.commune_code)
    if commune is None:  # the actor's own commune: checked when the account was made
        raise ValidationError(_("Choose an existing commune code (5 digits)."),
                              {"commune_code": [_("Choose an existing commune code (5 digits).")]})
    p = new.person
    registered_on = today()
    survivor = Survivor(code=_new_code(), province_code=commune.province_code, commune_code=commune.code,
                        sex=p.sex, ethnicity_code=p.ethnicity_code or None,
                        age_band=age_band(p.birth_year, registered_on),
                        consent_record=True, consent_statistics=bool(new.consent_statistics),
                        consent_given_by=new.consent_given_by, consent_at=utcnow(),
                        registered_on=registered_on, registered_by_id=actor.id)
    survivor.full_name = _clean(p.full_name, 200)
    survivor.phone = _clean(p.phone, 40) or None
    survivor.birth_year = str(p.birth_year) if p.birth_year is not None else None
    _apply_survey(survivor, new)
    db.session.add(survivor)
    _set_supports(actor, survivor, new.supports_received)
    db.session.flush()
    if audit_event:
        audit.record("survivor_create", object_type="survivor", object_id=survivor.id, actor=actor,
                     fields=["full_name", "phone", "birth_year", "status", "consent", "survey"])
    return survivor


def update_survivor(actor: User, survivor: Survivor, new: SurvivorInput) -> Survivor:
    """Change her status, the needs survey and the support items received (identity stays)."""
    if not can_see_identity(actor, survivor):
        raise NotFound(_("Not found."))
    _raise_if(check_survivor(actor, new, creating=False))
    _apply_survey(survivor, new)
    survivor.consent_statistics = bool(new.consent_statistics)
    _set_supports(actor, survivor, new.supports_received)
    db.session.flush()
    audit.record("survivor_update", object_type="survivor", object_id=survivor.id, actor=actor,
                 fields=["status", "survey", "supports", "consent"])
    return survivor


def search_survivors(actor: User, query: str) -> list[Survivor]:
    """Her commune's survivors whose name matches every word of ``query`` (blind index, then exact)."""
    from casework.protect.fields import search

    if actor.role != Role.COMMUNE_OFFICER or not actor.province_code:
        return []
    rows = search(Survivor, "full_name", query, survivors_visible_to(actor), [actor.province_code])
    audit.record("survivor_search", object_type="survivor", actor=actor, detail=f"results:{len(rows)}")
    return rows


# --- proposals ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    item: str
    quantity: object
    unit_cost_vnd: object
    unit: str = ""
    co_contribution_vnd: object = 0


@dataclass(frozen=True)
class ProposalInput:
    kind: str
    title: str = field(repr=False)
    lines: tuple[LineInput, ...]
    description: str = field(default="", repr=False)
    expected_results: str = field(default="", repr=False)


@dataclass(frozen=True)
class CheckedLine:
    item: str
    unit: str
    quantity: int
    unit_cost_vnd: int
    co_contribution_vnd: int


def check_proposal(new: ProposalInput) -> tuple[Errors, list[CheckedLine]]:
    errors: Errors = {}
    if new.kind not in PROPOSAL_KINDS:
        _add(errors, "kind", _("Choose a kind of livelihood from the list."))
    title = nfc(new.title or "")
    if not title:
        _add(errors, "title", _("Give the proposal a short title."))
    elif len(title) > 200:
        _add(errors, "title", _("At most %(n)d characters.", n=200))
    if len(nfc(new.description or "")) > 4000:
        _add(errors, "description", _("At most %(n)d characters.", n=4000))
    if len(nfc(new.expected_results or "")) > 2000:
        _add(errors, "expected_results", _("At most %(n)d characters.", n=2000))
    checked: list[CheckedLine] = []
    if not new.lines:
        _add(errors, "budget_lines", _("Add at least one budget line."))
    elif len(new.lines) > MAX_LINES:
        _add(errors, "budget_lines", _("At most %(n)d budget lines.", n=MAX_LINES))
    for i, line in enumerate(new.lines[:MAX_LINES]):
        prefix = f"budget_lines.{i}."
        item = nfc(line.item or "")
        if not item:
            _add(errors, prefix + "item", _("Name the item."))
        elif len(item) > 200:
            _add(errors, prefix + "item", _("At most %(n)d characters.", n=200))
        unit = nfc(line.unit or "")
        if len(unit) > 32:
            _add(errors, prefix + "unit", _("At most %(n)d characters.", n=32))
        quantity = _check_amount(errors, prefix + "quantity", line.quantity)
        unit_cost = _check_amount(errors, prefix + "unit_cost_vnd", line.unit_cost_vnd)
        own = _check_amount(errors, prefix + "co_contribution_vnd", line.co_contribution_vnd, allow_zero=True,
                            required=False) or 0
        if quantity is not None and unit_cost is not None:
            if quantity * unit_cost > MAX_AMOUNT_VND:
                _add(errors, prefix + "unit_cost_vnd", _("This number is too large."))
            elif own > quantity * unit_cost:
                _add(errors, prefix + "co_contribution_vnd",
                     _("Her own contribution cannot be more than the line's total."))
            else:
                checked.append(CheckedLine(item, unit, quantity, unit_cost, own))
    if not errors and sum(c.quantity * c.unit_cost_vnd - c.co_contribution_vnd for c in checked) <= 0:
        _add(errors, "budget_lines", _("The proposal asks for no money: her contribution covers everything."))
    return errors, checked


def _apply_proposal(actor: User, proposal: Proposal, new: ProposalInput, lines: Sequence[CheckedLine]) -> None:
    proposal.kind = new.kind
    proposal.title = _clean(new.title, 200)
    proposal.description = _clean(new.description, 4000) or None
    proposal.expected_results = _clean(new.expected_results, 2000) or None
    proposal.lines = [ProposalLine(position=i, item=c.item, unit=c.unit, quantity=c.quantity,
                                   unit_cost_vnd=c.unit_cost_vnd, co_contribution_vnd=c.co_contribution_vnd)
                      for i, c in enumerate(lines)]
    proposal.total_vnd = sum(c.quantity * c.unit_cost_vnd for c in lines)
    proposal.co_contribution_vnd = sum(c.co_contribution_vnd for c in lines)
    proposal.requested_vnd = proposal.total_vnd - proposal.co_contribution_vnd
    proposal.last_edited_by_id = actor.id


def draft_proposal(actor: User, survivor: Survivor, new: ProposalInput) -> Proposal:
    """A commune officer drafts a proposal with a survivor of her commune."""
    if not can_see_identity(actor, survivor):
        raise NotFound(_("Not found."))
    errors, lines = check_proposal(new)
    _raise_if(errors)
    proposal = Proposal(survivor_id=survivor.id, province_code=survivor.province_code,
                        commune_code=survivor.commune_code, state="draft", drafted_by_id=actor.id,
                        last_edited_by_id=actor.id)
    _apply_proposal(actor, proposal, new, lines)
    db.session.add(proposal)
    db.session.flush()
    audit.record("proposal_create", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=["kind", "title", "budget_lines"])
    return proposal


def revise_proposal(actor: User, proposal: Proposal, new: ProposalInput) -> Proposal:
    """Change a draft, or a proposal returned for revision; the budget lines are replaced."""
    if actor.role != Role.COMMUNE_OFFICER or actor.commune_code != proposal.commune_code:
        raise NotFound(_("Not found."))
    if proposal.state not in EDITABLE_STATES:
        raise StateError(_("Only a draft or a proposal returned for revision can be changed."))
    errors, lines = check_proposal(new)
    _raise_if(errors)
    _apply_proposal(actor, proposal, new, lines)
    db.session.flush()
    audit.record("proposal_update", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=["kind", "title", "budget_lines"])
    return proposal


def _move(actor: User, proposal: Proposal, to_state: str, action: str, *, note: str = "",
          amount_vnd: int | None = None, audit_fields: Sequence[str] = (),
          expect: dict[str, object] | None = None, values: dict[str, object] | None = None) -> ProposalTransition:
    """Compare-and-set the state (the UPDATE names the state we saw), then record who, when and why.

    ``expect`` adds columns whose value we saw (None: IS NULL) and ``values`` columns to set in the
    same UPDATE. If another officer changed the proposal since we read it, the UPDATE matches no row
    and the move is refused with a StateError: no one acts on a state she did not see (DESIGN §5).
    """
    db.session.flush()
    from_state = proposal.state
    now = utcnow()
    table = cast(Table, Proposal.__table__)
    conditions = [table.c.id == proposal.id, table.c.state == from_state]
    for name, seen in (expect or {}).items():
        conditions.append(table.c[name].is_(None) if seen is None else table.c[name] == seen)
    result = execute_dml(update(table).where(*conditions)
                                .values(state=to_state, state_changed_at=now, updated_at=now, **(values or {})))
    if result.rowcount != 1:
        raise StateError(_("Someone else changed this proposal a moment ago. Open it again to see its state."))
    for name, value in {"state": to_state, "state_changed_at": now, **(values or {})}.items():
        set_committed_value(proposal, name, value)
    _schedule_monitoring(proposal, to_state)
    transition = ProposalTransition(proposal_id=proposal.id, action=action, from_state=from_state,
                                    to_state=to_state, actor_id=actor.id, at=now, amount_vnd=amount_vnd)
    transition.note = _clean(note, 2000) or None
    transition.audit_fields = [*audit_fields, *(["note"] if note else [])]  # written by _audit_moves
    db.session.add(transition)
    db.session.flush()
    return transition


def _audit_moves(actor: User, proposal: Proposal, *moves: ProposalTransition) -> None:
    """The audit events of the moves, written last: on PostgreSQL the audit chain takes a lock that
    every writer waits for, so money rows are always locked before it and never after (no deadlock)."""
    for move in moves:
        audit.record(f"proposal_{move.action}", object_type="proposal", object_id=proposal.id, actor=actor,
                     detail=move.to_state, fields=getattr(move, "audit_fields", ()))


def _require_state(proposal: Proposal, states: Iterable[str], message: LazyString) -> None:
    """StateError (409) unless the proposal is in one of ``states``; the message is translated only then."""
    if proposal.state not in tuple(states):
        raise StateError(str(message))


def submit_proposal(actor: User, proposal: Proposal, note: str = "") -> Proposal:
    """Send a draft (or a revised proposal) to the province for appraisal."""
    if actor.role != Role.COMMUNE_OFFICER or actor.commune_code != proposal.commune_code:
        raise NotFound(_("Not found."))
    _require_state(proposal, EDITABLE_STATES, _l("Only a draft or a proposal returned for revision can be submitted."))
    if not proposal.lines or proposal.requested_vnd <= 0:
        message = _("Add at least one budget line.")
        raise ValidationError(message, {"budget_lines": [message]})
    move = _move(actor, proposal, "submitted", "submit" if proposal.state == "draft" else "resubmit", note=note)
    proposal.submitted_at = utcnow()
    proposal.first_approved_by_id = None
    proposal.first_approved_amount_vnd = None
    # Four-eyes: the proposal is judged against the threshold in force now, whatever happens to the
    # budget later (see ``threshold_for``).
    budget = budget_for(proposal.province_code, today().year)
    proposal.second_approval_above_vnd = budget.second_approval_above_vnd if budget is not None else None
    db.session.flush()
    _audit_moves(actor, proposal, move)
    handover.proposal_moved(actor, proposal)
    return proposal


def _require_province_officer(actor: User, proposal: Proposal) -> None:
    if actor.role != Role.PROVINCE_OFFICER or actor.province_code != proposal.province_code:
        raise NotFound(_("Not found."))


def _require_other_than_drafter(actor: User, proposal: Proposal) -> None:
    # DESIGN §2: the person who drafted a proposal can never decide it (four-eyes).
    if actor.id in (proposal.drafted_by_id, proposal.last_edited_by_id):
        raise Forbidden(_("You drafted or changed this proposal, so another officer must decide it."))


def start_appraisal(actor: User, proposal: Proposal) -> Proposal:
    _require_province_officer(actor, proposal)
    _require_other_than_drafter(actor, proposal)
    _require_state(proposal, ("submitted",), _l("Only a submitted proposal can be taken up for appraisal."))
    _audit_moves(actor, proposal, _move(actor, proposal, "under_appraisal", "start_appraisal"))
    return proposal


@dataclass(frozen=True)
class AppraisalInput:
    feasibility: object
    market: object
    skills: object
    risks: object
    cost: object
    comment: str = field(default="", repr=False)


def appraise_proposal(actor: User, proposal: Proposal, sheet: AppraisalInput) -> Appraisal:
    """Record a scoring sheet (each criterion 1–5, total out of 25); takes up a submitted proposal."""
    _require_province_officer(actor, proposal)
    _require_other_than_drafter(actor, proposal)
    _require_state(proposal, DECIDABLE_STATES, _l("Only a submitted proposal or one under appraisal can be scored."))
    errors: Errors = {}
    scores: dict[str, int] = {}
    for name in SCORE_CRITERIA:
        value = getattr(sheet, name)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            _add(errors, name, _("Give a score from 1 to 5."))
        else:
            scores[name] = value
    if len(nfc(sheet.comment or "")) > 2000:
        _add(errors, "comment", _("At most %(n)d characters.", n=2000))
    _raise_if(errors)
    moves = [_move(actor, proposal, "under_appraisal", "start_appraisal")] if proposal.state == "submitted" else []
    appraisal = Appraisal(proposal_id=proposal.id, appraiser_id=actor.id, total=sum(scores.values()), **scores)
    appraisal.comment = _clean(sheet.comment, 2000) or None
    db.session.add(appraisal)
    db.session.flush()
    _audit_moves(actor, proposal, *moves)
    audit.record("proposal_appraise", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=[*SCORE_CRITERIA, *(["comment"] if sheet.comment else [])])
    return appraisal


@dataclass(frozen=True)
class DecisionInput:
    decision: str
    approved_amount_vnd: object = None
    note: str = field(default="", repr=False)


def budget_for(province_code: str, year: int) -> Budget | None:
    return db.session.scalar(select(Budget).where(Budget.province_code == province_code, Budget.year == year))


def threshold_for(proposal: Proposal, budget: Budget | None) -> int | None:
    """The second-approval threshold a proposal is judged against: the one in force when it was
    submitted (stored on it) or the budget's current one, whichever is lower. Nobody can lift the
    rule from a proposal by changing the budget after it was submitted; a threshold set later still
    applies (None: no threshold in either)."""
    values = [v for v in (proposal.second_approval_above_vnd,
                          budget.second_approval_above_vnd if budget is not None else None) if v is not None]
    return min(values) if values else None


def decide_proposal(actor: User, proposal: Proposal, d: DecisionInput) -> Proposal:
    """Approve (an amount up to the request), return for revision (what to change) or reject (why).

    Raises Forbidden for the drafter, StateError unless the proposal is submitted or under
    appraisal, ValidationError for a bad amount or an approval the province's budget cannot carry.
    With a province threshold set, an approval above it needs a second, different officer: the first
    approval is recorded and the proposal stays under appraisal until the second one.
    """
    _require_province_officer(actor, proposal)
    _require_state(proposal, DECIDABLE_STATES, _l("Only a submitted proposal or one under appraisal can be decided."))
    _require_other_than_drafter(actor, proposal)
    errors: Errors = {}
    note = nfc(d.note or "")
    if d.decision not in ("approve", "return", "reject"):
        _add(errors, "decision", _("Choose approve, return for revision or reject."))
    if len(note) > 2000:
        _add(errors, "note", _("At most %(n)d characters.", n=2000))
    if d.decision == "return" and not note:
        _add(errors, "note", _("Say what should be changed."))
    if d.decision == "reject" and not note:
        _add(errors, "note", _("Give the reason for the rejection."))
    amount: int | None = None
    if d.decision == "approve":
        amount = _check_amount(errors, "approved_amount_vnd", d.approved_amount_vnd)
        if amount is not None and amount > proposal.requested_vnd:
            _add(errors, "approved_amount_vnd",
                 _("The approved amount cannot be more than the %(amount)s requested.",
                   amount=format_vnd(proposal.requested_vnd)))
    _raise_if(errors)
    moves = [_move(actor, proposal, "under_appraisal", "start_appraisal")] if proposal.state == "submitted" else []
    if d.decision == "return":
        moves.append(_move(actor, proposal, "returned", "return", note=note))
        _clear_first_approval(proposal)
    elif d.decision == "reject":
        moves.append(_move(actor, proposal, "rejected", "reject", note=note))
        _clear_first_approval(proposal)
        proposal.decided_at, proposal.decided_by_id = utcnow(), actor.id
    else:
        moves.append(_approve(actor, proposal, cast(int, amount), note))  # checked above
    db.session.flush()
    _audit_moves(actor, proposal, *moves)
    handover.proposal_moved(actor, proposal)
    return proposal


def _clear_first_approval(proposal: Proposal) -> None:
    proposal.first_approved_by_id = None
    proposal.first_approved_amount_vnd = None


def _approve(actor: User, proposal: Proposal, amount: int, note: str) -> ProposalTransition:
    year = today().year
    budget = budget_for(proposal.province_code, year)
    if budget is None:
        raise ValidationError(_("The province has no livelihood budget for %(year)d yet.", year=year),
                              {"approved_amount_vnd": [_("The province has no livelihood budget for %(year)d yet.",
                                                         year=year)]})
    threshold = threshold_for(proposal, budget)
    if threshold is not None and amount > threshold:
        if proposal.first_approved_by_id is None:
            # First of two approvals: recorded, no money committed yet. The compare-and-set on the
            # first approver makes two officers approving at once count as first and second.
            return _move(actor, proposal, "under_appraisal", "approve_first", note=note, amount_vnd=amount,
                         audit_fields=["approved_amount_vnd"], expect={"first_approved_by_id": None},
                         values={"first_approved_by_id": actor.id, "first_approved_amount_vnd": amount})
        if proposal.first_approved_by_id == actor.id:
            _refuse(SecondPersonRequired(_("You gave the first approval; a second officer must confirm it.")),
                    "proposal_approve", "proposal", proposal.id)
        if amount > (proposal.first_approved_amount_vnd or 0):
            message = _("The second approval cannot be more than the first one (%(amount)s).",
                        amount=format_vnd(proposal.first_approved_amount_vnd))
            raise ValidationError(message, {"approved_amount_vnd": [message]})
    # Lock order: the proposal row (compare-and-set), then the budget row; the audit chain comes last.
    transition = _move(actor, proposal, "approved", "approve", note=note, amount_vnd=amount,
                       audit_fields=["approved_amount_vnd"],
                       expect={"first_approved_by_id": proposal.first_approved_by_id})
    _commit_money(budget, amount)
    proposal.approved_amount_vnd = amount
    proposal.committed_vnd = amount
    proposal.budget_id = budget.id
    proposal.decided_at, proposal.decided_by_id = transition.at, actor.id
    return transition


def _commit_money(budget: Budget, amount: int) -> None:
    """Add ``amount`` to the committed money in one conditional UPDATE, or refuse (see module doc)."""
    table = cast(Table, Budget.__table__)
    result = execute_dml(
        update(table)
        .where(table.c.id == budget.id, table.c.committed_vnd + amount <= table.c.amount_vnd)
        .values(committed_vnd=table.c.committed_vnd + amount, updated_at=utcnow()))
    db.session.refresh(budget)
    if result.rowcount != 1:
        message = _("This approval would take the province's committed money over its budget for %(year)d: "
                    "%(left)s is left of %(amount)s.", year=budget.year, left=format_vnd(budget.available_vnd),
                    amount=format_vnd(budget.amount_vnd))
        raise ValidationError(message, {"approved_amount_vnd": [message]})


def _release_money(actor: User, proposal: Proposal) -> None:
    """Give back to the budget what was committed to the proposal and will not be paid."""
    db.session.flush()
    db.session.refresh(proposal)  # the row is locked by the move: these figures are final
    if proposal.pending_disbursement_vnd:
        # Tranches nobody confirmed were never paid: they end with the proposal.
        tranches = cast(Table, Disbursement.__table__)
        db.session.execute(update(tranches).where(tranches.c.proposal_id == proposal.id,
                                                  tranches.c.state == "pending").values(state="cancelled"))
        proposal.pending_disbursement_vnd = 0
        db.session.flush()
    remainder = proposal.committed_vnd - proposal.disbursed_vnd
    if remainder <= 0 or proposal.budget_id is None:
        return
    proposal.committed_vnd = proposal.disbursed_vnd
    table = cast(Table, Budget.__table__)
    db.session.execute(update(table).where(table.c.id == proposal.budget_id)
                       .values(committed_vnd=table.c.committed_vnd - remainder, updated_at=utcnow()))
    db.session.flush()
    if proposal.budget is not None:
        db.session.refresh(proposal.budget)


# --- disbursement ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisbursementInput:
    amount_vnd: object
    paid_on: object
    form: str
    handed_over_by: str = field(default="", repr=False)
    items: str = field(default="", repr=False)


def tranche_needs_second_officer(actor: User, proposal: Proposal, amount: int) -> bool:
    """Four-eyes on money paid: a tranche recorded by an officer who approved the proposal (first or
    final approval), or above the proposal's threshold (``threshold_for``), waits for a second
    province officer; every other tranche counts at once."""
    if actor.id in (proposal.decided_by_id, proposal.first_approved_by_id):
        return True
    threshold = threshold_for(proposal, proposal.budget)
    return threshold is not None and amount > threshold


def disburse(actor: User, proposal: Proposal, new: DisbursementInput,
             receipt: NewAttachment | None = None) -> Disbursement:
    """Record a tranche, with its receipt (a photo or PDF, encrypted); the total paid and waiting can
    never pass the approved amount. A receipt that is not a JPEG, PNG or PDF, or too large, raises
    ValidationError on ``file`` and, the request rolling back, nothing of the tranche is kept.

    A tranche that needs a second officer (``tranche_needs_second_officer``) is stored "pending": its
    amount is reserved on the proposal but counts as paid (proposal and budget) only once another
    province officer confirms it (``confirm_tranche``)."""
    _require_province_officer(actor, proposal)
    _require_state(proposal, DISBURSABLE_STATES, _l("Money can be paid only on an approved proposal."))
    errors: Errors = {}
    amount = _check_amount(errors, "amount_vnd", new.amount_vnd)
    paid_on = _past_day(errors, "date", new.paid_on)
    if new.form not in DISBURSEMENT_FORMS:
        _add(errors, "form", _("Choose cash or in kind."))
    if new.form == "in_kind" and not nfc(new.items or ""):
        _add(errors, "items", _("List the goods handed over."))
    if len(nfc(new.handed_over_by or "")) > 200:
        _add(errors, "handed_over_by", _("At most %(n)d characters.", n=200))
    if len(nfc(new.items or "")) > 2000:
        _add(errors, "items", _("At most %(n)d characters.", n=2000))
    _raise_if(errors)
    amount, paid_on = cast(int, amount), cast(date, paid_on)  # both checked above
    pending = tranche_needs_second_officer(actor, proposal, amount)
    db.session.flush()
    table = cast(Table, Proposal.__table__)
    added = ({"pending_disbursement_vnd": table.c.pending_disbursement_vnd + amount} if pending
             else {"disbursed_vnd": table.c.disbursed_vnd + amount})
    result = execute_dml(
        update(table)
        .where(table.c.id == proposal.id, table.c.state.in_(DISBURSABLE_STATES),
               table.c.disbursed_vnd + table.c.pending_disbursement_vnd + amount <= table.c.approved_amount_vnd)
        .values(**added, updated_at=utcnow()))
    db.session.refresh(proposal)
    if result.rowcount != 1:
        if proposal.state not in DISBURSABLE_STATES:
            raise StateError(_("Money can be paid only on an approved proposal."))
        message = _("This is more than what is left to pay: %(left)s.", left=format_vnd(proposal.remaining_vnd))
        raise ValidationError(message, {"amount_vnd": [message]})
    if not pending:
        budgets = cast(Table, Budget.__table__)
        db.session.execute(update(budgets).where(budgets.c.id == proposal.budget_id)
                           .values(disbursed_vnd=budgets.c.disbursed_vnd + amount, updated_at=utcnow()))
    tranche = Disbursement(proposal_id=proposal.id, amount_vnd=amount, paid_on=paid_on, form=new.form,
                           recorded_by_id=actor.id, state="pending" if pending else "confirmed")
    tranche.handed_over_by = _clean(new.handed_over_by, 200) or None
    tranche.items = _clean(new.items, 2000) or None
    db.session.add(tranche)
    db.session.flush()
    moves = []
    if proposal.state == "approved" and not pending:
        moves.append(_move(actor, proposal, "disbursing", "disburse", amount_vnd=amount))
    _audit_moves(actor, proposal, *moves)
    audit.record("disbursement_create", object_type="proposal", object_id=proposal.id, actor=actor,
                 detail=tranche.state, fields=["amount_vnd", "date", "form", *(["items"] if new.items else [])])
    if tranche.state == "pending":
        handover.tranche_pending(actor, proposal, tranche)
    if receipt is not None and receipt.data:
        add_attachment(actor, tranche, NewAttachment(data=receipt.data, filename=receipt.filename, kind="receipt"))
    if proposal.budget is not None:
        db.session.refresh(proposal.budget)
    return tranche


def find_tranche(proposal: Proposal, tranche_id: str | None) -> Disbursement | None:
    if not _opaque(tranche_id):
        return None
    return db.session.scalar(select(Disbursement).where(Disbursement.id == tranche_id,
                                                        Disbursement.proposal_id == proposal.id))


def confirm_tranche(actor: User, proposal: Proposal, tranche_id: str) -> Disbursement:
    """A second province officer (not the one who recorded it) confirms a pending tranche: from now
    on it counts as paid on the proposal and the budget. 403 ``second_person_required`` for the
    recorder; 409 when it is no longer pending (two officers confirming at once: one wins)."""
    _require_province_officer(actor, proposal)
    tranche = find_tranche(proposal, tranche_id)
    if tranche is None:
        raise NotFound(_("Not found."))
    if tranche.state != "pending":
        raise StateError(_("This payment is not waiting for a confirmation."))
    if tranche.recorded_by_id == actor.id:
        _refuse(SecondPersonRequired(_("You recorded this payment; another province officer must confirm it.")),
                "disbursement_confirm", "disbursement", tranche.id)
    amount = tranche.amount_vnd
    now = utcnow()
    # Lock order as everywhere: the proposal row, then the tranche, then the budget; the audit chain last.
    db.session.flush()
    table = cast(Table, Proposal.__table__)
    result = execute_dml(
        update(table)
        .where(table.c.id == proposal.id, table.c.state.in_(DISBURSABLE_STATES),
               table.c.pending_disbursement_vnd >= amount)
        .values(pending_disbursement_vnd=table.c.pending_disbursement_vnd - amount,
                disbursed_vnd=table.c.disbursed_vnd + amount, updated_at=now))
    tranches = cast(Table, Disbursement.__table__)
    if result.rowcount == 1:
        result = execute_dml(
            update(tranches).where(tranches.c.id == tranche.id, tranches.c.state == "pending")
            .values(state="confirmed", confirmed_by_id=actor.id, confirmed_at=now))
    if result.rowcount != 1:
        raise StateError(_("Someone else changed this payment a moment ago. Open the proposal again."))
    budgets = cast(Table, Budget.__table__)
    db.session.execute(update(budgets).where(budgets.c.id == proposal.budget_id)
                       .values(disbursed_vnd=budgets.c.disbursed_vnd + amount, updated_at=now))
    db.session.refresh(proposal)
    db.session.refresh(tranche)
    moves = []
    if proposal.state == "approved":
        moves.append(_move(actor, proposal, "disbursing", "disburse", amount_vnd=amount))
    _audit_moves(actor, proposal, *moves)
    audit.record("disbursement_confirm", object_type="disbursement", object_id=tranche.id, actor=actor,
                 fields=["state"])
    if proposal.budget is not None:
        db.session.refresh(proposal.budget)
    return tranche


# --- monitoring and completion -------------------------------------------------------------------


@dataclass(frozen=True)
class VisitInput:
    visited_on: object
    progress: str
    income_before_vnd: object = None
    income_after_vnd: object = None
    funds_used_as_planned: bool | None = None
    problems: str = field(default="", repr=False)
    notes: str = field(default="", repr=False)


def record_visit(actor: User, proposal: Proposal, new: VisitInput,
                 photos: Sequence[NewAttachment] = ()) -> MonitoringVisit:
    """A commune officer records a monitoring visit to an approved proposal, with photos (re-encoded
    without their location data and encrypted by ``casework.protect.attachments``)."""
    if actor.role != Role.COMMUNE_OFFICER or actor.commune_code != proposal.commune_code:
        raise NotFound(_("Not found."))
    _require_state(proposal, MONITORED_STATES, _l("Monitoring visits are recorded once a proposal is approved."))
    errors: Errors = {}
    visited_on = _past_day(errors, "date", new.visited_on)
    if new.progress not in VISIT_PROGRESS:
        _add(errors, "progress", _("Choose how the plan is going."))
    before = _check_amount(errors, "income_before_vnd", new.income_before_vnd, allow_zero=True, required=False)
    after = _check_amount(errors, "income_after_vnd", new.income_after_vnd, allow_zero=True, required=False)
    for name in ("problems", "notes"):
        if len(nfc(getattr(new, name) or "")) > 2000:
            _add(errors, name, _("At most %(n)d characters.", n=2000))
    _raise_if(errors)
    visited_on = cast(date, visited_on)  # checked above
    visit = MonitoringVisit(proposal_id=proposal.id, visited_on=visited_on, progress=new.progress,
                            income_before_vnd=before, income_after_vnd=after,
                            funds_used_as_planned=new.funds_used_as_planned, recorded_by_id=actor.id)
    visit.problems = _clean(new.problems, 2000) or None
    visit.notes = _clean(new.notes, 2000) or None
    db.session.add(visit)
    if proposal.state in ("approved", "disbursing"):
        # The next visit is due MONITORING_DAYS after the newest one (a visit typed in late does not move it back).
        due = visited_on + timedelta(days=MONITORING_DAYS)
        if proposal.monitoring_due_on is None or due > proposal.monitoring_due_on:
            proposal.monitoring_due_on = due
    db.session.flush()
    audit.record("visit_create", object_type="proposal", object_id=proposal.id, actor=actor,
                 fields=["date", "progress", "income", *(["problems"] if new.problems else [])])
    for photo in photos:
        if photo.data:
            add_attachment(actor, visit, NewAttachment(data=photo.data, filename=photo.filename, kind="photo"))
    return visit


@dataclass(frozen=True)
class EventInput:
    kind: str
    held_on: object
    completed: bool | None = None
    description: str = field(default="", repr=False)


def record_event(actor: User, survivor: Survivor, new: EventInput) -> SupportEvent:
    """Vocational training, job counselling or a market-linkage event (vietnam-domain §2.5)."""
    if not can_see_identity(actor, survivor):
        raise NotFound(_("Not found."))
    errors: Errors = {}
    if new.kind not in EVENT_KINDS:
        _add(errors, "kind", _("Choose the kind of support."))
    held_on = _past_day(errors, "date", new.held_on)
    if len(nfc(new.description or "")) > 2000:
        _add(errors, "description", _("At most %(n)d characters.", n=2000))
    _raise_if(errors)
    held_on = cast(date, held_on)  # checked above
    event = SupportEvent(survivor_id=survivor.id, kind=new.kind, held_on=held_on,
                         completed=new.completed if new.kind == "vocational_training" else None,
                         recorded_by_id=actor.id)
    event.description = _clean(new.description, 2000) or None
    db.session.add(event)
    db.session.flush()
    audit.record("support_event_create", object_type="survivor", object_id=survivor.id, actor=actor,
                 detail=new.kind, fields=["kind", "date", *(["description"] if new.description else [])])
    return event


def complete_proposal(actor: User, proposal: Proposal, outcome: str, note: str = "") -> Proposal:
    """End a proposal that received money, with its outcome; money not paid goes back to the budget."""
    if actor.role == Role.COMMUNE_OFFICER:
        if actor.commune_code != proposal.commune_code:
            raise NotFound(_("Not found."))
    else:
        _require_province_officer(actor, proposal)
    _require_state(proposal, ("disbursing",), _l("Only a proposal that has received money can be completed."))
    errors: Errors = {}
    if outcome not in OUTCOMES:
        _add(errors, "outcome", _("Choose the outcome."))
    if len(nfc(note or "")) > 2000:
        _add(errors, "note", _("At most %(n)d characters.", n=2000))
    _raise_if(errors)
    move = _move(actor, proposal, "completed", "complete", note=note, audit_fields=["outcome"])
    proposal.outcome = outcome
    proposal.outcome_note = _clean(note, 2000) or None
    _release_money(actor, proposal)
    _audit_moves(actor, proposal, move)
    return proposal


def close_proposal(actor: User, proposal: Proposal, reason: str) -> Proposal:
    """Close without completion: the commune officer withdraws a draft or a returned proposal, the
    province officer stops an approved one; committed money not paid goes back to the budget."""
    if actor.role == Role.COMMUNE_OFFICER:
        if actor.commune_code != proposal.commune_code:
            raise NotFound(_("Not found."))
        allowed = WITHDRAWABLE_STATES
    else:
        _require_province_officer(actor, proposal)
        allowed = CLOSABLE_STATES
    _require_state(proposal, allowed, _l("This proposal cannot be closed in its current state."))
    reason = nfc(reason or "")
    if not reason:
        raise ValidationError(_("Please correct the marked fields."), {"reason": [_("Give the reason.")]})
    if len(reason) > 2000:
        raise ValidationError(_("Please correct the marked fields."),
                              {"reason": [_("At most %(n)d characters.", n=2000)]})
    move = _move(actor, proposal, "closed", "close", note=reason)
    _release_money(actor, proposal)
    _audit_moves(actor, proposal, move)
    return proposal


# --- budgets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetInput:
    province_code: str
    year: object
    amount_vnd: object
    second_approval_above_vnd: object = None


BUDGET_CHANGE_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class BudgetOutcome:
    """What ``set_budget`` did: "created" (the first budget of the year, in force at once),
    "unchanged" (the same values again) or "pending" (a change waiting for a second person)."""

    budget: Budget
    status: str
    change: BudgetChange | None = None


def _check_budget_input(actor: User, new: BudgetInput) -> tuple[int, int, int | None]:
    if actor.role != Role.PROVINCE_OFFICER or new.province_code != actor.province_code:
        raise NotFound(_("Not found."))
    errors: Errors = {}
    year = new.year
    if isinstance(year, str) and year.strip().isdigit():
        year = int(year.strip())
    if not isinstance(year, int) or isinstance(year, bool) or not 2020 <= year <= today().year + 5:
        _add(errors, "year", _("Enter a year between 2020 and %(last)d.", last=today().year + 5))
    amount = _check_amount(errors, "amount_vnd", new.amount_vnd)
    threshold = _check_amount(errors, "second_approval_above_vnd", new.second_approval_above_vnd,
                              required=False)
    _raise_if(errors)
    return cast(int, year), cast(int, amount), threshold  # checked above


def _below_committed(budget: Budget) -> ValidationError:
    message = _("The budget cannot be less than the %(amount)s already committed.",
                amount=format_vnd(budget.committed_vnd))
    return ValidationError(message, {"amount_vnd": [message]})


def _expire_budget_changes(budget_id: str) -> None:
    """Pending changes older than 24 hours lapse (their budget can take a new proposal)."""
    table = cast(Table, BudgetChange.__table__)
    db.session.execute(update(table).where(table.c.pending_key == budget_id, table.c.expires_at <= utcnow())
                       .values(state="expired", pending_key=None))


def pending_budget_change(budget: Budget) -> BudgetChange | None:
    """The change of this budget waiting for a second person, if any (not expired)."""
    return db.session.scalar(select(BudgetChange).where(BudgetChange.pending_key == budget.id,
                                                        BudgetChange.expires_at > utcnow()))


def set_budget(actor: User, new: BudgetInput) -> BudgetOutcome:
    """Set a province's allocation for a year (four-eyes on every change).

    The first budget of a province-year takes effect at once. Any later change of the allocation or
    of the second-approval threshold is only *proposed* here: it waits (24 hours at most) until
    another province officer of the province or a national coordinator confirms it
    (``confirm_budget_change``); the same values again change nothing. A second proposal while one is
    pending is refused (409 ``pending_confirmation``). The allocation may not drop below what is
    already committed. Another province's budget is outside the actor's scope (NotFound).
    """
    year, amount, threshold = _check_budget_input(actor, new)
    budget = budget_for(new.province_code, year)  # her own province: checked above
    if budget is None:
        budget = Budget(province_code=actor.province_code, year=year, amount_vnd=amount, committed_vnd=0,
                        disbursed_vnd=0, second_approval_above_vnd=threshold, updated_by_id=actor.id)
        db.session.add(budget)
        try:
            db.session.flush()
        except IntegrityError:
            # Another officer created the same year's budget a moment ago (unique province and year).
            # No savepoint: SQLite's driver would commit it early; the whole request rolls back instead.
            db.session.rollback()
            raise StateError(_("The budget for this year was created by someone else a moment ago. "
                               "Open the page again.")) from None
        audit.record("budget_set", object_type="budget", object_id=budget.id, actor=actor,
                     detail=f"{actor.province_code}:{year}", fields=["amount_vnd", "second_approval_above_vnd"])
        return BudgetOutcome(budget, "created")
    if (amount, threshold) == (budget.amount_vnd, budget.second_approval_above_vnd):
        return BudgetOutcome(budget, "unchanged")
    if amount < budget.committed_vnd:
        raise _below_committed(budget)
    budget_id = budget.id
    _expire_budget_changes(budget_id)
    if pending_budget_change(budget) is not None:
        _refuse(PendingConfirmation(_("A change of this budget is already waiting for confirmation. It must be "
                                      "confirmed, or lapse after 24 hours, before another one is proposed.")),
                "budget_change_propose", "budget", budget.id)
    now = utcnow()
    change = BudgetChange(budget_id=budget.id, amount_vnd=amount, second_approval_above_vnd=threshold,
                          state="pending", pending_key=budget.id, proposed_by_id=actor.id, proposed_at=now,
                          expires_at=now + BUDGET_CHANGE_TTL)
    db.session.add(change)
    try:
        db.session.flush()
    except IntegrityError:
        # Another officer proposed a change of the same budget a moment ago (one pending per budget).
        db.session.rollback()
        _refuse(PendingConfirmation(_("A change of this budget is already waiting for confirmation. It must be "
                                      "confirmed, or lapse after 24 hours, before another one is proposed.")),
                "budget_change_propose", "budget", budget_id)
    audit.record("budget_change_propose", object_type="budget_change", object_id=change.id, actor=actor,
                 detail=f"{budget.province_code}:{budget.year}", fields=["amount_vnd", "second_approval_above_vnd"])
    handover.budget_change_proposed(actor, budget, change)
    return BudgetOutcome(budget, "pending", change)


def budget_changes_visible_to(user: User) -> Select:
    """Changes of the user's province's budgets (province officers) or of every province (coordinators)."""
    query = select(BudgetChange).join(Budget, Budget.id == BudgetChange.budget_id)
    if user.role == Role.PROVINCE_OFFICER and user.province_code:
        return query.where(Budget.province_code == user.province_code)
    if user.role == Role.COORDINATOR:
        return query
    return query.where(false())


def pending_budget_changes(user: User) -> list[BudgetChange]:
    return list(db.session.scalars(budget_changes_visible_to(user).where(
        BudgetChange.state == "pending", BudgetChange.expires_at > utcnow()).order_by(BudgetChange.proposed_at)))


def get_budget_change_or_404(user: User, change_id: str) -> BudgetChange:
    from casework.auth.policy import deny

    change = None
    if _opaque(change_id):
        change = db.session.scalar(budget_changes_visible_to(user).where(BudgetChange.id == change_id))
    if change is None:
        deny("budget_change", _opaque(change_id))
    return change  # type: ignore[return-value]


def can_confirm_budget_change(user: User, change: BudgetChange) -> bool:
    return (change.state == "pending" and change.expires_at > utcnow() and user.id != change.proposed_by_id
            and (user.role == Role.COORDINATOR or (user.role == Role.PROVINCE_OFFICER
                                                   and user.province_code == change.budget.province_code)))


def confirm_budget_change(actor: User, change: BudgetChange) -> Budget:
    """Another province officer of the province, or a coordinator, confirms a pending budget change:
    the budget takes the proposed values now. The proposer gets 403 ``second_person_required``; a
    change no longer pending (confirmed by someone else, lapsed) is a 409."""
    budget = change.budget
    if not (actor.role == Role.COORDINATOR or (actor.role == Role.PROVINCE_OFFICER
                                               and actor.province_code == budget.province_code)):
        raise NotFound(_("Not found."))
    if change.state != "pending" or change.expires_at <= utcnow():
        raise StateError(_("This change is no longer waiting for confirmation (confirmed, or lapsed after "
                           "24 hours)."))
    if change.proposed_by_id == actor.id:
        _refuse(SecondPersonRequired(_("You proposed this change; another province officer or a national "
                                       "coordinator must confirm it.")),
                "budget_change_confirm", "budget_change", change.id)
    now = utcnow()
    changes = cast(Table, BudgetChange.__table__)
    result = execute_dml(
        update(changes).where(changes.c.id == change.id, changes.c.state == "pending")
        .values(state="applied", pending_key=None, decided_by_id=actor.id, decided_at=now))
    if result.rowcount != 1:
        raise StateError(_("This change is no longer waiting for confirmation (confirmed, or lapsed after "
                           "24 hours)."))
    table = cast(Table, Budget.__table__)
    result = execute_dml(
        update(table).where(table.c.id == budget.id, table.c.committed_vnd <= change.amount_vnd)
        .values(amount_vnd=change.amount_vnd, second_approval_above_vnd=change.second_approval_above_vnd,
                updated_by_id=actor.id, updated_at=now))
    db.session.refresh(budget)
    db.session.refresh(change)
    if result.rowcount != 1:
        raise _below_committed(budget)
    audit.record("budget_change_confirm", object_type="budget_change", object_id=change.id, actor=actor,
                 detail=f"{budget.province_code}:{budget.year}", fields=["amount_vnd", "second_approval_above_vnd"])
    return budget


# --- reading --------------------------------------------------------------------------------------


def transitions_of(proposal: Proposal) -> list[ProposalTransition]:
    return list(db.session.scalars(select(ProposalTransition).where(ProposalTransition.proposal_id == proposal.id)
                                   .order_by(ProposalTransition.at, ProposalTransition.id)))


def appraisals_of(proposal: Proposal) -> list[Appraisal]:
    return list(db.session.scalars(select(Appraisal).where(Appraisal.proposal_id == proposal.id)
                                   .order_by(Appraisal.at)))


def disbursements_of(proposal: Proposal) -> list[Disbursement]:
    return list(db.session.scalars(select(Disbursement).where(Disbursement.proposal_id == proposal.id)
                                   .order_by(Disbursement.paid_on, Disbursement.recorded_at)))


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


def events_of(survivor: Survivor) -> list[SupportEvent]:
    return list(db.session.scalars(select(SupportEvent).where(SupportEvent.survivor_id == survivor.id)
                                   .order_by(SupportEvent.held_on, SupportEvent.recorded_at)))


def proposals_of(user: User, survivor: Survivor) -> list[Proposal]:
    return list(db.session.scalars(proposals_visible_to(user).where(Proposal.survivor_id == survivor.id)
                                   .order_by(Proposal.created_at.desc())))


def proposal_counts(user: User) -> dict[str, int]:
    """Proposals the user can see, by state."""
    sub = proposals_visible_to(user).subquery()
    rows = db.session.execute(select(sub.c.state, func.count()).group_by(sub.c.state))
    return {state: n for state, n in rows}


def budget_summary(user: User, year: int | None = None) -> Budget | None:
    if user.role != Role.PROVINCE_OFFICER or not user.province_code:
        return None
    return budget_for(user.province_code, year or today().year)


def percent(part: int, whole: int) -> int:
    """A share rounded to 5 % steps for the budget bar (0 only when the part is 0)."""
    if whole <= 0 or part <= 0:
        return 0
    share = min(100, round(part * 100 / whole / 5) * 5)
    return max(share, 5)


__all__ = [
    "AGE_BANDS", "Page", "age_band", "appraise_proposal", "budget_for", "can_see_identity", "close_proposal",
    "complete_proposal", "decide_proposal", "disburse", "draft_proposal", "get_proposal_or_404",
    "get_survivor_or_404", "proposals_visible_to", "record_event", "record_visit", "register_survivor",
    "revise_proposal", "set_budget", "confirm_budget_change", "confirm_tranche", "submit_proposal",
    "survivors_visible_to",
]
