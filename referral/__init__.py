"""The referral domain: organisations and referrals (DESIGN §3.1)."""

from flask import Blueprint, Flask

bp = Blueprint("referral", __name__, url_prefix="/referral")


def register(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from casework import nav
    from casework.auth.roles import Role
    from referral import models, views  # noqa: F401  (tables and routes attach on import)

    app.register_blueprint(bp)
    nav.add(app, "referral.organisations", _l("Organisations"),
            [Role.ADMIN, Role.PROVINCE_OFFICER, Role.COMMUNE_OFFICER, Role.HOST], order=60)
