"""Trusted-address casework: addresses, cases, consent, shelter, follow-up and closure."""

from flask import Blueprint, Flask

bp = Blueprint("cases", __name__)


def register(app: Flask) -> None:
    """Attach the screens, menu entries, demo data and statistics tables of this package."""
    from casework.cases import views  # noqa: F401  (routes attach to the blueprint on import)

    app.register_blueprint(bp)
