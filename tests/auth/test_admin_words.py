"""Admin and auditor screens in the users' words, and validation in one round (issue 13)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from casework.auth import pickers
from casework.auth.models import AccountChange, User
from casework.extensions import db
from casework.geo import data as geo


def _text(response) -> str:
    return response.get_data(as_text=True)


def _province(word: str) -> geo.Province:
    return next(p for p in geo.provinces() if word in p.name)


# --- pickers by name ------------------------------------------------------------------------------


def test_the_pickers_find_places_by_a_name_typed_without_accents(app):
    thanh_hoa, dong_nai = _province("Thanh Hóa"), _province("Đồng Nai")
    with app.test_request_context():
        assert thanh_hoa in pickers.provinces("thanh hoa")
        found = pickers.provinces("dong")
        assert dong_nai in found and _province("Thái Nguyên") not in found
        groups = pickers.communes("dong")
        assert dong_nai.name in groups  # every commune of the province whose name matches
        assert sum(len(v) for v in pickers.communes("dong").values()) <= pickers.MAX_COMMUNES
        assert pickers.communes("") == {}  # nothing chosen, nothing searched: no list of 3,321 communes
        assert pickers.communes("", province_code="19") == {_province("Thái Nguyên").name: geo.communes("19")}


def test_the_search_step_narrows_the_pickers_without_javascript_and_saves_nothing(client, make_user, login):
    admin = make_user("admin")
    login(client, admin)
    before = db.session.scalar(select(func.count()).select_from(User))
    page = _text(client.post("/admin/users/new", data={"role": "province_officer", "place_q": "dong",
                                                       "action": "find", "username": "x"}))
    options = re.findall(r'<option value="(\d\d)">([^<]+)</option>', page)
    assert ("75", "Thành phố Đồng Nai") in options and all("Thái Nguyên" not in n for _c, n in options)
    page = _text(client.post("/admin/users/new", data={"role": "commune_officer", "place_q": "thanh hoa",
                                                       "action": "find"}))
    assert 'optgroup label="Tỉnh Thanh Hóa"' in page
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_fields_are_shown_by_role(client, make_user, login):
    admin = make_user("admin")
    login(client, admin)
    page = _text(client.post("/admin/users/new", data={"role": "host", "action": "find"}))
    shown = re.findall(r'<fieldset class="role-fields card" data-kind="(\w+)">', page)
    assert shown == ["address"]
    page = _text(client.post("/admin/users/new", data={"role": "province_officer", "action": "find"}))
    assert re.findall(r'<fieldset class="role-fields card" data-kind="(\w+)">', page) == ["province"]


def test_an_account_is_scoped_by_a_picked_commune_and_listed_by_names(client, make_user, login, make_address):
    from referral.models import Organisation

    admin = make_user("admin")
    login(client, admin)
    response = client.post("/admin/users/new", data={
        "username": "canbo-xa", "role": "commune_officer", "commune": "05533",
        "password": "mot cau mat khau ban dau"})
    assert response.status_code == 302
    officer = db.session.scalar(select(User).where(User.username == "canbo-xa"))
    assert (officer.commune_code, officer.province_code) == ("05533", "19")
    org = Organisation(name="Công an xã Bá Xuyên", kind="commune_police", province_code="19", contact="")
    db.session.add(org)
    db.session.commit()
    address = make_address("05533", name="Nhà chị Hoa")
    make_user("service_provider", organisation_id=org.id)
    make_user("host", address_ids=(address.id,))
    make_user("province_officer", scope="19")
    page = _text(client.get("/admin/users"))
    assert "Phường Bá Xuyên, Tỉnh Thái Nguyên" in page
    assert "Công an xã Bá Xuyên" in page and "Nhà chị Hoa" in page
    cells = re.findall(r'data-label="Phạm vi">([^<]*)</td>', page)
    assert cells and not any(re.search(r"\b\d{2,5}\b", c) for c in cells), cells
    assert org.id not in page and address.id not in page


def test_account_change_requests_show_names(app, client, make_user, login):
    admin, target = make_user("admin"), make_user("province_officer", scope="19")
    login(client, admin)
    response = client.post(f"/admin/users/{target.id}", data={"role": "commune_officer", "commune": "05533",
                                                              "display_name": ""})
    assert response.status_code == 302, _text(response)
    assert db.session.query(AccountChange).count() == 1
    page = _text(client.get("/admin/account-changes"))
    assert "Phường Bá Xuyên, Tỉnh Thái Nguyên" in page and ">05533<" not in page


# --- validation in one round ----------------------------------------------------------------------


def test_a_field_error_and_a_service_error_come_in_one_answer_with_links(client, make_user, login):
    admin = make_user("admin")
    login(client, admin)
    before = db.session.scalar(select(func.count()).select_from(User))
    # The username is missing (the form's check); the password is too short (the service's rule); the
    # commune is not chosen (the picker's check).
    response = client.post("/admin/users/new", data={"username": "", "role": "commune_officer", "password": "ngan"})
    page = _text(response)
    assert response.status_code == 422
    summary = page[page.index('id="error-summary"'):page.index("</div>", page.index('id="error-summary"'))]
    links = re.findall(r'<a href="#(\w+)">', summary)
    assert links == ["username", "commune", "password"], links
    assert "Hãy nhập tên đăng nhập" in summary or "tên đăng nhập" in summary.lower()
    assert "12" in summary  # the password rule's message, from the service
    assert db.session.scalar(select(func.count()).select_from(User)) == before
    assert db.session.query(AccountChange).count() == 0


def test_the_shelter_form_shows_a_bad_date_and_the_money_rule_at_once(app, make_user, make_address, login):
    from datetime import timedelta

    from casework.cases.models import ShelterStay
    from casework.models import utcnow
    from tests.cases.conftest import intake, user_of

    address = make_address("05533")
    host = make_user("host", address_ids=(address.id,))
    from casework.cases import services

    case = services.create_case(user_of(host), intake(address, intake_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    client = app.test_client()
    login(client, host)
    response = client.post(f"/cases/{case.id}/shelter/new", data={
        "start_on": "32/13/2025", "essentials": ["food"], "money_vnd": "200000"})
    page = _text(response)
    assert response.status_code == 422
    summary = page[page.index('id="error-summary"'):]
    assert 'href="#start_on"' in summary and 'href="#money_vnd"' in summary
    assert db.session.query(ShelterStay).count() == 0


def test_the_follow_up_form_shows_every_error_at_once(app, make_user, make_address, login):
    from datetime import timedelta

    from casework.cases import services
    from casework.cases.models import FollowUp
    from casework.models import utcnow
    from tests.cases.conftest import intake, user_of

    address = make_address("05533")
    host = make_user("host", address_ids=(address.id,))
    case = services.create_case(user_of(host), intake(address, intake_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    client = app.test_client()
    login(client, host)
    response = client.post(f"/cases/{case.id}/follow-ups/new", data={"on": "hôm qua", "kind": "call",
                                                                     "situation": "at_risk"})
    page = _text(response)
    assert response.status_code == 422
    assert 'href="#on"' in page and 'href="#violence_recurred"' in page
    assert db.session.query(FollowUp).count() == 0


# --- audit screens --------------------------------------------------------------------------------


def test_the_audit_screen_filters_by_labels_and_by_username(client, make_user, login):
    from casework.protect import audit

    auditor, admin = make_user("auditor"), make_user("admin")
    audit.record("login_failed", object_type="user", outcome="failed", actor=db.session.get(User, admin.id))
    db.session.commit()
    login(client, auditor)
    page = _text(client.get("/audit/", query_string={"outcome": "failed", "actor": admin.username}))
    assert "Đăng nhập không thành công" in page or "Sign-in failed" not in page
    rows = re.findall(r"<tr><td data-label=\"#\">", page)
    assert len(rows) == 1 and admin.username in page
    assert '<option value="failed" selected>' in page
    assert '<option value="user">' in page and '<option value="commune_officer">' in page
    page = _text(client.get("/audit/", query_string={"outcome": "denied", "actor": admin.username}))
    assert "<tr><td data-label=\"#\">" not in page


def test_every_audit_code_in_the_code_has_a_label():
    import pathlib

    from casework.protect import labels

    root = pathlib.Path(__file__).resolve().parents[2]
    codes, kinds = set(), set()
    for package in ("casework", "referral", "livelihood"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            codes |= set(re.findall(r'record(?:_after_rollback)?\(\s*"([a-z_.0-9]+)"', text))
            kinds |= set(re.findall(r'record\([^)]*?object_type="([a-z_]+)"', text, re.S))
            kinds |= set(re.findall(r'deny\(\s*"([a-z_]+)"', text))
    assert codes and not sorted(codes - set(labels.ACTIONS))
    assert kinds and not sorted(kinds - set(labels.OBJECT_TYPES))


def test_the_api_error_body_of_design_section_4_is_unchanged(client, make_user):
    """The screens' one-round mechanism leaves the API's error body as DESIGN §4 fixes it."""
    from casework.auth.services import issue_api_token

    admin = make_user("admin")
    token, _ = issue_api_token(db.session.get(User, admin.id))
    db.session.commit()
    response = client.post("/api/v1/addresses", headers={"Authorization": f"Bearer {token}"},
                           json={"name": "", "commune_code": "99999", "kind": "household"})
    assert response.status_code == 422
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == "invalid"
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in body["error"]["fields"].values())
    assert "commune_code" in body["error"]["fields"]
