"""Two people editing the same case: the second save is refused with a message, never silently overwritten."""

from __future__ import annotations

import pytest

from casework.cases import services
from casework.cases.models import Case
from casework.errors import StateError
from casework.extensions import db
from tests.cases.conftest import user_of
from tests.cases.test_intake import form


def _edit_form(client, case_id) -> dict:
    page = client.get(f"/cases/{case_id}/edit").text
    version = page.split('name="version"')[1].split('value="')[1].split('"')[0]
    return version


def test_the_second_of_two_concurrent_form_saves_is_refused_with_a_message(world, make_case, signed_in):
    case_id = make_case(world.host_a, world.addr_a)
    host, officer = signed_in(world.host_a), signed_in(world.officer_a)
    v_host, v_officer = _edit_form(host, case_id), _edit_form(officer, case_id)
    assert v_host == v_officer
    first = host.post(f"/cases/{case_id}/edit", data=form(world.addr_a, version=v_host, narrative="Bản của chủ nhà"))
    assert first.status_code == 302
    second = officer.post(f"/cases/{case_id}/edit",
                          data=form(world.addr_a, version=v_officer, narrative="Bản của cán bộ xã"))
    assert second.status_code == 409
    assert "Người khác đã sửa hồ sơ này" in second.text
    db.session.expire_all()
    assert db.session.get(Case, case_id).narrative == "Bản của chủ nhà"


def test_a_stale_patch_in_the_api_answers_409(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    headers = token(world.host_a)
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["version"]
    ok = client.patch(f"/api/v1/cases/{case_id}", json={"version": version, "narrative": "một"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["version"] == version + 1
    stale = client.patch(f"/api/v1/cases/{case_id}", json={"version": version, "narrative": "hai"}, headers=headers)
    assert stale.status_code == 409
    assert stale.get_json()["error"]["fields"]["version"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["narrative"] == "một"


def test_a_patch_without_its_version_is_refused(world, make_case, token, client):
    case_id = make_case(world.host_a, world.addr_a)
    response = client.patch(f"/api/v1/cases/{case_id}", json={"narrative": "x"}, headers=token(world.host_a))
    assert response.status_code == 422 and "version" in response.get_json()["error"]["fields"]


def test_two_transactions_racing_on_the_same_version_cannot_both_win(app, world, make_case, req):
    """Both load version 1 and pass the check; the row's version guard lets only the first UPDATE through."""
    case_id = make_case(world.host_a, world.addr_a)
    mine = db.session.get(Case, case_id)
    data = services.intake_data_of(mine)
    with app.app_context(), app.test_request_context():  # another request, another session
        theirs = db.session.get(Case, case_id)
        services.update_case(user_of(world.officer_a), theirs, theirs.version,
                             services.with_changes(services.intake_data_of(theirs), narrative="first"))
        db.session.commit()
    assert mine.version == 1  # still what this request loaded
    with pytest.raises(StateError):
        services.update_case(user_of(world.host_a), mine, 1, services.with_changes(data, narrative="second"))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Case, case_id).narrative == "first"
