"""The register of trusted addresses: commune officers and admins manage it, a host sees her own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casework.cases.models import Address, AddressSupport, AddressTraining
from casework.cases.services import local_today
from casework.extensions import db
from casework.protect.audit import AuditEvent
from tests.cases.conftest import COMMUNE_A, COMMUNE_B


def test_a_commune_officer_registers_an_address_in_her_commune(world, signed_in):
    client = signed_in(world.officer_a)
    assert client.get("/addresses/new").status_code == 200
    today = local_today()
    response = client.post("/addresses/new", data={
        "name": "Nhà chị Demo", "kind": "household", "commune_code": COMMUNE_B,
        "declared_on": (today - timedelta(days=30)).isoformat(), "published_on": today.isoformat(), "active": "y"})
    assert response.status_code == 302
    address = db.session.scalars(select(Address).where(Address.name == "Nhà chị Demo")).one()
    assert address.commune_code == COMMUNE_A  # her own commune, whatever the form said
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "address_create")).one()


def test_published_before_declared_is_refused(world, signed_in):
    today = local_today()
    response = signed_in(world.officer_a).post("/addresses/new", data={
        "name": "X", "kind": "household", "declared_on": today.isoformat(),
        "published_on": (today - timedelta(days=3)).isoformat()})
    assert response.status_code == 422 and "Không thể công bố trước" in response.text


def test_an_officer_cannot_register_or_change_an_address_of_another_commune(world, token, client, signed_in):
    response = client.post("/api/v1/addresses", json={"name": "X", "commune_code": COMMUNE_B, "kind": "household"},
                           headers=token(world.officer_a))
    assert response.status_code == 422 and "commune_code" in response.get_json()["error"]["fields"]
    assert signed_in(world.officer_a).get(f"/addresses/{world.addr_b.id}/edit").status_code == 404


def test_trainings_and_support_packages_are_recorded(world, signed_in):
    client = signed_in(world.officer_a)
    day = (local_today() - timedelta(days=10)).isoformat()
    assert client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "training", "t-held_on": day, "t-topic": "Kỹ năng tiếp nhận", "t-organiser": "Hội LHPN"}
    ).status_code == 302
    assert client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "support", "s-received_on": day, "s-kind": "money", "s-description": "Kinh phí",
        "s-amount_vnd": "1.500.000"}).status_code == 302
    assert db.session.scalars(select(AddressTraining)).one().topic == "Kỹ năng tiếp nhận"
    assert db.session.scalars(select(AddressSupport)).one().amount_vnd == 1_500_000
    page = client.get(f"/addresses/{world.addr_a.id}").text
    assert "Kỹ năng tiếp nhận" in page and "1.500.000 ₫" in page


def test_a_host_sees_her_own_address_only_and_cannot_change_it(world, signed_in):
    client = signed_in(world.host_a)
    listing = client.get("/addresses").text
    assert "ĐCTC A" in listing and "ĐCTC B" not in listing
    assert client.get(f"/addresses/{world.addr_b.id}").status_code == 404
    assert client.get(f"/addresses/{world.addr_a.id}/edit").status_code == 404
    assert client.post(f"/addresses/{world.addr_a.id}", data={"action": "training"}).status_code == 404


def test_the_address_api_follows_the_contract(world, token, client):
    headers = token(world.admin)
    created = client.post("/api/v1/addresses", json={"name": "ĐCTC Mới", "commune_code": "01843",
                                                     "kind": "household"}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["id"] and body["commune_code"] == "01843" and body["province_code"] == "19"
    ids = [a["id"] for a in client.get("/api/v1/addresses", headers=headers).get_json()["items"]]
    assert body["id"] in ids
    own = [a["id"] for a in client.get("/api/v1/addresses", headers=token(world.host_a)).get_json()["items"]]
    assert own == [world.addr_a.id]


def test_the_province_sets_its_shelter_limit(world, signed_in, req):
    from casework.cases import services

    client = signed_in(world.province_19)
    assert client.get("/addresses/settings").status_code == 200
    assert client.post("/addresses/settings", data={"max_shelter_days": "10"}).status_code == 302
    assert services.max_shelter_days("19") == 10
    assert client.post("/addresses/settings", data={"max_shelter_days": "0"}).status_code == 422


def test_only_an_admin_chooses_the_province_of_the_settings(world, signed_in):
    """The admin opens a province from a list whose button says "Xem" (it said "Đang hỗ trợ", the words of an
    open case, when each page wrote its own chooser); an officer has no list and keeps her own province, whatever
    the address asks for."""
    admin = signed_in(world.admin).get("/addresses/settings?province=19").get_data(as_text=True)
    assert 'name="province">' in admin and "<button type=\"submit\">Xem</button>" in admin
    assert "Đang hỗ trợ" not in admin and 'type="hidden" name="province" value="19"' in admin
    unknown = signed_in(world.admin).get("/addresses/settings?province=99").get_data(as_text=True)
    assert 'name="province">' in unknown and 'type="hidden" name="province"' not in unknown
    officer = signed_in(world.province_19).get("/addresses/settings?province=01").get_data(as_text=True)
    assert 'name="province">' not in officer and 'type="hidden" name="province" value="19"' in officer


def test_a_support_package_of_billions_is_kept_whole_and_more_than_ten_billion_refused(world, signed_in):
    """The service accepts up to 10 billion đồng: the column holds it (a 32-bit column failed above 2.1 billion
    on PostgreSQL with a 500)."""
    client = signed_in(world.officer_a)
    day = (local_today() - timedelta(days=3)).isoformat()
    form = {"action": "support", "s-received_on": day, "s-kind": "money", "s-description": "Xây bếp"}
    assert client.post(f"/addresses/{world.addr_a.id}", data={**form, "s-amount_vnd": "3.000.000.000"}
                       ).status_code == 302
    assert db.session.scalars(select(AddressSupport)).one().amount_vnd == 3_000_000_000
    refused = client.post(f"/addresses/{world.addr_a.id}", data={**form, "s-amount_vnd": "10.000.000.001"})
    assert refused.status_code == 422 and "Hãy nhập số tiền bằng đồng, từ 0 trở lên." in refused.text
    assert len(db.session.scalars(select(AddressSupport)).all()) == 1


def test_the_database_refuses_a_negative_support_amount(world):
    db.session.add(AddressSupport(address_id=world.addr_a.id, received_on=local_today(), kind="money",
                                  amount_vnd=-1))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_text_too_long_for_its_column_is_refused_with_its_field_not_cut_short(world, signed_in):
    """The forms draw ``maxlength``, but a request can send more: the topic, organiser and description are refused
    with their field's message and nothing is stored (they used to be cut to 200 characters without a word)."""
    client = signed_in(world.officer_a)
    day = (local_today() - timedelta(days=3)).isoformat()
    too_long = "Kỹ năng " * 30  # 240 characters
    training = client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "training", "t-held_on": day, "t-topic": too_long, "t-organiser": too_long})
    assert training.status_code == 422 and training.text.count("Tối đa 200 ký tự.") >= 2
    support = client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "support", "s-received_on": day, "s-kind": "money", "s-description": too_long})
    assert support.status_code == 422 and "Tối đa 200 ký tự." in support.text
    assert db.session.scalars(select(AddressTraining)).all() == []
    assert db.session.scalars(select(AddressSupport)).all() == []
    exactly = "x" * 200
    assert client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "training", "t-held_on": day, "t-topic": exactly}).status_code == 302
    assert db.session.scalars(select(AddressTraining)).one().topic == exactly


def test_each_address_form_says_every_mistake_at_once_and_keeps_nothing(world, signed_in):
    """The training and support forms are read by their schemas (``AddressTrainingIn``, ``AddressSupportIn``), as
    every other input: each field's message in one answer, the other form's fields left alone."""
    client = signed_in(world.officer_a)
    training = client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "training", "t-held_on": "", "t-topic": "  ", "s-kind": "nonsense"})
    assert training.status_code == 422
    assert "Hãy nhập ngày." in training.text and "Hãy nhập chủ đề tập huấn." in training.text
    assert "Hãy chọn loại trong danh sách." not in training.text  # the support form was not sent
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    support = client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "support", "s-received_on": tomorrow, "s-kind": "nonsense", "s-amount_vnd": "-5"})
    assert support.status_code == 422
    for message in ("Ngày không thể ở tương lai.", "Hãy chọn loại trong danh sách.",
                    "Hãy nhập số tiền bằng đồng, từ 0 trở lên."):
        assert message in support.text
    wrong_day = client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "training", "t-held_on": "31/02/2026", "t-topic": "Kỹ năng"})
    assert wrong_day.status_code == 422 and "Hãy nhập ngày theo dạng 05/03/2026." in wrong_day.text
    assert db.session.scalars(select(AddressTraining)).all() == []
    assert db.session.scalars(select(AddressSupport)).all() == []
    assert client.post(f"/addresses/{world.addr_a.id}", data={
        "action": "support", "s-received_on": local_today().strftime("%d/%m/%Y"), "s-kind": "supplies"}
    ).status_code == 302
    kept = db.session.scalars(select(AddressSupport)).one()
    assert (kept.kind, kept.description, kept.amount_vnd) == ("supplies", "", None)


def test_the_province_settings_form_names_each_mistake_and_changes_nothing(world, signed_in):
    """``ProvinceSettingsIn`` reads the form: a word where a number goes and a number out of range are each said on
    their field; a blank number of hours leaves the province's hours as they are."""
    from casework.cases import services

    client = signed_in(world.province_19)
    refused = client.post("/addresses/settings", data={"max_shelter_days": "mười", "notice_hours": "200"})
    assert refused.status_code == 422
    assert "Nhập một số nguyên." in refused.text and "Hãy nhập số giờ từ 1 đến 168." in refused.text
    assert (services.max_shelter_days("19"), services.notice_hours("19")) == (7, 24)
    assert client.post("/addresses/settings", data={"max_shelter_days": "10", "notice_hours": "48"}).status_code == 302
    assert client.post("/addresses/settings", data={"max_shelter_days": "12", "notice_hours": ""}).status_code == 302
    assert (services.max_shelter_days("19"), services.notice_hours("19")) == (12, 48)


def test_a_commune_notice_time_typed_wrong_is_refused_with_its_words(world, signed_in, make_case):
    from casework.cases.models import Case

    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    refused = client.post(f"/cases/{case_id}/notice", data={"commune_notified_at": "hôm qua"}, follow_redirects=True)
    assert "Hãy nhập ngày giờ theo dạng 05/03/2026 21:30." in refused.text
    assert db.session.get(Case, case_id).commune_notified_at is None


def test_only_who_manages_an_address_adds_to_its_history_even_past_the_screen(world, req):
    """The service keeps its own scope rule (the screen answers 404 before it): a host of the address, or an
    officer of another commune, adds nothing and gets "not found"."""
    from casework.cases import schemas, services
    from casework.errors import NotFound
    from tests.cases.conftest import user_of

    training = schemas.AddressTrainingIn.from_values(held_on=local_today(), topic="Kỹ năng")
    support = schemas.AddressSupportIn.from_values(received_on=local_today(), kind="money", amount_vnd=5)
    for account, address in ((world.host_a, world.addr_a), (world.officer_a, world.addr_b)):
        with pytest.raises(NotFound):
            services.add_training(user_of(account), db.session.get(Address, address.id), training)
        with pytest.raises(NotFound):
            services.add_support(user_of(account), db.session.get(Address, address.id), support)
    assert db.session.scalars(select(AddressTraining)).all() == []
    assert db.session.scalars(select(AddressSupport)).all() == []
    added = services.add_training(user_of(world.officer_a), db.session.get(Address, world.addr_a.id), training)
    assert added.address_id == world.addr_a.id
