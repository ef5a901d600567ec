"""The statistics the livelihood domain contributes to the catalogue (DESIGN §3.6, issue 7;
disclosure-control §2.3 L1–L2): trafficking survivors listed, persons whose proposal was submitted,
approved or funded, and the money approved and paid to them.

Measures:

- ``trafficking_survivors``: survivors listed who consented to be counted, in the quarter of their
  registration (``registered_on``, fixed: §2.2 Period assignment), in total by quarter and year and by
  status by year. Status changes after registration (being identified → identified); counted by year it
  is read once, at year-end, instead of changing quarters already published.
- ``trafficking_survivors_excluded``: those listed without consent to statistics, nationally (§2.2).
- ``proposal_persons``: persons whose proposal reached a stage in the year: submitted, approved, funded
  (a tranche paid). Multi-valued: one person may reach all three; they do not add up to the total. By
  year only: the engine takes a person's categories from the quarter she is first counted in, and the
  stages of one proposal usually fall in different quarters.
- ``livelihood_approved_vnd`` and ``livelihood_disbursed_vnd``: money in VND by recipient (the p% rule,
  §2.4 P3), by year, with the suppression pattern of the approved or funded persons (§2.3 L2) and shown
  rounded to 1,000,000 VND (§2.6).

Not published: age. The register's bands (under 18, 18–24, …) cannot be mapped onto the catalogue's
Circular 07/2017 groups (under 16 / 16–59 / 60 and over: "under 18" straddles two of them), and a second
grouping of ``age_group`` would let a reader subtract one from the other (§2.3). Sex and ethnicity are
left out too: trafficking survivors are few, and a province's male or minority survivors near-unique.

``livelihood_records`` reads clear columns and the consent flag only, never a protected field.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from casework.stats.catalogue import BY_YEAR, Registry, category_list, excluded_table, register_table, table_family

# Law 53/2024: a person being identified as a victim, or an identified victim.
SURVIVOR_STATUS = category_list(
    "survivor_status", "law-53-2024.2", "Tình trạng xác định nạn nhân", "Status as a victim",
    [("BEING_IDENTIFIED", "Đang trong quá trình xác định là nạn nhân", "Being identified as a victim"),
     ("IDENTIFIED", "Đã xác định là nạn nhân", "Identified victim"),
     ("NOT_VICTIM", "Không phải nạn nhân", "Not a victim")], sensitive=True)

PROPOSAL_STAGE = category_list(
    "proposal_stage", "2026.1", "Giai đoạn của phương án sinh kế", "Stage of the livelihood proposal",
    [("SUBMITTED", "Đã gửi", "Submitted"), ("APPROVED", "Đã phê duyệt", "Approved"),
     ("FUNDED", "Đã được cấp tiền hoặc hiện vật", "Funded (a tranche paid)")], multi_valued=True)

_MILLION = 1_000_000  # §2.6: money shown rounded to 1,000,000 VND, after the audit
_listed = table_family("livelihood", "trafficking_survivors")


# L2: money by year, with the suppression pattern of the persons who reached a stage (``pattern_dims``).
_MONEY: dict[str, Any] = {"kind": "money", "unit": "vnd", "pattern_of": "proposal_persons", "rounding_base": _MILLION,
                          **BY_YEAR}


TABLES = (
    _listed("LIV_P_LISTED", "Số nạn nhân bị mua bán được lập danh sách hỗ trợ sinh kế",
            "Trafficking survivors listed for livelihood support"),
    _listed("LIV_P_STATUS", "Số nạn nhân bị mua bán được lập danh sách, theo tình trạng xác định (theo năm)",
            "Trafficking survivors listed, by status as a victim (by year)", SURVIVOR_STATUS, **BY_YEAR),
    excluded_table("LIV_X_CONSENT", "livelihood", source="trafficking_survivors",
                   title_vi="Số nạn nhân được lập danh sách nhưng không đồng ý đưa vào thống kê (toàn quốc)",
                   title_en="Trafficking survivors listed who did not consent to be counted (national)"),
    # L1
    table_family("livelihood", "proposal_persons")(
        "LIV_P_STAGE", "Số người có phương án sinh kế được gửi, được phê duyệt, được cấp hỗ trợ (theo năm)",
        "Persons whose livelihood proposal was submitted, approved, funded (by year)", PROPOSAL_STAGE, **BY_YEAR),
    # L2
    table_family("livelihood", "livelihood_approved_vnd", pattern_dims=(("proposal_stage", "APPROVED"),), **_MONEY)(
        "LIV_M_APPROVED", "Số tiền hỗ trợ sinh kế được phê duyệt (đồng, theo năm)",
        "Livelihood support approved (VND, by year)"),
    table_family("livelihood", "livelihood_disbursed_vnd", pattern_dims=(("proposal_stage", "FUNDED"),), **_MONEY)(
        "LIV_M_DISBURSED", "Số tiền hỗ trợ sinh kế đã giải ngân (đồng, theo năm)",
        "Livelihood support disbursed (VND, by year)"),
)


def register_tables(registry: Registry) -> None:
    """Add the tables to the catalogue; registering them again is harmless (same definitions)."""
    for table in TABLES:
        register_table(table, registry)


def livelihood_records(start: date, end: date) -> Iterator:
    """The livelihood work from ``start`` to ``end`` (inclusive, Vietnam dates) as statistical records:
    one ``trafficking_survivors`` record per registration; one ``proposal_persons`` record per survivor
    and year, on the day of her first stage in the period, with every stage she reached in it; one money
    record per approval (``livelihood_approved_vnd``) and per tranche paid (``livelihood_disbursed_vnd``).
    Consent is her ``consent_statistics``; the person is her opaque record id."""
    from sqlalchemy import select

    from casework.extensions import db
    from casework.stats.counting import Record
    from casework.text import VN_TZ
    from livelihood.models import Disbursement, Proposal, ProposalTransition, Survivor

    listed = db.session.execute(
        select(Survivor.id, Survivor.registered_on, Survivor.province_code, Survivor.commune_code,
               Survivor.status, Survivor.consent_statistics)
        .where(Survivor.registered_on >= start, Survivor.registered_on <= end)
        .order_by(Survivor.registered_on, Survivor.id))
    row: Any  # a row of each of the three queries of this function
    for row in listed:
        yield Record(measure="trafficking_survivors", person_id=row.id, on=row.registered_on,
                     province_code=row.province_code, commune_code=row.commune_code,
                     attributes={"survivor_status": row.status.upper()}, consent=row.consent_statistics)

    lo = datetime.combine(start, time.min, tzinfo=VN_TZ)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=VN_TZ)
    whose = (Proposal.survivor_id, Proposal.province_code, Proposal.commune_code, Survivor.consent_statistics)
    # (day, stage, survivor, province, commune, consent, money measure, amount)
    events: list[tuple] = []
    moves = db.session.execute(
        select(ProposalTransition.at, ProposalTransition.to_state, ProposalTransition.amount_vnd, *whose)
        .join(Proposal, Proposal.id == ProposalTransition.proposal_id)
        .join(Survivor, Survivor.id == Proposal.survivor_id)
        .where(ProposalTransition.to_state.in_(("submitted", "approved")),
               ProposalTransition.at >= lo, ProposalTransition.at < hi)
        .order_by(ProposalTransition.at, ProposalTransition.id))
    for row in moves:
        approved = row.to_state == "approved"
        events.append((row.at.astimezone(VN_TZ).date(), "APPROVED" if approved else "SUBMITTED", *row[3:],
                       "livelihood_approved_vnd" if approved else None, row.amount_vnd or 0))
    paid = db.session.execute(
        select(Disbursement.paid_on, Disbursement.amount_vnd, *whose)
        .join(Proposal, Proposal.id == Disbursement.proposal_id)
        .join(Survivor, Survivor.id == Proposal.survivor_id)
        .where(Disbursement.paid_on >= start, Disbursement.paid_on <= end)
        .order_by(Disbursement.paid_on, Disbursement.id))
    for row in paid:
        events.append((row.paid_on, "FUNDED", *row[2:], "livelihood_disbursed_vnd", row.amount_vnd))

    events.sort(key=lambda e: (e[0], e[2]))
    firsts: dict[tuple[str, int], tuple] = {}
    stages: dict[tuple[str, int], set[str]] = {}
    for day, stage, survivor, province, commune, consent, money, amount in events:
        firsts.setdefault((survivor, day.year), (day, province, commune, consent))
        stages.setdefault((survivor, day.year), set()).add(stage)
        if money and amount:
            yield Record(measure=money, person_id=survivor, on=day, province_code=province, commune_code=commune,
                         consent=consent, amount=amount)
    for (survivor, year), (day, province, commune, consent) in firsts.items():
        yield Record(measure="proposal_persons", person_id=survivor, on=day, province_code=province,
                     commune_code=commune, attributes={"proposal_stage": frozenset(stages[(survivor, year)])},
                     consent=consent)
