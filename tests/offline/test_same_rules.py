"""An offline entry is judged by the schema and the service of the online API it stands for (issue 14): the same
body gets the same messages per field, whether it came sealed from a phone or straight to the API."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from casework.cases.models import Case, FollowUp, ShelterStay
from casework.extensions import db
from casework.offline.models import OfflineDraft
from tests.offline.conftest import follow_up_body, intake_body, seal


def _problems(world, server_key, send, body: dict) -> dict:
    [result] = send(world.host_a, seal(server_key, world.host_a.id, body))
    assert result["status"] == "needs_correction" and result["draft_id"], result
    return json.loads(db.session.get(OfflineDraft, result["draft_id"]).problems)


def _online(response) -> dict:
    assert response.status_code == 422, response.get_json()
    return response.get_json()["error"]["fields"]


def test_a_bad_offline_intake_gets_the_online_intakes_messages(world, server_key, send, client, token):
    # A schema error (the act, the phone, the consent) and one only the service sees (an intake before 2025
    # needs the commune of its time): both ways in report both, in one answer.
    body = intake_body(world.addr_a.id, acts=["z"], intake_at="2024-06-01T10:00:00+07:00",
                       person={"full_name": "Lan", "phone": "gọi cho tôi", "birth_year": "1990"},
                       consent={"record": False, "statistics": "yes"})
    online = _online(client.post("/api/v1/cases", json=body, headers=token(world.host_a)))
    assert {"acts", "person.phone", "person.birth_year", "consent.record", "consent.statistics",
            "legacy_commune_code"} <= set(online)
    assert _problems(world, server_key, send, body) == online
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_an_offline_intake_without_an_address_takes_the_hosts_only_one(world, server_key, send):
    [result] = send(world.host_a, seal(server_key, world.host_a.id, intake_body()))
    assert result["status"] == "saved"
    assert db.session.get(Case, result["case_id"]).address_id == world.addr_a.id


def test_a_bad_offline_follow_up_gets_the_online_follow_ups_messages(world, server_key, send, client, token,
                                                                     make_case):
    case_id = make_case(world.host_a, world.addr_a)
    body = follow_up_body(case_id, on="05/03/2026", kind="letter", violence_recurred="no", note=["?"])
    online = _online(client.post(f"/api/v1/cases/{case_id}/follow-ups", json=body, headers=token(world.host_a)))
    assert set(online) == {"on", "kind", "violence_recurred", "note"}
    assert _problems(world, server_key, send, body) == online
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_a_bad_offline_shelter_stay_gets_the_online_stays_messages(world, server_key, send, client, token,
                                                                   make_case):
    case_id = make_case(world.host_a, world.addr_a)
    body = {"type": "shelter_stay", "case_id": case_id, "essentials": ["car"], "money_vnd": "1.500"}
    online = _online(client.post(f"/api/v1/cases/{case_id}/shelter-stays", json=body, headers=token(world.host_a)))
    assert set(online) == {"start_on", "essentials", "money_vnd"}
    assert _problems(world, server_key, send, body) == online
    assert db.session.scalar(select(func.count()).select_from(ShelterStay)) == 0
