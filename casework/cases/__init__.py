"""Trusted-address casework: addresses, cases, consent, shelter, follow-up and closure."""

from flask import Blueprint, Flask

bp = Blueprint("cases", __name__)


def register(app: Flask) -> None:
    """Attach the screens, menu entries, demo data and statistics tables of this package."""
    from flask_babel import lazy_gettext as _l

    from casework import demo, nav
    from casework.auth.roles import Role
    from casework.cases import views  # noqa: F401  (routes attach to the blueprint on import)
    from casework.cases.demo import load_demo_cases

    app.register_blueprint(bp)
    nav.add(app, "cases.index", _l("Cases"), [Role.HOST, Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER], order=10)
    nav.add(app, "cases.new", _l("New intake"), [Role.HOST, Role.COMMUNE_OFFICER], order=11)
    nav.add(app, "cases.addresses", _l("Trusted addresses"),
            [Role.HOST, Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER, Role.ADMIN], order=20)
    nav.add(app, "cases.settings", _l("Shelter settings"), [Role.PROVINCE_OFFICER, Role.ADMIN], order=70)
    demo.add_loader(app, load_demo_cases)
    _register_statistics(app)


def _register_statistics(app: Flask) -> None:
    from casework.cases.tables import case_records, register_tables
    from casework.stats.sources import add_source

    register_tables()
    add_source(app, case_records)
