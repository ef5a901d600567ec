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
from casework.cases.services import CaseFlags, notice_overdue, suggestions
from casework.geo import data as geo
from casework.text import VN_TZ

# Field names recorded in the audit event of each kind of view (names only, never values).
FULL_VIEW_FIELDS = ("full_name", "other_names", "birth_year", "birth_date", "phone", "id_number", "home_address",
                    "ethnicity_code", "acts", "relationship", "injuries", "first_aid", "risk", "safety_plan",
                    "narrative", "consent", "shelter", "contact_bans", "follow_ups", "timeline")
LIST_FIELDS = ("full_name",)
ANONYMOUS_FIELDS = ("reference", "commune_code", "intake_date", "status", "forms")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def commune_name(code: str | None) -> str:
    c = geo.commune(code)
    return c.name if c else (code or "")


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
            "home_address": p.home_address,
        },
        "children": {"count": case.children_count,
                     "ages": [int(a) for a in case.children_ages.split(",") if a]},
        "acts": case.act_codes,
        "forms": case.forms,
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
            "share": {service: row.field_list for service, row in summary.share.items()},
        },
        "closure": {"reason": case.closure_reason, "requested_at": _iso(case.closure_requested_at),
                    "closed_at": _iso(case.closed_at)},
        "suggestions": suggestions(case),
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
    }


def consent_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "purpose": row.purpose, "service": row.service, "fields": row.field_list,
            "basis": row.basis, "given_by": row.given_by, "given_at": _iso(row.given_at),
            "withdrawn_at": _iso(row.withdrawn_at), "active": row.withdrawn_at is None}


def follow_up_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "on": row.on.isoformat(), "kind": row.kind, "situation": row.situation,
            "violence_recurred": row.violence_recurred, "note": row.note}


def shelter_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "start_on": row.start_on.isoformat(), "end_on": _iso(row.end_on),
            "essentials": row.essentials, "money_vnd": row.money_vnd}


def contact_ban_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "requested_at": _iso(row.requested_at), "requester": row.requester,
            "decision_due_at": _iso(row.decision_due_at), "decision": row.decision,
            "decided_at": _iso(row.decided_at), "decision_ref": row.decision_ref,
            "valid_from": _iso(row.valid_from), "valid_until": _iso(row.valid_until)}


def address_json(address: Any, with_details: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": address.id, "name": address.name, "kind": address.kind, "province_code": address.province_code,
        "commune_code": address.commune_code, "declared_on": _iso(address.declared_on),
        "published_on": _iso(address.published_on), "active": address.active,
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


@cache
def _labels(_locale: str) -> dict[str, Any]:
    raw = {
        "forms": codes.FORMS, "acts": codes.ACTS, "act_forms": codes.ACT_FORMS, "relationships": codes.RELATIONSHIPS,
        "sexes": codes.SEXES, "perpetrator_sexes": codes.PERPETRATOR_SEXES, "age_bands": codes.AGE_BANDS,
        "arrivals": codes.ARRIVALS, "services": codes.SERVICES, "purposes": codes.PURPOSES,
        "shareable": codes.SHAREABLE_FIELDS, "risk_factors": codes.RISK_FACTORS, "risk_levels": codes.RISK_LEVELS,
        "essentials": codes.ESSENTIALS, "requesters": codes.CONTACT_BAN_REQUESTERS,
        "ban_decisions": codes.CONTACT_BAN_DECISIONS, "follow_up_kinds": codes.FOLLOW_UP_KINDS,
        "situations": codes.SITUATIONS, "closure_reasons": codes.CLOSURE_REASONS, "statuses": codes.STATUSES,
        "address_kinds": codes.ADDRESS_KINDS, "support_kinds": codes.SUPPORT_KINDS,
        "consent_givers": codes.CONSENT_GIVERS,
    }
    return {name: {code: label if name == "act_forms" else str(label) for code, label in mapping.items()}
            for name, mapping in raw.items()}
