from __future__ import annotations

from casework.auth.models import User
from casework.auth.services import issue_api_token
from casework.extensions import db
from casework.protect.audit import AuditEvent
from referral.models import Organisation

THAI_NGUYEN_COMMUNES = ["05533", "05528"]
VALID = {"name": "Công an xã Bá Xuyên", "kind": "commune_police", "services": ["police"],
         "province_code": "19", "commune_codes": THAI_NGUYEN_COMMUNES, "contact": "0208 3855 113"}


def _token(account) -> dict:
    token, _ = issue_api_token(db.session.get(User, account.id))
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_admin_registers_an_organisation_through_the_api(client, make_user):
    headers = _token(make_user("admin"))
    response = client.post("/api/v1/organisations", json=VALID, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["services"] == ["police"] and body["commune_codes"] == sorted(THAI_NGUYEN_COMMUNES)
    event = db.session.query(AuditEvent).filter_by(action="organisation_create").one()
    assert event.object_id == body["id"]


def test_bad_organisation_gets_a_message_per_field_and_nothing_is_stored(client, make_user):
    headers = _token(make_user("admin"))
    bad = {**VALID, "name": "", "services": ["astrology"], "commune_codes": ["99999"], "province_code": "19"}
    response = client.post("/api/v1/organisations", json=bad, headers=headers)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) >= {"name", "services", "commune_codes"}
    assert db.session.query(Organisation).count() == 0


def test_commune_of_another_province_is_refused(client, make_user):
    headers = _token(make_user("admin"))
    response = client.post("/api/v1/organisations", json={**VALID, "commune_codes": ["00004"]}, headers=headers)
    assert response.status_code == 422
    assert "00004" in response.get_json()["error"]["fields"]["commune_codes"][0]


def test_province_officer_manages_only_her_province(client, make_user):
    admin = _token(make_user("admin"))
    other = client.post("/api/v1/organisations", json={**VALID, "province_code": "01", "commune_codes": ["00004"]},
                        headers=admin).get_json()
    officer = _token(make_user("province_officer", scope="19"))
    own = client.post("/api/v1/organisations", json={**VALID, "province_code": "01"}, headers=officer)
    assert own.status_code == 422  # she cannot file it under another province
    own = client.post("/api/v1/organisations", json={k: v for k, v in VALID.items() if k != "province_code"},
                      headers=officer)
    assert own.status_code == 201 and own.get_json()["province_code"] == "19"
    assert client.get(f"/api/v1/organisations/{other['id']}", headers=officer).status_code == 404
    assert client.patch(f"/api/v1/organisations/{other['id']}", json={"name": "x"}, headers=officer).status_code == 404
    ids = [o["id"] for o in client.get("/api/v1/organisations", headers=officer).get_json()["items"]]
    assert ids == [own.get_json()["id"]]


def test_host_sees_organisations_serving_her_commune_and_cannot_add(client, make_user, make_address):
    admin = _token(make_user("admin"))
    serving = client.post("/api/v1/organisations", json=VALID, headers=admin).get_json()
    client.post("/api/v1/organisations", json={**VALID, "name": "Trạm y tế khác", "commune_codes": ["05540"]},
                headers=admin)
    host = _token(make_user("host", address_ids=(make_address("05533").id,)))
    items = client.get("/api/v1/organisations", headers=host).get_json()["items"]
    assert [o["id"] for o in items] == [serving["id"]]
    assert client.post("/api/v1/organisations", json=VALID, headers=host).status_code == 404


def test_organisation_screens_work_for_the_admin(client, make_user, login):
    login(client, make_user("admin"))
    assert "Chưa có cơ quan" in client.get("/referral/organisations").get_data(as_text=True)
    response = client.post("/referral/organisations/new", data={
        "name": "Trạm y tế xã", "kind": "health_station", "services": ["health"], "province_code": "19",
        "commune_codes": "05533, 05528", "contact": "", "active": "y"})
    assert response.status_code == 302
    page = client.get("/referral/organisations").get_data(as_text=True)
    assert "Trạm y tế xã" in page and "Trạm y tế hoặc bệnh viện" in page


def test_organisation_form_shows_errors_in_vietnamese(client, make_user, login):
    login(client, make_user("admin"))
    response = client.post("/referral/organisations/new", data={"name": "", "kind": "health_station",
                                                                "province_code": "19", "commune_codes": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Hãy nhập tên cơ quan." in page
    assert db.session.query(Organisation).count() == 0
