"""Keeping, finding and restoring form drafts (issue 13). Services flush and never commit (STYLE rule 3).

Who a lost form belongs to, without a valid session
----------------------------------------------------
Every fully signed-in session records the hash of its form (CSRF) token (``UserSession.form_token_hash``,
set at sign-in). A form posted after the session ended still carries that token, signed by the server:
its hash names the session the form was shown in, hence the account. Failing that (a session older than
this feature), the session id still in the signed session cookie names it, but only when the form's token
matched that cookie, i.e. the form was shown in that very session. Nothing else is trusted: not a field of
the form, not a cookie the browser could have kept from another account.

The draft is bound to that account and nobody else: it is listed, opened and deleted only by a fully
signed-in session of the same account (after a new sign-in on the same phone, another account sees
nothing, not even that a draft exists). The session cookie carries only the draft's random id, to bring
her straight back to the form after she signs in. URLs carry that random id only; audit events carry
codes and ids only.

Never kept: passwords, one-time codes, the form token (``SECRET_FIELDS``), and files.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any, cast

from flask import current_app, g, request, session
from flask_babel import gettext as _
from sqlalchemy import delete, select
from werkzeug.datastructures import MultiDict

from casework.auth.models import User, UserSession
from casework.drafts.models import FormDraft
from casework.extensions import db
from casework.models import ID_LENGTH, utcnow
from casework.protect import audit

LOST_SESSION_HOURS = 24  # issue 13: a draft kept because the session ended lives one day
EXPLICIT_DAYS = 7  # project rule: an intake saved as a draft on purpose waits a week, then it is erased
# Beyond this many open drafts no more is kept for a lost session (never an older one dropped: a stolen form
# token must not be able to push her real drafts out). "Lưu nháp" by the signed-in user has no such limit.
MAX_DRAFTS_PER_ACCOUNT = 20
MAX_FIELDS = 400
MAX_PAYLOAD = 400_000
SESSION_KEY = "kept_draft"  # the draft to reopen after the next sign-in (a random id, nothing personal)
DRAFT_ARG = "draft"  # ?draft=<id> on a form's URL fills it from the draft
SAVE_BUTTON = "keep_draft"  # the name of the "Lưu nháp" button
FORMS_EXTENSION = "tincay.drafts.forms"

# Field names never written into a draft, whatever the form.
SECRET_FIELDS = frozenset({"csrf_token", "password", "current_password", "new_password", "confirm_password",
                           "totp", "code", "recovery_code", "enrolment_code", "token", SAVE_BUTTON})
SECRET_PARTS = ("password", "totp", "csrf", "secret", "otp")
# A post with only these (a button, a record's version) has nothing typed: nothing to keep.
BUTTON_FIELDS = frozenset({"action", "submit", "version", "confirm"})


# A form of a session that ended on its own (idle, too old) or by signing out is kept. One ended on purpose for
# safety (quick exit, the account locked or disabled, its sessions ended by an admin or from another device, a
# password change, a second-factor reset) is not: whoever holds the phone then must not leave anything in the
# account, nor be told that something was kept.
KEEP_AFTER = frozenset({None, "idle", "expired", "logout"})


def _csrf_field() -> str:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


# --- which forms -------------------------------------------------------------------------------------------


def add_form(app: Any, endpoint: str, label: Any) -> None:
    """A domain names one of its forms (shown in the queue and the drafts list) and offers "Lưu nháp" on it."""
    app.extensions.setdefault(FORMS_EXTENSION, {})[endpoint] = label


def form_label(endpoint: str) -> str:
    label = current_app.extensions.get(FORMS_EXTENSION, {}).get(endpoint)
    return str(label) if label is not None else _("Form")


def offers_explicit_draft(endpoint: str | None) -> bool:
    return endpoint is not None and endpoint in current_app.extensions.get(FORMS_EXTENSION, {})


def _restorable(endpoint: str | None, user: User) -> bool:
    """A screen she can open again with GET and may use: the draft goes back into it."""
    from casework.auth.policy import PUBLIC_ENDPOINTS, allowed_roles
    from casework.auth.roles import Role

    if endpoint is None or endpoint in PUBLIC_ENDPOINTS or endpoint.split(".")[0] in ("auth", "api", "static"):
        return False
    roles = allowed_roles(endpoint)
    if not roles or Role(user.role) not in roles:
        return False
    return any(rule.endpoint == endpoint and "GET" in (rule.methods or ())
               for rule in current_app.url_map.iter_rules(endpoint))


# --- the session's form token --------------------------------------------------------------------------------


def bind_form_token(sess: UserSession) -> None:
    """At sign-in, after the session cookie was cleared: a fresh form token whose hash names this session."""
    from flask_wtf.csrf import generate_csrf

    field = _csrf_field()
    g.pop(field, None)
    session.pop(field, None)
    generate_csrf()
    raw = session.get(field)
    if isinstance(raw, str):
        sess.form_token_hash = _hash(raw)


def _session_of_form(token_matched_cookie: bool) -> UserSession | None:
    """The fully signed-in session the posted form was shown in, or None (see the module docstring)."""
    from itsdangerous import BadData, URLSafeTimedSerializer

    from casework.auth.services import token_hash

    row = None
    token = request.form.get(_csrf_field())
    if token and len(token) <= 200:
        # create_app always sets SECRET_KEY; Flask types it as optional.
        secret = cast("str | bytes", current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key)
        settings = current_app.config["SETTINGS"]
        max_age = settings.session_absolute_hours * 3600 + LOST_SESSION_HOURS * 3600
        try:
            raw = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").loads(token, max_age=max_age)
        except BadData:
            raw = None
        if isinstance(raw, str) and raw:
            row = db.session.scalar(select(UserSession).where(UserSession.form_token_hash == _hash(raw)).limit(1))
    if row is None and token_matched_cookie:
        sid = session.get("sid")
        if isinstance(sid, str) and 0 < len(sid) <= 100:
            row = db.session.get(UserSession, token_hash(sid))
    if row is None or not row.second_factor_done or not row.user.active:
        return None
    if row.ended_reason not in KEEP_AFTER:
        return None
    return row


# --- keeping -----------------------------------------------------------------------------------------------


def _fields(form: MultiDict) -> list[list[str]] | None:
    kept: list[list[str]] = []
    for name, value in form.items(multi=True):
        low = name.lower()
        if name in SECRET_FIELDS or any(part in low for part in SECRET_PARTS):
            continue
        if len(name) > 64 or not isinstance(value, str):
            continue
        kept.append([name, value])
        if len(kept) > MAX_FIELDS:
            return None
    return kept


def _payload(args: dict[str, Any], fields: list[list[str]]) -> str | None:
    text = json.dumps({"args": args, "fields": fields}, ensure_ascii=False)
    return text if len(text) <= MAX_PAYLOAD else None


def is_full(user_id: str) -> bool:
    from sqlalchemy import func

    count = db.session.scalar(select(func.count()).select_from(FormDraft)
                              .where(FormDraft.user_id == user_id, FormDraft.expires_at > utcnow()))
    return (count or 0) >= MAX_DRAFTS_PER_ACCOUNT


def _replace(user_id: str, old_id: str | None, endpoint: str) -> None:
    """A draft reopened and kept again replaces itself (one draft per piece of work)."""
    if old_id:
        old = owned(user_id, old_id)
        if old is not None and old.endpoint == endpoint:
            db.session.delete(old)


def keep(user: User, reason: str, hours: int, fields: list[list[str]], limited: bool) -> FormDraft | None:
    """Keep the current request's form for ``user``; None when there is nothing to keep or it is too big."""
    endpoint = request.endpoint or ""
    args = {k: v for k, v in (request.view_args or {}).items() if isinstance(v, str | int)}
    text = _payload(args, fields)
    if text is None or not any(value.strip() for name, value in fields if name not in BUTTON_FIELDS):
        return None
    _replace(user.id, request.args.get(DRAFT_ARG, "")[:ID_LENGTH] or None, endpoint)
    db.session.flush()
    if limited and is_full(user.id):
        return None
    draft = FormDraft(user_id=user.id, endpoint=endpoint, reason=reason, expires_at=utcnow() + timedelta(hours=hours))
    draft.payload = text
    db.session.add(draft)
    db.session.flush()
    audit.record("form_draft_keep", object_type="form_draft", object_id=draft.id, detail=reason, actor=user)
    return draft


def keep_lost_post(token_matched_cookie: bool) -> FormDraft | None:
    """A POST whose session ended (or whose form token is stale): keep it for the account it was shown to."""
    if request.method != "POST" or request.blueprint == "api":
        return None
    owner = _session_of_form(token_matched_cookie)
    if owner is None or not _restorable(request.endpoint, owner.user):
        return None
    fields = _fields(request.form)
    if fields is None:
        return None
    return keep(owner.user, "session_ended", LOST_SESSION_HOURS, fields, limited=True)


def keep_explicit(user: User) -> FormDraft | None:
    fields = _fields(request.form)
    if fields is None:
        return None
    return keep(user, "explicit", EXPLICIT_DAYS * 24, fields, limited=False)


# --- finding, restoring ------------------------------------------------------------------------------------


def visible_to(user_id: str):
    """Her drafts that have not expired: never another account's."""
    return (select(FormDraft).where(FormDraft.user_id == user_id, FormDraft.expires_at > utcnow())
            .order_by(FormDraft.expires_at, FormDraft.id))


def owned(user_id: str, draft_id: str | None) -> FormDraft | None:
    if not isinstance(draft_id, str) or not 0 < len(draft_id) <= ID_LENGTH:
        return None
    return db.session.scalar(visible_to(user_id).where(FormDraft.id == draft_id))


def get_or_404(user: User, draft_id: str) -> FormDraft:
    from casework.auth.policy import deny

    draft = owned(user.id, draft_id)
    if draft is None:
        deny("form_draft", audit.opaque_id(draft_id))
    return draft  # type: ignore[return-value]


def content(draft: FormDraft) -> dict[str, Any]:
    try:
        data = json.loads(draft.payload or "{}")
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def form_url(draft: FormDraft) -> str:
    from flask import url_for

    args = content(draft).get("args") or {}
    values: dict[str, Any] = {k: v for k, v in args.items() if isinstance(k, str)}
    draft_arg: dict[str, Any] = {DRAFT_ARG: draft.id}
    return url_for(draft.endpoint, **values, **draft_arg)


def formdata_for_request(user: User) -> MultiDict | None:
    """On ``GET <form>?draft=<id>`` by its owner: the fields to fill the form with (audited as a read)."""
    draft = owned(user.id, request.args.get(DRAFT_ARG, "")[:ID_LENGTH])
    if draft is None or draft.endpoint != request.endpoint:
        return None
    data = content(draft)
    args = data.get("args") or {}
    if {k: str(v) for k, v in args.items()} != {k: str(v) for k, v in (request.view_args or {}).items()}:
        return None
    fields = [(n, v) for n, v in (data.get("fields") or []) if isinstance(n, str) and isinstance(v, str)]
    audit.record("form_draft_open", object_type="form_draft", object_id=draft.id, detail=draft.reason, actor=user)
    return MultiDict(fields)


def finish(user: User, draft_id: str | None, endpoint: str | None) -> bool:
    """The form was saved from this draft: the draft and its content are erased."""
    draft = owned(user.id, draft_id)
    if draft is None or draft.endpoint != endpoint:
        return False
    db.session.delete(draft)
    audit.record("form_draft_finish", object_type="form_draft", object_id=draft.id, actor=user)
    return True


def discard(user: User, draft: FormDraft) -> None:
    db.session.delete(draft)
    audit.record("form_draft_delete", object_type="form_draft", object_id=draft.id, actor=user)


def after_sign_in(user: User, kept_id: Any) -> str | None:
    """Where a fresh sign-in goes: back to the form of the draft kept in this browser, if it is hers."""
    draft = owned(user.id, kept_id if isinstance(kept_id, str) else None)
    return form_url(draft) if draft is not None else None


def remove_expired() -> int:
    """Erase every draft past its expiry (``flask notify sweep`` runs it); returns how many."""
    ids = list(db.session.scalars(select(FormDraft.id).where(FormDraft.expires_at <= utcnow())))
    for start in range(0, len(ids), 500):
        db.session.execute(delete(FormDraft).where(FormDraft.id.in_(ids[start:start + 500])))
    if ids:
        audit.record("form_draft_expire", object_type="form_draft", detail=str(len(ids)), actor=None)
    return len(ids)
