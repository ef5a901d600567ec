"""Forms that survive a lost session, and intakes saved as drafts (issue 13).

A form posted after the session ended is kept, encrypted, for the account it was shown to; after that
account signs in again the same form comes back filled in (not saved). Another account signing in on the
same phone sees nothing. Drafts expire, carry nothing personal in cookies, URLs or the audit trail, are
listed in the work queue and are never counted in statistics.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from casework.auth.models import UserSession
from casework.cases.models import Case
from casework.drafts.models import FormDraft
from casework.drafts.services import remove_expired
from casework.extensions import db
from casework.models import utcnow
from casework.protect.audit import AuditEvent
from tests.cases.test_intake import form
from tests.conftest import next_code

NAME = "Trần Thị Hoa"
# Whole values, not short pieces: a four-digit piece such as "0987" turns up by chance in a random token
# of the cookie about once in a thousand runs (seen in CI); nine digits or a space-separated group do not.
PERSONAL = ("Trần", "Thị Hoa", "987654321", "654 321", "dọa giết", "Vết bầm")


def _end_by_idle(account) -> None:
    """Her session has been idle longer than the limit (30 minutes): the server ends it on the next request."""
    db.session.execute(update(UserSession).where(UserSession.user_id == account.id)
                       .values(last_seen_at=utcnow() - timedelta(minutes=45)))
    db.session.commit()


def _drafts(account=None) -> list[FormDraft]:
    db.session.expire_all()
    q = select(FormDraft)
    if account is not None:
        q = q.where(FormDraft.user_id == account.id)
    return list(db.session.scalars(q))


def _cases() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case))


def _session_cookie(client) -> str:
    """The decoded JSON of Flask's signed session cookie (signed, not encrypted: anyone can read it)."""
    cookie = client.get_cookie("tincay")
    if cookie is None:
        return ""
    payload = cookie.value.split(".")[0] if not cookie.value.startswith(".") else cookie.value.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if cookie.value.startswith("."):
        raw = zlib.decompress(raw)
    return raw.decode("utf-8")


def _sign_in(client, account, expect=302):
    page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    data = {"username": account.username, "password": account.password, "totp": next_code(account)}
    if token:
        data["csrf_token"] = token.group(1)
    response = client.post("/login", data=data)
    assert response.status_code == expect, response.status_code
    return response


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def csrf_client(make_app):
    """A client of an app that checks form tokens, as in production (the other tests switch it off)."""
    app = make_app(WTF_CSRF_ENABLED=True)

    def make():
        return app.test_client()

    # No application context of this app is held open: each request gets its own, as in production.
    return make


# --- the session ended: kept, restored for the same account, saved ------------------------------------------


def test_an_intake_posted_after_the_session_ended_is_kept_and_comes_back_after_sign_in(world, signed_in, login):
    client = signed_in(world.host_a)
    _end_by_idle(world.host_a)
    response = client.post("/cases/new", data={**form(world.addr_a), "csrf_token": "x", "totp": "123456"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert _cases() == 0
    [draft] = _drafts(world.host_a)
    assert draft.reason == "session_ended" and draft.endpoint == "cases.new"
    assert timedelta(hours=23) < draft.expires_at - utcnow() <= timedelta(hours=24)
    kept = json.loads(draft.payload)
    names = {name for name, _value in kept["fields"]}
    assert "csrf_token" not in names and "totp" not in names and ["full_name", NAME] in kept["fields"]
    # the sign-in page says her entry was kept
    page = client.get("/login").text
    assert "bản nháp" in page and "24 giờ" in page
    # a fresh sign-in of the same account goes straight back to the form, filled in, not saved
    back = login(client, world.host_a)
    assert back.headers["Location"] == f"/cases/new?draft={draft.id}"
    page = client.get(back.headers["Location"])
    assert page.status_code == 200
    assert f'value="{NAME}"' in page.text and "Anh ấy dọa giết." in page.text
    assert "chưa được lưu" in page.text
    assert _cases() == 0
    # she checks and saves: the case exists, the draft is erased
    saved = client.post(back.headers["Location"], data=form(world.addr_a))
    assert saved.status_code == 302 and "/cases/" in saved.headers["Location"]
    assert _cases() == 1
    assert _drafts() == []
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "form_draft")
                                      .order_by(AuditEvent.id)))
    assert actions == ["form_draft_keep", "form_draft_open", "form_draft_finish"]


def test_a_stale_form_token_keeps_the_draft_for_the_account_that_opened_the_form(world, csrf_client):
    client = csrf_client()
    _sign_in(client, world.host_a)
    token = _token(client.get("/cases/new").text)
    # The session cookie is gone (expired in the browser, or cleared): only the form's own token is left.
    client.delete_cookie("tincay", domain="localhost")
    response = client.post("/cases/new", data={**form(world.addr_a), "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    [draft] = _drafts(world.host_a)
    assert _cases() == 0
    assert "được giữ lại dưới dạng bản nháp trong 24 giờ" in client.get("/login").text
    back = _sign_in(client, world.host_a)
    assert back.headers["Location"] == f"/cases/new?draft={draft.id}"
    page = client.get(back.headers["Location"]).text
    assert f'value="{NAME}"' in page
    saved = client.post(back.headers["Location"], data={**form(world.addr_a), "csrf_token": _token(page)})
    assert saved.status_code == 302 and _cases() == 1 and _drafts() == []


def test_another_account_signing_in_on_the_same_phone_never_sees_the_draft(world, csrf_client):
    client = csrf_client()
    _sign_in(client, world.host_a)
    token = _token(client.get("/cases/new").text)
    client.delete_cookie("tincay", domain="localhost")
    client.post("/cases/new", data={**form(world.addr_a), "csrf_token": token})
    [draft] = _drafts(world.host_a)
    # host_b signs in on the same phone (the draft's id is in this browser's session cookie)
    arrived = _sign_in(client, world.host_b)
    assert "draft" not in arrived.headers["Location"]
    assert client.get(f"/drafts/{draft.id}/open").status_code == 404
    assert client.post(f"/drafts/{draft.id}/delete",
                       data={"csrf_token": _token(client.get("/drafts/").text)}).status_code == 404
    page = client.get(f"/cases/new?draft={draft.id}").text
    assert NAME not in page and "Anh ấy dọa giết." not in page
    listing = client.get("/drafts/").text
    assert "Mở và hoàn thiện" not in listing and "Không có bản nháp" in listing
    assert "Hoàn thiện biểu mẫu đã lưu nháp" not in client.get("/work/").text
    assert len(_drafts(world.host_a)) == 1  # still hers
    # a form host_b posts with host_a's stale token is kept for host_a, and host_b learns nothing
    answer = client.post("/cases/new", data={**form(world.addr_a), "csrf_token": token})
    assert answer.status_code == 303 and "draft" not in answer.headers["Location"]
    assert len(_drafts(world.host_a)) == 2 and _drafts(world.host_b) == []


def test_a_form_whose_account_cannot_be_known_is_not_kept_and_says_so(world, csrf_client):
    client = csrf_client()
    _sign_in(client, world.host_a)
    client.get("/cases/new")
    client.delete_cookie("tincay", domain="localhost")
    response = client.post("/cases/new", data={**form(world.addr_a), "csrf_token": "forged"})
    assert response.status_code == 400
    assert "phiên đăng nhập đã kết thúc" in response.text and "Không thể giữ lại" in response.text
    assert 'href="/login"' in response.text
    assert _drafts() == []


def test_passwords_are_never_kept(world, signed_in):
    client = signed_in(world.host_a)
    _end_by_idle(world.host_a)
    client.post("/account/password", data={"current_password": "secret-one", "new_password": "secret-two",
                                            "totp": "123456"})
    assert _drafts() == []


# --- expiry -------------------------------------------------------------------------------------------------


def test_an_expired_draft_cannot_be_opened_and_the_sweep_erases_it(world, signed_in, login, app):
    client = signed_in(world.host_a)
    _end_by_idle(world.host_a)
    client.post("/cases/new", data=form(world.addr_a))
    [draft] = _drafts(world.host_a)
    db.session.execute(update(FormDraft).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    back = login(client, world.host_a)
    assert "draft" not in back.headers["Location"]  # expired: not brought back
    assert client.get(f"/drafts/{draft.id}/open").status_code == 404
    assert NAME not in client.get(f"/cases/new?draft={draft.id}").text
    result = app.test_cli_runner().invoke(args=["notify", "sweep"])
    assert "expired drafts removed: 1" in result.output, result.output
    assert _drafts() == []
    assert remove_expired() == 0


# --- nothing personal in the cookie, the URLs or the audit trail --------------------------------------------


def test_no_personal_data_in_the_cookie_the_urls_or_the_audit_trail(world, signed_in, login):
    client = signed_in(world.host_a)
    _end_by_idle(world.host_a)
    response = client.post("/cases/new", data=form(world.addr_a))
    urls = [response.headers["Location"]]
    cookie = _session_cookie(client)
    assert "kept_draft" in cookie
    back = login(client, world.host_a)
    urls.append(back.headers["Location"])
    for text in [cookie, *urls]:
        for secret in PERSONAL:
            assert secret not in text, (secret, text)
    raw = db.session.execute(select(FormDraft.__table__)).one()._mapping
    blob = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in raw.values() if v is not None)
    for secret in PERSONAL:
        assert secret.encode() not in blob
    events = db.session.execute(select(AuditEvent.__table__).where(AuditEvent.object_type == "form_draft")).all()
    assert events
    for event in events:
        text = " ".join(str(v) for v in event._mapping.values())
        for secret in PERSONAL:
            assert secret not in text


# --- "Lưu nháp": listed in the queue, never counted ---------------------------------------------------------


def test_an_intake_saved_as_a_draft_is_in_the_queue_and_not_in_the_cases_or_statistics(world, signed_in, app):
    from casework.stats import sources

    client = signed_in(world.host_a)
    response = client.post("/cases/new", data={**form(world.addr_a), "keep_draft": "1", "consent_record": None})
    assert response.status_code == 303 and response.headers["Location"].endswith("/work/")
    [draft] = _drafts(world.host_a)
    assert draft.reason == "explicit"
    assert timedelta(days=6) < draft.expires_at - utcnow() <= timedelta(days=7)
    assert _cases() == 0
    year = utcnow().year
    assert list(sources.records(date(year - 1, 1, 1), date(year + 1, 12, 31))) == []
    queue = client.get("/work/").text
    assert "Hoàn thiện biểu mẫu đã lưu nháp" in queue and "Tiếp nhận mới" in queue
    listing = client.get("/drafts/").text
    assert "Tiếp nhận mới" in listing and NAME not in listing
    assert NAME not in client.get("/cases/").text
    # another host's queue does not have it
    other = signed_in(world.host_b)
    assert "Hoàn thiện biểu mẫu đã lưu nháp" not in other.get("/work/").text
    # she finishes it later: opened from the list, completed, saved; then it counts and the draft is gone
    opened = client.get(f"/drafts/{draft.id}/open")
    page = client.get(opened.headers["Location"]).text
    assert f'value="{NAME}"' in page
    saved = client.post(opened.headers["Location"], data=form(world.addr_a))
    assert saved.status_code == 302 and _cases() == 1 and _drafts() == []
    assert len(list(sources.records(date(year - 1, 1, 1), date(year + 1, 12, 31)))) >= 1
    assert "Hoàn thiện biểu mẫu đã lưu nháp" not in client.get("/work/").text


def test_a_draft_can_be_deleted_by_its_owner(world, signed_in):
    client = signed_in(world.host_a)
    client.post("/cases/new", data={**form(world.addr_a), "keep_draft": "1"})
    [draft] = _drafts(world.host_a)
    assert client.post(f"/drafts/{draft.id}/delete").status_code == 303
    assert _drafts() == []


def test_an_empty_form_saved_as_a_draft_keeps_nothing(world, signed_in):
    client = signed_in(world.host_a)
    response = client.post("/cases/new", data={"keep_draft": "1"})
    assert response.status_code == 303
    assert _drafts() == []


def test_a_full_list_keeps_no_more_lost_forms_and_never_drops_an_older_draft(world, signed_in):
    from casework.drafts.services import MAX_DRAFTS_PER_ACCOUNT

    for _n in range(MAX_DRAFTS_PER_ACCOUNT):
        draft = FormDraft(user_id=world.host_a.id, endpoint="cases.new", reason="explicit",
                          expires_at=utcnow() + timedelta(days=1))
        draft.payload = json.dumps({"args": {}, "fields": [["full_name", "x"]]})
        db.session.add(draft)
    db.session.commit()
    before = {d.id for d in _drafts(world.host_a)}
    client = signed_in(world.host_a)
    _end_by_idle(world.host_a)
    response = client.post("/cases/new", data=form(world.addr_a))
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")  # as before
    assert {d.id for d in _drafts(world.host_a)} == before


def test_any_signed_in_form_comes_back_on_its_own_screen_even_where_the_view_sets_defaults(
        world, signed_in, login, make_case):
    # The follow-up form of a case: the screen has the case id in its address and fills its date on GET.
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    _end_by_idle(world.host_a)
    client.post(f"/cases/{case_id}/follow-ups/new", data={"on": "01/12/2026", "kind": "call",
                                                          "situation": "improving", "note": "Chị ấy ổn hơn."})
    [draft] = _drafts(world.host_a)
    back = login(client, world.host_a)
    assert back.headers["Location"] == f"/cases/{case_id}/follow-ups/new?draft={draft.id}"
    page = client.get(back.headers["Location"]).text
    assert "Chị ấy ổn hơn." in page and 'value="01/12/2026"' in page
    # the same draft on another case's screen fills nothing
    other = make_case(world.host_a, world.addr_a)
    assert "Chị ấy ổn hơn." not in client.get(f"/cases/{other}/follow-ups/new?draft={draft.id}").text


@pytest.mark.parametrize("reason", ["quick_exit", "ended_by_admin", "ended_by_user", "password_changed", "locked"])
def test_a_session_ended_on_purpose_for_safety_keeps_nothing(world, signed_in, reason):
    client = signed_in(world.host_a)
    db.session.execute(update(UserSession).where(UserSession.user_id == world.host_a.id)
                       .values(ended_at=utcnow(), ended_reason=reason))
    db.session.commit()
    response = client.post("/cases/new", data=form(world.addr_a))
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert _drafts() == []
    assert "bản nháp" not in client.get("/login").text
