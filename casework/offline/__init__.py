"""Offline recording on the host's phone (issue 17): the wire format's API, the drafts that need
completing, and the installable web app (manifest, service worker, form shells)."""

from flask import Flask


def register(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from casework import api, nav
    from casework.auth.roles import Role
    from casework.offline import api as offline_api
    from casework.offline import views

    api.contribute(app, offline_api)
    app.register_blueprint(views.bp)
    nav.add(app, "offline.home", _l("Without signal"), [Role.HOST, Role.COMMUNE_OFFICER], order=12)
    nav.add(app, "offline.drafts", _l("Drafts to complete"), [Role.HOST, Role.COMMUNE_OFFICER], order=13)
    _register_work(app)


def _register_work(app: Flask) -> None:
    """Entries that came back "needs correction" wait in their host's work queue (issues 13 and 17)."""
    from datetime import timedelta

    from flask_babel import lazy_gettext as _l
    from sqlalchemy import select

    from casework.extensions import db
    from casework.offline.models import OfflineDraft
    from casework.work import Provider, Row, add_provider, keyset

    def rows(user, after, inclusive, limit):
        q = (select(OfflineDraft.created_at, OfflineDraft.id)
             .where(OfflineDraft.user_id == user.id, OfflineDraft.finished_at.is_(None),
                    keyset(OfflineDraft.created_at, OfflineDraft.id, after, inclusive))
             .order_by(OfflineDraft.created_at, OfflineDraft.id).limit(limit))
        return [Row(at, draft_id, draft_id[:8], (("draft_id", draft_id),)) for at, draft_id in db.session.execute(q)]

    # Project rule: a draft is finished within a day (what she recorded offline must not wait).
    add_provider(app, Provider("offline_draft", "offline_draft", frozenset({"host", "commune_officer"}),
                               _l("Complete an entry recorded without signal"), "offline.draft", rows,
                               lambda user: timedelta(hours=24)))
