"""Rows of a Core statement made into the session's objects (casework.loading, issue 18): the case page, its
consents and timeline, the session lookup and the search read their rows without the ORM's per-statement work,
and must give the very objects a query would."""

from __future__ import annotations

from sqlalchemy import bindparam, inspect, select

from casework.cases.models import Case, Person
from casework.cases.services import get_case_page_or_404
from casework.extensions import db
from casework.loading import objects
from tests.cases.conftest import NAME, PHONE, user_of
from tests.cases.test_pages_floor import statements

_NAME_ONLY = select(Person.id, Person.full_name_ct, Person.dek_wrapped, Person.kek_version, Person.dek_version) \
    .where(Person.id == bindparam("person_id"))


def test_objects_are_the_session_s_own_and_load_what_the_row_had_not_when_read(world, make_case):
    person_id = db.session.get(Case, make_case(world.host_a, world.addr_a)).person_id
    db.session.expunge_all()
    [person] = objects(Person, _NAME_ONLY, {"person_id": person_id})
    state = inspect(person)
    assert state.persistent and not state.modified
    assert "phone_ct" in state.unloaded and "full_name_ct" not in state.unloaded
    assert person.full_name == NAME
    with statements() as seen:
        assert person.phone == PHONE  # what the row did not carry loads when read, as after load_only
    assert [s for s in seen if s.startswith("SELECT")], seen
    assert db.session.get(Person, person_id) is person
    assert objects(Person, _NAME_ONLY, {"person_id": person_id}) == [person]


def test_an_object_the_session_holds_is_reused_and_its_expired_columns_filled_in(world, make_case):
    person_id = db.session.get(Case, make_case(world.host_a, world.addr_a)).person_id
    person = db.session.get(Person, person_id)
    db.session.commit()  # expires every attribute
    assert "full_name_ct" in inspect(person).unloaded
    with statements() as seen:
        assert objects(Person, _NAME_ONLY, {"person_id": person_id}) == [person]
        assert person.full_name == NAME
    assert len(seen) == 1, seen  # the rows' statement; the name came from it
    assert "full_name_ct" not in inspect(person).unloaded and "phone_ct" in inspect(person).unloaded


def test_the_case_page_objects_are_loaded_in_full_and_write_with_the_version_check(app, world, make_case):
    case_id = make_case(world.host_a, world.addr_a)
    db.session.expunge_all()
    with app.test_request_context():
        case, has = get_case_page_or_404(user_of(world.host_a), case_id)
        with statements() as seen:
            assert case.person.full_name == NAME and case.address.name == "ĐCTC A"
            assert [act.code for act in case.acts] == ["a", "b"] and case.narrative == "Chồng đánh bằng gậy."
            assert case.shelter_stays == [] and case.follow_ups == []  # found empty by the page's statement
        assert [s for s in seen if s.startswith("SELECT")] == []
        assert has.consents and has.events and not has.pending_move
        assert inspect(case).persistent and inspect(case.person).persistent
        assert db.session.get(Case, case_id) is case
        version = case.version
        case.risk_level = "high"
        db.session.commit()
    assert db.session.get(Case, case_id).risk_level == "high"
    assert db.session.get(Case, case_id).version == version + 1
