"""Trusted addresses: creating and changing one in the actor's commune, and the trainings and support it records."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from casework.auth.models import User
from casework.cases.models import Address, AddressSupport, AddressTraining
from casework.cases.policy import can_manage_address
from casework.cases.schemas import AddressIn, AddressSupportIn, AddressTrainingIn
from casework.cases.services.common import _invalid
from casework.errors import NotFound, ValidationError
from casework.extensions import db
from casework.geo import data as geo
from casework.protect import audit


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


def add_training(actor: User, address: Address, data: AddressTrainingIn) -> AddressTraining:
    return _add_to_address(actor, address, "address_training_add", AddressTraining(
        held_on=data.held_on, topic=data.topic, organiser=data.organiser or ""))


def add_support(actor: User, address: Address, data: AddressSupportIn) -> AddressSupport:
    return _add_to_address(actor, address, "address_support_add", AddressSupport(
        received_on=data.received_on, kind=data.kind, description=data.description or "", amount_vnd=data.amount_vnd))


def _add_to_address[R: (AddressTraining, AddressSupport)](actor: User, address: Address, action: str, row: R) -> R:
    """Keep ``row`` in the history of an address the actor manages (any other: not found), with its audit event."""
    if not can_manage_address(actor, address):
        raise NotFound(_("Not found."))
    row.address = address
    db.session.add(row)
    db.session.flush()
    audit.record(action, object_type="address", object_id=address.id, actor=actor)
    return row
