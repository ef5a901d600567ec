"""What a case looks like to each reader, as plain dictionaries for the API and the province screens.

``anonymous`` presenters read clear columns only and never touch ``case.person`` or a protected field,
so a province officer's page or JSON cannot contain a name, a phone or a note (DESIGN §1); the tests
check the rendered output. ``full`` presenters are for hosts and commune officers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from casework.cases import codes
from casework.cases import consent as consent_service
from casework.cases.models import Case
from casework.cases.services import CaseFlags, CaseHas, notice_overdue, suggestions, timeline, warnings_of
from casework.geo import data as geo
from casework.shown import shown_fields
from casework.text import VN_TZ

# The read events record the names of the fields each presenter below put in its answer (issue 18):
# ``case_page`` for the case page and its PDF, ``edit_form_fields`` for the edit form, ``detail_fields``
# for the API answers and ``anonymous_fields`` for a province officer's page and answer.


def edit_form_field(form_field: str) -> str | None:
    """The audit name of an intake form field shown on the edit page (None: not shown from the record)."""
    if form_field in ("csrf_token", "version") or form_field.startswith("consent_"):
        return None
    if form_field == "address_id":
        return "address"  # the trusted address she is at, shown by name in the form's list
    for prefix, name in (("risk_", "risk"), ("children_", "children"), ("perpetrator_", "perpetrator"),
                         ("first_aid", "first_aid"), ("commune_notified", "commune_notified_at"),
                         # Decree 76/2023 (issue 15): the parts of g and l and the confirmation are about the acts
                         ("act_parts", "acts"), ("acts_not_counted", "acts"),
                         ("home_commune_other", "home_commune_code")):
        if form_field.startswith(prefix):
            return name
    return form_field


def edit_form_fields(form: Any) -> list[str]:
    """The audit names of the edit form's fields that the record filled (what the edit page shows of her)."""
    from casework.shown import is_empty

    names = {edit_form_field(f.name) for f in form if not is_empty(f.data)}
    return sorted(n for n in names if n is not None)


LIST_FIELDS = ("full_name",)
ANONYMOUS_FIELDS = ("reference", "commune_code", "intake_date", "status", "forms")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


commune_name = geo.commune_name


def anonymous_summary(case: Case) -> dict[str, Any]:
    """Code, commune, dates, status and act forms: what a province officer may know (DESIGN §1)."""
    return {
        "id": case.id,
        "reference": case.reference,
        "province_code": case.province_code,
        "commune_code": case.commune_code,
        "commune_name": commune_name(case.commune_code),
        "intake_date": case.intake_at.astimezone(VN_TZ).date().isoformat(),
        "status": case.status,
        "forms": case.forms,
        "closed_date": case.closed_at.astimezone(VN_TZ).date().isoformat() if case.closed_at else None,
    }


# Keys of the answers that are about the record, not about her: never an audit name.
_RECORD_KEYS = ("id", "version", "created_at", "updated_at", "suggestions", "warnings", "notice_overdue", "flags")
# A key of an answer → the audit name of the field it shows.
_AUDIT_NAMES = {"commune_name": "commune_code", "first_aid_given": "first_aid", "act_parts": "acts",
                "address_id": "address", "intake_date": "intake_at", "closed_date": "closure"}


def anonymous_fields(view: dict[str, Any]) -> list[str]:
    """The audit names of what ``anonymous_summary``/``anonymous_detail`` put in a province officer's answer."""
    # Its timeline is kinds and dates only, never the notes of the full timeline.
    return shown_fields(view, skip=_RECORD_KEYS, rename={**_AUDIT_NAMES, "timeline": "timeline_kinds"})


def detail_fields(view: dict[str, Any]) -> list[str]:
    """The audit names of what ``full_detail`` (or a part of it) put in an API answer."""
    return shown_fields(view, expand=("person",), skip=_RECORD_KEYS, rename=_AUDIT_NAMES)


def case_page(case: Case, has: CaseHas | None = None) -> dict[str, Any]:
    """Her record as the case page and its PDF show it, keyed by audit name (issue 18).

    The template and the PDF read her data only from this mapping, and the page's read event records
    the names of its non-empty entries (``page_fields``): a field shown is a field recorded. ``has``
    (``get_case_page_or_404``) says which of the case's consents and timeline exist: none is read when none does.
    """
    has = has or CaseHas()
    p = case.person
    return {
        "full_name": p.full_name,
        "other_names": p.other_names,
        "sex": p.sex,
        "birth_year": p.birth_year,
        "age_band": p.age_band,
        "birth_date": p.birth_date,
        "phone": p.phone,
        "id_number": p.id_number,
        "ethnicity_code": p.ethnicity_code,
        "home_address": p.home_address,
        "home_commune_code": p.home_commune_code,
        "legacy_home_commune_code": p.legacy_commune_code,
        "children": {"count": case.children_count, "ages": case.children_ages.replace(",", ", ")},
        "address": case.address.name,
        "intake_at": case.intake_at,
        "legacy_commune_code": case.legacy_commune_code,
        "arrival": case.arrival,
        "commune_notified_at": case.commune_notified_at,
        "relationship": case.relationship_code,
        "perpetrator": {"sex": case.perpetrator_sex, "age_band": case.perpetrator_age_band},
        "acts": case.act_codes,
        "injuries": case.injuries,
        "first_aid": {"given": case.first_aid_given, "text": case.first_aid},
        "risk": {"level": case.risk_level, "factors": sorted(case.risk_factors), "judged_high": case.risk_judged_high,
                 "assessed_at": case.risk_assessed_at},
        "safety_plan": case.safety_plan,
        "consent": consent_service.summary(case) if has.consents else consent_service.ConsentSummary(),
        "shelter": list(case.shelter_stays),
        "contact_bans": list(case.contact_bans),
        "follow_ups": list(case.follow_ups),
        "closure": ({"reason": case.closure_reason, "requested_at": case.closure_requested_at}
                    if case.closure_reason else None),
        "narrative": case.narrative,
        "timeline": timeline(case) if has.events else [],
    }


def page_fields(page: dict[str, Any]) -> list[str]:
    """The audit names of the entries of ``case_page`` that show something of her."""
    return shown_fields(page)


def anonymous_detail(case: Case) -> dict[str, Any]:
    out = anonymous_summary(case)
    out["timeline"] = [{"kind": e.kind, "date": e.at.astimezone(VN_TZ).date().isoformat()} for e in case.events]
    return out


def full_summary(case: Case, flags: CaseFlags | None = None) -> dict[str, Any]:
    flags = flags or CaseFlags(notice_overdue=notice_overdue(case))
    return {
        "id": case.id,
        "reference": case.reference,
        "address_id": case.address_id,
        "commune_code": case.commune_code,
        "intake_at": _iso(case.intake_at),
        "status": case.status,
        "risk_level": case.risk_level,
        "forms": case.forms,
        "person": {"full_name": case.person.full_name},
        "flags": [name for name, value in vars(flags).items() if value],
    }


def full_detail(case: Case) -> dict[str, Any]:
    p = case.person
    summary = consent_service.summary(case)
    return {
        "id": case.id,
        "reference": case.reference,
        "version": case.version,
        "address_id": case.address_id,
        "province_code": case.province_code,
        "commune_code": case.commune_code,
        "legacy_commune_code": case.legacy_commune_code,
        "status": case.status,
        "intake_at": _iso(case.intake_at),
        "arrival": case.arrival,
        "person": {
            "full_name": p.full_name,
            "other_names": p.other_names,
            "sex": p.sex,
            "birth_year": int(p.birth_year) if p.birth_year else None,
            "birth_date": p.birth_date,
            "age_band": p.age_band,
            "ethnicity_code": p.ethnicity_code,
            "phone": p.phone,
            "id_number": p.id_number,
            "home_commune_code": p.home_commune_code,
            "legacy_home_commune_code": p.legacy_commune_code,
            "home_address": p.home_address,
        },
        "children": {"count": case.children_count,
                     "ages": [int(a) for a in case.children_ages.split(",") if a]},
        "acts": case.act_codes,
        "act_parts": {a.code: a.parts for a in case.acts if a.parts},
        "forms": case.forms,
        "warnings": warnings_of(case),
        "relationship": case.relationship_code,
        "perpetrator": {"sex": case.perpetrator_sex, "age_band": case.perpetrator_age_band},
        "injuries": case.injuries,
        "first_aid_given": case.first_aid_given,
        "first_aid": case.first_aid,
        "risk": {"level": case.risk_level, "factors": sorted(case.risk_factors),
                 "judged_high": case.risk_judged_high, "assessed_at": _iso(case.risk_assessed_at)},
        "safety_plan": case.safety_plan,
        "commune_notified_at": _iso(case.commune_notified_at),
        "notice_overdue": notice_overdue(case),
        "narrative": case.narrative,
        "consent": {
            "record": summary.record is not None,
            "statistics": summary.statistics is not None,
            "share": {service: row.fields for service, row in summary.share.items()},
        },
        "closure": {"reason": case.closure_reason, "requested_at": _iso(case.closure_requested_at),
                    "closed_at": _iso(case.closed_at)},
        "suggestions": suggestions(case),
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
    }


def consent_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "purpose": row.purpose, "service": row.service, "fields": row.fields,
            "basis": row.basis, "given_by": row.given_by, "given_at": _iso(row.given_at),
            "withdrawn_at": _iso(row.withdrawn_at), "active": row.withdrawn_at is None}


def follow_up_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "on": row.on.isoformat(), "kind": row.kind, "situation": row.situation,
            "violence_recurred": row.violence_recurred, "note": row.note, "next_on": _iso(row.next_on)}


def shelter_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "start_on": row.start_on.isoformat(), "end_on": _iso(row.end_on),
            "essentials": row.essentials, "money_vnd": row.money_vnd}


def contact_ban_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "origin": row.origin, "requested_at": _iso(row.requested_at),
            "requester": row.requester or None, "victim_consented": row.victim_consented,
            "life_threatened": row.life_threatened, "court_name": row.court_name or None,
            "decision_due_at": _iso(row.decision_due_at), "decision": row.decision,
            "decided_at": _iso(row.decided_at), "decision_ref": row.decision_ref,
            "valid_from": _iso(row.valid_from), "valid_until": _iso(row.valid_until),
            "revocation": ({"date": row.revoked_on.isoformat(), "reason": row.revoke_reason}
                           if row.revoked_on else None)}


def address_json(address: Any, with_details: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": address.id, "name": address.name, "kind": address.kind, "province_code": address.province_code,
        "commune_code": address.commune_code, "declared_on": _iso(address.declared_on),
        "published_on": _iso(address.published_on), "active": address.active,
        "legacy_commune_code": address.legacy_commune_code,
        "hosts": [u.id for u in address.hosts],
    }
    if with_details:
        out["trainings"] = [{"id": t.id, "held_on": t.held_on.isoformat(), "topic": t.topic,
                             "organiser": t.organiser} for t in address.trainings]
        out["support_packages"] = [{"id": s.id, "received_on": s.received_on.isoformat(), "kind": s.kind,
                                    "description": s.description, "amount_vnd": s.amount_vnd}
                                   for s in address.support_packages]
    return out


def labels() -> dict[str, Any]:
    """The code lists with their labels in the current language, for templates (translated once per language)."""
    from flask_babel import get_locale

    return _labels(str(get_locale()))


def list_badges() -> Any:
    """The status and risk badges of a case list row, as the ``status`` and ``risk`` macros of
    ``cases/_macros.html`` write them, made once per language (issue 18: two macro calls per row)."""
    from flask_babel import get_locale

    return _list_badges(str(get_locale()))


@cache
def _list_badges(_locale: str) -> Any:
    from types import SimpleNamespace

    from flask_babel import gettext
    from markupsafe import Markup

    labels = _labels(_locale)
    return SimpleNamespace(
        status={code: Markup('<span class="badge badge-status badge-{}">{}</span>').format(code, label)
                for code, label in labels["statuses"].items()},
        risk={code: Markup('<span class="badge badge-{}">{} {}</span>').format(code, gettext("Risk:"), label)
              for code, label in labels["risk_levels"].items()})


@cache
def _labels(_locale: str) -> dict[str, Any]:
    raw = {
        "forms": codes.FORMS, "acts": codes.ACTS, "act_forms": codes.ACT_FORMS, "relationships": codes.RELATIONSHIPS,
        "sexes": codes.SEXES, "perpetrator_sexes": codes.PERPETRATOR_SEXES, "age_bands": codes.AGE_BANDS,
        "arrivals": codes.ARRIVALS, "services": codes.SERVICES, "purposes": codes.PURPOSES,
        "shareable": codes.SHAREABLE_FIELDS, "risk_factors": codes.RISK_FACTORS, "risk_levels": codes.RISK_LEVELS,
        "essentials": codes.ESSENTIALS, "requesters": codes.CONTACT_BAN_REQUESTERS,
        "ban_decisions": codes.CONTACT_BAN_DECISIONS, "ban_kinds": codes.CONTACT_BAN_KINDS,
        "ban_origins": codes.CONTACT_BAN_ORIGINS, "follow_up_kinds": codes.FOLLOW_UP_KINDS,
        "situations": codes.SITUATIONS, "closure_reasons": codes.CLOSURE_REASONS, "statuses": codes.STATUSES,
        "address_kinds": codes.ADDRESS_KINDS, "support_kinds": codes.SUPPORT_KINDS,
        "consent_givers": codes.CONSENT_GIVERS,
    }
    return {name: {code: label if name == "act_forms" else str(label) for code, label in mapping.items()}
            for name, mapping in raw.items()}
