"""The receiver sees the minimum (issue 5): only referrals addressed to her organisation, and of each only
the fields she consented to share, through the screen and the API; everything else answers 404."""

from __future__ import annotations

import pytest

from casework.extensions import db
from casework.protect.fields import ProtectedMixin
from referral.models import Referral
from tests.referral.conftest import NAME, NARRATIVE, PHONE, SAFETY_PLAN, bearer, send

SECRETS = (NAME, PHONE, NARRATIVE, SAFETY_PLAN, "001190012345", "Thôn Bí Mật")


@pytest.fixture
def sent(client, world):
    return send(client, world).get_json()["id"]


def test_receiver_api_answer_has_only_the_shared_fields(client, world, sent):
    response = client.get(f"/api/v1/referrals/{sent}", headers=bearer(world.provider))
    assert response.status_code == 200
    body = response.get_json()
    assert body["shared_fields"] == ["age_band", "acts"]
    assert body["shared"] == {"age_band": "30_44", "acts": ["a", "b"]}
    assert "case_id" not in body and "case_reference" not in body
    text = response.get_data(as_text=True)
    assert not [s for s in (*SECRETS, world.case.reference, world.case.id) if s in text]


def test_receiver_screen_shows_only_the_shared_fields(client, world, sent, login):
    login(client, world.provider)
    response = client.get(f"/referral/{sent}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Nhóm tuổi" in page and "30–44 tuổi" in page and "Đánh đập, hành hạ" in page
    assert not [s for s in (*SECRETS, world.case.reference) if s in page]
    assert "<title>Chuyển gửi · Tin Cậy</title>" in page


def test_receiver_view_decrypts_only_the_shared_fields(client, world, make_case, monkeypatch):
    from casework.cases.consent import ConsentInput, give_consent
    from tests.referral.conftest import user_of

    give_consent(user_of(world.host), world.case, ConsentInput("share", service="police", fields=("phone", "acts")))
    db.session.commit()
    sent = send(client, world).get_json()["id"]
    decrypted: list[str] = []
    original = ProtectedMixin._decrypt

    def spy(self, column, blob):
        decrypted.append(f"{self.__tablename__}.{column}")
        return original(self, column, blob)

    monkeypatch.setattr(ProtectedMixin, "_decrypt", spy)
    db.session.expire_all()
    body = client.get(f"/api/v1/referrals/{sent}", headers=bearer(world.provider)).get_json()
    assert body["shared"] == {"phone": PHONE, "acts": ["a", "b"]}
    assert {d for d in decrypted if not d.startswith("referral.")} == {"case_person.phone_ct"}


def test_provider_of_another_organisation_gets_404_everywhere(client, world, sent, login):
    headers = bearer(world.other_provider)
    assert client.get(f"/api/v1/referrals/{sent}", headers=headers).status_code == 404
    for action, body in (("accept", None), ("decline", {"reason": "x"}), ("complete", {"outcome": "x"})):
        kwargs = {"json": body} if body else {}
        assert client.post(f"/api/v1/referrals/{sent}/{action}", headers=headers, **kwargs).status_code == 404
    assert client.get("/api/v1/referrals", headers=headers).get_json()["items"] == []
    login(client, world.other_provider)
    assert client.get(f"/referral/{sent}").status_code == 404
    assert client.post(f"/referral/{sent}/accept").status_code == 404
    db.session.expire_all()
    assert db.session.get(Referral, sent).state == "sent"


def test_provider_cannot_reach_the_case_or_its_referral_list(client, world, sent):
    headers = bearer(world.provider)
    assert client.get(f"/api/v1/cases/{world.case.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/cases/{world.case.id}/referrals", headers=headers).status_code == 404
    assert client.post(f"/api/v1/cases/{world.case.id}/referrals", headers=headers, json={
        "organisation_id": world.org.id, "service": "police", "reason": "x"}).status_code == 404


def test_receiver_list_holds_only_her_organisations_referrals(client, world, sent):
    other = send(client, world, organisation_id=world.other_org.id).get_json()["id"]
    mine = client.get("/api/v1/referrals", headers=bearer(world.provider)).get_json()["items"]
    theirs = client.get("/api/v1/referrals", headers=bearer(world.other_provider)).get_json()["items"]
    assert [r["id"] for r in mine] == [sent] and [r["id"] for r in theirs] == [other]
    assert "case_id" not in mine[0] and "case_reference" not in mine[0]


def test_receiver_no_longer_reads_her_data_once_declined(client, world, sent):
    client.post(f"/api/v1/referrals/{sent}/decline", json={"reason": "Không đủ người"}, headers=bearer(world.provider))
    body = client.get(f"/api/v1/referrals/{sent}", headers=bearer(world.provider)).get_json()
    assert body["shared_fields"] == [] and body["shared"] == {}


def test_other_roles_see_no_referral(client, world, sent, make_user):
    for role, scope in (("province_officer", {"scope": "19"}), ("admin", {}), ("coordinator", {}), ("auditor", {})):
        headers = bearer(make_user(role, **scope))
        assert client.get(f"/api/v1/referrals/{sent}", headers=headers).status_code == 404, role
        assert client.get("/api/v1/referrals", headers=headers).status_code == 404, role


def test_sender_sees_the_referral_but_not_through_another_commune(client, world, sent, make_user):
    assert client.get(f"/api/v1/referrals/{sent}", headers=bearer(world.officer)).status_code == 200
    stranger = make_user("commune_officer", scope="05528")
    assert client.get(f"/api/v1/referrals/{sent}", headers=bearer(stranger)).status_code == 404
