"""Tamper evidence its holders cannot defeat (issue 18): chained, signed checkpoint lines, verified by the
auditor with only the public key she was given (``audit verify --public-key FILE``)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from casework import create_app
from casework.extensions import db
from casework.protect import audit, chainer
from casework.protect.chainer import seal_all
from casework.protect.keys import KeyError_
from casework.protect.ring import current_keys
from tests.protect.conftest import tamper


def _events(n: int) -> None:
    for i in range(n):
        audit.record("case_view", object_type="case", object_id=f"case{i}", fields=["narrative"])
        db.session.commit()
    seal_all()


def _checkpoint(app) -> str:
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def trail(app, tmp_path):
    """Ten events, three checkpoints with events between them, and the public key handed to the auditor."""
    pem = tmp_path / "auditor" / "tincay-audit.pub"
    pem.parent.mkdir()
    result = app.test_cli_runner().invoke(args=["keys", "export-audit-public", str(pem)])
    assert result.exit_code == 0 and "fingerprint sha256:" in result.output, result.output
    for _ in range(3):
        _events(4)
        _checkpoint(app)
    return pem


def _file(app) -> Path:
    return Path(app.config["SETTINGS"].checkpoint_dir) / audit.CHECKPOINT_FILE


def _verify(app, pem: Path | None) -> tuple[int, str]:
    args = ["audit", "verify"] + (["--public-key", str(pem)] if pem is not None else [])
    result = app.test_cli_runner().invoke(args=args)
    return result.exit_code, result.output


def _bad(app, pem: Path, *words: str) -> str:
    code, output = _verify(app, pem)
    assert code == 1, output
    assert output.startswith("bad: ") and output.count("\n") == 1, output  # one line with the reason
    for word in words:
        assert word in output, output
    return output


def test_the_exported_public_key_is_the_checkpoint_key_and_verifies_an_intact_trail(app, trail):
    key = serialization.load_pem_public_key(trail.read_bytes())
    assert key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == \
        current_keys().checkpoint_public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert b"PRIVATE" not in trail.read_bytes()
    assert _verify(app, trail) == (0, "ok: 15 events, chain intact; 3 checkpoints signed by the given public key\n")
    assert _verify(app, None) == (0, "ok: 15 events, chain intact\n")


def test_checkpoint_lines_are_numbered_and_chained_to_the_previous_line(app, trail):
    lines = _file(app).read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["n"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == audit.GENESIS
    assert [e["prev"] for e in entries[1:]] == [audit.line_hash(line) for line in lines[:-1]]


def test_truncated_events_are_detected(app, trail):
    tamper("DELETE FROM audit_event WHERE seq > 9")
    _bad(app, trail, "bad: 10 ", "missing")


def test_a_dropped_last_checkpoint_line_is_detected(app, trail):
    path = _file(app)
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()[:-1]))
    _bad(app, trail, "checkpoint line 3", "ends at line 2")
    assert _verify(app, None)[0] == 1  # the key folder's own check sees it too


def test_a_checkpoint_line_removed_in_the_middle_is_detected(app, trail):
    path = _file(app)
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[2] + "\n")
    _bad(app, trail, "line 2 does not follow line 1")


def test_a_deleted_checkpoint_file_is_detected(app, trail):
    _file(app).unlink()
    _bad(app, trail, "checkpoint file", "missing")
    assert _verify(app, None)[0] == 1  # the trail records three lines: the file may not vanish


def test_an_empty_checkpoint_file_is_detected(app, trail):
    _file(app).write_text("")
    _bad(app, trail, "empty")


def test_a_replaced_checkpoint_key_is_detected(app, trail):
    """Somebody with the key folder replaces the checkpoint key and signs the next checkpoint with it."""
    _events(2)
    chainer.write_checkpoint(Path(app.config["SETTINGS"].checkpoint_dir),
                           keys=replace(current_keys(), checkpoint_key=Ed25519PrivateKey.generate()))
    _bad(app, trail, "checkpoint line 4", "signature", "given public key")


def test_a_chain_rewritten_and_re_signed_with_a_new_key_is_detected(app, trail):
    """The holder of the audit key and the key folder rebuilds a shorter trail and a fresh checkpoint file
    signed with a key of her own: consistent with itself, not with the auditor's public key."""
    # With the database too: the newest events, the head row that would betray them and the anchors.
    tamper("DELETE FROM audit_event WHERE seq > 5; DELETE FROM audit_anchor;"
           "UPDATE audit_chain_head SET seq = 5, mac = (SELECT mac FROM audit_event WHERE chain = 'national' AND "
           "seq = 5) WHERE chain = 'national'")
    _file(app).unlink()
    forged = replace(current_keys(), checkpoint_key=Ed25519PrivateKey.generate())
    directory = Path(app.config["SETTINGS"].checkpoint_dir)
    chainer.write_checkpoint(directory, keys=forged)
    assert audit.verify_chain(keys=forged, checkpoint_dir=directory).ok  # fooled: trusts the key beside it
    _bad(app, trail, "checkpoint line 1", "signature")


def test_verify_trusts_only_the_given_public_key(app, trail, tmp_path):
    foreign = tmp_path / "foreign.pub"
    foreign.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    _bad(app, foreign, "checkpoint line 1", "signature")


@pytest.mark.parametrize("content", [None, b"", b"not a key",
                                     b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
def test_an_unreadable_public_key_file_fails_with_one_line(app, trail, tmp_path, content):
    path = tmp_path / "given.pub"
    if content is not None:
        path.write_bytes(content)
    _bad(app, path, "bad: checkpoint (")


def test_verify_with_a_public_key_needs_a_checkpoint_file(app, tmp_path):
    _events(3)
    pem = tmp_path / "a.pub"
    app.test_cli_runner().invoke(args=["keys", "export-audit-public", str(pem)])
    _bad(app, pem, "missing")
    assert _verify(app, None) == (0, "ok: 3 events, chain intact\n")  # a new installation, never checkpointed


def test_each_checkpoint_is_an_event_of_the_trail_with_its_line_number(app, trail):
    from sqlalchemy import select

    details = db.session.scalars(select(audit.AuditEvent.detail).where(
        audit.AuditEvent.action == audit.CHECKPOINT_ACTION).order_by(audit.AuditEvent.seq)).all()
    assert details == ["line:1", "line:2", "line:3"]


def test_a_replaced_checkpoint_key_stops_start_up(app, app_config, own_keys):
    create_app({**app_config, "keys_dir": str(own_keys)})  # the database's keys: starts, check value written
    path = own_keys / "checkpoint.ed25519"
    path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(KeyError_, match="checkpoint.ed25519 does not match this database"):
        create_app({**app_config, "keys_dir": str(own_keys)})
