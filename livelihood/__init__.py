"""The livelihood domain: blueprint and registration (DESIGN §3.1).

Livelihood support for women who survived trafficking: the survivor register, proposals, their
appraisal and decision within the province's budget, disbursement in tranches and monitoring.
Nothing in ``casework`` imports this package except ``create_app``; it never imports ``referral``.
The screens' blueprint is declared in ``views`` with its routes, so that no module of this package imports the
package itself (no import circle, issue 14).
"""

from flask import Flask


def register(app: Flask) -> None:
    """Attach the screens, API routes, menu entries, demo data and statistics of this package."""
    from flask_babel import lazy_gettext as _l

    from casework import api
    from livelihood import api as livelihood_api
    from livelihood import children as livelihood_children

    # The children's routes (Law 53/2024 Art. 37(2)) are declared in their own module: contributed too.
    api.contribute(app, livelihood_api, livelihood_children)

    from casework import demo, nav
    from casework.auth.roles import Role
    from livelihood import (
        models,  # noqa: F401  (the tables join the shared metadata)
        views,
    )
    from livelihood.demo import load_demo

    app.register_blueprint(views.bp)
    nav.add(app, "livelihood.index", _l("Livelihood"), [Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER], order=40)
    nav.add(app, "livelihood.survivors", _l("Survivors"), [Role.COMMUNE_OFFICER], order=41)
    nav.add(app, "livelihood.proposals", _l("Proposals"), [Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER], order=42)
    nav.add(app, "livelihood.budgets", _l("Budget"), [Role.PROVINCE_OFFICER], order=43)
    demo.add_loader(app, load_demo)
    _register_statistics(app)
    from livelihood import handover, work

    work.register(app)
    handover.register(app)


def _register_statistics(app: Flask) -> None:
    from casework.stats.catalogue import catalogue
    from casework.stats.sources import add_source
    from livelihood.tables import livelihood_records, register_tables

    register_tables(catalogue(app))
    add_source(app, livelihood_records)
