"""POST /api/v1/offline/entries (issue 17): the wire format, exactly-once saving, and every bad input."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from casework.cases.models import Case, FollowUp, Person
from casework.cases.services import local_today
from casework.extensions import db
from casework.models import utcnow
from casework.offline.models import OfflineDraft, OfflineReceipt
from casework.protect.audit import AuditEvent
from tests.cases.conftest import NAME, PHONE
from tests.offline.conftest import b64u, follow_up_body, intake_body, seal, unb64u


def _cases() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case))


def _audit_text() -> str:
    rows = db.session.scalars(select(AuditEvent)).all()
    return json.dumps([[e.action, e.object_type, e.object_id, e.fields, e.outcome, e.detail] for e in rows],
                      ensure_ascii=False)


# --- the key ------------------------------------------------------------------------------------------------


def test_the_key_is_an_uncompressed_p256_point_with_the_stated_algorithm(server_key):
    assert server_key["alg"] == "ECDH-P256+HKDF-SHA256+A256GCM"
    assert server_key["key_id"] == "offline.v1"
    point = unb64u(server_key["public_key"])
    assert len(point) == 65 and point[0] == 4


def test_the_key_needs_a_signed_in_worker(client, world, token):
    assert client.get("/api/v1/offline/key").status_code == 401
    assert client.get("/api/v1/offline/key", headers=token(world.coordinator)).status_code == 404
    assert client.post("/api/v1/offline/entries", json={"entries": []}).status_code == 401


def test_the_key_is_served_to_the_web_app_through_its_session(world, signed_in, server_key):
    browser = signed_in(world.host_a)
    response = browser.get("/api/v1/offline/key")
    assert response.status_code == 200 and response.get_json() == server_key


# --- saving ---------------------------------------------------------------------------------------------------


def test_a_sealed_intake_is_saved_as_a_case_of_the_hosts_address(world, server_key, send):
    entry = seal(server_key, world.host_a.id, intake_body())
    [result] = send(world.host_a, entry)
    assert result["status"] == "saved" and result["id"] == entry["id"]
    case = db.session.get(Case, result["case_id"])
    assert case.address_id == world.addr_a.id and case.person.full_name == NAME and case.person.phone == PHONE


def test_the_same_entry_sent_again_is_a_duplicate_and_saves_nothing_twice(world, server_key, send):
    entry = seal(server_key, world.host_a.id, intake_body(world.addr_a.id))
    first = send(world.host_a, entry)
    again = send(world.host_a, entry, entry)
    assert first[0]["status"] == "saved"
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert again[0]["case_id"] == first[0]["case_id"]
    assert _cases() == 1


def test_the_same_entry_twice_in_one_batch_is_saved_once(world, server_key, send):
    entry = seal(server_key, world.host_a.id, intake_body())
    results = send(world.host_a, entry, dict(entry))
    assert [r["status"] for r in results] == ["saved", "duplicate"] and _cases() == 1


def test_a_follow_up_and_a_shelter_stay_are_saved_on_the_case(world, server_key, send, make_case):
    case_id = make_case(world.host_a, world.addr_a)
    reference = db.session.get(Case, case_id).reference
    stay = {"type": "shelter_stay", "case_id": case_id, "start_on": local_today().isoformat(),
            "essentials": ["food"]}
    results = send(world.host_a, seal(server_key, world.host_a.id, follow_up_body(reference)),
                   seal(server_key, world.host_a.id, stay))
    assert [r["status"] for r in results] == ["saved", "saved"]
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert len(case.follow_ups) == 1 and len(case.shelter_stays) == 1


def test_an_intake_dated_in_the_past_is_saved(world, server_key, send):
    body = intake_body(intake_at=(utcnow() - timedelta(days=5)).isoformat())
    entry = seal(server_key, world.host_a.id, body, captured_at=(utcnow() - timedelta(days=5)).isoformat())
    assert send(world.host_a, entry)[0]["status"] == "saved"


# --- bad input: never a case, a reason in Vietnamese, one audit event without personal data, recoverable ------


def _assert_refused(world, result, entry_id, status="rejected"):
    assert result["status"] == status and result["id"] == entry_id
    assert result["reason"] and any(ch in result["reason"] for ch in "ượđữằ")  # Vietnamese, not a code
    assert _cases() == 0
    receipt = db.session.scalar(select(OfflineReceipt).where(OfflineReceipt.entry_id == entry_id))
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == receipt.id)).all()
    assert len(events) == 1 and events[0].outcome == "failed"
    text = _audit_text()
    assert NAME not in text and PHONE not in text and "Hạnh" not in text
    return receipt


def test_a_tampered_entry_is_rejected_and_kept_sealed(world, server_key, send):
    entry = seal(server_key, world.host_a.id, intake_body())
    ct = bytearray(unb64u(entry["ciphertext"]))
    ct[5] ^= 1
    entry["ciphertext"] = b64u(bytes(ct))
    [result] = send(world.host_a, entry)
    receipt = _assert_refused(world, result, entry["id"])
    assert receipt.reason == "unreadable" and json.loads(receipt.sealed)["ciphertext"] == entry["ciphertext"]


def test_a_truncated_entry_is_rejected(world, server_key, send):
    entry = seal(server_key, world.host_a.id, intake_body())
    entry["ciphertext"] = entry["ciphertext"][:-8]  # six bytes fewer: still valid base64url
    [result] = send(world.host_a, entry)
    assert _assert_refused(world, result, entry["id"]).reason == "unreadable"


def test_a_ciphertext_replayed_under_a_new_id_is_rejected(world, server_key, send):
    entry = seal(server_key, world.host_a.id, intake_body())
    replay = dict(entry, id=str(uuid.uuid4()))
    [result] = send(world.host_a, replay)
    _assert_refused(world, result, replay["id"])


def test_an_entry_sealed_for_another_account_is_rejected_and_she_can_still_send_it(world, server_key, send):
    entry = seal(server_key, world.host_b.id, intake_body())
    [result] = send(world.host_a, entry)
    _assert_refused(world, result, entry["id"])
    [own] = send(world.host_b, entry)
    assert own["status"] == "saved" and db.session.get(Case, own["case_id"]).address_id == world.addr_b.id


def test_an_unknown_key_id_is_rejected(world, server_key, send):
    entry = seal(server_key | {"key_id": "offline.v9"}, world.host_a.id, intake_body())
    [result] = send(world.host_a, entry)
    assert _assert_refused(world, result, entry["id"]).reason == "unknown_key"


def test_a_malformed_entry_is_rejected_without_a_receipt(world, server_key, send):
    results = send(world.host_a, {"id": "not-a-uuid"}, "text", seal(server_key, world.host_a.id, intake_body())
                   | {"epk": "!!"})
    assert [r["status"] for r in results] == ["rejected"] * 3 and _cases() == 0


def test_an_entry_failing_validation_becomes_an_encrypted_draft_of_its_host(world, server_key, send, signed_in):
    body = intake_body(acts=["z"], intake_at=(utcnow() + timedelta(days=3)).isoformat())
    entry = seal(server_key, world.host_a.id, body)
    [result] = send(world.host_a, entry)
    _assert_refused(world, result, entry["id"], status="needs_correction")
    draft = db.session.get(OfflineDraft, result["draft_id"])
    assert NAME.encode() not in draft.payload_ct and json.loads(draft.payload)["person"]["full_name"] == NAME
    assert {"acts", "intake_at"} <= set(json.loads(draft.problems))
    assert send(world.host_a, entry)[0]["status"] == "duplicate" and _cases() == 0
    # The draft waits in her work queue (issues 13 and 17), and only in hers.
    from casework import work
    from casework.auth.models import User

    with signed_in(world.host_a).application.test_request_context():
        mine = work.work_for(db.session.get(User, world.host_a.id)).items
        theirs = work.work_for(db.session.get(User, world.host_b.id)).items
    assert ("offline_draft", draft.id) in [(i.kind, i.object_id) for i in mine]
    assert all(i.kind != "offline_draft" for i in theirs)


def test_a_follow_up_for_a_case_outside_her_scope_needs_correction_and_changes_nothing(
        world, server_key, send, make_case):
    other = make_case(world.host_b, world.addr_b)
    [result] = send(world.host_a, seal(server_key, world.host_a.id, follow_up_body(other)))
    assert result["status"] == "needs_correction"
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0


def test_an_entry_older_than_the_limit_is_refused_and_kept_as_a_draft(world, server_key, send):
    old = (utcnow() - timedelta(days=31)).isoformat()
    body = intake_body(captured_at=old)
    entry = seal(server_key, world.host_a.id, body, captured_at=utcnow().isoformat())  # the sealed time wins
    [result] = send(world.host_a, entry)
    _assert_refused(world, result, entry["id"])
    assert "30" in result["reason"] and db.session.get(OfflineDraft, result["draft_id"]) is not None
    assert send(world.host_a, entry)[0]["status"] == "duplicate"


def test_a_rejected_entry_sent_again_is_tried_again(world, server_key, send):
    entry = seal(server_key, world.host_a.id, intake_body())
    bad = dict(entry, nonce=b64u(b"\0" * 12))
    assert send(world.host_a, bad)[0]["status"] == "rejected"
    assert send(world.host_a, entry)[0]["status"] == "saved" and _cases() == 1


def test_no_person_is_created_by_a_refused_intake(world, server_key, send):
    send(world.host_a, seal(server_key, world.host_a.id, intake_body(consent={"record": False})))
    assert db.session.scalar(select(func.count()).select_from(Person)) == 0


# --- the key ring -------------------------------------------------------------------------------------------


def _rotated_app(make_app, keys_dir, tmp_path, **settings):
    """An app on the same database with its own copy of the key folder, where ``keys rotate --offline`` ran."""
    from casework.protect.canary import record_check_value
    from casework.protect.keys import add_offline_version, load_keys

    own = tmp_path / "own-keys"
    shutil.copytree(keys_dir, own)
    version = add_offline_version(own)
    record_check_value(load_keys(own), "offline", version)
    db.session.commit()
    return make_app(keys_dir=str(own), **settings)


def test_an_entry_sealed_before_a_key_rotation_still_opens(world, server_key, make_app, keys_dir, tmp_path, token):
    entry = seal(server_key, world.host_a.id, intake_body())
    headers = token(world.host_a)
    rotated = _rotated_app(make_app, keys_dir, tmp_path)
    with rotated.app_context():
        client = rotated.test_client()
        assert client.get("/api/v1/offline/key", headers=headers).get_json()["key_id"] == "offline.v2"
        [result] = client.post("/api/v1/offline/entries", json={"entries": [entry]}, headers=headers).get_json()[
            "results"]
        assert result["status"] == "saved"


def test_a_key_retired_longer_than_the_grace_period_no_longer_opens(world, server_key, make_app, keys_dir,
                                                                    tmp_path, token):
    from casework.protect.canary import KeyCanary

    entry = seal(server_key, world.host_a.id, intake_body())
    headers = token(world.host_a)
    rotated = _rotated_app(make_app, keys_dir, tmp_path, offline_key_grace_days=10)
    db.session.get(KeyCanary, ("offline", 2)).created_at = utcnow() - timedelta(days=11)
    db.session.commit()
    with rotated.app_context():
        [result] = rotated.test_client().post("/api/v1/offline/entries", json={"entries": [entry]},
                                              headers=headers).get_json()["results"]
    assert result["status"] == "rejected" and _cases() == 0


# --- the web app's session ----------------------------------------------------------------------------------


def test_the_queue_name_is_per_account_and_device(world, signed_in):
    a, b = signed_in(world.host_a), signed_in(world.host_b)
    device = {"X-Tincay-Device": "d" * 22}
    qa = a.get("/api/v1/offline/session", headers=device).get_json()
    qb = b.get("/api/v1/offline/session", headers=device).get_json()
    qa2 = a.get("/api/v1/offline/session", headers={"X-Tincay-Device": "e" * 22}).get_json()
    assert qa["user_id"] == world.host_a.id and qa["queue"] != qb["queue"] and qa["queue"] != qa2["queue"]
    assert a.get("/api/v1/offline/session", headers=device).get_json()["queue"] == qa["queue"]
    assert a.get("/api/v1/offline/session", headers={"X-Tincay-Device": "bad id"}).status_code == 422


def test_sending_through_the_session_needs_the_csrf_token(world, make_app, server_key):
    import re

    from tests.conftest import next_code

    browser = make_app(WTF_CSRF_ENABLED=True).test_client()  # its own app context per request
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post("/login", data={"username": world.host_a.username, "password": world.host_a.password,
                                 "totp": next_code(world.host_a), "csrf_token": token})
    info = browser.get("/api/v1/offline/session", headers={"X-Tincay-Device": "d" * 22}).get_json()
    entry = seal(server_key, world.host_a.id, intake_body())
    refused = browser.post("/api/v1/offline/entries", json={"entries": [entry]})
    assert refused.status_code == 400 and _cases() == 0
    sent = browser.post("/api/v1/offline/entries", json={"entries": [entry]},
                        headers={"X-CSRFToken": info["csrf_token"]})
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["results"][0]["status"] == "saved"
