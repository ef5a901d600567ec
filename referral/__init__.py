"""The referral domain: blueprint and registration (DESIGN §3.1)."""

from flask import Blueprint, Flask

bp = Blueprint("referral", __name__, url_prefix="/referral")


def register(app: Flask) -> None:
    from referral import views  # noqa: F401  (routes attach to the blueprint on import)

    app.register_blueprint(bp)
