"""The tables casework and livelihood register in the catalogue (issue 7), and the records their sources
feed the release: intakes, closures and nights of shelter; survivors listed, proposal stages and money.
Cases and survivors are made through the services; a few dates are then moved to fixed days in two
quarters of 2025, as if recorded then."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from casework.cases import codes, services
from casework.cases.consent import ConsentChoice, ConsentInput, give_consent, has_consent, withdraw_consent
from casework.cases.models import Case, Consent
from casework.cases.tables import (
    AGE_GROUP_OF_BAND,
    CLOSURE_REASON,
    case_records,
    closure_reason_code,
    ethnicity_code,
    night_spans,
)
from casework.extensions import db
from casework.geo import data as geo
from casework.models import utcnow
from casework.protect.fields import ProtectedMixin
from casework.stats import sources
from casework.stats.catalogue import (
    AGE_GROUP,
    FORBIDDEN_VARIABLES,
    catalogue,
    check_catalogue,
    check_table,
)
from casework.stats.cells import NATIONAL_CODE, CellKey, Geography
from casework.stats.counting import count_cells
from casework.text import VN_TZ
from livelihood.models import Disbursement, ProposalTransition, Survivor
from livelihood.tables import livelihood_records
from referral.tables import referral_records
from tests.cases import conftest as case_fixtures
from tests.cases.conftest import COMMUNE_A, COMMUNE_B, COMMUNE_C, user_of
from tests.livelihood import conftest as livelihood_fixtures
from tests.livelihood.conftest import OTHER_PROVINCE_COMMUNE

# The casework and livelihood tests' own fixtures, used here by name.
world, make_case = case_fixtures.world, case_fixtures.make_case
officers, make_survivor = livelihood_fixtures.officers, livelihood_fixtures.make_survivor
make_proposal, make_budget = livelihood_fixtures.make_proposal, livelihood_fixtures.make_budget

GEOGRAPHY = Geography.from_geo_data()
YEAR = (date(2025, 1, 1), date(2025, 12, 31))


@pytest.fixture(autouse=True)
def request_context(app):
    """Services translate their messages, and the language is chosen per request: give them one."""
    with app.test_request_context("/"):
        yield


def vn(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def cells(records, period: str) -> dict[CellKey, int]:
    counted = count_cells(catalogue().tables(), records, period, GEOGRAPHY)
    return {k: c.value for k, c in {**counted.context, **counted.cells}.items()}


def nat(measure: str, period: str, *dims: tuple[str, str]) -> CellKey:
    return CellKey(measure, "national", NATIONAL_CODE, period, tuple(dims))


def prov(measure: str, province: str, period: str, *dims: tuple[str, str]) -> CellKey:
    return CellKey(measure, "province", province, period, tuple(dims))


# --- the catalogue --------------------------------------------------------------------------------

CASEWORK_IDS = {"CASE_P_TOTAL", "CASE_P_ACT_FORM", "CASE_P_AGE", "CASE_P_ACT_FORM_AGE", "CASE_P_COMMUNE",
                "CASE_P_SEX", "CASE_P_ETHNICITY", "CASE_X_CONSENT", "CASE_P_CLOSURE", "CASE_E_SHELTER_NIGHTS"}
LIVELIHOOD_IDS = {"LIV_P_LISTED", "LIV_P_STATUS", "LIV_X_CONSENT", "LIV_P_STAGE", "LIV_M_APPROVED",
                  "LIV_M_DISBURSED"}


def test_every_registered_table_obeys_the_catalogue_and_none_has_a_trusted_address_dimension(app):
    tables = catalogue().tables()
    assert CASEWORK_IDS | LIVELIHOOD_IDS <= {t.id for t in tables}
    assert {t.id: check_table(t) for t in tables} == {t.id: [] for t in tables}
    assert check_catalogue(list(tables)) == []
    for t in tables:
        variables = {d.variable for d in t.dimensions}
        assert not variables & FORBIDDEN_VARIABLES, t.id
        assert not any("address" in v or "host" in v for v in variables), t.id
        if t.kind == "activity":
            # Issue 16: Plan 96's activity indicators count addresses, trainings and packages (never persons),
            # published without small-cell suppression; they are never broken down by a person's attribute.
            assert t.unit != "persons" and not variables & {"sex", "ethnicity", "age_group"}, t.id
            continue
        assert "address" not in t.measure and "host" not in t.measure, t.id
    # Commune tables of persons are the G4 total only, never public.
    communal = [t for t in tables if "commune" in t.geo_levels and t.kind != "activity"]
    assert [(t.id, t.dimensions, t.periods, t.tier) for t in communal] == [
        ("CASE_P_COMMUNE", (), ("year",), "internal")]
    # Every events or money table follows a person table of the catalogue that has its twin cells.
    for t in tables:
        if t.pattern_of:
            wanted = set(t.dimension_ids) | {var for var, _ in t.pattern_dims}
            assert [p.id for p in tables if p.measure == t.pattern_of and p.kind == "persons"
                    and set(p.dimension_ids) == wanted and set(t.geo_levels) <= set(p.geo_levels)
                    and set(t.periods) <= set(p.periods)], t.id
    money = [t for t in tables if t.kind == "money"]
    assert money and all(t.unit == "vnd" and t.rounding_base == 1_000_000 for t in money)


def test_each_domain_adds_its_record_source_once(app, make_app):
    assert {case_records, referral_records, livelihood_records} <= set(sources.sources(app))
    assert sources.sources(app).count(case_records) == 1
    other = make_app()  # a second application in the same process registers the same tables again
    assert len([s for s in sources.sources(other) if s is case_records]) == 1


def test_the_code_lists_cover_every_value_casework_stores():
    assert set(AGE_GROUP_OF_BAND) == set(codes.AGE_BANDS)
    assert set(AGE_GROUP_OF_BAND.values()) <= set(AGE_GROUP.codes())
    assert {closure_reason_code(r) for r in codes.CLOSURE_REASONS} == set(CLOSURE_REASON.codes())
    assert len({closure_reason_code(r) for r in codes.CLOSURE_REASONS}) == len(codes.CLOSURE_REASONS)
    kinh = [g.code for g in geo.ethnic_groups() if g.name.startswith("Kinh")]
    assert kinh == ["01"] and ethnicity_code("01") == "KINH"
    assert {ethnicity_code(g.code) for g in geo.ethnic_groups() if g.code != "01"} == {"MINORITY"}
    assert ethnicity_code(None) == ethnicity_code("99") == "UNK"


def test_nights_are_split_at_each_quarter():
    assert list(night_spans(date(2025, 3, 30), date(2025, 4, 1))) == [(date(2025, 3, 30), 2), (date(2025, 4, 1), 1)]
    assert list(night_spans(date(2025, 12, 31), date(2026, 1, 1))) == [(date(2025, 12, 31), 1), (date(2026, 1, 1), 1)]
    assert list(night_spans(date(2025, 5, 2), date(2025, 5, 1))) == []


# --- casework -------------------------------------------------------------------------------------

@pytest.fixture
def caseload(world, make_case):
    """Five intakes in 2025 and one on the first night of 2026 (Vietnam time):

    - ``first``: commune A, 10/02/2025, consents, acts a, b (physical, mental), born 1990 (30–44), Kinh;
    - ``again``: the same woman back on 12/05/2025 (economic violence);
    - ``child``: commune B, 20/05/2025, consents, act n (economic), born 2012 (under 16), Tày;
    - ``refused``: commune C (province 11), 21/05/2025, no consent to statistics;
    - ``late``: commune C, 31/12/2025 at 23:30 in Vietnam (16:30 UTC), consents;
    - ``new_year``: commune C, 01/01/2026 at 00:30 in Vietnam (still 31/12 in UTC), consents.
    """
    from casework.cases.services import PersonData

    def person(year: int, ethnicity: str = "01") -> PersonData:
        return PersonData(full_name="Trần Thị Thu", birth_year=year, ethnicity_code=ethnicity, sex="female")

    ids = {
        "first": make_case(world.host_a, world.addr_a, intake_at=vn(2025, 2, 10), person=person(1990)),
        "again": make_case(world.host_a, world.addr_a, intake_at=vn(2025, 5, 12), acts=("n",), person=person(1990)),
        "child": make_case(world.host_b, world.addr_b, intake_at=vn(2025, 5, 20), acts=("n",),
                           person=person(2012, "02")),
        "refused": make_case(world.host_c, world.addr_c, intake_at=vn(2025, 5, 21),
                             consent=ConsentChoice(record=True, statistics=False)),
        "late": make_case(world.host_c, world.addr_c, intake_at=vn(2025, 12, 31, 23, 30)),
        "new_year": make_case(world.host_c, world.addr_c, intake_at=vn(2026, 1, 1, 0, 30)),
    }
    # The woman came back: casework links her second intake to her first record.
    first = db.session.get(Case, ids["first"])
    db.session.execute(update(Case).where(Case.id == ids["again"]).values(person_id=first.person_id))
    db.session.commit()
    db.session.expire_all()
    return ids


def _case(case_id: str) -> Case:
    return db.session.get(Case, case_id)


def test_one_record_per_intake_with_its_vietnam_date_geography_categories_and_consent(caseload):
    records = [r for r in case_records(*YEAR) if r.measure == "survivors"]
    first = _case(caseload["first"])
    got = sorted((r.on, r.province_code, r.commune_code, sorted(r.attributes["act_form"]), r.attributes["age_group"],
                  r.attributes["sex"], r.attributes["ethnicity"], r.consent, r.person_id == first.person_id)
                 for r in records)
    assert got == [
        (date(2025, 2, 10), "19", COMMUNE_A, ["MENT", "PHYS"], "A16_59", "F", "KINH", True, True),
        (date(2025, 5, 12), "19", COMMUNE_A, ["ECON"], "A16_59", "F", "KINH", True, True),
        (date(2025, 5, 20), "19", COMMUNE_B, ["ECON"], "U16", "F", "MINORITY", True, False),
        (date(2025, 5, 21), "11", COMMUNE_C, ["MENT", "PHYS"], "A16_59", "F", "KINH", False, False),
        (date(2025, 12, 31), "11", COMMUNE_C, ["MENT", "PHYS"], "A16_59", "F", "KINH", True, False),
    ]
    # The intake at half past midnight on 1 January in Vietnam belongs to 2026, not to 2025.
    assert [r.on for r in case_records(date(2026, 1, 1), date(2026, 1, 1)) if r.measure == "survivors"] == \
        [date(2026, 1, 1)]
    # A window of one day holds that day's intakes only.
    assert [r.on for r in case_records(date(2025, 5, 20), date(2025, 5, 20))] == [date(2025, 5, 20)]


def test_consent_in_the_records_is_has_consent_for_every_case(caseload, world):
    give_consent(user_of(world.host_c), _case(caseload["refused"]), ConsentInput("statistics"))
    row = db.session.scalar(select(Consent).where(Consent.case_id == caseload["child"],
                                                  Consent.purpose == "statistics"))
    withdraw_consent(user_of(world.host_b), _case(caseload["child"]), row.id)
    db.session.commit()
    by_person = {r.person_id: r.consent for r in case_records(*YEAR) if r.measure == "survivors"}
    expected = {_case(i).person_id: has_consent(_case(i), "statistics") for i in caseload.values()
                if _case(i).intake_at.astimezone(VN_TZ).year == 2025}
    assert by_person == expected
    assert by_person[_case(caseload["refused"]).person_id] is True
    assert by_person[_case(caseload["child"]).person_id] is False


def test_the_year_counts_each_consenting_woman_once_and_the_others_only_as_excluded(caseload):
    values = cells(list(case_records(*YEAR)), "2025Q4")
    assert [values[nat("survivors", q)] for q in ("2025Q1", "2025Q2", "2025Q3", "2025Q4", "2025")] == [1, 1, 0, 1, 3]
    assert values[prov("survivors", "19", "2025")] == 2  # the woman who came back counts once
    assert values[prov("survivors", "11", "2025")] == 1  # the one who did not consent is not counted
    assert values[prov("survivors", "11", "2025Q2")] == 0
    assert [values[nat("survivors_excluded", p)] for p in ("2025Q2", "2025")] == [1, 1]
    assert values[nat("survivors", "2025", ("act_form", "PHYS"))] == 2
    assert values[nat("survivors", "2025", ("act_form", "ECON"))] == 1  # her economic violence came in Q2
    assert values[nat("survivors", "2025", ("age_group", "U16"))] == 1
    assert values[nat("survivors", "2025", ("act_form", "ECON"), ("age_group", "U16"))] == 1
    assert values[prov("survivors", "19", "2025", ("ethnicity", "MINORITY"))] == 1
    assert values[prov("survivors", "19", "2025", ("ethnicity", "KINH"))] == 1
    assert values[nat("survivors", "2025", ("sex", "F"))] == 3
    assert {c: values[CellKey("survivors", "commune", c, "2025")] for c in (COMMUNE_A, COMMUNE_B, COMMUNE_C)} == \
        {COMMUNE_A: 1, COMMUNE_B: 1, COMMUNE_C: 1}
    # The third quarter's release counts the year so far, and no year yet.
    third = cells(list(case_records(*YEAR)), "2025Q3")
    assert [third[nat("survivors", q)] for q in ("2025Q1", "2025Q2", "2025Q3")] == [1, 1, 0]
    assert nat("survivors", "2025") not in third and nat("survivors", "2025Q4") not in third


def test_closures_count_persons_by_reason_in_the_quarter_of_the_closure(caseload, world):
    host_a, officer_a = user_of(world.host_a), user_of(world.officer_a)
    for key, reason in (("first", "moved_away"), ("again", "lost_contact")):
        services.request_closure(host_a, _case(caseload[key]), reason)
        services.decide_closure(officer_a, _case(caseload[key]), "approve")
    host_c = user_of(world.host_c)
    services.request_closure(host_c, _case(caseload["refused"]), "safe_reintegrated")
    db.session.commit()
    today = utcnow().astimezone(VN_TZ).date()
    closed = sorted((r.attributes["closure_reason"], r.on, r.consent) for r in case_records(today, today)
                    if r.measure == "survivors_closed")
    # The request alone is no closure; both of her cases closed.
    assert closed == [("LOST_CONTACT", today, True), ("MOVED_AWAY", today, True)]
    period = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    values = cells(list(case_records(date(today.year, 1, 1), today)), period)
    assert values[prov("survivors_closed", "19", period)] == 1  # one woman
    reasons = {code: values[prov("survivors_closed", "19", period, ("closure_reason", code))]
               for code in CLOSURE_REASON.codes()}
    assert sum(reasons.values()) == 1 and reasons["MOVED_AWAY"] + reasons["LOST_CONTACT"] == 1


def test_nights_of_shelter_fall_in_the_quarter_of_each_night(caseload, world):
    stay = services.ShelterData(start_on=date(2025, 3, 30), end_on=date(2025, 4, 2))
    services.add_shelter_stay(user_of(world.host_a), _case(caseload["first"]), stay)
    services.add_shelter_stay(user_of(world.host_c), _case(caseload["refused"]),
                              services.ShelterData(start_on=date(2025, 5, 21), end_on=date(2025, 5, 25)))
    db.session.commit()
    nights = sorted((r.on, r.events, r.consent) for r in case_records(*YEAR) if r.measure == "shelter_nights")
    assert nights == [(date(2025, 3, 30), 2, True), (date(2025, 4, 1), 1, True), (date(2025, 5, 21), 4, False)]
    assert [(r.on, r.events) for r in case_records(date(2025, 3, 31), date(2025, 3, 31))
            if r.measure == "shelter_nights"] == [(date(2025, 3, 31), 1)]
    values = cells(list(case_records(*YEAR)), "2025Q2")
    assert values[prov("shelter_nights", "19", "2025Q1")] == 2
    assert values[prov("shelter_nights", "19", "2025Q2")] == 1
    assert values[nat("shelter_nights", "2025Q2")] == 1  # the nights of the woman who did not consent are out


def test_an_open_stay_counts_the_nights_up_to_last_night(world, make_case):
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=3))
    today = utcnow().astimezone(VN_TZ).date()
    services.add_shelter_stay(user_of(world.host_a), _case(case_id),
                              services.ShelterData(start_on=today - timedelta(days=2)))
    db.session.commit()
    nights = [r for r in case_records(today - timedelta(days=5), today) if r.measure == "shelter_nights"]
    assert sum(r.events for r in nights) == 2 and max(r.on for r in nights) <= today - timedelta(days=1)


def test_the_source_never_decrypts_a_protected_field(caseload, world, monkeypatch):
    services.add_shelter_stay(user_of(world.host_a), _case(caseload["first"]),
                              services.ShelterData(start_on=date(2025, 3, 30), end_on=date(2025, 4, 2)))
    db.session.commit()
    decrypted: list[str] = []
    original = ProtectedMixin._decrypt

    def spy(self, column, blob):
        decrypted.append(f"{self.__tablename__}.{column}")
        return original(self, column, blob)

    monkeypatch.setattr(ProtectedMixin, "_decrypt", spy)
    db.session.expire_all()
    records = list(case_records(*YEAR))
    assert {r.measure for r in records} == {"survivors", "shelter_nights"} and decrypted == []


# --- livelihood -----------------------------------------------------------------------------------

@pytest.fixture
def livelihood_work(officers, make_budget, make_proposal, make_survivor):
    """Four survivors listed in 2025 and their proposals:

    - ``s1``: commune 05533 (province 19), 03/02/2025, consents, identified; her proposal submitted
      20/02, approved 10/03 (13,000,000 ₫), a tranche of 1,000,000 ₫ paid 15/04;
    - ``s2``: same commune, 05/05/2025, consents, being identified;
    - ``s3``: same commune, 06/05/2025, no consent to statistics; her proposal approved 12/05;
    - ``s4``: commune 03127 (province 11), 01/08/2025, consents, identified.
    """
    make_budget(500_000_000)
    s1 = make_survivor()
    s2 = make_survivor(status="being_identified")
    s3 = make_survivor(consent_statistics=False)
    s4 = make_survivor(officers.other_province_commune)
    for survivor, day in ((s1, date(2025, 2, 3)), (s2, date(2025, 5, 5)), (s3, date(2025, 5, 6)),
                          (s4, date(2025, 8, 1))):
        survivor.registered_on = day
    p1 = make_proposal("disbursing", survivor=s1)
    p3 = make_proposal("approved", survivor=s3)
    moves = {(p1.id, "submitted"): vn(2025, 2, 20), (p1.id, "under_appraisal"): vn(2025, 3, 1),
             (p1.id, "approved"): vn(2025, 3, 10), (p1.id, "disbursing"): vn(2025, 4, 15),
             (p3.id, "submitted"): vn(2025, 5, 10), (p3.id, "under_appraisal"): vn(2025, 5, 11),
             (p3.id, "approved"): vn(2025, 5, 12)}
    for (proposal_id, state), at in moves.items():
        db.session.execute(update(ProposalTransition).where(ProposalTransition.proposal_id == proposal_id,
                                                            ProposalTransition.to_state == state).values(at=at))
    db.session.execute(update(Disbursement).where(Disbursement.proposal_id == p1.id).values(paid_on=date(2025, 4, 15)))
    db.session.commit()
    db.session.expire_all()
    return {"s1": s1.id, "s2": s2.id, "s3": s3.id, "s4": s4.id, "p1": p1.id, "p3": p3.id}


def test_livelihood_records_carry_registration_stages_money_and_consent(livelihood_work):
    records = list(livelihood_records(*YEAR))
    listed = sorted((r.on, r.province_code, r.commune_code, r.attributes["survivor_status"], r.consent)
                    for r in records if r.measure == "trafficking_survivors")
    assert listed == [(date(2025, 2, 3), "19", "05533", "IDENTIFIED", True),
                      (date(2025, 5, 5), "19", "05533", "BEING_IDENTIFIED", True),
                      (date(2025, 5, 6), "19", "05533", "IDENTIFIED", False),
                      (date(2025, 8, 1), "11", OTHER_PROVINCE_COMMUNE, "IDENTIFIED", True)]
    stages = sorted((r.person_id, r.on, sorted(r.attributes["proposal_stage"]), r.consent)
                    for r in records if r.measure == "proposal_persons")
    assert stages == sorted([(livelihood_work["s1"], date(2025, 2, 20), ["APPROVED", "FUNDED", "SUBMITTED"], True),
                             (livelihood_work["s3"], date(2025, 5, 10), ["APPROVED", "SUBMITTED"], False)])
    money = sorted((r.measure, r.person_id, r.on, r.amount, r.consent) for r in records
                   if r.measure.startswith("livelihood_"))
    assert money == sorted([("livelihood_approved_vnd", livelihood_work["s1"], date(2025, 3, 10), 13_000_000, True),
                            ("livelihood_approved_vnd", livelihood_work["s3"], date(2025, 5, 12), 13_000_000, False),
                            ("livelihood_disbursed_vnd", livelihood_work["s1"], date(2025, 4, 15), 1_000_000, True)])
    # A window holds the stages reached in it only.
    spring = [(r.on, sorted(r.attributes["proposal_stage"]))
              for r in livelihood_records(date(2025, 3, 1), date(2025, 4, 30)) if r.measure == "proposal_persons"]
    assert spring == [(date(2025, 3, 10), ["APPROVED", "FUNDED"])]


def test_livelihood_cells_count_consenting_survivors_and_money_by_recipient(livelihood_work):
    values = cells(list(livelihood_records(*YEAR)), "2025Q4")
    assert [values[nat("trafficking_survivors", p)] for p in ("2025Q1", "2025Q2", "2025Q3", "2025")] == [1, 1, 1, 3]
    assert values[prov("trafficking_survivors", "19", "2025")] == 2
    assert [values[nat("trafficking_survivors_excluded", p)] for p in ("2025Q2", "2025")] == [1, 1]
    assert values[nat("trafficking_survivors", "2025", ("survivor_status", "IDENTIFIED"))] == 2
    assert values[nat("trafficking_survivors", "2025", ("survivor_status", "BEING_IDENTIFIED"))] == 1
    assert values[prov("proposal_persons", "19", "2025")] == 1  # s3 did not consent
    for stage in ("SUBMITTED", "APPROVED", "FUNDED"):
        assert values[prov("proposal_persons", "19", "2025", ("proposal_stage", stage))] == 1
    counted = count_cells(catalogue().tables(), list(livelihood_records(*YEAR)), "2025Q4", GEOGRAPHY).cells
    approved = counted[prov("livelihood_approved_vnd", "19", "2025")]
    assert (approved.value, approved.persons, approved.top) == (13_000_000, 1, (13_000_000, 0))
    disbursed = counted[nat("livelihood_disbursed_vnd", "2025")]
    assert (disbursed.value, disbursed.persons) == (1_000_000, 1)
    assert counted[prov("livelihood_disbursed_vnd", "11", "2025")].value == 0


def test_the_status_read_is_the_current_one(livelihood_work):
    db.session.execute(update(Survivor).where(Survivor.id == livelihood_work["s2"]).values(status="identified"))
    db.session.commit()
    statuses = {r.attributes["survivor_status"] for r in livelihood_records(*YEAR)
                if r.measure == "trafficking_survivors"}
    assert statuses == {"IDENTIFIED"}


def test_every_source_of_the_application_feeds_one_release_count(caseload, livelihood_work, app):
    records = list(sources.records(*YEAR, app=app))
    assert {"survivors", "trafficking_survivors", "proposal_persons", "livelihood_approved_vnd"} <= \
        {r.measure for r in records}
    values = cells(records, "2025Q4")
    assert values[nat("survivors", "2025")] == 3 and values[nat("trafficking_survivors", "2025")] == 3


# --- issue 16: notice within the deadline, repeat violence, contact bans ------------------------------

def test_intakes_carry_notice_in_time_and_repeat_and_bans_are_person_records(caseload):
    from casework.cases.models import ContactBan

    first, child = _case(caseload["first"]), _case(caseload["child"])
    first.commune_notified_at = first.intake_at + timedelta(hours=3)
    child.commune_notified_at = child.intake_at + timedelta(hours=30)  # later than the deadline
    db.session.add(ContactBan(case_id=child.id, requested_at=vn(2025, 6, 2), requester="victim",
                              victim_consented=True, decision_due_at=vn(2025, 6, 5)))
    db.session.commit()
    records = list(case_records(*YEAR))
    survivors = {(r.on, r.attributes["notice"], r.attributes["repeat"]) for r in records if r.measure == "survivors"}
    assert (date(2025, 2, 10), "IN_TIME", "FIRST") in survivors
    assert (date(2025, 5, 12), "LATE_OR_NONE", "REPEAT") in survivors  # the same woman back: violence again
    assert (date(2025, 5, 20), "LATE_OR_NONE", "FIRST") in survivors
    bans = [r for r in records if r.measure == "survivors_contact_ban"]
    assert [(r.on, r.person_id, r.province_code) for r in bans] == [(date(2025, 6, 2), child.person_id, "19")]
    ids = {t.id for t in catalogue().tables()}
    assert {"CASE_P_CONTACT_BAN", "CASE_P_NOTICE", "CASE_P_REPEAT"} <= ids
    assert all(catalogue().table(i).kind == "persons" for i in ("CASE_P_CONTACT_BAN", "CASE_P_NOTICE", "CASE_P_REPEAT"))
