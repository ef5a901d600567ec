"""Trusted-address casework: addresses, cases, consent, shelter, follow-up and closure.

The screens' blueprint is declared in ``views`` with its routes: this package imports its modules only
inside ``register``, and none of them imports this package (no import circle, issue 14).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from casework.cases.models import Address


def register(app: Flask) -> None:
    """Attach the screens, API routes, menu entries, demo data and statistics tables of this package."""
    from flask_babel import lazy_gettext as _l

    from casework import api, demo, nav
    from casework.auth import addresses
    from casework.auth.roles import Role
    from casework.cases import api as cases_api
    from casework.cases import transfer_api, transfer_views, views
    from casework.cases.demo import load_demo_cases

    app.register_blueprint(views.bp)
    app.register_blueprint(transfer_views.bp)
    api.contribute(app, cases_api, transfer_api)
    nav.add(app, "cases.index", _l("Cases"), [Role.HOST, Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER], order=10)
    nav.add(app, "cases.new", _l("New intake"), [Role.HOST, Role.COMMUNE_OFFICER], order=11)
    from casework import drafts

    drafts.add_form(app, "cases.new", _l("New intake"))  # issue 13: "Lưu nháp" on the intake form
    nav.add(app, "cases.addresses", _l("Trusted addresses"),
            [Role.HOST, Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER, Role.ADMIN], order=20)
    nav.add(app, "cases.settings", _l("Shelter settings"), [Role.PROVINCE_OFFICER, Role.ADMIN], order=70)
    demo.add_loader(app, load_demo_cases)
    # A host's account is scoped to addresses: the accounts' forms and services read them without importing us.
    addresses.register(app, _address_rows)
    _register_statistics(app)
    from casework import notify
    from casework.cases import handover, transfer, work
    from casework.cases.extensions import register_case_action, register_timeline_kind
    from casework.cases.timeline import own_timeline_kinds

    work.register(app)
    handover.register(app)
    for kind, template in transfer.KINDS.items():
        notify.add_kind(app, kind, template)
    notify.add_link(app, "case_transfer", "transfers.view", "transfer_id")
    for kind, label in {"transfer_requested": _l("Move to another address requested"),
                        "transfer_accepted": _l("Moved to another address"),
                        "transfer_declined": _l("Move to another address declined")}.items():
        register_timeline_kind(app, kind, label)
    for kind, label in own_timeline_kinds().items():
        register_timeline_kind(app, kind, label)
    register_case_action(app, "transfers.new", _l("Move to another address"), (Role.COMMUNE_OFFICER,))


def _register_statistics(app: Flask) -> None:
    from casework.cases.tables import address_activity, case_records, register_tables
    from casework.stats import activity
    from casework.stats.catalogue import catalogue
    from casework.stats.sources import add_source

    register_tables(catalogue(app))
    add_source(app, case_records)
    activity.add_source(app, address_activity)


def _address_rows(ids: Collection[str] | None) -> list[Address]:
    """The trusted addresses with these ids (all of them without ids), for the accounts' scope (issue 14)."""
    from sqlalchemy import select

    from casework.cases.models import Address
    from casework.extensions import db

    q = select(Address) if ids is None else select(Address).where(Address.id.in_(sorted(set(ids))))
    return list(db.session.scalars(q))
