"""What a referral shares: the parts of the case she consented to share with the kind of service, frozen when
it is sent, and whether she or her children are under 16."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from casework.models import utcnow
from casework.service_types import SERVICE_TYPES
from casework.text import VN_TZ
from referral.models import Referral

# The receiver no longer reads her data once the referral is declined or cancelled (the minimum).
STATES_SHOWING_SHARED = frozenset({"sent", "accepted", "completed"})


def consented_fields(case: Any, service: str) -> tuple[str, ...]:
    """The parts of the case she consents to share with this kind of service, in the order of the list."""
    from casework.cases import codes
    from casework.cases.consent import shareable_fields

    allowed = shareable_fields(case, service) if service in SERVICE_TYPES else frozenset()
    return tuple(f for f in codes.SHAREABLE_FIELDS if f in allowed)


def visible_fields(referral: Referral, case: Any) -> tuple[str, ...]:
    """What the receiver may read now: the names frozen at sending, still covered by her consent (a
    withdrawal takes effect at once) or by the override; nothing once declined or cancelled."""
    if referral.state not in STATES_SHOWING_SHARED:
        return ()
    frozen = referral.shared_fields
    if referral.override:
        return tuple(frozen)
    allowed = set(consented_fields(case, referral.service))
    return tuple(f for f in frozen if f in allowed)


def _age_now(case: Any) -> int | None:
    year = case.person.birth_year  # the sender sees her identity anyway; the receiver never calls this
    if year and str(year).isdigit():
        return utcnow().astimezone(VN_TZ).year - int(year)
    return None


def is_child(case: Any) -> bool:
    """Under 16 by her age band or year of birth: the referral suggests child protection (vietnam-domain §1.5)."""
    age = _age_now(case)
    return case.person.age_band == "under_16" or (age is not None and age < 16)


def has_young_children(case: Any) -> bool:
    return any(a.isdigit() and int(a) < 16 for a in (case.children_ages or "").split(","))


def shared_values(referral: Referral, case: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of exactly ``fields``: each protected attribute is decrypted only when it is named."""
    person = case.person
    out: dict[str, Any] = {}
    for name in fields:
        if name in ("full_name", "other_names", "birth_date", "phone", "id_number", "home_address"):
            out[name] = getattr(person, name)
        elif name == "birth_year":
            year = person.birth_year
            out[name] = int(year) if year and str(year).isdigit() else None
        elif name in ("sex", "age_band", "ethnicity_code"):
            out[name] = getattr(person, name)
        elif name == "children":
            out[name] = {"count": case.children_count,
                         "ages": [int(a) for a in (case.children_ages or "").split(",") if a.isdigit()]}
        elif name == "acts":
            out[name] = list(case.act_codes)
        elif name == "relationship":
            out[name] = case.relationship_code
        elif name == "injuries":
            out[name] = {"injuries": case.injuries, "first_aid_given": bool(case.first_aid_given),
                         "first_aid": case.first_aid}
        elif name == "risk":
            out[name] = {"level": case.risk_level, "factors": sorted(case.risk_factors)}
        elif name in ("safety_plan", "narrative"):
            out[name] = getattr(case, name)
    return out
