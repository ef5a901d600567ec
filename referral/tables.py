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

from casework.stats.catalogue import NATIONAL_BY_YEAR, Registry, category_list, register_table, table_family

# One grouping per variable for the whole catalogue, versioned (disclosure-control §2.3).
REFERRAL_SERVICE = category_list(
    "referral_service", "2026.2", "Loại dịch vụ được chuyển gửi", "Kind of service referred to",
    [("POLICE", "Công an", "Police"), ("HEALTH", "Y tế", "Health care"), ("LEGAL_AID", "Trợ giúp pháp lý", "Legal aid"),
     ("SOCIAL_ASSISTANCE", "Trợ giúp xã hội", "Social assistance"),
     ("SHELTER", "Nơi tạm lánh dài ngày", "Longer-stay shelter"), ("SAFE_HOUSE", "Nhà an toàn", "Safe house"),
     ("CHILD_PROTECTION", "Bảo vệ trẻ em", "Child protection"),
     ("COMMUNE_COMMITTEE", "UBND xã", "Commune People's Committee"),
     ("PSYCHOLOGICAL", "Tư vấn tâm lý", "Psychological counselling"), ("OTHER", "Khác", "Other")],
    multi_valued=True, sensitive=True)

REFERRAL_OUTCOME = category_list("referral_outcome", "2026.1", "Kết quả chuyển gửi", "Outcome of the referral", [
    ("PROVIDED", "Đã được hỗ trợ", "Service given"), ("PARTLY", "Được hỗ trợ một phần", "Service partly given"),
    ("NOT_PROVIDED", "Không hỗ trợ được", "Service could not be given"), ("DECLINED", "Bị từ chối", "Declined"),
    ("CANCELLED", "Đã hủy", "Cancelled"), ("PENDING", "Đang xử lý", "Pending")], multi_valued=True, sensitive=True)

_persons = table_family("referral", "referred_persons")

TABLES = (
    _persons("REF_P_SERVICE", "Số người được chuyển gửi, theo loại dịch vụ", "Persons referred, by kind of service",
             REFERRAL_SERVICE),
    _persons("REF_P_OUTCOME", "Số người được chuyển gửi, theo kết quả", "Persons referred, by outcome",
             REFERRAL_OUTCOME),
    _persons("REF_P_SERVICE_OUTCOME", "Số người được chuyển gửi, theo loại dịch vụ và kết quả (toàn quốc, theo năm)",
             "Persons referred, by kind of service and outcome (national, by year)",
             REFERRAL_SERVICE, REFERRAL_OUTCOME, **NATIONAL_BY_YEAR),
    # One service per referral: the referrals of a service add up to the total.
    table_family("referral", "referrals", kind="events", unit="referrals", pattern_of="referred_persons",
                 single_valued=("referral_service",), events_of="referred_persons")(
        "REF_E_SERVICE", "Số lượt chuyển gửi, theo loại dịch vụ", "Referrals, by kind of service", REFERRAL_SERVICE),
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
