"""The audit trail: ``audit verify`` finds every kind of tampering; no personal data ever enters it."""

from __future__ import annotations

import io
import json
import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from casework.extensions import db
from casework.protect import audit
from casework.protect.audit import AuditEvent
from casework.protect.chainer import seal_all
from tests.protect.conftest import NAME, ON_POSTGRES, PHONE, Person, tamper

FORGED_MAC = "f" * 64


def _events(n: int = 10) -> None:
    for i in range(n):
        audit.record("case_view", object_type="case", object_id=f"case{i}", fields=["narrative"])
        db.session.commit()
    seal_all()


def _verify(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_audit_verify_accepts_an_intact_chain(app):
    _events()
    code, output = _verify(app)
    assert (code, output.strip()) == (0, "ok: 10 events, chain intact")


@pytest.mark.parametrize("tampering, first_bad", [
    pytest.param("UPDATE audit_event SET object_id = 'case99' WHERE seq = 5", 5, id="edited"),
    pytest.param("UPDATE audit_event SET action = 'login', mac = :forged WHERE seq = 7", 7, id="edited-with-new-mac"),
    pytest.param("DELETE FROM audit_event WHERE seq = 5", 5, id="deleted-middle"),
    pytest.param("DELETE FROM audit_event WHERE seq = 1", 1, id="deleted-first"),
    pytest.param(
        # Make room at 5, slip a forged event in and relink the next one to it: its MAC cannot be forged.
        "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 5;"
        "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1000;"
        "UPDATE audit_event SET prev_mac = :forged WHERE seq = 6;"
        "INSERT INTO audit_event (seq, ts, actor_id, actor_role, action, object_type, object_id, fields, outcome,"
        " detail, request_id, client_ip, key_version, prev_mac, mac)"
        " SELECT 5, ts, actor_id, actor_role, 'user_enable', 'user', object_id, fields, outcome, detail,"
        " request_id, client_ip, key_version, mac, :forged FROM audit_event WHERE seq = 4",
        5, id="inserted-middle"),
    pytest.param(
        "INSERT INTO audit_event (seq, ts, actor_id, actor_role, action, object_type, object_id, fields, outcome,"
        " detail, request_id, client_ip, key_version, prev_mac, mac)"
        " SELECT 11, ts, actor_id, actor_role, 'user_enable', 'user', object_id, fields, outcome, detail,"
        " request_id, client_ip, key_version, mac, :forged FROM audit_event WHERE seq = 10",
        11, id="inserted-at-the-end"),
])
def test_audit_verify_reports_the_first_tampered_event(app, tampering, first_bad):
    _events()
    tamper(tampering, forged=FORGED_MAC)
    code, output = _verify(app)
    assert code == 1
    assert output.startswith(f"bad: {first_bad} "), output


def test_audit_verify_detects_newest_events_deleted_after_a_checkpoint(app):
    _events()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "checkpoint"]).output.strip() == "checkpoint: seq 10"
    tamper("DELETE FROM audit_event WHERE seq > 7")
    code, output = _verify(app)
    assert code == 1
    assert output.startswith("bad: 8 "), output


def test_a_truncated_chain_alone_still_links_which_is_why_checkpoints_exist(app):
    """A database superuser who deletes the newest events and moves the chain's head row back with them
    leaves a chain that links: only an anchor outside the database tells."""
    _events()
    tamper("DELETE FROM audit_event WHERE seq > 7;"
           "UPDATE audit_chain_head SET seq = 7, mac = (SELECT mac FROM audit_event WHERE chain = 'national' AND "
           "seq = 7) WHERE chain = 'national'")
    assert _verify(app) == (0, "ok: 7 events, chain intact\n")


def test_audit_verify_refuses_a_checkpoint_whose_signature_does_not_match(app):
    from pathlib import Path

    _events()
    app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    path = Path(app.config["SETTINGS"].checkpoint_dir) / "audit-checkpoints.jsonl"
    entry = json.loads(path.read_text().splitlines()[-1])
    entry["seq"] = 3  # "the trail was only 3 events long"
    path.write_text(json.dumps(entry) + "\n")
    code, output = _verify(app)
    assert code == 1 and "signature" in output


def test_audit_refuses_text_that_is_not_a_code(app):
    for bad in ({"detail": NAME}, {"detail": "nguyen thi xuyen"}, {"object_id": "Xuyến"},
                {"fields": ["full name"]}):
        with pytest.raises(ValueError):
            audit.record("case_view", object_type="case", **bad)


def test_no_personal_data_in_any_audit_event(app, make_person, make_user, login):
    from casework.auth.policy import allow
    from casework.auth.roles import Role
    from casework.protect.attachments import NewAttachment, add_attachment, get_attachment, send_attachment
    from casework.protect.fields import search

    @allow(Role.ADMIN)
    def find_people():
        from flask import request

        found = search(Person, "full_name", request.form["q"], select(Person), ["01"])
        audit.record("person_search", object_type="person", detail=f"results:{len(found)}")
        for p in found:
            audit.record("person_view", object_type="person", object_id=p.id, fields=["full_name", "phone"])
        return "".join(f"<p>{p.full_name} {p.phone}</p>" for p in found)

    @allow(Role.ADMIN)
    def download(person_id, attachment_id):
        person = db.session.get(Person, person_id)
        return send_attachment(person, get_attachment(person, attachment_id))

    app.add_url_rule("/test-find", "test_find", find_people, methods=["POST"])
    app.add_url_rule("/test-file/<person_id>/<attachment_id>", "test_file", download)
    person = make_person(full_name=NAME, phone=PHONE, note="bị chồng đánh")
    audit.record("person_create", object_type="person", object_id=person.id, fields=["full_name", "phone", "note"])
    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (32, 32), (9, 9, 9)).save(photo, "JPEG")
    attachment = add_attachment(None, person, NewAttachment(photo.getvalue(), f"{NAME}.jpg", "photo"))
    db.session.commit()
    client = app.test_client()
    login(client, make_user("admin"))
    for q in (NAME, "nguyen thi xuyen", "xuyen", PHONE):
        response = client.post("/test-find", data={"q": q})
        assert response.status_code == 200
    assert "Xuyến" in client.post("/test-find", data={"q": "xuyen"}).get_data(as_text=True)
    assert client.get(f"/test-file/{person.id}/{attachment.id}").status_code == 200
    db.session.expire_all()
    events = db.session.scalars(select(AuditEvent)).all()
    assert {"person_search", "person_view", "attachment_download", "attachment_add", "login"} <= {
        e.action for e in events}
    forbidden = {NAME, NAME.lower(), "nguyen thi xuyen", "xuyen", "xuyến", PHONE, "912345678", "0912", "bị chồng"}
    for e in events:
        for column in AuditEvent.__table__.columns.keys():
            if column in ("ts", "seq"):  # a time or a number: its digits can match "0912" by chance, never a person
                continue
            value = str(getattr(e, column) or "").lower()
            for word in forbidden:
                assert word.lower() not in value, (e.seq, column)


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL pointing at PostgreSQL: eight writers "
                                            "commit at once only there; SQLite serialises writes itself")
def test_eight_concurrent_writers_on_postgresql_leave_a_valid_chain(app):
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(k: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for i in range(50):
                    audit.record("case_view", object_type="case", object_id=f"w{k}n{i}")
                    db.session.commit()
                db.session.remove()
        except BaseException as e:  # reported below, with the thread's traceback
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    seal_all()
    db.session.expire_all()
    # The chain's order is the order in which the writers' transactions took their ids (``xid``), which two
    # writers can take in the other order than their rows' ids: every event has one place, none is missing.
    seqs = list(db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    assert seqs == list(range(1, 401))
    assert len(set(db.session.scalars(select(AuditEvent.object_id)))) == 400
    assert _verify(app) == (0, "ok: 400 events, chain intact\n")


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL pointing at PostgreSQL: the append-only "
                                            "trigger exists only there")
@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'login' WHERE seq = 1",
                                       "DELETE FROM audit_event WHERE seq = 1"])
def test_postgresql_refuses_update_and_delete_of_audit_events(app, statement):
    _events(2)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text(statement))
    assert _verify(app)[0] == 0


def test_audit_verify_catches_an_edit_made_around_the_trigger(app):
    """Even a superuser who bypasses the trigger (as ``tamper`` does on PostgreSQL) is caught by the chain."""
    _events(3)
    tamper("UPDATE audit_event SET outcome = 'denied' WHERE seq = 2")
    assert _verify(app)[1].startswith("bad: 2 ")
