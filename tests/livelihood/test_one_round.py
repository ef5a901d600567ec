"""Validation in one round on the proposal form (issue 13): the form's check and the service's in one answer."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from casework.extensions import db
from livelihood.models import Proposal


def test_a_missing_title_and_a_line_without_cost_come_in_one_answer(client, login, officers, make_survivor):
    survivor = make_survivor()
    login(client, officers.commune)
    form = {"kind": "livestock", "title": "", "description": "", "expected_results": ""}
    for i in range(4):
        for name in ("item", "unit", "quantity", "unit_cost_vnd", "co_contribution_vnd"):
            form[f"lines-{i}-{name}"] = ""
    form.update({"lines-0-item": "Lợn giống", "lines-0-quantity": "2", "lines-0-unit": "con"})
    response = client.post(f"/livelihood/survivors/{survivor.id}/proposals/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = page[page.index('id="error-summary"'):]
    summary = summary[:summary.index("</div>")]
    links = re.findall(r'<a href="#([\w-]+)">', summary)
    assert links[0] == "title" and "lines-0-unit_cost_vnd" in links, links
    assert 'id="lines-0-unit_cost_vnd"' in page  # the link has somewhere to go
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0
