"""The attacker test suite T1–T17 of disclosure-control §3, on the synthetic fixtures (a)–(j).

Each attack runs twice: against the engine, where it must fail, and against a deliberately broken
engine (one safeguard switched off), where it must succeed. The second run shows that the first could
have failed. The attacker (``attacker.py``) reads only the downloads and the public catalogue.
"""

from __future__ import annotations

import dataclasses

import pytest

from casework.stats.cells import CellKey
from casework.stats.counting import count_cells
from casework.stats.release import PercentSpec
from tests.stats.attacker import protected
from tests.stats.conftest import attack, key, small, truth
from tests.stats.fixtures import (
    G1,
    G2_ACT,
    G2_AGE,
    G2_REF,
    G4,
    G5_SEX,
    GEOGRAPHY,
    L1,
    L2,
    OUTCOME,
    People,
    day,
    fill,
    release,
    table,
)

K = 10
QUARTER_TABLES = [G1, G2_AGE]
G1_YEAR = table("G1-year", periods=("year",))


def unprotected(values: dict[CellKey, int], releases, integer: bool = False) -> dict[str, list[str]]:
    """Every primary-sensitive person count whose proven bounds break R1–R3, with the rules broken."""
    a = attack(*releases)
    out = {}
    for cell in small(values):
        if cell.measure != "survivors" or a.published(key(cell)) is not None:
            continue  # a published cell is public (a corrected one keeps its published value, T14)
        low, high = a.interval(key(cell), integer)
        failures = protected(low, high, K)
        if failures:
            out[cell.label()] = failures
    return out


# --- T1 threshold ------------------------------------------------------------------------------------

def t1_fixture() -> People:
    # (c) one male survivor in a province; (a) a commune with a single survivor.
    p = People()
    fill(p, "2026Q4", communes=("91001", "91002", "91003", "92001", "92002", "92003", "93001", "93002"))
    p.add("2026Q4", "91004", n=1)
    p.add("2026Q4", "92001", sex="M")
    return p


def published_small(r, k: int = K) -> list[str]:
    return [c.key.label() for c in r.cells
            if c.status == "published" and c.unit == "persons" and c.value is not None and 1 <= c.value < k]


def test_t1_no_published_count_below_k():
    r = release([G1_YEAR, G4, G5_SEX], t1_fixture().records, "2026Q4")
    assert published_small(r) == []
    assert r.manifest["audit"]["suppressed"] > 0


def test_t1_threshold_scan_finds_small_counts_without_primary_suppression(broken):
    broken("primary")
    r = release([G1_YEAR, G4, G5_SEX], t1_fixture().records, "2026Q4")
    assert "survivors|commune:91004|2026|" in published_small(r)
    assert "survivors|province:92|2026|sex=M" in published_small(r)


# --- T2 single-table differencing ---------------------------------------------------------------------

def t2_fixture() -> People:
    p = People()
    fill(p, "2026Q1")
    p.add("2026Q1", "92002", age="UNK")  # one survivor whose age is not known, in one province
    return p


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_t2_single_table_differencing_is_protected(integer):
    records = t2_fixture().records
    r = release(QUARTER_TABLES, records, "2026Q1")
    assert unprotected(truth(QUARTER_TABLES, records, "2026Q1"), [r], integer) == {}


def test_t2_differencing_discloses_without_complementary_suppression(broken):
    broken("complementary")
    records = t2_fixture().records
    r = release(QUARTER_TABLES, records, "2026Q1")
    found = unprotected(truth(QUARTER_TABLES, records, "2026Q1"), [r])
    assert found["survivors|province:92|2026Q1|age_group=UNK"] == ["R1", "R2", "R3"]


# --- T3 hierarchy ------------------------------------------------------------------------------------

def t3_fixture() -> People:
    # (a) commune 91004 has a single survivor; (h) province 93 has two communes, 93002 is small.
    p = People()
    fill(p, "2026Q2", communes=("91001", "91002", "91003", "92001", "92002", "92003", "93001"))
    p.add("2026Q2", "91004")
    p.add("2026Q2", "93002", n=3)
    return p


HIERARCHY_TABLES = [G1_YEAR, G4]


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_t3_hierarchy_differencing_is_protected(integer):
    records = t3_fixture().records
    r = release(HIERARCHY_TABLES, records, "2026Q4")
    a = attack(r)
    assert a.one_missing_child() == []
    assert unprotected(truth(HIERARCHY_TABLES, records, "2026Q4"), [r], integer) == {}


def test_t3_one_missing_child_gives_the_small_commune_away_without_complementary_suppression(broken):
    broken("complementary")
    records = t3_fixture().records
    r = release(HIERARCHY_TABLES, records, "2026Q4")
    a = attack(r)
    assert key(CellKey("survivors", "commune", "91004", "2026")) in a.one_missing_child()
    found = unprotected(truth(HIERARCHY_TABLES, records, "2026Q4"), [r])
    assert set(found) == {"survivors|commune:91004|2026|", "survivors|commune:93002|2026|"}


# --- T4 time, with the ledger (fixture j) ----------------------------------------------------------------

def t4_fixture() -> People:
    p = People()
    for q in ("2026Q1", "2026Q2", "2026Q3", "2026Q4"):
        fill(p, q)
        # Small in Q2 only: the year (62) and the other quarters (20) are published, so
        # year − ΣQ gives Q2 away unless the year-end audit knows the ledger.
        p.add(q, "93001", age="UNK", n=2 if q == "2026Q2" else 20)
    return p


def year_end(records, tables, with_ledger: bool = True):
    earlier: tuple = ()
    for q in ("2026Q1", "2026Q2", "2026Q3"):
        earlier += (release(tables, records, q, earlier=earlier),)
    final = release(tables, records, "2026Q4", earlier=earlier if with_ledger else (), alone=not with_ledger)
    return earlier, final


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_t4_year_minus_quarters_is_protected_with_the_ledger(integer):
    records = t4_fixture().records
    earlier, final = year_end(records, QUARTER_TABLES)
    assert final.manifest["audit"]["joint_with"] == ["2026Q1-r1", "2026Q2-r1", "2026Q3-r1"]
    assert unprotected(truth(QUARTER_TABLES, records, "2026Q4"), [*earlier, final], integer) == {}


def test_t4_year_end_release_audited_alone_gives_the_quarter_away():
    records = t4_fixture().records
    earlier, final = year_end(records, QUARTER_TABLES, with_ledger=False)
    found = unprotected(truth(QUARTER_TABLES, records, "2026Q4"), [*earlier, final])
    assert found["survivors|province:93|2026Q2|age_group=UNK"] == ["R1", "R2", "R3"]


# --- T5 linked tables (fixture e) ---------------------------------------------------------------------

G2_ACT_Y = table("G2-act-y", periods=("year",), dims=(G2_ACT.dimensions[0],))
G2_AGE_Y = table("G2-age-y", periods=("year",), dims=(G2_AGE.dimensions[0],))
G2_OUT_Y = table("G2-out-y", periods=("year",), dims=(OUTCOME,))
G3_AGE_OUT = table("G3", geo=("national",), periods=("year",), dims=(G2_AGE.dimensions[0], OUTCOME))
LINKED = [G2_AGE_Y, G2_OUT_Y, G3_AGE_OUT]


def t5_fixture() -> People:
    # (e) the age and outcome tables share their national margins with the two-way table, and the
    # province totals with each other; several small cells in each.
    p = People()
    for commune, age, outcome, n in (
            ("91001", "U16", "SAFE", 1), ("91001", "A16_59", "SAFE", 3), ("91001", "A60", "SAFE", 12),
            ("91001", "A60", "RETURNED", 12), ("92001", "U16", "SAFE", 12), ("92001", "U16", "RETURNED", 8),
            ("92001", "A16_59", "SAFE", 2), ("92001", "A60", "SAFE", 12), ("93001", "U16", "SAFE", 8),
            ("93001", "U16", "RETURNED", 8), ("93001", "A16_59", "RETURNED", 12), ("93001", "A60", "SAFE", 3),
            ("93001", "A60", "RETURNED", 2)):
        p.add("2026Q2", commune, age=age, outcome=outcome, n=n)
    return p


def conflicting_statuses(*releases) -> list[str]:
    seen: dict[CellKey, tuple[str, int | None]] = {}
    out = []
    for r in releases:
        for c in r.cells:
            if seen.setdefault(c.key, (c.status, c.value)) != (c.status, c.value):
                out.append(c.key.label())
    return out


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_t5_linked_tables_are_audited_jointly(integer):
    records = t5_fixture().records
    r = release(LINKED, records, "2026Q4")
    rows: dict[tuple, set] = {}
    for row in attack_rows(r):
        rows.setdefault(row_cell(row), set()).add((row["status"], row["value"]))
    assert max(len(v) for v in rows.values()) == 1  # one status everywhere
    assert len(rows) < len(attack_rows(r))  # some cells do belong to several tables
    assert unprotected(truth(LINKED, records, "2026Q4"), [r], integer) == {}


def test_t5_tables_audited_one_by_one_give_a_shared_cell_two_statuses():
    records = t5_fixture().records
    one = release([G3_AGE_OUT], records, "2026Q4", release_id="2026Q4-a")
    two = release([G2_AGE_Y, G2_OUT_Y], records, "2026Q4", release_id="2026Q4-b")
    assert conflicting_statuses(one, two)
    assert attack(one, two).conflicts


def attack_rows(r):
    from casework.stats import formats
    from tests.stats.attacker import parse_csv

    return parse_csv(formats.to_csv(r))


def row_cell(row: dict) -> tuple:
    return (row["measure"], row["geo_level"], row["geo_code"], row["period"], row["case_outcome"], row["age_group"])


# --- T6 multi-valued complements (fixture g) ---------------------------------------------------------------

REF_TABLES = [G1, G2_REF]


def t6_fixture() -> People:
    # (g) multi-valued referrals: in province 93 all but two survivors were referred to health care.
    p = People()
    fill(p, "2026Q1", communes=("91001", "91002", "91003", "91004", "92001", "92002", "92003"), ref=("POLICE",))
    fill(p, "2026Q1", communes=("93001", "93002"), ref=("HEALTH", "POLICE"))
    p.add("2026Q1", "93002", ref=("POLICE",), n=2)
    return p


def complement(measure: str, level: str, code: str, period: str, variable: str, category: str):
    return (measure, level, code, period, ((variable, "!" + category),))


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_t6_hidden_complement_of_an_indicator_is_protected(integer):
    records = t6_fixture().records
    r = release(REF_TABLES, records, "2026Q1")
    low, high = attack(r).interval(complement("survivors", "province", "93", "2026Q1", "referral_service",
                                               "HEALTH"), integer)
    assert protected(low, high, K) == []


def test_t6_total_minus_indicator_gives_the_complement_away_without_rule(broken):
    broken("complements")
    records = t6_fixture().records
    r = release(REF_TABLES, records, "2026Q1")
    low, high = attack(r).interval(complement("survivors", "province", "93", "2026Q1", "referral_service", "HEALTH"))
    assert (low, high) == (2, 2)


REFERRED = table("R-p", measure="referred", dims=(G2_REF.dimensions[0],))
REFERRALS = table("R-e", measure="referrals", kind="events", unit="referrals", dims=(G2_REF.dimensions[0],),
                  pattern_of="referred")


def t6_events_records() -> list:
    # Province 93: twenty women referred once to health care; three of them also five times each to
    # the police. "Referrals not to health care" = total − health = 15, all made for three women.
    from casework.stats.counting import Record

    def referral(person: str, commune: str, service: str, n: int = 1) -> list:
        return [Record(measure, person, day("2026Q1", i), commune[:2], commune,
                       {"referral_service": frozenset({service})})
                for i in range(n) for measure in ("referred", "referrals")]

    records = []
    for commune in ("91001", "91002", "92001", "92002"):
        for i in range(15):
            records += referral(f"{commune}-{i}", commune, "HEALTH")
            records += referral(f"{commune}-{i}", commune, "POLICE", 2)
    for i in range(20):
        records += referral(f"93-{i}", "93001", "HEALTH")
    for i in range(3):
        records += referral(f"93-{i}", "93001", "POLICE", 5)
    return records


NOT_HEALTH_EVENTS = complement("referrals", "province", "93", "2026Q1", "referral_service", "HEALTH")


def test_t6_hidden_complement_of_an_events_indicator_with_few_persons_is_protected():
    r = release([REFERRED, REFERRALS], t6_events_records(), "2026Q1")
    low, high = attack(r).interval(NOT_HEALTH_EVENTS, integer=True)
    assert protected(low, high, K) == []


def test_t6_total_minus_indicator_gives_the_events_complement_away_without_rule(broken):
    broken("complements")
    r = release([REFERRED, REFERRALS], t6_events_records(), "2026Q1")
    assert attack(r).interval(NOT_HEALTH_EVENTS) == (15, 15)


# --- T7 existence disclosure -------------------------------------------------------------------------------

ACT_TABLES = [G1, G2_ACT]


def t7_fixture() -> People:
    # Province 93: twelve survivors, all of physical violence (P4 makes the cell primary). In province
    # 92 ninety of a hundred: hiding 92's cell alone leaves 93's between 2 and 12, wide enough for R3
    # but proving that someone in 93 suffered physical violence.
    p = People()
    p.add("2026Q1", "91001", act=("PHYS",), n=140)
    p.add("2026Q1", "91002", act=("MENT",), n=10)
    p.add("2026Q1", "92001", act=("PHYS",), n=90)
    p.add("2026Q1", "92002", act=("MENT",), n=10)
    p.add("2026Q1", "93001", act=("PHYS",), n=12)
    return p


PHYS_93 = ("survivors", "province", "93", "2026Q1", (("act_form", "PHYS"),))


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_t7_no_primary_cell_is_proven_non_empty(integer):
    r = release(ACT_TABLES, t7_fixture().records, "2026Q1")
    assert r.cell(CellKey(*PHYS_93)).status == "suppressed"
    assert attack(r).interval(PHYS_93, integer)[0] == 0


def test_t7_width_alone_leaves_a_primary_cell_proven_non_empty(broken):
    broken("existence", "insider")  # the insider check happens to repair this fixture too
    r = release(ACT_TABLES, t7_fixture().records, "2026Q1")
    low, high = attack(r).interval(PHYS_93)
    assert high - low >= K and low == 2


# --- T9 money and the p% rule (fixture f) ---------------------------------------------------------------

MONEY = [L1, L2]
MILLION = 1_000_000


def t9_fixture() -> People:
    # (f) one grant is 80 % of province 92's disbursement; the second largest is 15 %.
    p = People()
    for commune in ("91001", "93001"):
        for _ in range(12):
            p.grant("2026Q2", commune, 5 * MILLION)
    p.grant("2026Q2", "92001", 80 * MILLION)
    p.grant("2026Q2", "92002", 15 * MILLION)
    for _ in range(10):
        p.grant("2026Q2", "92003", MILLION // 2)
    return p


def second_largest_estimate(r, integer: bool = False) -> tuple[float, float]:
    """What the recipient of the 15 million learns about the 80 million: the cell's bounds minus her own."""
    low, high = attack(r).interval(("disbursed", "province", "92", "2026", ()), integer)
    return low - 15 * MILLION, high - 15 * MILLION


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_t9_dominant_grant_cannot_be_estimated_within_p_percent(integer):
    from casework.stats.release import MeanSpec

    r = release(MONEY, t9_fixture().records, "2026Q4", derived=[MeanSpec("disbursed")])
    low, high = second_largest_estimate(r, integer)
    assert high >= 1.10 * 80 * MILLION and low <= 0.90 * 80 * MILLION
    # The money and the funded persons share one pattern, and the mean grant is not published.
    for c in r.cells:
        if c.key.measure == "disbursed":
            twin = r.cell(c.key.of_measure("livelihood_persons", (("proposal_stage", "FUNDED"),)))
            assert twin.status == c.status
    mean = [d for d in r.derived if d.key.geo_code == "92"]
    assert [d.status for d in mean] == ["suppressed"]


def test_t9_second_largest_recipient_estimates_the_grant_without_p_rule(broken):
    broken("p_rule")
    r = release(MONEY, t9_fixture().records, "2026Q4")
    low, high = second_largest_estimate(r)
    assert high < 1.10 * 80 * MILLION


# --- T10 derived statistics --------------------------------------------------------------------------------

def t10_fixture() -> People:
    # Province 93 has 12 survivors: 5 under 16 and 7 aged 16–59; one decimal of 5/12 pins the 5.
    p = People()
    fill(p, "2026Q1", communes=("91001", "91002", "91003", "91004", "92001", "92002", "92003"))
    p.add("2026Q1", "93001", age="U16", n=5)
    p.add("2026Q1", "93001", age="A16_59", n=7)
    return p


PERCENT = [PercentSpec("survivors", "age_group", decimals=1)]


def percent_attack(r):
    import json

    from casework.stats import formats

    a = attack(r)
    for d in json.loads(formats.to_json(r))["derived"]:
        if d["status"] != "published":
            continue
        num = (d["table_measure"], d["geo_level"], d["geo_code"], d["period"],
               tuple(sorted(d["dimensions"].items())))
        den = num[:4] + ((),)
        p, half = float(d["value"]), 0.05
        # N·(p−h)/100 ≤ x ≤ N·(p+h)/100 (§2.6)
        a.extra.append(({num: 1.0, den: -(p + half) / 100}, -float("inf"), 0.0))
        a.extra.append(({num: 1.0, den: -(p - half) / 100}, 0.0, float("inf")))
    return a


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_t10_published_percentages_do_not_pin_a_suppressed_cell(integer):
    records = t10_fixture().records
    r = release(QUARTER_TABLES, records, "2026Q1", derived=PERCENT)
    assert any(d.status == "published" for d in r.derived)
    low, high = percent_attack(r).interval(("survivors", "province", "93", "2026Q1", (("age_group", "U16"),)),
                                           integer)
    assert protected(low, high, K) == []


def test_t10_a_percentage_of_a_suppressed_cell_pins_it(broken):
    broken("derived_rule")
    records = t10_fixture().records
    r = release(QUARTER_TABLES, records, "2026Q1", derived=PERCENT)
    low, high = percent_attack(r).interval(("survivors", "province", "93", "2026Q1", (("age_group", "U16"),)),
                                           integer=True)
    assert low == high == 5


def test_t10_the_final_audit_refuses_a_percentage_that_pins_a_cell(monkeypatch):
    from casework.stats import release as release_module
    from casework.stats.suppression import ReleaseError

    monkeypatch.setattr(release_module, "derived_publishable", lambda num, den: bool(den.value))
    with pytest.raises(ReleaseError):
        release(QUARTER_TABLES, t10_fixture().records, "2026Q1", derived=PERCENT)


# --- T11 insider (coalition of one) ------------------------------------------------------------------------

def t11_fixture() -> People:
    p = People()
    fill(p, "2026Q2", communes=("91003", "91004", "92001", "92002", "92003", "93001", "93002"))
    p.add("2026Q2", "91001", n=3)
    p.add("2026Q2", "91002", n=15)
    return p


def insider_attacks(r, records) -> dict[str, tuple[float, float]]:
    """Each suppressed commune's host knows her own count: does that pin another commune?"""
    a = attack(r)
    values = truth(HIERARCHY_TABLES, records, "2026Q4")
    out = {}
    for j in a.suppressed():
        cell_j = CellKey(j[0], j[1], j[2], j[3], j[4])
        for i in small(values):
            if key(i) != j:
                low, high = a.interval(key(i), known={j: values[cell_j]})
                if high - low < 1e-6:
                    out[f"{i.label()} knowing {cell_j.label()}"] = (low, high)
    return out


def test_t11_an_insider_cannot_pin_a_primary_cell():
    records = t11_fixture().records
    assert insider_attacks(release(HIERARCHY_TABLES, records, "2026Q4"), records) == {}


def test_t11_without_the_insider_check_a_host_pins_her_neighbour(broken):
    broken("insider")
    records = t11_fixture().records
    found = insider_attacks(release(HIERARCHY_TABLES, records, "2026Q4"), records)
    assert found["survivors|commune:91001|2026| knowing survivors|commune:91002|2026|"] == (3, 3)


# --- T14 revisions ------------------------------------------------------------------------------------------

def t14_records(corrected: bool) -> list:
    p = People()
    for q in ("2026Q1", "2026Q2", "2026Q3", "2026Q4"):
        fill(p, q)
    if corrected:
        # Three intakes of the first quarter entered after its release (a correction, dated in Q1).
        p.add("2026Q1", "91001", age="UNK", n=3)
    return p.records


def test_t14_published_cells_are_never_revised_and_the_correction_reaches_only_the_year():
    first = release(QUARTER_TABLES, t14_records(False), "2026Q1")
    records = t14_records(True)
    again = release(QUARTER_TABLES, records, "2026Q1", earlier=(first,), release_id="2026Q1-r2")
    assert [(c.key, c.status, c.value) for c in again.cells] == [(c.key, c.status, c.value) for c in first.cells]
    earlier = (first, release(QUARTER_TABLES, records, "2026Q2", earlier=(first,)))
    earlier += (release(QUARTER_TABLES, records, "2026Q3", earlier=earlier),)
    final = release(QUARTER_TABLES, records, "2026Q4", earlier=earlier)
    national = final.cell(CellKey("survivors", "national", "VN", "2026"))
    assert national.value == sum(truth([G1], records, "2026Q4")[CellKey("survivors", "national", "VN", q)]
                                 for q in ("2026Q1", "2026Q2", "2026Q3", "2026Q4"))
    q1 = CellKey("survivors", "national", "VN", "2026Q1")
    assert first.cell(q1).value + 3 == truth([G1], records, "2026Q4")[q1]  # the ledger keeps the old figure
    # The joint audit: a reader of every release, believing the published quarters, can neither tell
    # that province 91's first quarter was corrected nor narrow any small cell.
    a = attack(*earlier, final)
    low, high = a.interval(("survivors", "province", "91", "2026", (("age_group", "UNK"),)), integer=True)
    assert low <= 0 and high >= 3
    values = truth(QUARTER_TABLES, records, "2026Q4")
    assert unprotected(values, [*earlier, final], integer=True) == {}


def test_t14_a_release_recomputed_without_the_ledger_revises_published_cells():
    first = release(QUARTER_TABLES, t14_records(False), "2026Q1")
    again = release(QUARTER_TABLES, t14_records(True), "2026Q1", release_id="2026Q1-r2")
    changed = [c.key.label() for c, d in zip(first.cells, again.cells, strict=True) if (c.status, c.value) !=
               (d.status, d.value)]
    assert "survivors|province:91|2026Q1|" in changed


# --- T15 reconstruction -------------------------------------------------------------------------------

OUT_TABLES = [G1, G2_AGE, table("G2-out", dims=(OUTCOME,))]


def t15_fixture() -> People:
    # Province 93, 30 survivors: 12 aged 16–59, 20 "safe". Only 2 of the 12 are safe, so the published
    # margins prove at least 12 + 20 − 30 = 2 persons aged 16–59 and safe: a group of 2, proven.
    p = People()
    fill(p, "2026Q1", communes=("91001", "91002", "91003", "91004", "92001", "92002", "92003"),
         outcome="RETURNED")
    p.add("2026Q1", "93001", age="A16_59", outcome="SAFE", n=2)
    p.add("2026Q1", "93001", age="A16_59", outcome="RETURNED", n=10)
    p.add("2026Q1", "93002", age="U16", outcome="SAFE", n=18)
    return p


def reconstruction_failures(r, records) -> dict[str, float]:
    """The integer attacker over the finest cross-classification (age × outcome per province): every
    pair of categories whose true count is below k must have minimum 0."""
    from tests.stats.attacker import fine_minimum

    a = attack(r)
    ages, outcomes = a.codes("age_group"), a.codes("case_outcome")
    populations = [("province", p, "2026Q1") for p in ("91", "92", "93")]
    counts: dict[tuple, int] = {}
    for rec in records:
        pop = ("province", rec.province_code, "2026Q1")
        counts[(pop, rec.attributes["age_group"], rec.attributes["case_outcome"])] = \
            counts.get((pop, rec.attributes["age_group"], rec.attributes["case_outcome"]), 0) + 1
    out = {}
    for pop in populations:
        for age in ages:
            for outcome in outcomes:
                n = counts.get((pop, age, outcome), 0)
                if not 1 <= n < K:
                    continue
                low = fine_minimum(a, {"age_group": ages, "case_outcome": outcomes}, set(), populations,
                                   {"population": pop, "cells": (("age_group", age), ("case_outcome", outcome))})
                if low > 1e-6:
                    out[f"{pop[1]} {age} {outcome}"] = low
    return out


def test_t15_no_small_combination_of_attributes_is_proven_non_empty():
    records = t15_fixture().records
    assert reconstruction_failures(release(OUT_TABLES, records, "2026Q1"), records) == {}


def test_t15_without_the_reconstruction_check_the_margins_prove_a_small_group(broken):
    broken("reconstruction")
    records = t15_fixture().records
    found = reconstruction_failures(release(OUT_TABLES, records, "2026Q1"), records)
    assert found == {"93 A16_59 SAFE": 2}


# --- T16 group disclosure (fixture b) ---------------------------------------------------------------------

def t16_fixture() -> People:
    # (b) all 12 survivors of a province share one form of violence. A commune cannot be broken down by
    # form at all (T20); the province is the smallest unit where the trap can be set.
    p = People()
    fill(p, "2026Q1", communes=("91001", "91002", "91003", "91004", "92001", "92002", "92003"))
    p.add("2026Q1", "93001", act=("MENT",), n=12)
    return p


MENT_93 = ("survivors", "province", "93", "2026Q1", (("act_form", "MENT"),))


def test_t16_a_category_holding_everyone_of_a_small_parent_is_not_inferable():
    r = release(ACT_TABLES, t16_fixture().records, "2026Q1")
    assert attack(r).interval(MENT_93, integer=True)[0] == 0


def test_t16_without_the_group_rule_everyone_is_seen_to_share_one_form(broken):
    broken("group")
    r = release(ACT_TABLES, t16_fixture().records, "2026Q1")
    total = attack(r).published(("survivors", "province", "93", "2026Q1", ()))
    assert attack(r).interval(MENT_93) == (total, total) == (12, 12)


# --- T17 consent and deduplication ----------------------------------------------------------------------------

X_TABLES = [G1, table("X1", measure="survivors_excluded", geo=("national",), kind="excluded", source="survivors")]


def t17_records(refusing: int) -> list:
    p = People()
    fill(p, "2026Q1")
    p.add("2026Q1", "91001", consent=False, n=refusing)
    p.add("2026Q1", "92001", elsewhere=True, n=4)  # reported by another organisation (Primero pattern)
    [twice] = p.add("2026Q1", "93001")
    p.add("2026Q1", "93002", person=twice, offset=20)  # a second intake: still one person
    return p.records


def test_t17_refusals_and_duplicates_are_not_counted_and_refusals_show_only_nationally():
    r = release(X_TABLES, t17_records(refusing=12), "2026Q1")
    assert r.cell(CellKey("survivors", "national", "VN", "2026Q1")).value == 9 * 36 + 1
    assert r.cell(CellKey("survivors", "province", "93", "2026Q1")).value == 72 + 1
    excluded = [c for c in r.cells if c.key.measure == "survivors_excluded"]
    assert [(c.key.geo_level, c.status, c.value) for c in excluded] == [("national", "published", 12)]
    few = release(X_TABLES, t17_records(refusing=3), "2026Q1")
    assert few.cell(CellKey("survivors_excluded", "national", "VN", "2026Q1")).status == "suppressed"


def test_t17_counting_without_the_consent_gate_counts_refusals(monkeypatch):
    from casework.stats import counting

    original = counting._first_intakes

    def no_gate(records):
        counted, _ = original([dataclasses.replace(r, consent=True) for r in records])
        return counted, {}

    monkeypatch.setattr(counting, "_first_intakes", no_gate)
    r = release(X_TABLES, t17_records(refusing=12), "2026Q1")
    assert r.cell(CellKey("survivors", "national", "VN", "2026Q1")).value == 9 * 36 + 1 + 12


def test_t14_a_suppressed_cell_stays_suppressed_when_a_correction_makes_it_large():
    # Sticky status (§2.5): 3 survivors of unknown age in province 93 are hidden in Q1; nine more
    # entered later for Q1 make it 12. A second Q1 release keeps the x; without the ledger it would
    # publish 12, and the difference would reveal both the hidden 3 and the correction.
    p = People()
    fill(p, "2026Q1")
    p.add("2026Q1", "93001", age="UNK", n=3)
    first = release(QUARTER_TABLES, p.records, "2026Q1")
    unk = CellKey("survivors", "province", "93", "2026Q1", (("age_group", "UNK"),))
    assert first.cell(unk).status == "suppressed"
    p.add("2026Q1", "93002", age="UNK", n=9)
    again = release(QUARTER_TABLES, p.records, "2026Q1", earlier=(first,), release_id="2026Q1-r2")
    assert again.cell(unk).status == "suppressed"
    unaware = release(QUARTER_TABLES, p.records, "2026Q1", release_id="2026Q1-r2")
    assert (unaware.cell(unk).status, unaware.cell(unk).value) == ("published", 12)


# --- Structural facts (issue 16): event additivity, persons ≤ events, across the year's releases ----------

REFERRED_P = table("REF-p", measure="referred", dims=(G2_REF.dimensions[0],))
# As the referral domain declares it: one service per referral, and the referrals of the referred persons.
REFERRALS_E = table("REF-e", measure="referrals", kind="events", unit="referrals", dims=(G2_REF.dimensions[0],),
                    pattern_of="referred", single_valued=("referral_service",), events_of="referred")
REFERRAL_TABLES = [REFERRED_P, REFERRALS_E]
Q1_Q3 = ("2026Q1", "2026Q2", "2026Q3")


def referral_year(seed: int = 2) -> list:
    """Three quarters of referrals: large provinces 91 and 92, a small province 93; most women are
    referred to health care or the police, few to legal aid, some more than once to one service. Each
    referral is for exactly one service (as in ``referral.tables``)."""
    import random

    from casework.stats.counting import Record

    rng = random.Random(seed)
    rates = {"HEALTH": 0.5, "POLICE": 0.35, "LEGAL": 0.08}
    records, pid = [], 0
    for quarter in Q1_Q3:
        for commune, _, province in GEOGRAPHY.communes:
            for _ in range(rng.choice([10, 20, 30, 40]) if province != "93" else rng.choice([3, 8, 15])):
                pid += 1
                for service in [s for s, p in rates.items() if rng.random() < p] or ["HEALTH"]:
                    for _ in range(rng.choice([1, 1, 1, 2, 3])):
                        on = day(quarter, rng.randint(0, 60))
                        records += [Record(m, f"p{pid}", on, province, commune,
                                           {"referral_service": frozenset({service})})
                                    for m in ("referred", "referrals")]
    return records


def referral_releases(records) -> list:
    out: list = []
    for quarter in Q1_Q3:
        out.append(release(REFERRAL_TABLES, records, quarter, earlier=tuple(out)))
    return out


def withheld_small(releases, values: dict[CellKey, int], integer: bool = False, **attacker) -> dict[str, tuple]:
    """Every withheld cell whose true value is 1..9 and whose proven interval breaks R1–R3, for an attacker
    holding every release of the year and the structural facts switched on in ``attacker``."""
    a = attack(*releases)
    for name, value in attacker.items():
        setattr(a, name, value)
    out = {}
    for cell, value in sorted(values.items(), key=lambda kv: kv[0].sort_key()):
        if not 1 <= value < K or cell.hidden or a.cells.get(key(cell), ("",))[0] != "suppressed":
            continue
        low, high = a.interval(key(cell), integer)
        if protected(low, high, K):
            out[cell.label()] = (value, low, high)
    return out


ADDITIVE_ONLY = {"persons_le_events": False}


@pytest.fixture(scope="module")
def referral_case():
    records = referral_year()
    return referral_releases(records), truth(REFERRAL_TABLES, records, "2026Q3")


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_one_service_per_referral_recovers_no_withheld_referral_count(referral_case, integer):
    releases, values = referral_case
    assert withheld_small(releases, values, integer, **ADDITIVE_ONLY) == {}


@pytest.mark.parametrize("integer", [False, True], ids=["lp", "ilp"])
def test_persons_never_above_their_referrals_recovers_no_withheld_count(referral_case, integer):
    releases, values = referral_case
    assert withheld_small(releases, values, integer, at_least_one={"referral_service"}) == {}


def test_an_engine_that_thinks_a_referral_has_several_services_gives_referral_counts_away(broken):
    # The leak of issue 16: the referrals of a quarter by service add up to the quarter's referrals.
    broken("relations")
    records = referral_year()
    releases = referral_releases(records)
    found = withheld_small(releases, truth(REFERRAL_TABLES, records, "2026Q3"), **ADDITIVE_ONLY)
    assert found["referrals|province:91|2026Q2|referral_service=LEGAL"] == (7, 7.0, 7.0)  # exact
    assert found["referrals|province:92|2026Q1|referral_service=LEGAL"] == (7, 0.0, 8.0)  # too narrow
    # A reader who ignores the fact finds nothing: the engine's own audit could not see it.
    assert withheld_small(releases, truth(REFERRAL_TABLES, records, "2026Q3"), single_valued=False,
                          persons_le_events=False) == {}


def test_persons_never_above_their_referrals_narrows_withheld_persons_without_the_relation(broken):
    broken("relations")
    records = referral_year()
    releases = referral_releases(records)
    values = truth(REFERRAL_TABLES, records, "2026Q3")
    additive = withheld_small(releases, values, **ADDITIVE_ONLY)
    both = withheld_small(releases, values)
    persons = {label for label in both if label.startswith("referred|")}
    assert persons and not persons & set(additive)
    assert both["referred|province:91|2026Q1|referral_service=LEGAL"] == (5, 3.0, 11.0)  # proven non-empty


def test_a_person_table_linked_to_its_events_enters_the_audit_as_inequalities():
    from casework.stats.model import build_model

    records = referral_year()
    counted = count_cells(REFERRAL_TABLES, records, "2026Q1", GEOGRAPHY)
    model = build_model(REFERRAL_TABLES, counted, {}, GEOGRAPHY)
    rows = [dict(zip(vs, cs, strict=True)) for vs, cs, _ in model.ub_rows]
    p = model.index[CellKey("referred", "province", "91", "2026Q1", (("referral_service", "LEGAL"),))]
    e = model.index[CellKey("referrals", "province", "91", "2026Q1", (("referral_service", "LEGAL"),))]
    assert {p: 1.0, e: -1.0} in rows  # persons − events ≤ 0
    assert not model.multi("referrals", "referral_service") and model.multi("referred", "referral_service")
    total = CellKey("referrals", "province", "91", "2026Q1")
    by_service = {total, *(total.with_dim("referral_service", c) for c in ("HEALTH", "POLICE", "LEGAL"))}
    rows = [{model.vars[v].key for v in vs} for vs, _ in model.eq_rows]
    assert by_service in rows  # the referrals by service add up to the referrals
