"""A read event records what was shown (issue 18): every case screen and API answer, for each role.

See tests/read_events.py for how the body is compared with the event's fields.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from casework.extensions import db
from casework.models import utcnow
from tests.cases.conftest import court_ban, intake, user_of
from tests.read_events import _body, check_read, shown_in, sweep

# Field (audit name) → the distinctive strings that show it; any one of them in the body means "shown".
CASE_PLANTED = {
    "full_name": ["Zqhoten Hoa"],
    "other_names": ["Zqbidanh"],
    "phone": ["0987650321", "0987 650 321"],
    "id_number": ["079183004455"],
    "birth_date": ["1983-07-19", "19/07/1983"],
    "home_address": ["Zqsonha Street"],
    "injuries": ["Zqthuongtich"],
    "first_aid": ["Zqsocuu"],
    "safety_plan": ["Zqkehoach"],
    "narrative": ["Zqghichu"],
    "follow_ups": ["Zqtheodoi"],
    "contact_bans": ["Zqtoaan", "Zqsoqd"],
    "timeline": ["Zqnhatky"],
    "address": ["Zqdiachi"],  # and the address's id, added by ``planted`` (an answer gives the id)
}



@pytest.fixture
def planted_case(world, make_address):
    """A case at an address named with a planted value, every free-text field planted, with a follow-up, a
    court's contact ban and a timeline note."""
    from casework.cases import services
    from casework.cases.models import Case

    world.addr_a.name = "ĐCTC Zqdiachi"
    db.session.commit()
    person = services.PersonData(full_name="Zqhoten Hoa", other_names="Zqbidanh", birth_year=1983,
                                 birth_date=date(1983, 7, 19), phone="0987650321", id_number="079183004455",
                                 ethnicity_code="01", home_address="Zqsonha Street", sex="female")
    host = user_of(world.host_a)
    case = services.create_case(host, intake(world.addr_a, person=person, injuries="Zqthuongtich",
                                             first_aid_given=True, first_aid="Zqsocuu", safety_plan="Zqkehoach",
                                             narrative="Zqghichu"))
    db.session.flush()
    today = services.local_today()
    services.add_follow_up(host, case, services.FollowUpData(on=today, kind="visit", situation="safe",
                                                             violence_recurred=False, note="Zqtheodoi"))
    now = utcnow()
    services.record_court_ban(host, case, court_ban(court_name="Zqtoaan", decided_at=now - timedelta(minutes=5),
                                                    valid_from=now - timedelta(minutes=5),
                                                    valid_until=now + timedelta(days=30), decision_ref="Zqsoqd"))
    services.add_timeline_entry(host, case, "note", note="Zqnhatky")
    db.session.commit()
    return db.session.get(Case, case.id).id


@pytest.fixture
def planted(world):
    return {**CASE_PLANTED, "address": ["Zqdiachi", world.addr_a.id]}


CASE_ACTIONS = ("case_view", "case_export_pdf")


@pytest.mark.parametrize("who", ["host_a", "officer_a"])
def test_case_screens_and_answer_record_what_a_worker_is_shown(world, planted_case, signed_in, token, planted, who):
    account = getattr(world, who)
    web = signed_in(account)
    page = check_read(web, f"/cases/{planted_case}", planted, CASE_ACTIONS, planted_case)
    # The page shows every planted field: none may be missing from its event.
    assert set(planted) <= page
    edit = check_read(web, f"/cases/{planted_case}/edit", planted, CASE_ACTIONS, planted_case)
    assert {"full_name", "narrative", "safety_plan", "risk", "injuries"} <= edit
    pdf = check_read(web, f"/cases/{planted_case}/record.pdf", planted, CASE_ACTIONS, planted_case)
    assert {"full_name", "narrative", "follow_ups", "contact_bans", "timeline"} <= pdf
    answer = check_read(web, f"/api/v1/cases/{planted_case}", planted, CASE_ACTIONS, planted_case,
                        headers=token(account))
    assert {"full_name", "phone", "narrative"} <= answer
    check_read(web, f"/api/v1/cases/{planted_case}/timeline", planted, CASE_ACTIONS, planted_case,
               headers=token(account))
    check_read(web, f"/api/v1/cases/{planted_case}/follow-ups", planted, CASE_ACTIONS, planted_case,
               headers=token(account))


def test_case_page_and_answer_of_a_province_officer_record_no_personal_field(world, planted_case, signed_in,
                                                                            token, planted):
    web = signed_in(world.province_19)
    for url, headers in ((f"/cases/{planted_case}", None),
                         (f"/api/v1/cases/{planted_case}", token(world.province_19))):
        recorded = check_read(web, url, planted, CASE_ACTIONS, planted_case, headers=headers)
        assert recorded and not recorded & set(planted), recorded
        assert not recorded & {"full_name", "phone", "narrative", "sex", "ethnicity_code", "risk"}


def test_an_out_of_scope_case_is_404_and_shows_nothing(world, planted_case, signed_in, token):
    web = signed_in(world.host_b)
    for url in (f"/cases/{planted_case}", f"/cases/{planted_case}/edit", f"/cases/{planted_case}/record.pdf"):
        response = web.get(url)
        assert response.status_code == 404 and not shown_in(_body(response), CASE_PLANTED)
    response = web.get(f"/api/v1/cases/{planted_case}", headers=token(world.province_11))
    assert response.status_code == 404 and not shown_in(_body(response), CASE_PLANTED)


CASE_FORM_PAGES = ("edit", "consents", "shelter/new", "contact-bans/new", "contact-bans/court", "follow-ups/new",
                   "closure", "closure/decision", "reopen", "transfer")


@pytest.mark.parametrize("who", ["host_a", "officer_a"])
def test_every_screen_of_a_case_that_shows_her_data_records_it(world, planted_case, signed_in, planted, who):
    """Beyond the case page: every form page of the case (and the referral form) that shows a planted value
    writes a read event naming it."""
    urls = [f"/cases/{planted_case}/{p}" for p in CASE_FORM_PAGES] + [f"/referral/cases/{planted_case}/new"]
    # Address names are the directory the transfer and intake forms list whoever the case is: not hers there.
    of_her = {k: v for k, v in planted.items() if k != "address"}
    answered, problems = sweep(signed_in(getattr(world, who)), urls, of_her, planted_case)
    assert len(answered) >= 6, answered
    assert not problems, problems
