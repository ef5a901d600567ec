"""Protected fields: nothing readable at rest, values bound to their row, search by folded words."""

from __future__ import annotations

import logging
import subprocess
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from casework.extensions import db
from casework.protect import blind
from casework.protect.crypto import ProtectedDataError
from casework.protect.fields import BlindIndex, blind_lookup, candidate_ids, search
from casework.protect.ring import current_keys
from casework.text import fold
from tests.protect.conftest import NAME, ON_POSTGRES, PG_URL, PHONE, Person, tamper

NFD_NAME = unicodedata.normalize("NFD", NAME)


def _forms_that_must_not_appear() -> list[bytes]:
    forms = {NAME, NFD_NAME, fold(NAME), NAME.lower(), NAME.upper(), "Xuyến", "xuyen", PHONE,
             PHONE.replace(" ", ""), "912345678"}
    found = []
    for form in forms:
        data = form.encode("utf-8")
        found += [data, data.hex().encode(), data.hex().upper().encode()]  # raw bytes or a bytea dump
    return found


def _reload(person: Person) -> Person:
    db.session.expire_all()
    return db.session.get(Person, person.id)


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite file exists only on SQLite; PostgreSQL is checked with pg_dump")
def test_no_plaintext_of_a_person_in_the_sqlite_file(app, make_person):
    make_person(full_name=NFD_NAME, note="Chồng đánh, Xuyến trốn sang nhà hàng xóm")
    make_person(full_name=NAME)
    db.session.remove()
    db.engine.dispose()
    path = Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file, its -wal and -shm
    assert len(raw) > 10_000
    for form in _forms_that_must_not_appear():
        assert form not in raw, form
    assert "trốn".encode() not in raw


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL pointing at PostgreSQL (pg_dump); on SQLite "
                                            "test_no_plaintext_of_a_person_in_the_sqlite_file checks the raw file")
def test_no_plaintext_of_a_person_in_a_pg_dump(app, make_person):
    make_person(full_name=NFD_NAME, note="Chồng đánh, Xuyến trốn sang nhà hàng xóm")
    make_person(full_name=NAME)
    url = make_url(PG_URL)
    dump = subprocess.run(  # noqa: S603 - a fixed program and the test database's own URL
        ["/usr/bin/pg_dump", "--no-owner", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database],
        check=True, capture_output=True, env={"PGPASSWORD": url.password or ""}, timeout=120).stdout
    assert b"protect_test_person" in dump and b"COPY public.blind_index" in dump
    for form in _forms_that_must_not_appear():
        assert form not in dump, form


def test_nfc_and_nfd_input_store_the_same_text_and_index(make_person):
    a, b = make_person(full_name=NAME), make_person(full_name=NFD_NAME)
    assert _reload(a).full_name == _reload(b).full_name == NAME
    values = lambda p: sorted(db.session.scalars(select(BlindIndex.value).where(  # noqa: E731
        BlindIndex.record_id == p.id, BlindIndex.field == "full_name")))
    assert values(a) == values(b)


def test_same_name_encrypts_differently_and_indexes_differently_per_province(make_person):
    a, b, c = make_person(province="01"), make_person(province="01"), make_person(province="79")
    assert a.full_name_ct != b.full_name_ct
    index = lambda p: sorted(db.session.execute(select(BlindIndex.field, BlindIndex.value).where(  # noqa: E731
        BlindIndex.record_id == p.id)).all())
    assert index(a) == index(b)  # equal words give equal (truncated) index values within a province…
    assert index(a) != index(c)  # …and unrelated ones in another (4 values of 8 bits: a 2^-32 accident)
    assert c.full_name == NAME


def test_ciphertext_swapped_between_two_rows_does_not_decrypt(make_person):
    a, b = make_person(full_name=NAME), make_person(full_name="Trần Văn Bình")
    tamper("UPDATE protect_test_person SET full_name_ct = :ct WHERE id = :id", ct=a.full_name_ct, id=b.id)
    with pytest.raises(ProtectedDataError):
        _ = _reload(b).full_name


def test_ciphertext_moved_to_another_column_does_not_decrypt(make_person):
    a = make_person()
    tamper("UPDATE protect_test_person SET note_ct = full_name_ct WHERE id = :id", id=a.id)
    with pytest.raises(ProtectedDataError):
        _ = _reload(a).note


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_flipped_bit_does_not_decrypt(make_person, position):
    a = make_person()
    blob = bytearray(a.full_name_ct)
    blob[position] ^= 0x01
    tamper("UPDATE protect_test_person SET full_name_ct = :ct WHERE id = :id", ct=bytes(blob), id=a.id)
    with pytest.raises(ProtectedDataError):
        _ = _reload(a).full_name


def test_a_corrupted_wrapped_data_key_does_not_unwrap(make_person):
    a = make_person()
    tamper("UPDATE protect_test_person SET dek_wrapped = :w WHERE id = :id",
           w=bytes(40), id=a.id)
    with pytest.raises(ProtectedDataError):
        _ = _reload(a).full_name


@pytest.fixture
def protect_logs(caplog, monkeypatch):
    # The migrations' logging.config.fileConfig disables loggers that existed before it ran; turn ours back on.
    for name in ("casework.protect", "casework.request"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    return caplog


def test_decryption_error_names_the_row_and_never_the_value(make_person, protect_logs):
    caplog = protect_logs
    a, b = make_person(full_name=NAME), make_person(full_name="Trần Văn Bình")
    tamper("UPDATE protect_test_person SET full_name_ct = :ct WHERE id = :id", ct=a.full_name_ct, id=b.id)
    with caplog.at_level(logging.ERROR, logger="casework.protect"), pytest.raises(ProtectedDataError) as info:
        _ = _reload(b).full_name
    message = str(info.value)
    assert b.id in message and "full_name_ct" in message
    for text_ in (message, caplog.text):
        assert "Xuyến" not in text_ and "Bình" not in text_ and "xuyen" not in text_


def test_search_without_accents_and_in_any_order_finds_the_person(make_person):
    target = make_person()
    make_person(full_name="Nguyễn Thị Lan", phone="0987 654 321")
    make_person(full_name="Xuyến Nguyễn", province="79")  # same words, another province
    scoped = select(Person)
    for query in ("xuyen nguyen", "NGUYEN thi xuyen", NFD_NAME, "Xuyến", "nguyễn   xuyến"):
        found = search(Person, "full_name", query, scoped, ["01"])
        assert [p.id for p in found] == [target.id], query
    assert [p.id for p in search(Person, "phone", "+84 912-345-678", scoped, ["01"])] == [target.id]
    assert search(Person, "full_name", "xuye", scoped, ["01"]) == []  # whole words only
    assert len(search(Person, "full_name", "xuyen", scoped, ["01", "79"])) == 2


def test_search_drops_candidates_that_only_share_an_index_value(make_person):
    keys = current_keys()
    wanted = blind.index_value(keys, "protect_test_person", "full_name", "01", "xuyen")
    # A different word with the same truncated index value in this province: a false positive by design.
    twin = next(w for w in (f"ten{i}" for i in range(100_000))
                if blind.index_value(keys, "protect_test_person", "full_name", "01", w) == wanted)
    target, decoy = make_person(full_name="Xuyến"), make_person(full_name=twin.capitalize())
    ids = set(db.session.scalars(candidate_ids(Person, "full_name", "xuyen", ["01"])))
    assert {target.id, decoy.id} <= ids
    assert [p.id for p in search(Person, "full_name", "xuyen", select(Person), ["01"])] == [target.id]


def test_the_candidates_hold_every_word_and_only_the_callers_records(make_person):
    # The words' buckets and the caller's ids intersect in the statement (issue 18), not after decryption.
    # The index keeps 8 bits: four words are picked whose index values all differ under this run's keys.
    keys = current_keys()
    words: dict[int, str] = {}
    for word in ("lo", "may", "ha", "sang", "van", "ngoc", "tuyet", "dao", "khanh", "phuong", "xuan", "cam"):
        words.setdefault(blind.index_value(keys, "protect_test_person", "full_name", "01", word), word)
    family, given, other_family, other_given = (w.capitalize() for w in list(words.values())[:4])
    both = make_person(full_name=f"{family} {given}")
    family_only = make_person(full_name=f"{family} {other_given}")
    given_only = make_person(full_name=f"{other_family} {given}")
    lookup = blind_lookup(Person, "full_name", f"{family} {given}", ["01"])
    assert set(db.session.scalars(lookup.candidates(), lookup.values)) == {both.id}
    for word, holders in ((family, {both.id, family_only.id}), (given, {both.id, given_only.id})):
        one = blind_lookup(Person, "full_name", word, ["01"])
        assert set(db.session.scalars(one.candidates(), one.values)) == holders
    others = select(Person.id).where(Person.id != both.id)
    assert list(db.session.scalars(lookup.candidates(within=others), lookup.values)) == []
    mine = select(Person.id).where(Person.id == both.id)
    assert list(db.session.scalars(lookup.candidates(within=mine), lookup.values)) == [both.id]


def test_search_outside_the_given_provinces_finds_nothing(make_person):
    make_person(province="79")
    assert search(Person, "full_name", "xuyen", select(Person), ["01"]) == []


def test_changing_a_name_rewrites_its_index_rows(make_person):
    p = make_person()
    p.full_name = "Lò Thị Mây"
    db.session.commit()
    assert search(Person, "full_name", "xuyen", select(Person), ["01"]) == []
    assert [x.id for x in search(Person, "full_name", "lo may", select(Person), ["01"])] == [p.id]


def test_deleting_a_record_removes_its_index_rows(make_person):
    p = make_person()
    db.session.delete(p)
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(BlindIndex).where(BlindIndex.record_id == p.id)) == 0


def test_a_value_that_does_not_decrypt_shows_the_generic_error_page(app, make_person, make_user, login,
                                                                   protect_logs):
    caplog = protect_logs
    from casework.auth.policy import allow
    from casework.auth.roles import Role

    @allow(Role.ADMIN)
    def show_person(person_id):
        return f"<p>{db.session.get(Person, person_id).full_name}</p>"

    app.add_url_rule("/test-person/<person_id>", "test_person", show_person)
    a, b = make_person(full_name=NAME), make_person(full_name="Trần Văn Bình", note="ghi chú mật")
    tamper("UPDATE protect_test_person SET full_name_ct = :ct WHERE id = :id", ct=a.full_name_ct, id=b.id)
    client = app.test_client()
    login(client, make_user("admin"))
    with caplog.at_level(logging.INFO):
        response = client.get(f"/test-person/{b.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Đã có lỗi" in body
    for secret in ("Xuyến", "Bình", "ghi chú"):
        assert secret not in body and secret not in caplog.text
    assert b.id in caplog.text  # the log names the row, so the operator can find it


def test_no_plaintext_or_search_term_reaches_the_sql_statements(app, make_person):
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(f"{statement} {parameters!r}")

    from sqlalchemy import event

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        make_person()
        search(Person, "full_name", "nguyen xuyen", select(Person), ["01"])
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    joined = "\n".join(statements)
    assert "Xuyến" not in joined and "xuyen" not in joined and "912345678" not in joined
    assert db.session.execute(text("SELECT count(*) FROM protect_test_person")).scalar() == 1


def test_expiring_a_record_already_garbage_collected_does_not_fail(person_table):
    import gc

    from sqlalchemy import inspect

    person = Person(province_code="01")
    person.full_name = NAME
    state = inspect(person)
    del person
    gc.collect()
    assert state.obj() is None
    # What SQLAlchemy does when such an object's state is expired at commit: every listener gets None.
    Person.__mapper__.class_manager.dispatch.expire(state, None)
    Person.__mapper__.class_manager.dispatch.refresh(state, None, None)
