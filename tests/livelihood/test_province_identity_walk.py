"""A province officer never sees who a woman is, on any livelihood page or API answer (issue 12).

A name and a phone are planted in every free-text field a commune officer (or, for a tranche, anyone)
can fill: the survivor's record and survey, a proposal's title, description, expected results and
budget lines, transition notes, tranches, visits, support events, the outcome note, and the file
names of receipts and photos. Then every GET route of the livelihood blueprint and of the livelihood
API (walked from ``app.url_map``, every id filled in) is opened as a province officer of the
province: neither the name (also without accents) nor the phone may appear. The answers of the
province officer's own API actions are checked too, and attachment downloads answer 404 to her.
The commune officer still sees the planted text, so the walk cannot pass by showing nothing.
"""

from __future__ import annotations

import io
import itertools
import re
import unicodedata

import pytest
from PIL import Image
from sqlalchemy import select

from casework.extensions import db
from casework.protect.attachments import NewAttachment, attachments_of
from livelihood import services
from livelihood.models import BudgetChange, Disbursement, MonitoringVisit, SupportEvent
from tests.livelihood.conftest import api_token

NAME = "Nguyễn Thị Planted"
PHONE = "0912345678"
PLANT = f"{NAME} {PHONE}"


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn").lower()


def _leaks(text: str) -> list[str]:
    found = []
    if NAME in text or _fold(NAME) in _fold(text) or "planted" in text.lower():
        found.append("name")
    if PHONE in text or PHONE in re.sub(r"[\s.\-]", "", text):
        found.append("phone")
    return found


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def planted(officers, make_budget):
    """Survivors, proposals in every state, tranches, visits, events, attachments: all planted."""
    commune = officers.user(officers.commune)
    province = officers.user(officers.province)
    second = officers.user(officers.second_province)
    make_budget(500_000_000, second_above=50_000_000)
    survivor = services.register_survivor(commune, services.SurvivorInput(
        person=services.PersonInput(full_name=NAME, birth_year=1995, sex="female", ethnicity_code="01", phone=PHONE),
        commune_code=commune.commune_code, status="identified", consent_record=True, consent_statistics=True,
        status_authority=PLANT, household_size=3, monthly_income_vnd=1_000_000, skills=PLANT, assets=PLANT,
        health=PLANT, wishes=PLANT, supports_received=("a",)))
    services.record_event(commune, survivor, services.EventInput(kind="vocational_training",
                                                                 held_on=services.today(), completed=True,
                                                                 description=PLANT))

    def proposal():
        p = services.draft_proposal(commune, survivor, services.ProposalInput(
            kind="livestock", title=PLANT, description=PLANT, expected_results=PLANT,
            lines=(services.LineInput(item=PLANT, unit="Planted 0912345678", quantity=2, unit_cost_vnd=5_000_000),
                   services.LineInput(item=f"Thức ăn cho {NAME}", quantity=1, unit_cost_vnd=1_000_000,
                                      co_contribution_vnd=500_000))))
        return p

    draft = proposal()
    submitted = proposal()
    services.submit_proposal(commune, submitted, note=PLANT)
    returned = proposal()
    services.submit_proposal(commune, returned, note=PLANT)
    services.decide_proposal(province, returned, services.DecisionInput("return", note="Ghi rõ nơi bán"))
    services.revise_proposal(commune, returned, services.ProposalInput(
        kind="crops", title=PLANT, description=PLANT, expected_results=PLANT,
        lines=(services.LineInput(item=PLANT, unit="con", quantity=1, unit_cost_vnd=2_000_000),)))
    withdrawn = proposal()
    services.close_proposal(commune, withdrawn, PLANT)
    paying = proposal()
    services.submit_proposal(commune, paying, note=PLANT)
    services.appraise_proposal(province, paying, services.AppraisalInput(4, 4, 4, 4, 4, comment="Khả thi"))
    services.decide_proposal(province, paying, services.DecisionInput("approve", 10_500_000, note="Đồng ý"))
    receipt = NewAttachment(data=_png(), filename=f"{NAME} {PHONE}.png", kind="receipt")
    services.disburse(second, paying, services.DisbursementInput(2_000_000, services.today(), "in_kind",
                                                                 handed_over_by=PLANT, items=PLANT), receipt=receipt)
    services.disburse(province, paying, services.DisbursementInput(1_000_000, services.today(), "cash",
                                                                   handed_over_by=PLANT), receipt=receipt)
    services.record_visit(commune, paying, services.VisitInput(
        visited_on=services.today(), progress="delayed", income_before_vnd=1_000_000, income_after_vnd=1_200_000,
        funds_used_as_planned=True, problems=PLANT, notes=PLANT),
        photos=[NewAttachment(data=_png(), filename=f"{NAME}.png", kind="photo")])
    completed = proposal()
    services.submit_proposal(commune, completed, note=PLANT)
    services.decide_proposal(second, completed, services.DecisionInput("approve", 10_500_000))
    services.disburse(second, completed, services.DisbursementInput(3_000_000, services.today(), "cash",
                                                                    handed_over_by=PLANT, items=PLANT))
    pending = db.session.scalar(select(Disbursement).where(Disbursement.proposal_id == completed.id))
    services.confirm_tranche(province, completed, pending.id)  # the approver's tranche, confirmed by another
    services.record_visit(commune, completed, services.VisitInput(visited_on=services.today(), progress="on_track",
                                                                 problems=PLANT, notes=PLANT))
    services.complete_proposal(commune, completed, "self_reliant", PLANT)
    db.session.commit()
    return {"survivor": survivor, "proposals": [draft, submitted, returned, withdrawn, paying, completed]}


def _ids(planted) -> dict[str, list[str]]:
    proposals = planted["proposals"]
    ids = [p.id for p in proposals]
    tranches = list(db.session.scalars(select(Disbursement)))
    visits = list(db.session.scalars(select(MonitoringVisit)))
    return {
        "survivor_id": [planted["survivor"].id],
        "proposal_id": ids,
        "tranche_id": [t.id for t in tranches],
        "owner_id": [t.id for t in tranches] + [v.id for v in visits],
        "kind": ["receipt", "photo"],
        "attachment_id": [a.id for owner in (*tranches, *visits) for a in attachments_of(owner)],
        "change_id": [c.id for c in db.session.scalars(select(BudgetChange))] or ["nochange"],
        "event_id": [e.id for e in db.session.scalars(select(SupportEvent))],
    }


def _urls(app, ids) -> list[tuple[str, str]]:
    """(endpoint, url) for every GET route of the livelihood blueprint and API, every id filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        if not (rule.endpoint.startswith("livelihood.") or rule.endpoint.startswith("api.livelihood_")):
            continue
        names = sorted(rule.arguments)
        if any(n not in ids for n in names):
            raise AssertionError(f"the walk does not know how to fill {rule.rule}")  # a new route: teach it
        for values in itertools.product(*(ids[n] for n in names)):
            url = rule.build(dict(zip(names, values, strict=True)), append_unknown=False)[1]
            out.append((rule.endpoint, url))
    return out


def test_a_province_officer_never_sees_a_planted_name_or_phone(app, client, login, officers, planted):
    ids = _ids(planted)
    urls = _urls(app, ids)
    assert len({e for e, _u in urls}) >= 15  # the walk reaches pages and API answers alike
    login(client, officers.province)
    bearer = api_token(client.application.test_client(), officers.province)
    opened, leaks = 0, []
    for endpoint, url in urls:
        response = client.get(url, headers=bearer if url.startswith("/api/") else {})
        body = response.get_data().decode("utf-8", "replace")
        if response.mimetype.endswith("sheet"):
            from openpyxl import load_workbook

            wb = load_workbook(io.BytesIO(response.get_data()), read_only=True)
            body = " ".join(str(c) for row in wb.worksheets[0].iter_rows(values_only=True) for c in row)
        if response.status_code == 200:
            opened += 1
        if endpoint == "livelihood.attachment":
            assert response.status_code == 404, url
        found = _leaks(body)
        if found:
            leaks.append((url, found))
    assert leaks == []
    assert opened >= 15


def test_the_province_officers_own_api_answers_carry_no_identity(client, officers, planted):
    headers = api_token(client, officers.province)
    second = api_token(client, officers.second_province)
    submitted, paying = planted["proposals"][1], planted["proposals"][4]
    answers = [
        client.post(f"/api/v1/proposals/{submitted.id}/appraisals", headers=headers,
                    json={"feasibility": 3, "market": 3, "skills": 3, "risks": 3, "cost": 3}),
        client.post(f"/api/v1/proposals/{submitted.id}/decision", headers=headers,
                    json={"decision": "approve", "approved_amount_vnd": 10_500_000}),
        client.post(f"/api/v1/proposals/{paying.id}/disbursements", headers=headers,
                    json={"amount_vnd": 500_000, "date": services.today().isoformat(), "form": "cash",
                          "handed_over_by": PLANT}),
    ]
    tranche_id = answers[-1].get_json()["id"]
    answers.append(client.post(f"/api/v1/proposals/{paying.id}/disbursements/{tranche_id}/confirm", headers=second))
    answers.append(client.post(f"/api/v1/proposals/{paying.id}/close", headers=headers, json={"reason": "Dừng"}))
    for response in answers:
        assert response.status_code in (200, 201), response.get_json()
        assert _leaks(response.get_data(as_text=True)) == []


def test_the_commune_officer_still_sees_what_she_wrote(app, client, login, officers, planted):
    login(client, officers.commune)
    paying = planted["proposals"][4]
    page = client.get(f"/livelihood/proposals/{paying.id}").get_data(as_text=True)
    assert NAME in page and PHONE in page
    assert "/receipt/" in page and "/photo/" in page  # her attachments are linked
    page = client.get(f"/livelihood/survivors/{planted['survivor'].id}").get_data(as_text=True)
    assert NAME in page and PHONE in page
    body = client.get(f"/api/v1/proposals/{paying.id}", headers=api_token(client, officers.commune)).get_json()
    assert body["title"] == PLANT and body["budget_lines"][0]["item"] == PLANT
    tranche = db.session.scalar(select(Disbursement).where(Disbursement.proposal_id == paying.id))
    attachment = attachments_of(tranche)[0]
    assert client.get(f"/livelihood/proposals/{paying.id}/receipt/{tranche.id}/{attachment.id}").status_code == 200


def test_the_province_sees_the_structured_replacement(client, login, officers, planted):
    login(client, officers.province)
    paying = planted["proposals"][4]
    page = client.get(f"/livelihood/proposals/{paying.id}").get_data(as_text=True)
    code = planted["survivor"].code
    assert f"Chăn nuôi — nạn nhân {code}" in page or code in page
    assert "Dòng 1" in page and "10.000.000 ₫" in page  # line wording replaced, amounts kept
    assert "/receipt/" not in page and "/photo/" not in page


def test_drafting_forms_say_what_the_province_will_see(client, login, officers, planted):
    login(client, officers.commune)
    survivor = planted["survivor"]
    page = client.get(f"/livelihood/survivors/{survivor.id}/proposals/new").get_data(as_text=True)
    assert page.count("Cấp tỉnh không thấy") >= 4 and page.count("Cấp tỉnh sẽ thấy") >= 3
    for url in ("/livelihood/survivors/new", f"/livelihood/survivors/{survivor.id}/events/new",
                f"/livelihood/proposals/{planted['proposals'][4].id}/visits/new"):
        page = client.get(url).get_data(as_text=True)
        assert "Cấp tỉnh không thấy" in page and "Cấp tỉnh sẽ thấy" in page, url
