"""The organisation directory and the referral picker in Vietnamese order, sorted in Python (issue 15)."""

from __future__ import annotations

from referral import services

NAMES = ["Eo Gió", "Zô", "Đồn Biên phòng", "Dương Liễu", "Ấp Bắc", "An Khánh"]
EXPECTED = ["An Khánh", "Ấp Bắc", "Dương Liễu", "Đồn Biên phòng", "Eo Gió", "Zô"]


def test_organisations_are_in_vietnamese_order_not_the_databases(app, make_org):
    orgs = [make_org(name=n) for n in NAMES]
    assert [o.name for o in services.in_vietnamese_order(orgs)] == EXPECTED
    assert sorted(NAMES) != EXPECTED  # code-point order puts "Đ" after "Z": the test can fail


def test_the_directory_page_lists_organisations_in_vietnamese_order(app, make_org, client, login, make_user):
    for n in NAMES:
        make_org(name=n)
    login(client, make_user("admin", username="admin_order"))
    response = client.get("/referral/organisations")
    assert response.status_code == 200
    page = response.text
    assert sorted(NAMES, key=page.index) == EXPECTED
