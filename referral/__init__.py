"""The referral domain: organisations, referrals, their deadlines and notifications (DESIGN §3.1).

Nothing in ``casework`` imports this package except ``create_app``; it never imports ``livelihood``.
It hooks into the case page without casework knowing it: a "Refer her" action and a panel listing the
case's referrals (``app.extensions["tincay.case_panels"]``, callables ``(user, case, has) -> Markup``), told by
the case page's own statement whether the case has any referral (``register_case_probe``).
The screens' blueprint is declared in ``views`` with its routes, so that no module of this package imports the
package itself (no import circle, issue 14).
"""

from flask import Flask


def register(app: Flask) -> None:
    """Attach the screens, API routes, menu entries, timeline kinds, case-page hooks, commands, demo data and
    statistics."""
    from flask_babel import lazy_gettext as _l

    from casework import api
    from referral import api as referral_api

    api.contribute(app, referral_api)

    from casework import demo, nav
    from casework.auth.roles import Role
    from referral import models, notifications, views  # noqa: F401  (models: the tables attach on import)
    from referral.cli import referral_cli
    from referral.demo import load_demo_referrals

    app.register_blueprint(views.bp)
    readers = [Role.HOST, Role.COMMUNE_OFFICER, Role.SERVICE_PROVIDER]
    nav.add(app, "referral.index", _l("Referrals"), readers, order=30)
    nav.add(app, "referral.organisations", _l("Organisations"),
            [Role.ADMIN, Role.PROVINCE_OFFICER, Role.COMMUNE_OFFICER, Role.HOST], order=60)
    nav.add(app, "referral.deadlines", _l("Referral deadlines"), [Role.PROVINCE_OFFICER, Role.ADMIN], order=71)
    notifications.register(app)
    _register_case_hooks(app)
    _register_statistics(app)
    app.cli.add_command(referral_cli)
    demo.add_loader(app, load_demo_referrals)
    from referral import work

    work.register(app)
    work.register_closure_check(app)
    # The admin's organisation picker (issue 13) lists organisations by name without importing this domain.
    app.extensions["tincay.organisations"] = _organisation_rows


def _organisation_rows() -> list[tuple[str, str, str]]:
    from sqlalchemy import select

    from casework.extensions import db
    from referral.models import Organisation

    q = select(Organisation.id, Organisation.name, Organisation.province_code).order_by(Organisation.name)
    return [(oid, name, province) for oid, name, province in db.session.execute(q)]


def _register_case_hooks(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l
    from sqlalchemy import exists

    from casework.auth.roles import Role
    from casework.cases.extensions import register_case_action, register_case_probe, register_timeline_kind
    from casework.cases.models import Case
    from referral.models import Referral
    from referral.views import case_panel

    for kind, label in {
        "referral_sent": _l("Referral sent"),
        "referral_override": _l("Referral sent without her consent: life in danger"),
        "referral_accepted": _l("Referral accepted"),
        "referral_declined": _l("Referral declined"),
        "referral_completed": _l("Service given after referral"),
        "referral_cancelled": _l("Referral cancelled"),
    }.items():
        register_timeline_kind(app, kind, label)
    register_case_action(app, "referral.new", _l("Refer her"), (Role.HOST, Role.COMMUNE_OFFICER))
    register_case_probe(app, "referrals", exists().where(Referral.case_id == Case.id))
    panels = app.extensions.setdefault("tincay.case_panels", [])
    if case_panel not in panels:
        panels.append(case_panel)


def _register_statistics(app: Flask) -> None:
    from casework.stats.catalogue import catalogue
    from casework.stats.sources import add_source
    from referral.tables import referral_records, register_tables

    register_tables(catalogue(app))
    add_source(app, referral_records)
