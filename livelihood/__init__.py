"""The livelihood domain: blueprint and registration (DESIGN §3.1)."""

from flask import Blueprint, Flask

bp = Blueprint("livelihood", __name__, url_prefix="/livelihood")


def register(app: Flask) -> None:
    from livelihood import views  # noqa: F401  (routes attach to the blueprint on import)

    app.register_blueprint(bp)
