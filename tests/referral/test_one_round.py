"""Validation in one round on the referral form (issue 13): the form's check and the service's in one answer."""

from __future__ import annotations

import re

from casework.extensions import db
from referral.models import Referral


def test_a_too_long_reason_and_a_missing_organisation_come_in_one_answer(client, world, login):
    login(client, world.host)
    response = client.post(f"/referral/cases/{world.case.id}/new", data={
        "service": "police", "urgency": "normal", "reason": "x" * 2001})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = page[page.index('id="error-summary"'):]
    summary = summary[:summary.index("</div>")]
    assert re.findall(r'<a href="#(\w+)">', summary) == ["organisation_id", "reason"]
    assert "2000" in summary  # the form's length check, beside the service's organisation rule
    assert db.session.query(Referral).count() == 0
