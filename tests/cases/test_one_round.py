"""Validation in one round (issue 13) on the intake and the address form: a value that is not a date and
the service's own rules in the same answer, each listed at the top as a link to its field; nothing saved.
The commune of an address is picked by name, found without accents."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from casework.cases.models import Address, Case
from casework.extensions import db
from tests.cases.test_intake import form


def _summary_links(page: str) -> list[str]:
    summary = page[page.index('id="error-summary"'):]
    summary = summary[:summary.index("</div>")]
    return re.findall(r'<a href="#([\w-]+)">', summary)


def test_the_intake_lists_a_bad_date_and_a_missing_consent_in_one_answer(world, signed_in):
    client = signed_in(world.host_a)
    response = client.post("/cases/new", data=form(world.addr_a, birth_date="31/02/2001", consent_record=None))
    assert response.status_code == 422
    links = _summary_links(response.text)
    assert "birth_date" in links and "consent_record" in links, links
    for anchor in links:
        assert f'id="{anchor}"' in response.text, anchor
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_an_admin_picks_the_commune_of_an_address_by_name(app, make_user, login):
    admin = make_user("admin")
    client = app.test_client()
    login(client, admin)
    page = client.post("/addresses/new", data={"commune_q": "thanh hoa", "action": "find", "name": "Nhà chị Lan",
                                               "kind": "household"}).text
    assert 'optgroup label="Tỉnh Thanh Hóa"' in page and "Nhà chị Lan" in page
    assert db.session.scalar(select(func.count()).select_from(Address)) == 0
    code = re.search(r'optgroup label="Tỉnh Thanh Hóa">\s*<option value="(\d{5})"', page).group(1)
    # A date that is not a date (the form's parsing) and no name (the service's rule): one answer.
    response = client.post("/addresses/new", data={"commune_code": code, "kind": "household", "name": "",
                                                   "declared_on": "hôm qua"})
    assert response.status_code == 422
    assert set(_summary_links(response.text)) >= {"name", "declared_on"}
    assert db.session.scalar(select(func.count()).select_from(Address)) == 0
    response = client.post("/addresses/new", data={"commune_code": code, "kind": "household", "name": "Nhà chị Lan"})
    assert response.status_code == 302
    assert db.session.scalar(select(Address.commune_code)) == code
