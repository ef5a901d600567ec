""""Nhà an toàn" (the safe houses of the 2025 direction): an organisation kind ``safe_house``, a kind of service
she can consent to share with and be referred to, and a kind of trusted address (issue 15)."""

from __future__ import annotations

from casework.cases import codes
from casework.service_types import SERVICE_TYPES
from referral.models import ORGANISATION_KINDS, Referral
from referral.tables import REFERRAL_SERVICE
from tests.referral.conftest import bearer


def test_safe_house_is_an_organisation_kind_a_service_an_address_kind_and_a_statistics_category():
    assert "safe_house" in ORGANISATION_KINDS and "safe_house" in SERVICE_TYPES
    assert "safe_house" in codes.ADDRESS_KINDS and "SAFE_HOUSE" in REFERRAL_SERVICE.codes()


def test_a_case_is_referred_to_a_safe_house_with_her_consent(client, app, make_user, make_address, make_org,
                                                              make_case):
    from casework.extensions import db

    address = make_address("05533")
    host = make_user("host", address_ids=(address.id,))
    admin = make_user("admin", username="admin_safe")
    created = client.post("/api/v1/organisations", headers=bearer(admin), json={
        "name": "Nhà an toàn tỉnh Thái Nguyên", "kind": "safe_house", "province_code": "19",
        "commune_codes": ["05533"], "services": ["safe_house"], "contact": "0208 3855 000"})
    assert created.status_code == 201, created.get_json()
    case = make_case(host, share={"safe_house": ("age_band", "acts")})
    response = client.post(f"/api/v1/cases/{case.id}/referrals", headers=bearer(host), json={
        "organisation_id": created.get_json()["id"], "service": "safe_house", "urgency": "urgent",
        "reason": "Cần chỗ ở an toàn dài ngày"})
    assert response.status_code == 201, response.get_json()
    assert db.session.query(Referral).one().service == "safe_house"


def test_the_organisation_form_offers_the_safe_house_kind(client, make_user, login):
    admin = make_user("admin", username="admin_form")
    login(client, admin)
    page = client.get("/referral/organisations/new").get_data(as_text=True)
    assert 'value="safe_house"' in page and "Nhà an toàn" in page
