"""The referral screens with the test client: plain forms, a message per field, nothing stored on bad input."""

from __future__ import annotations

import pytest

from casework.extensions import db
from referral.models import Referral
from tests.referral.conftest import bearer, send


def test_new_referral_form_lists_the_consented_fields_and_serving_organisations(client, world, make_org, login):
    elsewhere = make_org(services=("police",), communes=("05528",), name="Công an nơi khác")
    login(client, world.host)
    page = client.get(f"/referral/cases/{world.case.id}/new?service=police").get_data(as_text=True)
    assert "<li>Nhóm tuổi</li>" in page and "<li>Chuyện đã xảy ra (hành vi)</li>" in page
    assert world.org.name in page and elsewhere.name not in page
    assert "<title>Chuyển gửi mới · Tin Cậy</title>" in page


def test_form_without_reason_or_organisation_shows_errors_and_stores_nothing(client, world, login):
    login(client, world.host)
    response = client.post(f"/referral/cases/{world.case.id}/new", data={"service": "police", "urgency": "normal",
                                                                         "reason": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Hãy chọn một cơ quan trong danh sách." in page and "Hãy viết ngắn gọn chị ấy cần gì" in page
    assert db.session.query(Referral).count() == 0


def test_form_without_consent_says_so_and_offers_no_send_button(client, world, login):
    login(client, world.host)
    page = client.get(f"/referral/cases/{world.case.id}/new?service=health").get_data(as_text=True)
    assert "Chị ấy chưa đồng ý chia sẻ thông tin nào với loại dịch vụ này." in page
    assert "Gửi chuyển gửi" not in page
    response = client.post(f"/referral/cases/{world.case.id}/new", data={
        "service": "health", "organisation_id": world.other_org.id, "urgency": "normal", "reason": "Khám"})
    assert response.status_code == 422 and db.session.query(Referral).count() == 0


def test_form_sends_the_referral_and_opens_it(client, world, login):
    login(client, world.host)
    response = client.post(f"/referral/cases/{world.case.id}/new", data={
        "service": "police", "organisation_id": world.org.id, "urgency": "urgent", "reason": "Bảo vệ"})
    assert response.status_code == 302
    referral = db.session.query(Referral).one()
    assert response.headers["Location"].endswith(f"/referral/{referral.id}")
    assert referral.urgency == "urgent" and referral.shared_fields == ["age_band", "acts"]


def test_decline_on_the_screen_needs_a_reason(client, world, login):
    referral_id = send(client, world).get_json()["id"]
    login(client, world.provider)
    response = client.post(f"/referral/{referral_id}/decline", data={"reason": ""})
    assert response.status_code == 422
    assert "Hãy cho biết vì sao cơ quan không thể nhận" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Referral, referral_id).state == "sent"
    assert client.post(f"/referral/{referral_id}/decline", data={"reason": "Không có bác sĩ"}).status_code == 302


def test_accept_twice_on_the_screen_is_a_409_with_a_message(client, world, login):
    referral_id = send(client, world).get_json()["id"]
    login(client, world.provider)
    assert client.post(f"/referral/{referral_id}/accept").status_code == 302
    response = client.post(f"/referral/{referral_id}/accept")
    assert response.status_code == 409 and "Chuyển gửi này đã được trả lời." in response.get_data(as_text=True)


def test_record_service_with_a_bad_date_keeps_the_referral_accepted(client, world, login):
    referral_id = send(client, world).get_json()["id"]
    client.post(f"/api/v1/referrals/{referral_id}/accept", headers=bearer(world.provider))
    login(client, world.provider)
    response = client.post(f"/referral/{referral_id}/complete",
                           data={"result": "provided", "service_date": "32/13/2026", "outcome": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Hãy nhập ngày theo dạng 05/03/2026." in page and "Hãy mô tả ngắn gọn kết quả." in page
    db.session.expire_all()
    assert db.session.get(Referral, referral_id).state == "accepted"


def test_sender_cancels_on_the_screen(client, world, login):
    referral_id = send(client, world).get_json()["id"]
    login(client, world.host)
    assert "Hủy chuyển gửi" in client.get(f"/referral/{referral_id}").get_data(as_text=True)
    assert client.post(f"/referral/{referral_id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(Referral, referral_id).state == "cancelled"


def test_case_panel_lists_the_referrals_of_the_case(app, client, world):
    from referral.views import case_panel
    from tests.referral.conftest import user_of

    referral_id = send(client, world).get_json()["id"]
    panel = app.extensions["tincay.case_panels"]
    assert case_panel in panel
    with app.test_request_context():
        html = str(case_panel(user_of(world.host), world.case))
        assert f"/referral/{referral_id}" in html and world.org.name in html
        assert str(case_panel(user_of(world.provider), world.case)) == ""


def test_case_page_shows_her_referral_and_reads_none_for_a_case_without_one(app, client, world, make_case, login):
    """Issue 18: the case page's own statement tells the panel whether the case has a referral; without one the
    panel says so and no statement reads the referral table."""
    from tests.cases.test_pages_floor import statements

    referral_id = send(client, world).get_json()["id"]
    without = make_case(world.host)
    login(client, world.host)
    page = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert f"/referral/{referral_id}" in page and world.org.name in page
    with statements() as seen:
        page = client.get(f"/cases/{without.id}").get_data(as_text=True)
    assert '<section class="card" id="referrals"' in page and "Chưa có chuyển gửi nào." in page
    assert referral_id not in page
    assert [s for s in seen if s.startswith("SELECT referral.")] == []  # the panel's own query


def test_case_panel_never_lists_a_referral_of_a_case_out_of_her_scope(app, client, world, make_address, make_user):
    from referral.views import case_panel
    from tests.referral.conftest import user_of

    referral_id = send(client, world).get_json()["id"]
    elsewhere = make_user("host", address_ids=(make_address("05533").id,))
    with app.test_request_context():
        html = str(case_panel(user_of(elsewhere), world.case))
    assert referral_id not in html and world.org.name not in html and "Chưa có chuyển gửi nào." in html


@pytest.mark.parametrize("age, expected", [(2016, True), (1990, False)])
def test_a_child_gets_the_hotline_111_suggestion(client, world, make_case, login, age, expected):
    case = make_case(world.host, birth_year=age)
    login(client, world.host)
    page = client.get(f"/referral/cases/{case.id}/new").get_data(as_text=True)
    assert ("111" in page and "bảo vệ trẻ em của xã" in page) is expected
    body = client.get(f"/api/v1/cases/{case.id}/referrals", headers=bearer(world.host)).get_json()
    assert (body["suggestions"] == ["child_protection"]) is expected


def test_accompanying_children_under_16_are_pointed_out(client, world, make_case, login):
    case = make_case(world.host, children_ages=(4, 9))
    login(client, world.host)
    page = client.get(f"/referral/cases/{case.id}/new").get_data(as_text=True)
    assert "Có trẻ em dưới 16 tuổi đi cùng chị ấy." in page


def test_the_empty_referral_panel_speaks_the_page_language_and_gives_way_to_a_referral(client, world, make_case,
                                                                                       login):
    """The panel of a case without referral is made once per language (most cases have none): each language gets
    its own, and a case with a referral gets its list, not that panel."""
    without = make_case(world.host)
    login(client, world.host)
    page = client.get(f"/cases/{without.id}").get_data(as_text=True)
    assert "Chưa có chuyển gửi nào." in page
    assert client.post("/language", data={"lang": "en", "next": "/cases"}).status_code == 303
    for _ in range(2):  # made, then reused
        page = client.get(f"/cases/{without.id}").get_data(as_text=True)
        assert "No referral yet." in page and "Chưa có chuyển gửi nào." not in page
    referral_id = send(client, world).get_json()["id"]
    page = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert f"/referral/{referral_id}" in page and "No referral yet." not in page
    assert client.post("/language", data={"lang": "vi", "next": "/cases"}).status_code == 303
    assert "Chưa có chuyển gửi nào." in client.get(f"/cases/{without.id}").get_data(as_text=True)
