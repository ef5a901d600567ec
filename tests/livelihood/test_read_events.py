"""A read event records what was shown (issue 18): the survivor and proposal screens and API answers.

Her commune's officer sees everything; a province officer sees codes, kinds, amounts and dates. For each,
the event's fields must name every planted value the body shows and nothing planted that it does not show
(see tests/read_events.py).
"""

from __future__ import annotations

import pytest

from casework.extensions import db
from livelihood import children, services
from tests.livelihood.conftest import api_token, lines, survivor_input
from tests.read_events import _body, check_read, shown_in, sweep

# On the survivor's own page and answer her fields have their names; another record's carry its kind.
SURVIVOR_PLANTED = {
    "full_name": ["Zqten Lan"],
    "phone": ["0987650322"],
    "status_authority": ["Zqcoquan"],
    "skills": ["Zqkynang"],
    "assets": ["Zqtaisan"],
    "health": ["Zqsuckhoe"],
    "wishes": ["Zqmongmuon"],
    "event.description": ["Zqsukien"],
    "child.name": ["Zqconnho"],
    "proposal.title": ["Zqtieude"],
}
PROPOSAL_PLANTED = {
    "title": ["Zqtieude"],
    "description": ["Zqmota"],
    "expected_results": ["Zqketqua"],
    "line.item": ["Zqhangmuc"],
    "line.unit": ["Zqdonvi"],
    "disbursement.handed_over_by": ["Zqnguoigiao"],
    "disbursement.items": ["Zqvatpham"],
    "visit.problems": ["Zqvande"],
    "visit.notes": ["Zqghichep"],
    "survivor.full_name": ["Zqten Lan"],
    "survivor.phone": ["0987650322"],
}
# Every planted value, for pages where nothing of hers may show.
ALL_PLANTED = {**SURVIVOR_PLANTED, **PROPOSAL_PLANTED}


@pytest.fixture
def planted(officers, make_budget):
    """A survivor, her child and a training event, and her approved proposal with a tranche and a visit,
    every free-text field planted."""
    make_budget()
    commune, province = officers.user(officers.commune), officers.user(officers.second_province)
    survivor = services.register_survivor(commune, survivor_input(
        person=services.PersonInput(full_name="Zqten Lan", birth_year=1995, sex="female", ethnicity_code="01",
                                    phone="0987650322"),
        status_authority="Zqcoquan", status_on=services.today(), skills="Zqkynang", assets="Zqtaisan",
        health="Zqsuckhoe", wishes="Zqmongmuon"))
    children.add_child(commune, survivor, children.ChildInput(name="Zqconnho", birth_year=2018))
    services.record_event(commune, survivor, services.EventInput(kind="vocational_training",
                                                                 held_on=services.today(), description="Zqsukien"))
    proposal = services.draft_proposal(commune, survivor, services.ProposalInput(
        kind="livestock", title="Zqtieude", description="Zqmota", expected_results="Zqketqua",
        lines=(services.LineInput(item="Zqhangmuc", unit="Zqdonvi", quantity=2, unit_cost_vnd=1_000_000),
               *lines())))
    services.submit_proposal(commune, proposal)
    decider = officers.user(officers.province)
    services.decide_proposal(decider, proposal, services.DecisionInput(decision="approve",
                                                                       approved_amount_vnd=proposal.requested_vnd))
    services.disburse(province, proposal, services.DisbursementInput(
        amount_vnd=1_000_000, paid_on=services.today(), form="in_kind", handed_over_by="Zqnguoigiao",
        items="Zqvatpham"))
    services.record_visit(commune, proposal, services.VisitInput(visited_on=services.today(), progress="on_track",
                                                                 problems="Zqvande", notes="Zqghichep"))
    db.session.commit()
    return survivor.id, proposal.id


@pytest.mark.parametrize("who", ["commune", "province"])
def test_survivor_and_proposal_screens_and_answers_record_what_was_shown(client, login, officers, planted, who):
    survivor_id, proposal_id = planted
    account = getattr(officers, who)
    login(client, account)
    headers = api_token(client.application.test_client(), account)
    recorded = {
        "survivor page": check_read(client, f"/livelihood/survivors/{survivor_id}", SURVIVOR_PLANTED,
                                    ("survivor_view",), survivor_id),
        "survivor answer": check_read(client, f"/api/v1/survivors/{survivor_id}", SURVIVOR_PLANTED,
                                      ("survivor_view",), survivor_id, headers=headers),
        "proposal page": check_read(client, f"/livelihood/proposals/{proposal_id}", PROPOSAL_PLANTED,
                                    ("proposal_view",), proposal_id),
        "proposal answer": check_read(client, f"/api/v1/proposals/{proposal_id}", PROPOSAL_PLANTED,
                                      ("proposal_view",), proposal_id, headers=headers),
        "visits answer": check_read(client, f"/api/v1/proposals/{proposal_id}/visits", PROPOSAL_PLANTED,
                                    ("proposal_view",), proposal_id, headers=headers),
    }
    if who == "commune":
        # Her commune's officer is shown every planted field of the survivor page (the proposal page shows
        # neither her name nor the visits' notes): all are in its event.
        assert set(SURVIVOR_PLANTED) <= recorded["survivor page"]
        assert set(PROPOSAL_PLANTED) - {"survivor.full_name", "survivor.phone", "visit.notes"} \
            <= recorded["proposal page"]
        assert {"full_name", "phone", "skills", "wishes"} <= recorded["survivor answer"]
        assert {"title", "description", "line.item"} <= recorded["proposal answer"]
        assert {"visit.problems", "visit.notes"} <= recorded["visits answer"]
    else:
        for name, fields in recorded.items():
            assert not fields & set(ALL_PLANTED), (name, fields)
        assert "status" in recorded["survivor page"] and "survivor.code" in recorded["proposal page"]


def test_the_children_are_read_in_their_own_event_too(client, login, officers, planted):
    from sqlalchemy import select

    from casework.protect.audit import AuditEvent

    survivor_id, _ = planted
    login(client, officers.commune)
    assert client.get(f"/livelihood/survivors/{survivor_id}").status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survivor_child_view")).one()
    assert event.object_id == survivor_id and set(event.fields.split(",")) >= {"name", "birth_year"}


@pytest.mark.parametrize("who", ["other_commune", "other_province"])
def test_out_of_scope_survivor_and_proposal_are_404_and_show_nothing(client, login, officers, planted, who):
    survivor_id, proposal_id = planted
    login(client, getattr(officers, who))
    for url in (f"/livelihood/survivors/{survivor_id}", f"/livelihood/proposals/{proposal_id}"):
        response = client.get(url)
        assert response.status_code == 404 and not shown_in(_body(response), ALL_PLANTED), url


SURVIVOR_FORM_PAGES = ("edit", "events/new", "proposals/new", "children/new")
PROPOSAL_FORM_PAGES = ("edit", "appraise", "decide", "disbursements/new", "visits/new", "complete", "close")


@pytest.mark.parametrize("who", ["commune", "province"])
def test_every_screen_of_a_survivor_or_proposal_that_shows_her_data_records_it(client, login, officers, planted,
                                                                             who):
    """Beyond the record pages: every form page that shows a planted value writes a read event naming it."""
    survivor_id, proposal_id = planted
    login(client, getattr(officers, who))
    answered, problems = sweep(client, [f"/livelihood/survivors/{survivor_id}/{p}" for p in SURVIVOR_FORM_PAGES],
                               SURVIVOR_PLANTED, survivor_id)
    more, more_problems = sweep(client, [f"/livelihood/proposals/{proposal_id}/{p}" for p in PROPOSAL_FORM_PAGES],
                                PROPOSAL_PLANTED, proposal_id)
    assert len(answered + more) >= 2, answered + more
    assert not problems + more_problems, problems + more_problems
