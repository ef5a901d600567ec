"""Who sees which case (DESIGN §1): scope rules through the screens and the API, 404 outside scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casework.protect.audit import AuditEvent
from tests.cases.conftest import NAME, PHONE

IDENTITY_TEXTS = (NAME, "Nguyễn", "0912", "345 678", "Chồng đánh", "Bầm tay")


def _denials(case_id):
    from casework.extensions import db

    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access_denied",
                                                       AuditEvent.object_id == case_id)).all()


def test_host_sees_her_own_case_with_identity(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    page = signed_in(world.host_a).get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert NAME in page.text and PHONE in page.text


def test_host_cannot_see_another_address_case_even_by_its_id(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_b)
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/edit", f"/cases/{case_id}/record.pdf",
                 f"/cases/{case_id}/consents", f"/cases/{case_id}/follow-ups/new"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert NAME not in response.text
    assert _denials(case_id), "the refusal is kept in the audit trail"


def test_host_cannot_change_another_address_case(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_b)
    response = client.post(f"/cases/{case_id}/closure", data={"reason": "moved_away"})
    assert response.status_code == 404
    from casework.cases.models import Case
    from casework.extensions import db

    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "open"


def test_host_gets_404_from_the_api_for_another_address_case(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    headers = token(world.host_b)
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/cases/{case_id}", json={"version": 1}, headers=headers).status_code == 404
    assert client.post(f"/api/v1/cases/{case_id}/closure", json={"reason": "moved_away"},
                       headers=headers).status_code == 404


def test_host_list_contains_only_her_addresses_cases(world, make_case, token, client):
    mine = make_case(world.host_a, world.addr_a)
    make_case(world.host_b, world.addr_b)
    items = client.get("/api/v1/cases", headers=token(world.host_a)).get_json()["items"]
    assert [i["id"] for i in items] == [mine]


def test_commune_officer_sees_every_case_of_her_commune_and_no_other(world, make_case, token, client):
    a = make_case(world.host_a, world.addr_a)
    a2 = make_case(world.officer_a, world.addr_a2)
    b = make_case(world.host_b, world.addr_b)
    headers = token(world.officer_a)
    ids = {i["id"] for i in client.get("/api/v1/cases", headers=headers).get_json()["items"]}
    assert ids == {a, a2}
    assert client.get(f"/api/v1/cases/{a}", headers=headers).get_json()["person"]["full_name"] == NAME
    assert client.get(f"/api/v1/cases/{b}", headers=headers).status_code == 404


def test_province_officer_sees_the_province_cases_without_identity_in_html(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.province_19)
    for path in ("/cases", f"/cases/{case_id}"):
        page = client.get(path)
        assert page.status_code == 200, path
        for text in IDENTITY_TEXTS:
            assert text not in page.text, (path, text)
    assert "Phường Bá Xuyên" in client.get("/cases").text


def test_province_officer_sees_the_province_cases_without_identity_in_json(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    headers = token(world.province_19)
    listing = client.get("/api/v1/cases", headers=headers)
    detail = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert [i["id"] for i in listing.get_json()["items"]] == [case_id]
    assert detail.status_code == 200 and "person" not in detail.get_json()
    for body in (listing.text, detail.text):
        for text in IDENTITY_TEXTS:
            assert text not in body and text.encode("unicode_escape").decode() not in body


def test_province_officer_cannot_search_by_name_or_open_the_pdf(world, make_case, token, client, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    assert client.post("/api/v1/cases/search", json={"q": "lan"}, headers=token(world.province_19)).status_code == 422
    web = signed_in(world.province_19)
    assert web.get(f"/cases/{case_id}/record.pdf").status_code == 404
    assert web.post("/cases/search", data={"q": "lan"}).status_code == 404
    assert web.get(f"/cases/{case_id}/edit").status_code == 404


def test_province_officer_sees_no_case_of_another_province(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    headers = token(world.province_11)
    assert client.get("/api/v1/cases", headers=headers).get_json()["items"] == []
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == 404


@pytest.mark.parametrize("role", ["coordinator", "admin", "auditor", "provider"])
def test_roles_without_cases_see_no_case_at_all(world, make_case, signed_in, token, client, role):
    case_id = make_case(world.host_a, world.addr_a)
    account = getattr(world, role)
    web = signed_in(account)
    for path in ("/cases", f"/cases/{case_id}", f"/cases/{case_id}/record.pdf", "/cases/new"):
        assert web.get(path).status_code == 404, (role, path)
    headers = token(account)
    assert client.get("/api/v1/cases", headers=headers).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == 404


def test_a_scope_change_takes_effect_on_the_next_request(world, make_case, token, client):
    from casework.auth import services as auth
    from casework.extensions import db
    from tests.cases.conftest import user_of

    case_id = make_case(world.host_a, world.addr_a)
    headers = token(world.host_a)
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == 200
    auth.change_scope(user_of(world.admin), world.host_a.id, "host", None, (world.addr_b.id,), None)
    db.session.commit()
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == 404


def test_a_malformed_case_id_answers_404_without_breaking_the_audit(world, signed_in):
    client = signed_in(world.host_a)
    for weird in ("x" * 300, "%27%3B--", "ÄÖÜ", "a.b"):
        assert client.get(f"/cases/{weird}").status_code == 404


def test_the_case_page_follows_a_scope_change_and_never_another_hosts_scope(world, make_case, signed_in):
    """The case page's statement is built once per scope and reused (issue 18): a host whose addresses change
    sees her new scope on the next request, and a host never gets another scope's statement."""
    from casework.auth import services as auth
    from casework.extensions import db
    from tests.cases.conftest import user_of

    case_a, case_b = make_case(world.host_a, world.addr_a), make_case(world.host_b, world.addr_b)
    web_a, web_b = signed_in(world.host_a), signed_in(world.host_b)
    assert web_a.get(f"/cases/{case_a}").status_code == 200
    assert web_b.get(f"/cases/{case_a}").status_code == 404
    assert web_b.get(f"/cases/{case_b}").status_code == 200
    auth.change_scope(user_of(world.admin), world.host_a.id, "host", None, (world.addr_b.id,), None)
    db.session.commit()
    assert web_a.get(f"/cases/{case_a}").status_code == 404
    assert web_a.get(f"/cases/{case_b}").status_code == 200


def test_the_case_list_follows_a_scope_change(world, make_case, signed_in):
    """The unfiltered list's statement is built once per scope too (issue 18)."""
    from casework.auth import services as auth
    from casework.extensions import db
    from tests.cases.conftest import user_of

    # Another address of the same commune: only the addresses tell the two scopes apart.
    case_a, case_a2 = make_case(world.host_a, world.addr_a), make_case(world.officer_a, world.addr_a2)
    web_a = signed_in(world.host_a)
    listed = web_a.get("/cases").get_data(as_text=True)
    assert case_a in listed and case_a2 not in listed
    auth.change_scope(user_of(world.admin), world.host_a.id, "host", None, (world.addr_a2.id,), None)
    db.session.commit()
    listed = web_a.get("/cases").get_data(as_text=True)
    assert case_a2 in listed and case_a not in listed


def test_the_search_follows_a_scope_change(world, make_case, signed_in):
    """The search's statements are built once per scope and reused (issue 18): a host whose addresses change
    finds the cases of her new scope on the next search, and no longer those of the old one."""
    from casework.auth import services as auth
    from casework.extensions import db
    from tests.cases.conftest import user_of

    # Another address of the same commune and province: only the addresses tell the two scopes apart.
    case_a, case_a2 = make_case(world.host_a, world.addr_a), make_case(world.officer_a, world.addr_a2)
    web_a = signed_in(world.host_a)
    found = web_a.post("/cases/search", data={"q": "nguyen hanh"}).get_data(as_text=True)
    assert case_a in found and case_a2 not in found
    auth.change_scope(user_of(world.admin), world.host_a.id, "host", None, (world.addr_a2.id,), None)
    db.session.commit()
    found = web_a.post("/cases/search", data={"q": "nguyen hanh"}).get_data(as_text=True)
    assert case_a2 in found and case_a not in found


def test_a_kept_search_statement_holds_no_searched_term(app, world, make_case, signed_in):
    """What the app keeps of a search (issue 18) is keyed by the scope and the look-up's shape, never the term: two
    terms of as many words share one statement, whose parameters carry the words' index values only when run."""
    from casework.cases import services

    target = make_case(world.host_a, world.addr_a)
    other = make_case(world.host_a, world.addr_a, person=services.PersonData(full_name="Lò Thị Mai",
                                                                             phone="0977111222"))
    web_a = signed_in(world.host_a)
    kept = app.extensions.setdefault("scoped_statements", {})
    kept.clear()
    assert f"/cases/{target}" in web_a.post("/cases/search", data={"q": "nguyen hanh"}).text
    searches = {key: statement for key, statement in kept.items() if key[0] == "search_people"}
    assert len(searches) == 1
    found = web_a.post("/cases/search", data={"q": "lo mai"}).text
    assert f"/cases/{other}" in found and f"/cases/{target}" not in found
    assert {key for key in kept if key[0] == "search_people"} == set(searches)
    for key, statement in searches.items():
        text = f"{key} {statement.compile(compile_kwargs={'literal_binds': False})} {statement.compile().params}"
        assert not any(word in text.lower() for word in ("nguyen", "hanh", "mai")), text


def test_the_api_search_follows_a_scope_change(world, make_case, token, client):
    """The API's search keeps its statements per scope as the screen's does (issue 18)."""
    from casework.auth import services as auth
    from casework.extensions import db
    from tests.cases.conftest import user_of

    case_a, case_a2 = make_case(world.host_a, world.addr_a), make_case(world.officer_a, world.addr_a2)
    headers = token(world.host_a)

    def found() -> set[str]:
        answer = client.post("/api/v1/cases/search", json={"q": "nguyen hanh"}, headers=headers)
        return {item["id"] for item in answer.get_json()["items"]}

    assert found() == {case_a}
    auth.change_scope(user_of(world.admin), world.host_a.id, "host", None, (world.addr_a2.id,), None)
    db.session.commit()
    assert found() == {case_a2}
