"""Pages of offline recording (issue 17).

- ``/manifest.webmanifest`` and ``/sw.js``: the installable web app (public: they hold no data).
- ``/offline/…``: the form shells the service worker keeps for use without signal. They are the same for
  every account and carry no data, no CSRF token and no name: the browser seals what is typed with
  ``offline.js`` and keeps only sealed entries. Without JavaScript they point to the ordinary forms.
- ``/offline/drafts``: "Bản nháp cần hoàn thiện", entries the server could not save as they came; the
  host reads one and finishes it online.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from casework.auth.models import User
from casework.auth.policy import acting_user, acting_user_and, allow
from casework.cases import codes, forms
from casework.cases.policy import WORKER_ROLES
from casework.extensions import db
from casework.offline import services

# Bump when a shell, offline.js or the stylesheet changes: the service worker then replaces its cache.
SHELL_VERSION = "2"
SHELLS = ("offline.home", "offline.intake", "offline.follow_up", "offline.shelter_stay")

# The blueprint lives here, so that the package never imports a module that imports it back.
bp = Blueprint("offline", __name__)


def _me() -> User:
    return acting_user()


def _blank(form_class: type[FlaskForm]) -> FlaskForm:
    # No CSRF token: a cached shell is never posted to the server; offline.js seals what is typed.
    return form_class(meta={"csrf": False}, formdata=None)


def _shell(template: str, **context: Any):
    response = make_response(render_template(template, version=SHELL_VERSION, **context))
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "name": "Tin Cậy", "short_name": "Tin Cậy", "lang": "vi", "dir": "ltr",
        "start_url": url_for("offline.home"), "scope": "/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#5b2a86",
        "icons": [{"src": url_for("static", filename="img/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/sw.js")
def service_worker():
    static = current_app.static_folder or ""
    with open(f"{static}/js/sw.js", encoding="utf-8") as fh:
        script = fh.read()
    shells = [url_for(e) for e in SHELLS]
    assets = [url_for("static", filename=f) for f in ("css/app.css", "js/exit.js", "js/offline.js", "img/icon.svg")]
    script = script.replace("__VERSION__", SHELL_VERSION).replace("__URLS__", json.dumps(shells + assets))
    response = make_response(script)
    response.mimetype = "text/javascript"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline/")
@allow(*WORKER_ROLES)
def home():
    return _shell("offline/home.html")


@bp.get("/offline/intake")
@allow(*WORKER_ROLES)
def intake():
    form = _blank(forms.IntakeForm)
    form.ethnicity_code.choices = forms.ethnic_choices()
    return _shell("offline/intake.html", form=form, acts_by_form=codes.acts_by_form(), act_parts=codes.ACT_PARTS,
                  services=list(codes.SERVICES.items()))


@bp.get("/offline/follow-up")
@allow(*WORKER_ROLES)
def follow_up():
    return _shell("offline/follow_up.html", form=_blank(forms.FollowUpForm))


@bp.get("/offline/shelter-stay")
@allow(*WORKER_ROLES)
def shelter_stay():
    return _shell("offline/shelter_stay.html", form=_blank(forms.ShelterForm),
                  essentials=list(codes.ESSENTIALS.items()))


# --- drafts that need completing ------------------------------------------------------------------------


@bp.get("/offline/drafts")
@allow(*WORKER_ROLES)
def drafts():
    rows = db.session.scalars(services.drafts_visible_to(_me())).all()
    return render_template("offline/drafts.html", drafts=rows, reason_text=services.reason_text,
                           kinds=_kind_labels())


@bp.get("/offline/drafts/<draft_id>")
@allow(*WORKER_ROLES)
def draft(draft_id: str):
    user, row = acting_user_and(services.get_draft_or_404, draft_id)
    services.record_draft_view(user, row)
    payload = json.loads(row.payload or "{}")
    problems = json.loads(row.problems or "{}")
    return render_template("offline/draft.html", draft=row, lines=list(_lines(payload)), problems=problems,
                           reason=services.reason_text(row.reason), kinds=_kind_labels(),
                           online_form=_online_form(row.kind))


@bp.post("/offline/drafts/<draft_id>/finish")
@allow(*WORKER_ROLES)
def draft_finish(draft_id: str):
    user, row = acting_user_and(services.get_draft_or_404, draft_id)
    services.finish_draft(user, row)
    flash(_("The draft was removed from the list."), "info")
    return redirect(url_for("offline.drafts"))


def _kind_labels() -> dict[str, str]:
    return {"intake": _("Intake"), "follow_up": _("Follow-up"), "shelter_stay": _("Shelter stay")}


def _online_form(kind: str) -> str | None:
    return url_for("cases.new") if kind == "intake" else url_for("cases.index")


def _lines(value: Any, prefix: str = ""):
    """The entry as (field, text) lines, nested objects with dotted names, as the API's field names."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "type":
                continue
            yield from _lines(inner, f"{prefix}{key}.")
    elif isinstance(value, list):
        yield prefix[:-1], ", ".join(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
                                     for v in value)
    elif value is not None and value != "":
        yield prefix[:-1], value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
