"""Monitoring visits due and support periods ending in the commune officer's queue (issue 13): a visit a
quarter after the approval or the newest visit, a year of support from the approval; each item goes away when
the work is done, and nobody outside the commune sees it."""

from __future__ import annotations

from datetime import timedelta

from casework import work
from casework.extensions import db
from casework.models import utcnow
from livelihood import services
from livelihood.work import MONITORING_DAYS, SUPPORT_DAYS


def _items(officers, account, kind: str) -> list:
    db.session.expire_all()
    return [i for i in work.work_for(officers.user(account)).items if i.kind == kind]


def test_a_monitoring_visit_is_due_a_quarter_after_approval_and_a_visit_clears_it(officers, make_proposal,
                                                                                make_budget):
    make_budget(100_000_000)
    proposal = make_proposal("approved")
    assert proposal.monitoring_due_on == services.today() + timedelta(days=MONITORING_DAYS)
    assert _items(officers, officers.commune, "monitoring_visit_due") == []  # not near yet
    proposal.monitoring_due_on = services.today() - timedelta(days=2)  # the quarter has passed
    db.session.commit()
    (item,) = _items(officers, officers.commune, "monitoring_visit_due")
    assert item.object_id == proposal.id and item.overdue() and item.link == {"proposal_id": proposal.id}
    for other in (officers.other_commune, officers.province, officers.other_province_commune):
        assert _items(officers, other, "monitoring_visit_due") == []
    services.record_visit(officers.user(officers.commune), db.session.get(type(proposal), proposal.id),
                          services.VisitInput(visited_on=services.today().isoformat(), progress="on_track"))
    db.session.commit()
    assert _items(officers, officers.commune, "monitoring_visit_due") == []
    assert db.session.get(type(proposal), proposal.id).monitoring_due_on == (
        services.today() + timedelta(days=MONITORING_DAYS))


def test_a_completed_proposal_needs_no_more_visits(officers, make_proposal, make_budget):
    make_budget(100_000_000)
    proposal = make_proposal("completed")
    assert proposal.monitoring_due_on is None


def test_the_support_period_ending_shows_a_month_before_its_end(officers, make_proposal, make_budget):
    make_budget(100_000_000)
    proposal = make_proposal("disbursing")
    assert _items(officers, officers.commune, "support_period_ending") == []
    proposal.decided_at = utcnow() - timedelta(days=SUPPORT_DAYS - 20)
    db.session.commit()
    (item,) = _items(officers, officers.commune, "support_period_ending")
    assert item.object_id == proposal.id and not item.overdue()
    assert item.due_at == proposal.decided_at + timedelta(days=SUPPORT_DAYS)
    assert _items(officers, officers.other_commune, "support_period_ending") == []
    services.complete_proposal(officers.user(officers.commune), db.session.get(type(proposal), proposal.id),
                               "self_reliant")
    db.session.commit()
    assert _items(officers, officers.commune, "support_period_ending") == []
