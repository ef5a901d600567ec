"""Forms that survive a lost session, and drafts saved on purpose (issue 13).

A POST whose session ended (or whose form token is stale) keeps what was typed, encrypted, for the account
the form was shown to; after she signs in again the same form comes back filled in, not saved. A form a
domain names with :func:`add_form` also offers "Lưu nháp". Drafts are listed in the work queue and on
``/drafts/``, are never cases (so never counted in statistics), and are erased when saved, deleted or
expired (``flask notify sweep``). See ``casework.drafts.services`` for how the account is known.
"""

from __future__ import annotations

from flask import Flask

from casework.drafts.services import SESSION_KEY, add_form, after_sign_in, bind_form_token

__all__ = ["SESSION_KEY", "add_form", "after_sign_in", "bind_form_token", "register"]


def register(app: Flask) -> None:
    from casework.auth.policy import LOST_POST
    from casework.drafts import views

    app.register_blueprint(views.bp)
    views.register_hooks(app)
    app.extensions[LOST_POST] = views.lost_post_response  # called by the access check and the form check
    _register_work(app)


def _register_work(app: Flask) -> None:
    from datetime import timedelta

    from flask_babel import lazy_gettext as _l
    from sqlalchemy import select

    from casework.drafts.models import FormDraft
    from casework.drafts.services import form_label
    from casework.extensions import db
    from casework.models import utcnow
    from casework.work import WORK_ROLES, Provider, Row, add_provider, keyset

    def rows(user, after, inclusive, limit):
        q = (select(FormDraft.expires_at, FormDraft.id, FormDraft.endpoint)
             .where(FormDraft.user_id == user.id, FormDraft.expires_at > utcnow(),
                    keyset(FormDraft.expires_at, FormDraft.id, after, inclusive))
             .order_by(FormDraft.expires_at, FormDraft.id).limit(limit))
        return [Row(until, draft_id, form_label(endpoint), ()) for until, draft_id, endpoint in db.session.execute(q)]

    # Due when it would be erased: after that what she typed is gone.
    add_provider(app, Provider("form_draft", "form_draft", frozenset(WORK_ROLES), _l("Finish a form kept as a draft"),
                               "drafts.index", rows, lambda user: timedelta(0)))
