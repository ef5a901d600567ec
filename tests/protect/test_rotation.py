"""``keys rotate`` / ``keys reindex`` / ``keys verify``: batched, resumable, and silent about values."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from casework.auth.models import User
from casework.extensions import db
from casework.protect import rotation
from casework.protect.attachments import NewAttachment, add_attachment, read_attachment
from casework.protect.fields import BlindIndex, search
from casework.protect.sealed import unseal
from tests.protect.conftest import NAME, PHONE, Person, add_person, tamper

NAMES = ["Nguyễn Thị Xuyến", "Lò Thị Mây", "Hoàng Thị Hoa", "Trần Thị Bích", "Phạm Thị Nga", "Vàng Thị Dợ",
         "Đặng Thị Đào"]
PDF = b"%PDF-1.4\n% consent form of the person, scanned\n" + b"x" * 70_000 + b"\n%%EOF\n"


def _users(n: int = 2) -> list[tuple[str, str]]:
    from casework.auth import services

    made = []
    for i in range(n):
        user, secret = services.create_user(None, services.NewUser(
            username=f"rot{i}", role="auditor", password="correct horse battery staple"))
        made.append((user.id, secret))
    db.session.commit()
    return made


def _fill() -> tuple[list[str], list[tuple[str, str]], str]:
    ids = [add_person(full_name=n, phone=f"09{i}2 345 678", province="01" if i % 2 else "79").id
           for i, n in enumerate(NAMES)]
    owner = db.session.get(Person, ids[0])
    attachment_id = add_attachment(None, owner, NewAttachment(PDF, "đơn.pdf", "consent_form")).id
    db.session.commit()
    return ids, _users(), attachment_id


def _everything_reads(ids: list[str], users: list[tuple[str, str]], attachment_id: str) -> None:
    from casework.protect.attachments import Attachment

    db.session.expire_all()
    assert [db.session.get(Person, i).full_name for i in ids] == NAMES
    for user_id, secret in users:
        assert unseal(db.session.get(User, user_id).totp_secret_sealed, "totp", user_id) == secret
        assert pyotp.TOTP(secret).now()  # the seed itself is intact
    owner = db.session.get(Person, ids[0])
    assert read_attachment(owner, db.session.get(Attachment, attachment_id)) == PDF


def _versions() -> tuple[set[int], set[str]]:
    db.session.expire_all()
    keks = set(db.session.scalars(select(Person.kek_version)))
    seals = {s.split(":", 1)[0] for s in db.session.scalars(select(User.totp_secret_sealed))}
    return keks, seals


def test_rotation_interrupted_after_the_first_batch_and_resumed_leaves_everything_readable(
        keyed_app, own_keys, monkeypatch):
    ids, users, attachment_id = _fill()
    db.session.remove()
    runner = keyed_app.test_cli_runner()
    real, done = rotation.rewrap_batch, []

    def killed_after_one_batch(*args, **kwargs):
        if done:
            raise RuntimeError("killed")  # the machine going down half-way
        n, last = real(*args, **kwargs)
        if n:
            done.append(n)
        return n, last

    monkeypatch.setattr(rotation, "rewrap_batch", killed_after_one_batch)
    first = runner.invoke(args=["keys", "rotate", "--batch-size", "3"])
    assert first.exit_code != 0
    keks, seals = _versions()
    assert keks == {1, 2} and seals == {"v1"}  # half-way: the first batch of 3 was committed
    assert list(db.session.scalars(select(Person.kek_version))).count(2) == 3
    _everything_reads(ids, users, attachment_id)  # readable half-way too
    db.session.remove()

    monkeypatch.setattr(rotation, "rewrap_batch", real)
    second = runner.invoke(args=["keys", "rotate", "--batch-size", "3"])
    assert second.exit_code == 0, second.output
    assert "Resuming the rotation to master key v2" in second.output
    assert not (own_keys / "kek.v3.key").exists()  # resumed, not a new rotation
    assert _versions() == ({2}, {"v2"})
    _everything_reads(ids, users, attachment_id)
    assert search(Person, "full_name", "xuyen nguyen", select(Person), ["79"])[0].id == ids[0]
    db.session.remove()
    assert runner.invoke(args=["keys", "rotate", "--resume"]).output.startswith("Nothing to re-wrap")
    verify = runner.invoke(args=["keys", "verify"])
    assert verify.exit_code == 0, verify.output


def test_each_rotation_adds_a_master_key_version(keyed_app, own_keys):
    ids, users, attachment_id = _fill()
    db.session.remove()
    runner = keyed_app.test_cli_runner()
    for version in (2, 3):
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert f"Added master key kek.v{version}.key" in result.output
        assert (own_keys / f"kek.v{version}.key").stat().st_mode & 0o777 == 0o600
    assert _versions() == ({3}, {"v3"})
    _everything_reads(ids, users, attachment_id)


def test_rotation_does_not_touch_the_updated_time_of_records(keyed_app):
    users = _users(1)
    before = db.session.get(User, users[0][0]).updated_at
    db.session.remove()
    assert keyed_app.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
    assert db.session.get(User, users[0][0]).updated_at == before


def test_reindex_interrupted_and_resumed_moves_every_index_row_and_search_still_finds(keyed_app, own_keys,
                                                                                   monkeypatch):
    ids, _users_, _att = _fill()
    db.session.remove()
    runner = keyed_app.test_cli_runner()
    real, done = rotation.reindex_batch, []

    def killed_after_one_batch(*args, **kwargs):
        if done:
            raise RuntimeError("killed")
        n, last = real(*args, **kwargs)
        if n:
            done.append(n)
        return n, last

    monkeypatch.setattr(rotation, "reindex_batch", killed_after_one_batch)
    assert runner.invoke(args=["keys", "reindex", "--batch-size", "2", "--wait-seconds", "0"]).exit_code != 0
    db.session.expire_all()
    assert set(db.session.scalars(select(BlindIndex.index_version))) == {1, 2}
    # Half-way, searches find records under either version.
    for i, name in enumerate(NAMES):
        province = "01" if i % 2 else "79"
        assert [p.id for p in search(Person, "full_name", name, select(Person), [province])] == [ids[i]]
    db.session.remove()
    monkeypatch.setattr(rotation, "reindex_batch", real)
    result = runner.invoke(args=["keys", "reindex", "--batch-size", "2", "--wait-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert not (own_keys / "index.v3.key").exists()
    assert set(db.session.scalars(select(BlindIndex.index_version))) == {2}
    assert [p.id for p in search(Person, "phone", "+84 902 345 678", select(Person), ["79"])] == [ids[0]]
    assert runner.invoke(args=["keys", "verify"]).exit_code == 0


def test_keys_verify_counts_everything_and_finds_no_problem_in_intact_data(keyed_app):
    _fill()
    db.session.remove()
    result = keyed_app.test_cli_runner().invoke(args=["keys", "verify"])
    assert result.exit_code == 0, result.output
    assert "checked: protect_test_person rows: 7" in result.output
    assert "checked: user.totp_secret_sealed sealed values: 2" in result.output
    assert "checked: attachment chunks: 2" in result.output
    assert "ok: no problem found" in result.output


@pytest.mark.parametrize("damage, expected", [
    ("UPDATE protect_test_person SET full_name_ct = note_ct WHERE id = :id",
     "problem: protect_test_person.full_name_ct: does not decrypt: 1"),
    ("UPDATE blind_index SET value = (value + 1) % 256 WHERE record_id = :id AND field = 'phone'",
     "problem: blind_index[protect_test_person.phone]: rows do not match the value: 1"),
    ("DELETE FROM blind_index WHERE record_id = :id",
     "problem: blind_index[protect_test_person.full_name]: rows missing: 1"),
    ("UPDATE protect_test_person SET dek_wrapped = NULL WHERE id = :id",
     "problem: protect_test_person.dek_wrapped: missing while values are stored: 1"),
    ("UPDATE attachment_chunk SET n = n + 2; UPDATE attachment_chunk SET n = 3 - n",
     "problem: attachment_chunk.data: does not decrypt: 2"),
    ("UPDATE \"user\" SET totp_secret_sealed = 'v1:' || substr(totp_secret_sealed, 4, 20) WHERE id = :user_id",
     "problem: user.totp_secret_sealed: does not open: 1"),
])
def test_keys_verify_reports_damage_by_table_and_column_without_any_value(keyed_app, damage, expected):
    ids, users, _att = _fill()
    db.session.execute(Person.__table__.update().where(Person.id == ids[0]).values(
        note_ct=db.session.get(Person, ids[1]).full_name_ct))  # a ciphertext from another row
    db.session.commit()
    tamper(damage, id=ids[0], user_id=users[0][0])
    db.session.remove()
    result = keyed_app.test_cli_runner().invoke(args=["keys", "verify"])
    assert result.exit_code == 1
    assert expected in result.output, result.output
    for secret in (*NAMES, "Xuyến", "xuyen", PHONE, "0902345678", "345 678", users[0][1]):
        assert secret not in result.output


def test_keys_verify_notes_rows_left_under_an_older_master_key(keyed_app, monkeypatch):
    add_person(full_name=NAME)
    add_person(full_name="Lò Thị Mây")
    db.session.remove()
    monkeypatch.setattr(rotation, "rewrap_all", lambda *a, **k: 0)  # a rotation that did no work
    runner = keyed_app.test_cli_runner()
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 1
    result = runner.invoke(args=["keys", "verify"])
    assert result.exit_code == 0
    assert "under master key: v1: 2" in result.output
    assert "still under an older master key" in result.output
