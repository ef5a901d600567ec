"""The statistics this domain contributes to the catalogue (DESIGN §3.6, issue 5): referrals by kind of
service and by outcome, by quarter and province, and both together nationally by year.

Counts are of distinct persons who consented to be counted (``referred_persons``), plus the number of
referrals themselves (``referrals``, an events measure that takes the persons' suppression pattern).
``referral_records`` turns the referrals of a period into the engine's records; it reads clear columns
and consent only, never a protected field.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from casework.stats.catalogue import Category, CategoryList, Registry, TableDef, register_table

# One grouping per variable for the whole catalogue, versioned (disclosure-control §2.3).
REFERRAL_SERVICE = CategoryList(
    variable="referral_service", version="2026.2",
    label_vi="Loại dịch vụ được chuyển gửi", label_en="Kind of service referred to",
    categories=(
        Category("POLICE", "Công an", "Police"),
        Category("HEALTH", "Y tế", "Health care"),
        Category("LEGAL_AID", "Trợ giúp pháp lý", "Legal aid"),
        Category("SOCIAL_ASSISTANCE", "Trợ giúp xã hội", "Social assistance"),
        Category("SHELTER", "Nơi tạm lánh dài ngày", "Longer-stay shelter"),
        Category("SAFE_HOUSE", "Nhà an toàn", "Safe house"),
        Category("CHILD_PROTECTION", "Bảo vệ trẻ em", "Child protection"),
        Category("COMMUNE_COMMITTEE", "UBND xã", "Commune People's Committee"),
        Category("PSYCHOLOGICAL", "Tư vấn tâm lý", "Psychological counselling"),
        Category("OTHER", "Khác", "Other"),
    ),
    multi_valued=True, sensitive=True,
)

REFERRAL_OUTCOME = CategoryList(
    variable="referral_outcome", version="2026.1",
    label_vi="Kết quả chuyển gửi", label_en="Outcome of the referral",
    categories=(
        Category("PROVIDED", "Đã được hỗ trợ", "Service given"),
        Category("PARTLY", "Được hỗ trợ một phần", "Service partly given"),
        Category("NOT_PROVIDED", "Không hỗ trợ được", "Service could not be given"),
        Category("DECLINED", "Bị từ chối", "Declined"),
        Category("CANCELLED", "Đã hủy", "Cancelled"),
        Category("PENDING", "Đang xử lý", "Pending"),
    ),
    multi_valued=True, sensitive=True,
)

_GEO = ("national", "province")
_PERIODS = ("quarter", "year")

TABLES = (
    TableDef(id="REF_P_SERVICE", domain="referral", measure="referred_persons",
             title_vi="Số người được chuyển gửi, theo loại dịch vụ",
             title_en="Persons referred, by kind of service",
             geo_levels=_GEO, periods=_PERIODS, dimensions=(REFERRAL_SERVICE,)),
    TableDef(id="REF_P_OUTCOME", domain="referral", measure="referred_persons",
             title_vi="Số người được chuyển gửi, theo kết quả",
             title_en="Persons referred, by outcome",
             geo_levels=_GEO, periods=_PERIODS, dimensions=(REFERRAL_OUTCOME,)),
    TableDef(id="REF_P_SERVICE_OUTCOME", domain="referral", measure="referred_persons",
             title_vi="Số người được chuyển gửi, theo loại dịch vụ và kết quả (toàn quốc, theo năm)",
             title_en="Persons referred, by kind of service and outcome (national, by year)",
             geo_levels=("national",), periods=("year",), dimensions=(REFERRAL_SERVICE, REFERRAL_OUTCOME)),
    TableDef(id="REF_E_SERVICE", domain="referral", measure="referrals", kind="events", unit="referrals",
             title_vi="Số lượt chuyển gửi, theo loại dịch vụ", title_en="Referrals, by kind of service",
             geo_levels=_GEO, periods=_PERIODS, dimensions=(REFERRAL_SERVICE,), pattern_of="referred_persons",
             single_valued=("referral_service",), events_of="referred_persons"),  # one service per referral
)

OUTCOME_OF_STATE = {"sent": "PENDING", "accepted": "PENDING", "declined": "DECLINED", "cancelled": "CANCELLED"}
OUTCOME_OF_RESULT = {"provided": "PROVIDED", "partly_provided": "PARTLY", "not_provided": "NOT_PROVIDED"}


def register_tables(registry: Registry) -> None:
    """Add the tables to the catalogue; registering them again is harmless (same definitions)."""
    for table in TABLES:
        register_table(table, registry)


def outcome_code(state: str, result: str | None) -> str:
    if state == "completed":
        return OUTCOME_OF_RESULT.get(result or "", "PROVIDED")
    return OUTCOME_OF_STATE.get(state, "PENDING")


def referral_records(start: date, end: date) -> Iterator:
    """The referrals sent from ``start`` to ``end`` (inclusive, Vietnam dates) as statistical records:
    one ``referred_persons`` record and one ``referrals`` record each, with consent to statistics taken
    from the case (``casework.cases.consent.has_consent``). Categories and codes only."""
    from sqlalchemy import select

    from casework.cases.consent import has_consent
    from casework.cases.models import Case
    from casework.extensions import db
    from casework.stats.counting import Record
    from casework.text import VN_TZ
    from referral.models import Referral

    lo = datetime.combine(start, time.min, tzinfo=VN_TZ)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=VN_TZ)
    rows = db.session.execute(
        select(Referral.case_id, Referral.service, Referral.state, Referral.result, Referral.sent_at,
               Referral.province_code, Referral.commune_code, Case.person_id)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.sent_at >= lo, Referral.sent_at < hi).order_by(Referral.sent_at, Referral.id)).all()
    consent: dict[str, bool] = {}
    for row in rows:
        if row.case_id not in consent:
            case = db.session.get(Case, row.case_id)
            consent[row.case_id] = case is not None and has_consent(case, "statistics")
        attributes = {"referral_service": frozenset({row.service.upper()}),
                      "referral_outcome": frozenset({outcome_code(row.state, row.result)})}
        on = row.sent_at.astimezone(VN_TZ).date()
        for measure in ("referred_persons", "referrals"):
            yield Record(measure=measure, person_id=row.person_id, on=on, province_code=row.province_code,
                         commune_code=row.commune_code, attributes=attributes, consent=consent[row.case_id])
