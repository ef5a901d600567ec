"""Children under 18 who come with her (Law 53/2024/QH15 Art. 37(2)): their own record and their own
entitlements, items a–h of Art. 37(1). A minimal model: name and year of birth (encrypted), sex, and the
items received; recorded by her commune's officer, read by her only (province staff see no identity).

API: ``GET/POST /api/v1/survivors/{id}/children``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from casework.api import api_route
from casework.api.json import json_body, raise_if
from casework.auth.models import User
from casework.auth.roles import Role
from casework.errors import NotFound, ValidationError
from casework.extensions import db
from casework.protect import audit
from casework.text import VN_TZ, nfc
from livelihood import services
from livelihood.models import CHILD_ENTITLEMENTS, AccompanyingChild, Survivor

ADULT_AGE = 18


@dataclass(frozen=True)
class ChildInput:
    name: str | None
    birth_year: int | None
    sex: str = "female"
    supports: tuple[str, ...] = ()


def check_child(new: ChildInput) -> dict[str, list[str]]:
    from casework.models import utcnow

    errors: dict[str, list[str]] = {}
    year_now = utcnow().astimezone(VN_TZ).year
    if not nfc(new.name or "").strip():
        errors.setdefault("name", []).append(_("Enter the child's name (a first name is enough)."))
    elif len(nfc(new.name or "")) > 200:
        errors.setdefault("name", []).append(_("At most %(n)d characters.", n=200))
    if new.birth_year is None:
        errors.setdefault("birth_year", []).append(_("Enter the child's year of birth."))
    elif new.birth_year > year_now:
        errors.setdefault("birth_year", []).append(_("The year of birth cannot be in the future."))
    elif year_now - new.birth_year >= ADULT_AGE:
        # Art. 37(2) covers children under 18 only; an adult is registered on her own.
        errors.setdefault("birth_year", []).append(
            _("Only children under 18 are recorded here (Law 53/2024 Art. 37(2)); register an adult on her own."))
    if new.sex not in ("female", "male"):
        errors.setdefault("sex", []).append(_("Choose from the list."))
    outside = [s for s in new.supports if s not in CHILD_ENTITLEMENTS]
    if outside:
        errors.setdefault("supports", []).append(
            _("A child who came with her is entitled to items a–h only (Law 53/2024 Art. 37(2)): %(items)s.",
              items=", ".join(str(s)[:2] for s in outside)))
    return errors


def add_child(actor: User, survivor: Survivor, new: ChildInput) -> AccompanyingChild:
    """Record a child under 18 who came with her; only her commune's officer may (identity)."""
    if actor.role != Role.COMMUNE_OFFICER or actor.commune_code != survivor.commune_code:
        raise NotFound(_("Not found."))
    errors = check_child(new)
    if errors:
        raise ValidationError(_("Please correct the marked fields."), errors)
    wanted = [s for s in CHILD_ENTITLEMENTS if s in set(new.supports)]
    child = AccompanyingChild(survivor_id=survivor.id, sex=new.sex, supports=",".join(wanted),
                              recorded_on=_today(), recorded_by_id=actor.id)
    child.name = nfc(new.name or "").strip()
    child.birth_year = str(new.birth_year)
    db.session.add(child)
    db.session.flush()
    audit.record("survivor_child_add", object_type="survivor", object_id=survivor.id, actor=actor,
                 fields=["name", "birth_year", "supports"])
    return child


def _today():
    from casework.models import utcnow

    return utcnow().astimezone(VN_TZ).date()


def child_json(child: AccompanyingChild) -> dict[str, Any]:
    return {"id": child.id, "name": child.name, "birth_year": int(child.birth_year) if child.birth_year else None,
            "sex": child.sex, "supports": child.support_list, "entitled": list(CHILD_ENTITLEMENTS)}


CHILD_REQUEST = {"type": "object", "required": ["name", "birth_year"], "properties": {
    "name": {"type": "string", "maxLength": 200}, "birth_year": {"type": "integer"},
    "sex": {"enum": ["female", "male"]},
    "supports": {"type": "array", "items": {"enum": list(CHILD_ENTITLEMENTS)}}}}
CHILD_RESPONSE = {"type": "object", "required": ["id", "supports"], "properties": {
    "id": {"type": "string"}, "supports": {"type": "array", "items": {"type": "string"}}}}
ERRORS = (400, 401, 404, 422)


def _identity_survivor(survivor_id: str) -> Survivor:
    user = current_user._get_current_object()
    survivor = services.get_survivor_or_404(user, survivor_id)
    if not services.can_see_identity(user, survivor):
        raise NotFound(_("Not found."))
    return survivor


@api_route("/survivors/<survivor_id>/children", "GET", summary="Children under 18 who came with her "
           "(Law 53/2024 Art. 37(2): items a–h)", roles=[Role.COMMUNE_OFFICER],
           response={"type": "object", "required": ["items"]}, errors=(401, 404))
def livelihood_children_list(survivor_id: str):
    survivor = _identity_survivor(survivor_id)
    audit.record("survivor_child_view", object_type="survivor", object_id=survivor.id,
                 actor=current_user._get_current_object(), fields=["name", "birth_year"])
    return jsonify(items=[child_json(c) for c in survivor.children])


@api_route("/survivors/<survivor_id>/children", "POST", summary="Record a child under 18 who came with her, with "
           "the a–h items received (Law 53/2024 Art. 37(2))", roles=[Role.COMMUNE_OFFICER],
           request=CHILD_REQUEST, response=CHILD_RESPONSE, status=201, errors=ERRORS)
def livelihood_child_create(survivor_id: str):
    survivor = _identity_survivor(survivor_id)
    data = json_body()
    errors: dict[str, list[str]] = {}
    name = data.get("name")
    year = data.get("birth_year")
    sex = data.get("sex", "female")
    supports = data.get("supports", [])
    if name is not None and not isinstance(name, str):
        errors.setdefault("name", []).append(_("This field must be text."))
        name = None
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        errors.setdefault("birth_year", []).append(_("This field must be a whole number."))
        year = None
    if not isinstance(sex, str):
        errors.setdefault("sex", []).append(_("Choose from the list."))
        sex = ""
    if not isinstance(supports, list) or not all(isinstance(s, str) for s in supports):
        errors.setdefault("supports", []).append(_("This field must be a list of codes."))
        supports = []
    raise_if(errors)
    child = add_child(current_user._get_current_object(), survivor,
                      ChildInput(name=name, birth_year=year, sex=sex[:8], supports=tuple(s[:2] for s in supports[:20])))
    return jsonify(child_json(child)), 201
