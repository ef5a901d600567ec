"""The daily e-mail digest (issue 13), against a real SMTP server started here (aiosmtpd): counts and a link
only, in the user's language, once a day, nothing without an SMTP server or without anything to say."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from casework import digest
from casework.auth.models import User
from casework.config import ConfigError, load_settings
from casework.extensions import db
from casework.models import utcnow
from tests.cases.conftest import NAME, PHONE, user_of

PUBLIC = "https://tincay.example.vn"
REFUSED = "khong-nhan@example.vn"


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's hook)
        if address == REFUSED:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    with socket.socket() as s:  # a free port on this machine
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def mail_on(app, smtp):
    sink, port = smtp
    before = app.config["SETTINGS"]
    app.config["SETTINGS"] = dataclasses.replace(before, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                                                 mail_from="tincay@example.vn", public_url=PUBLIC)
    yield sink
    app.config["SETTINGS"] = before


def _address(account, value: str, locale: str = "vi") -> None:
    user = user_of(account)
    user.digest_email = value
    user.locale = locale
    db.session.commit()


def _by_recipient(sink: Sink) -> dict[str, email.message.EmailMessage]:
    return {m["To"]: m for m in sink.messages}


def test_each_user_gets_counts_and_a_link_in_her_language_and_nothing_personal(world, make_case, mail_on, req):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=2))  # notice late
    make_case(world.host_c, world.addr_c)
    reference = db.session.get(digest_case_model(), case_id).reference
    _address(world.host_a, "host.a@example.vn")
    _address(world.officer_a, "officer.a@example.vn")
    _address(world.host_c, "host.c@example.vn", locale="en")
    _address(world.host_b, "host.b@example.vn")  # nothing in her queue: no e-mail
    run = digest.send_digests()
    assert (run.sent, run.nothing_to_say, run.refused) == (3, 1, 0)
    got = _by_recipient(mail_on)
    assert set(got) == {"host.a@example.vn", "officer.a@example.vn", "host.c@example.vn"}
    vi = got["host.a@example.vn"]
    body = vi.get_content()
    assert vi["Subject"] == "Tin Cậy: tóm tắt công việc trong ngày của bạn"
    assert f"{PUBLIC}/work/" in body
    expected = digest.digest_for(user_of(world.host_a))
    assert expected.work >= 1 and expected.late >= 1  # the commune notice is late
    assert f"Việc đang chờ trong danh sách việc cần làm: {expected.work} (quá hạn: {expected.late})." in body
    en = got["host.c@example.vn"]
    assert en["Subject"] == "Tin Cậy: your day's summary"
    assert "Waiting in your work queue: 1 (late: 0)." in en.get_content()
    for message in got.values():
        text = message.as_string()
        for secret in (reference, NAME, "Nguyen", PHONE, world.host_a.username, world.officer_a.username, case_id):
            assert secret not in text
    assert all(sender == "tincay@example.vn" and len(to) == 1 for sender, to in mail_on.envelopes)


def digest_case_model():
    from casework.cases.models import Case

    return Case


def test_a_second_run_the_same_day_sends_nothing_and_the_next_day_sends_again(world, make_case, mail_on, req):
    make_case(world.host_a, world.addr_a)
    _address(world.host_a, "host.a@example.vn")
    assert digest.send_digests().sent == 1
    assert digest.send_digests().sent == 0
    assert len(mail_on.messages) == 1
    tomorrow = user_of(world.host_a).digest_sent_on + timedelta(days=1)
    assert digest.send_digests(today=tomorrow).sent == 1
    assert len(mail_on.messages) == 2


def test_a_refused_address_does_not_stop_the_others(world, make_case, mail_on, req):
    make_case(world.host_a, world.addr_a)
    _address(world.host_a, REFUSED)
    _address(world.officer_a, "officer.a@example.vn")
    run = digest.send_digests()
    assert (run.sent, run.refused) == (1, 1)
    assert list(_by_recipient(mail_on)) == ["officer.a@example.vn"]
    assert user_of(world.host_a).digest_sent_on is None  # tried again next run


def test_without_an_smtp_server_nothing_is_sent(app, world, make_case, smtp, req):
    sink, _port = smtp
    make_case(world.host_a, world.addr_a)
    _address(world.host_a, "host.a@example.vn")
    assert digest.send_digests() is None
    result = app.test_cli_runner().invoke(args=["notify", "digest"])
    assert result.exit_code == 0 and "No SMTP server configured" in result.output
    assert sink.messages == [] and user_of(world.host_a).digest_sent_on is None


def test_the_cli_sends_and_counts(app, world, make_case, mail_on, req):
    make_case(world.host_a, world.addr_a)
    _address(world.host_a, "host.a@example.vn")
    _address(world.coordinator, "coordinator@example.vn")  # no queue, no notifications: not a digest role
    result = app.test_cli_runner().invoke(args=["notify", "digest"])
    assert result.exit_code == 0, result.output
    assert "digests sent: 1, nothing to report: 0, refused: 0" in result.output
    assert "@" not in result.output  # no address in the output (it goes to logs)
    assert len(mail_on.messages) == 1


def test_she_sets_and_clears_her_own_address(world, signed_in):
    client = signed_in(world.host_a)
    assert "Thư điện tử hằng ngày" in client.get("/account").text
    page = client.get("/account/digest/")
    assert page.status_code == 200 and "không bao giờ có tên" in page.text
    bad = client.post("/account/digest/", data={"email": "not an address"})
    assert bad.status_code == 422 and "ten@example.vn" in bad.text
    assert user_of(world.host_a).digest_email is None
    assert client.post("/account/digest/", data={"email": " chi.a@example.vn "}).status_code == 302
    assert db.session.get(User, world.host_a.id).digest_email == "chi.a@example.vn"
    assert client.post("/account/digest/", data={"email": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.host_a.id).digest_email is None
    # Both changes are in the trail, without the address.
    from casework.protect.audit import AuditEvent

    events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.actor_id == world.host_a.id,
                                                            AuditEvent.action.like("digest_%"))).all()
    assert [e.action for e in events] == ["digest_address_set", "digest_address_cleared"]
    assert all("example" not in " ".join(str(v) for v in (e.detail, e.object_id, e.fields)) for e in events)
    # Coordinators and auditors have neither a queue nor notifications: no digest page.
    assert signed_in(world.auditor).get("/account/digest/").status_code in (403, 404)


def test_an_smtp_server_needs_a_sender_and_a_public_address(tmp_path):
    with pytest.raises(ConfigError, match="mail_from"):
        load_settings(tmp_path, {"smtp_host": "mail.example.vn"})
    with pytest.raises(ConfigError, match="public_url"):
        load_settings(tmp_path, {"smtp_host": "mail.example.vn", "mail_from": "a@example.vn"})
    ok = load_settings(tmp_path, {"smtp_host": "mail.example.vn", "mail_from": "a@example.vn",
                                  "public_url": PUBLIC, "smtp_password": "s3cret-value"})
    assert ok.smtp_port == 587 and ok.smtp_starttls and "s3cret-value" not in repr(ok)
    assert load_settings(tmp_path).smtp_host == ""
