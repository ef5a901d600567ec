"""Moving a case to another trusted address (issue 13): the commune officer asks, a commune officer of the
receiving commune accepts; the old host loses the case only then; history, search and scope follow."""

from __future__ import annotations

import pytest

from casework import notify, work
from casework.cases import services, transfer
from casework.errors import NotFound, StateError, ValidationError
from casework.extensions import db
from tests.cases.conftest import NAME, user_of


def _visible(account, case_id) -> bool:
    return db.session.scalar(services.cases_visible_to(user_of(account)).where(services.Case.id == case_id)) is not None


def test_a_move_changes_nothing_until_the_receiving_commune_accepts(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    case = db.session.get(services.Case, case_id)
    row = transfer.request_transfer(user_of(world.officer_a), case, world.addr_b.id, "Chị về nhà mẹ đẻ")
    db.session.commit()
    assert _visible(world.host_a, case_id) and not _visible(world.host_b, case_id)
    queue = work.work_for(user_of(world.officer_b)).items
    assert ("transfer_decision", row.id) in [(i.kind, i.object_id) for i in queue]
    assert "transfer_requested" in [n.kind for n in notify.notifications_for(user_of(world.officer_b)).items]
    transfer.accept_transfer(user_of(world.officer_b), row)
    db.session.commit()
    assert not _visible(world.host_a, case_id) and _visible(world.host_b, case_id)
    assert not _visible(world.officer_a, case_id) and _visible(world.officer_b, case_id)
    kinds = [e.kind for e in services.timeline(db.session.get(services.Case, case_id))]
    assert "intake" in kinds and "transfer_requested" in kinds and "transfer_accepted" in kinds


def test_a_move_to_another_province_rewrites_her_search_index(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    case = db.session.get(services.Case, case_id)
    row = transfer.request_transfer(user_of(world.officer_a), case, world.addr_c.id, "Chuyển đến tỉnh khác")
    officer_c = user_of(world.officer_b)
    officer_c.commune_code = world.addr_c.commune_code
    transfer.accept_transfer(officer_c, row)
    db.session.commit()
    assert [c.id for c in services.search_cases(user_of(world.host_c), "nguyen thi hanh")] == [case_id]
    assert services.search_cases(user_of(world.host_a), "nguyen thi hanh") == []


def test_only_the_case_communes_officer_asks_and_only_the_receiving_one_decides(world, make_case, req):
    case_id = make_case(world.host_a, world.addr_a)
    case = db.session.get(services.Case, case_id)
    with pytest.raises(NotFound):
        transfer.request_transfer(user_of(world.host_a), case, world.addr_b.id, "x")
    row = transfer.request_transfer(user_of(world.officer_a), case, world.addr_b.id, "Lý do")
    with pytest.raises(NotFound):
        transfer.accept_transfer(user_of(world.officer_a), row)  # the sender cannot accept her own move
    with pytest.raises(StateError):
        transfer.request_transfer(user_of(world.officer_a), case, world.addr_a2.id, "Lần hai")


def test_bad_moves_are_refused_per_field(world, make_case, req):
    case = db.session.get(services.Case, make_case(world.host_a, world.addr_a))
    with pytest.raises(ValidationError) as caught:
        transfer.request_transfer(user_of(world.officer_a), case, world.addr_a.id, "")
    assert set(caught.value.fields) == {"address_id", "reason"}


def test_api_transfer_then_accept_with_the_contract_shapes(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    response = client.post(f"/api/v1/cases/{case_id}/transfer", json={"address_id": world.addr_b.id,
                                                                      "reason": "Chị chuyển đi"},
                           headers=token(world.officer_a))
    assert response.status_code == 202 and response.get_json()["state"] == "pending"
    transfer_id = response.get_json()["id"]
    assert client.post(f"/api/v1/transfers/{transfer_id}/accept", headers=token(world.host_b)).status_code == 404
    response = client.post(f"/api/v1/transfers/{transfer_id}/accept", headers=token(world.officer_b))
    assert response.status_code == 200 and response.get_json()["state"] == "accepted"
    assert client.get(f"/api/v1/cases/{case_id}", headers=token(world.host_a)).status_code == 404
    body = client.get(f"/api/v1/cases/{case_id}", headers=token(world.host_b)).get_json()
    assert body["person"]["full_name"] == NAME
    again = client.post(f"/api/v1/transfers/{transfer_id}/accept", headers=token(world.officer_b))
    assert again.status_code == 409


def test_transfer_screens_work_without_javascript(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    officer = signed_in(world.officer_a)
    page = officer.get(f"/cases/{case_id}/transfer?province=19").get_data(as_text=True)
    assert world.addr_b.id in page and "Chuyển sang ĐCTC khác" in page
    response = officer.post(f"/cases/{case_id}/transfer", data={"province": "19", "step": "save",
                                                               "address_id": world.addr_b.id, "reason": "Chuyển đi"})
    assert response.status_code == 302
    transfer_id = db.session.scalar(db.select(transfer.CaseTransfer.id))
    receiver = signed_in(world.officer_b)
    assert "Tiếp nhận hoặc từ chối" in receiver.get("/work/").get_data(as_text=True)
    response = receiver.post(f"/transfers/{transfer_id}", data={"decision": "accept"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case_id}")


def test_a_closed_case_offers_no_move_and_no_referral(world, make_case, signed_in):
    """Found by the browser journey: the closed case's page offered "move" and "refer her", both refused."""
    from datetime import timedelta

    from casework.cases import services
    from casework.models import utcnow
    from tests.cases.conftest import user_of

    case_id = make_case(world.host_a, world.addr_a, commune_notified_at=utcnow() - timedelta(hours=1))
    officer = signed_in(world.officer_a)
    page = officer.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"/cases/{case_id}/transfer" in page and f"/referral/cases/{case_id}/new" in page
    with officer.application.test_request_context():
        case = db.session.get(services.Case, case_id)
        services.request_closure(user_of(world.host_a), case, "safe_reintegrated")
        services.decide_closure(user_of(world.officer_a), case, "approve")
        db.session.commit()
    page = officer.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Đã đóng" in page and f"/cases/{case_id}/reopen" in page
    assert f"/cases/{case_id}/transfer" not in page and f"/referral/cases/{case_id}/new" not in page


def test_transfer_screens_label_the_move_not_a_new_address_or_a_date(world, make_case, signed_in):
    """Found by the transfer journey: the address picker was labelled "Thêm địa chỉ tin cậy" (the admin's
    "add an address") and the move's destination "Đến ngày" (the date filter's "to")."""
    case_id = make_case(world.host_a, world.addr_a)
    officer = signed_in(world.officer_a)
    page = officer.get(f"/cases/{case_id}/transfer").get_data(as_text=True)
    assert "ĐCTC nơi chị ấy chuyển đến" in page and "Thêm địa chỉ tin cậy" not in page
    officer.post(f"/cases/{case_id}/transfer", data={"province": "19", "step": "save",
                                                     "address_id": world.addr_b.id, "reason": "Chuyển đi"})
    transfer_id = db.session.scalar(db.select(transfer.CaseTransfer.id))
    page = signed_in(world.officer_b).get(f"/transfers/{transfer_id}").get_data(as_text=True)
    assert "<dt>Chuyển từ</dt>" in page and "<dt>Chuyển đến</dt>" in page and "Đến ngày" not in page


def test_on_acceptance_the_new_host_is_told_it_arrived_and_the_old_one_that_it_left(world, make_case, signed_in):
    """Found by the moving journey: the case appeared in one host's list and vanished from the other's, and
    neither was told. The notices carry the case code, never her name; the old host's has no link."""
    case_id = make_case(world.host_a, world.addr_a)
    officer = signed_in(world.officer_a)
    officer.post(f"/cases/{case_id}/transfer", data={"province": "19", "step": "save",
                                                     "address_id": world.addr_b.id, "reason": "Chuyển đi"})
    transfer_id = db.session.scalar(db.select(transfer.CaseTransfer.id))
    assert db.session.scalar(db.select(db.func.count()).select_from(notify.Notification).where(
        notify.Notification.kind.in_(("transfer_arrived", "transfer_moved_away")))) == 0  # nothing before
    signed_in(world.officer_b).post(f"/transfers/{transfer_id}", data={"decision": "accept"})
    reference = db.session.get(services.Case, case_id).reference

    def notes(account):
        return [(n.kind, n.object_type, n.object_id) for n in db.session.scalars(
            db.select(notify.Notification).where(notify.Notification.user_id == account.id))]

    assert notes(world.host_b) == [("transfer_arrived", "case", case_id)]
    assert notes(world.host_a) == [("transfer_moved_away", "case_moved", None)]
    assert notes(world.host_c) == []
    new_host = signed_in(world.host_b).get("/notifications/").get_data(as_text=True)
    assert f"Hồ sơ {reference} đã được chuyển đến ĐCTC của bạn" in new_host and f'href="/cases/{case_id}"' in new_host
    old_host = signed_in(world.host_a).get("/notifications/").get_data(as_text=True)
    assert f"Hồ sơ {reference} đã được chuyển sang ĐCTC khác" in old_host and f"/cases/{case_id}" not in old_host
    assert NAME not in new_host and NAME not in old_host


def test_the_case_page_says_a_move_is_waiting_until_it_is_decided(world, make_case, signed_in):
    """Found by the browser journey: only the flash, the timeline and the transfer screen said so."""
    case_id = make_case(world.host_a, world.addr_a)
    host, officer = signed_in(world.host_a), signed_in(world.officer_a)
    assert 'id="moving"' not in host.get(f"/cases/{case_id}").get_data(as_text=True)
    row = transfer.request_transfer(user_of(world.officer_a), db.session.get(services.Case, case_id),
                                    world.addr_b.id, "Chị về nhà mẹ đẻ")
    db.session.commit()
    page = host.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="moving"' in page and "đang chờ xã tiếp nhận" in page
    assert f"/transfers/{row.id}" not in page  # the host cannot open the move itself
    assert f"/transfers/{row.id}" in officer.get(f"/cases/{case_id}").get_data(as_text=True)
    transfer.decline_transfer(user_of(world.officer_b), db.session.get(transfer.CaseTransfer, row.id), "Không đủ chỗ")
    db.session.commit()
    assert 'id="moving"' not in host.get(f"/cases/{case_id}").get_data(as_text=True)


def test_a_move_takes_her_stays_and_bans_to_the_new_place(world, make_case, req):
    """The queue finds stays and bans by their own copy of the case's place: it must follow the move."""
    from casework.cases.models import ContactBan, ShelterStay

    case_id = make_case(world.host_a, world.addr_a)
    case = db.session.get(services.Case, case_id)
    db.session.add(ShelterStay(case=case, start_on=services.local_today()))
    db.session.flush()
    stay = db.session.scalar(db.select(ShelterStay).where(ShelterStay.case_id == case_id))
    assert (stay.address_id, stay.commune_code) == (world.addr_a.id, world.addr_a.commune_code)
    row = transfer.request_transfer(user_of(world.officer_a), case, world.addr_b.id, "Chị về nhà mẹ đẻ")
    transfer.accept_transfer(user_of(world.officer_b), row)
    db.session.commit()
    for model in (ShelterStay, ContactBan):
        for address_id, commune in db.session.execute(db.select(model.address_id, model.commune_code)
                                                      .where(model.case_id == case_id)):
            assert (address_id, commune) == (world.addr_b.id, world.addr_b.commune_code)
    assert db.session.scalar(db.select(db.func.count()).select_from(ShelterStay)
                             .where(ShelterStay.case_id == case_id)) == 1
