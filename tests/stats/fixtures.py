"""Synthetic microdata with known traps: fixtures (a)–(j) of disclosure-control §3.

Small on purpose (three provinces, nine communes) so that the attacker of ``attacker.py`` can solve
its programs over the whole system in milliseconds. Every fixture is built from records, never from
counts, so the counting step is exercised too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from casework.stats.catalogue import ACT_FORM, AGE_GROUP, ETHNICITY, SEX, Category, CategoryList, TableDef
from casework.stats.cells import Geography
from casework.stats.counting import Counted, Record, count_cells
from casework.stats.release import Release, compute_release
from casework.stats.suppression import Parameters

GEOGRAPHY = Geography(
    provinces=(("91", "Tỉnh Một"), ("92", "Tỉnh Hai"), ("93", "Tỉnh Ba")),
    communes=(
        ("91001", "Xã Đông", "91"), ("91002", "Xã Tây", "91"), ("91003", "Xã Nam", "91"), ("91004", "Xã Bắc", "91"),
        ("92001", "Phường Một", "92"), ("92002", "Phường Hai", "92"), ("92003", "Phường Ba", "92"),
        # (h) a province with only two communes, one of them small
        ("93001", "Xã Lớn", "93"), ("93002", "Xã Nhỏ", "93"),
    ),
)
COMMUNES = {p: [c for c, _, q in GEOGRAPHY.communes if q == p] for p, _ in GEOGRAPHY.provinces}

REFERRAL_SERVICE = CategoryList(
    variable="referral_service", version="test.1", label_vi="Dịch vụ chuyển gửi", label_en="Referral service",
    categories=(Category("HEALTH", "Y tế", "Health"), Category("POLICE", "Công an", "Police"),
                Category("LEGAL", "Trợ giúp pháp lý", "Legal aid")),
    multi_valued=True, sensitive=True,
)
OUTCOME = CategoryList(
    variable="case_outcome", version="test.1", label_vi="Kết quả", label_en="Outcome",
    categories=(Category("SAFE", "An toàn", "Safe"), Category("RETURNED", "Trở về", "Returned home"),
                Category("UNK", "Không rõ", "Not known")),
    sensitive=True,
)
STAGE = CategoryList(
    variable="proposal_stage", version="test.1", label_vi="Giai đoạn", label_en="Stage",
    categories=(Category("SUBMITTED", "Đã nộp", "Submitted"), Category("APPROVED", "Đã duyệt", "Approved"),
                Category("FUNDED", "Đã cấp", "Funded")),
    multi_valued=True,
)

NP = ("national", "province")
QY = ("quarter", "year")


def table(table_id: str, measure: str = "survivors", geo: tuple[str, ...] = NP, periods: tuple[str, ...] = QY,
          dims: tuple[CategoryList, ...] = (), **kw) -> TableDef:
    return TableDef(id=table_id, domain="test", title_vi=f"Bảng {table_id}", title_en=f"Table {table_id}",
                    measure=measure, geo_levels=geo, periods=periods, dimensions=dims, **kw)


G1 = table("G1")
G2_ACT = table("G2-act", dims=(ACT_FORM,))
G2_AGE = table("G2-age", dims=(AGE_GROUP,))
G2_REF = table("G2-ref", dims=(REFERRAL_SERVICE,))
G2_OUT = table("G2-out", dims=(OUTCOME,))
G3 = table("G3-act-age", geo=("national",), periods=("year",), dims=(ACT_FORM, AGE_GROUP))
G4 = table("G4", geo=("commune",), periods=("year",))
G5_SEX = table("G5-sex", periods=("year",), dims=(SEX,))
G5_ETH = table("G5-eth", periods=("year",), dims=(ETHNICITY,))
X1 = table("X1", measure="survivors_excluded", geo=("national",), kind="excluded", source="survivors")
L1 = table("L1", measure="livelihood_persons", periods=("year",), dims=(STAGE,))
L2 = table("L2", measure="disbursed", periods=("year",), kind="money", unit="vnd", pattern_of="livelihood_persons",
           pattern_dims=(("proposal_stage", "FUNDED"),), rounding_base=1_000_000)

CREATED = datetime(2026, 10, 5, 3, 0, tzinfo=UTC)


def day(period: str, n: int = 0) -> date:
    year, q = int(period[:4]), int(period[5])
    return date(year, 3 * (q - 1) + 1, 1 + n % 28)


@dataclass
class People:
    """A builder of records: one call, one intake of one person."""

    records: list[Record] = field(default_factory=list)
    next_id: int = 0

    def add(self, period: str, commune: str, *, act: tuple[str, ...] = ("PHYS",), age: str = "A16_59",
            ref: tuple[str, ...] = (), outcome: str = "SAFE", sex: str = "F", eth: str = "KINH",
            consent: bool = True, elsewhere: bool = False, person: str | None = None, n: int = 1,
            measure: str = "survivors", offset: int = 0) -> list[str]:
        ids = []
        for i in range(n):
            pid = person or f"p{self.next_id}"
            self.next_id += 1
            ids.append(pid)
            self.records.append(Record(
                measure=measure, person_id=pid, on=day(period, offset + i), province_code=commune[:2],
                commune_code=commune,
                attributes={"act_form": frozenset(act), "age_group": age, "referral_service": frozenset(ref),
                            "case_outcome": outcome, "sex": sex, "ethnicity": eth},
                consent=consent, reported_elsewhere=elsewhere))
        return ids

    def grant(self, period: str, commune: str, amount: int, stages: tuple[str, ...] = ("SUBMITTED", "APPROVED",
                                                                                        "FUNDED")) -> None:
        pid = f"g{self.next_id}"
        self.next_id += 1
        self.records.append(Record("livelihood_persons", pid, day(period), commune[:2], commune,
                                   {"proposal_stage": frozenset(stages)}))
        if "FUNDED" in stages:
            self.records.append(Record("disbursed", pid, day(period), commune[:2], commune, {}, amount=amount))


# The ordinary caseload of a commune in a quarter: three groups of twelve, chosen so that no
# combination of two published categories is forced to be small (the reconstruction check stays quiet
# unless a fixture sets a trap on purpose).
BLOCKS = ((12, ("PHYS",), "A16_59"), (12, ("MENT",), "U16"), (12, ("PHYS", "MENT"), "A60"))


def fill(people: People, period: str, communes: tuple[str, ...] | None = None, scale: int = 1, **attrs) -> None:
    for commune in communes or tuple(c for c, _, _ in GEOGRAPHY.communes):
        for n, act, age in BLOCKS:
            people.add(period, commune, n=n * scale, act=act, age=age, **attrs)


def background(people: People, period: str, seed: int, per_commune: int = 14, skip: tuple[str, ...] = ()) -> None:
    """Ordinary caseload: every commune gets a dozen or so survivors of mixed attributes."""
    rng = random.Random(seed)
    for commune, _, _ in GEOGRAPHY.communes:
        if commune in skip:
            continue
        for _ in range(per_commune + rng.randint(0, 6)):
            extra = rng.sample(["PHYS", "MENT", "ECON"], rng.randint(0, 2))
            act = tuple(sorted({rng.choice(["PHYS", "MENT"]), *extra}))
            people.add(period, commune, act=act, age=rng.choice(["A16_59", "A16_59", "U16", "A60"]),
                       ref=tuple(sorted(rng.sample(["HEALTH", "POLICE", "LEGAL"], rng.randint(0, 2)))),
                       outcome=rng.choice(["SAFE", "SAFE", "RETURNED"]), offset=rng.randint(0, 80))


def release(tables, records, period: str, *, earlier: tuple[Release, ...] = (), params: Parameters | None = None,
            release_id: str | None = None, derived=(), created: datetime = CREATED, alone: bool = False) -> Release:
    """``alone``: audit the release by itself, blind to the year's earlier quarters (a broken engine)."""
    counted = count_cells(tables, records, period, GEOGRAPHY)
    if alone:
        counted = Counted(counted.period, counted.cells, {}, counted.microcubes)
    return compute_release(release_id=release_id or f"{period}-r1", period=period, created_at=created,
                           tables=tables, counted=counted, geography=GEOGRAPHY, parameters=params,
                           earlier=earlier, derived=derived)
