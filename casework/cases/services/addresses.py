"""Trusted addresses: creating and changing one in the actor's commune, and the trainings and support it records."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from casework.auth.models import User
from casework.cases import codes
from casework.cases.models import Address, AddressSupport, AddressTraining
from casework.cases.policy import can_manage_address
from casework.cases.schemas import AddressIn
from casework.cases.services.common import _add, _invalid, local_today
from casework.errors import NotFound, ValidationError
from casework.extensions import db
from casework.geo import data as geo
from casework.protect import audit
from casework.text import nfc


def _check_address(actor: User, data: AddressIn) -> Any:
    """The address's commune, which must be one the actor manages (the values are read by ``AddressIn``)."""
    commune = geo.commune(data.commune_code)
    if commune is None:
        _invalid({"commune_code": [_("Choose an existing commune code (5 digits).")]})
    elif not can_manage_address(actor, commune_code=commune.code):
        _invalid({"commune_code": [_("You can only manage trusted addresses of your own commune.")]})
    return commune


def address_errors(actor: User, data: AddressIn) -> dict[str, list[str]]:
    """The reasons ``create_address``/``update_address`` would refuse ``data`` (the commune is not the actor's)."""
    try:
        _check_address(actor, data)
    except ValidationError as error:
        return error.fields
    return {}


def create_address(actor: User, data: AddressIn) -> Address:
    commune = _check_address(actor, data)
    address = Address(name=data.name, kind=data.kind, commune_code=commune.code, province_code=commune.province_code,
                      geo_scheme=geo.SCHEME, declared_on=data.declared_on, published_on=data.published_on,
                      active=data.active, legacy_commune_code=data.legacy_commune_code or None)
    db.session.add(address)
    db.session.flush()
    audit.record("address_create", object_type="address", object_id=address.id, actor=actor)
    return address


def update_address(actor: User, address: Address, data: AddressIn) -> Address:
    if not can_manage_address(actor, address):
        raise NotFound(_("Not found."))
    commune = _check_address(actor, data)
    address.name, address.kind = data.name, data.kind
    address.commune_code, address.province_code = commune.code, commune.province_code
    address.declared_on, address.published_on, address.active = data.declared_on, data.published_on, data.active
    address.legacy_commune_code = data.legacy_commune_code or None
    db.session.flush()
    audit.record("address_update", object_type="address", object_id=address.id, actor=actor)
    return address


def add_training(actor: User, address: Address, held_on: date | None, topic: str,
                 organiser: str = "") -> AddressTraining:
    if not can_manage_address(actor, address):
        raise NotFound(_("Not found."))
    errors: dict[str, list[str]] = {}
    _check_past_day(errors, "held_on", held_on)
    topic_, organiser_ = _within(errors, "topic", topic), _within(errors, "organiser", organiser)
    if not topic_:
        _add(errors, "topic", _("Enter the topic of the training."))
    _invalid(errors)
    return _add_to_address(actor, address, "address_training_add", AddressTraining(
        address=address, held_on=held_on, topic=topic_, organiser=organiser_))


def add_support(actor: User, address: Address, received_on: date | None, kind: str, description: str = "",
                amount_vnd: int | None = None) -> AddressSupport:
    if not can_manage_address(actor, address):
        raise NotFound(_("Not found."))
    errors: dict[str, list[str]] = {}
    _check_past_day(errors, "received_on", received_on)
    if kind not in codes.SUPPORT_KINDS:
        _add(errors, "kind", _("Choose a kind from the list."))
    if amount_vnd is not None and not 0 <= amount_vnd <= 10_000_000_000:
        _add(errors, "amount_vnd", _("Enter an amount in đồng, from 0."))
    description_ = _within(errors, "description", description)
    _invalid(errors)
    return _add_to_address(actor, address, "address_support_add", AddressSupport(
        address=address, received_on=received_on, kind=kind, description=description_, amount_vnd=amount_vnd))


def _within(errors: dict[str, list[str]], field: str, value: str | None, limit: int = 200) -> str:
    """``value`` as it is kept (NFC), or a message on ``field`` when it is longer than ``limit``: a text too long
    for its column is refused with its field's message, never cut short without a word."""
    text = nfc(value or "")
    if len(text) > limit:
        _add(errors, field, _("At most %(n)d characters.", n=limit))
    return text


def _check_past_day(errors: dict[str, list[str]], field: str, day: date | None) -> None:
    """The day of something that happened at the address (a training, support received): given, not after today."""
    if day is None:
        _add(errors, field, _("Enter the date."))
    elif day > local_today():
        _add(errors, field, _("The date cannot be in the future."))


def _add_to_address[R: (AddressTraining, AddressSupport)](actor: User, address: Address, action: str, row: R) -> R:
    """Keep a record of the address's history, with its audit event."""
    db.session.add(row)
    db.session.flush()
    audit.record(action, object_type="address", object_id=address.id, actor=actor)
    return row
