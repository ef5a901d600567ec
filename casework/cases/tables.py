"""The statistics trusted-address casework contributes to the catalogue (DESIGN §3.6, issue 7;
disclosure-control §2.2–§2.3): survivors received, in total (G1), by form of violence and by age group
(G2), by form and age nationally (G3), by commune (G4), by sex and by ethnicity (G5), the persons left
out for lack of consent, closures by reason, and nights of shelter.

Measures:

- ``survivors``: distinct persons received who consented to be counted, each counted once a year in the
  quarter, province and commune of her first intake of that year (``casework.stats.counting``).
- ``survivors_excluded``: persons received who did not consent, published nationally only (§2.2).
- ``survivors_closed``: distinct persons whose case was closed, in the quarter of the closure, by its
  reason. Persons rather than closures: the spec counts persons (§2.2 Unit), a second closure of the same
  woman in a year is rare, and a count of closures would need a person count with the same breakdown to
  take its pattern from anyway. It is a measure of its own, not a breakdown of ``survivors``: the reason
  is known only at closure, so as an attribute of the intake it would change quarters already published.
- ``shelter_nights``: nights spent at the trusted address (an events measure), in the quarter of each
  night, with the suppression pattern of ``survivors`` (§2.2: events only where the persons are ≥ k).

Not registered:

- "addresses active": the catalogue forbids any trusted-address dimension or count (§2.3 "Never export:
  trusted-address identity or counts"); many addresses are a host's own home, and a count of active
  addresses per province, differenced over quarters, tells a neighbour that a house opened or closed.
- survivors by referral outcome: the referral domain publishes persons referred by service and outcome
  (``referral.tables``); casework does not import referral.
- ``case_outcome``: the closure reason is the outcome casework records; a second variable for it would
  be a second grouping of the same fact.

``case_records`` turns the casework of a period into the engine's records. It reads clear columns and
consent only, never a protected field, in three queries whatever the number of cases (consent to
statistics is asked in SQL for every case at once, the same question as
``casework.cases.consent.has_consent(case, "statistics")``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from casework.stats.catalogue import (
    ACT_FORM,
    AGE_GROUP,
    ETHNICITY,
    SEX,
    Category,
    CategoryList,
    TableDef,
    register_table,
)

# One grouping per variable for the whole catalogue, versioned (disclosure-control §2.3). The codes are
# those of ``codes.CLOSURE_REASONS`` in capitals; the labels are the screens' wording.
CLOSURE_REASON = CategoryList(
    variable="closure_reason", version="2026.1",
    label_vi="Lý do kết thúc hỗ trợ", label_en="Reason the case was closed",
    categories=(
        Category("SAFE_REINTEGRATED", "An toàn và đã trở về cộng đồng", "Safe and back in the community"),
        Category("MOVED_AWAY", "Đã chuyển đi nơi khác", "Moved away"),
        Category("REFERRED_TAKEN_OVER", "Đã chuyển gửi và được nơi khác tiếp nhận",
                 "Referred on and taken over by a service"),
        Category("DECLINED_SUPPORT", "Chị ấy không muốn hỗ trợ thêm", "She declined further support"),
        Category("LOST_CONTACT", "Mất liên lạc", "Contact lost"),
        Category("OTHER", "Lý do khác", "Other reason"),
    ),
    sensitive=True,
)

_GEO = ("national", "province")
_PERIODS = ("quarter", "year")

TABLES = (
    # G1
    TableDef(id="CASE_P_TOTAL", domain="casework", measure="survivors",
             title_vi="Số người bị bạo lực gia đình được tiếp nhận",
             title_en="Survivors of domestic violence received",
             geo_levels=_GEO, periods=_PERIODS),
    # G2
    TableDef(id="CASE_P_ACT_FORM", domain="casework", measure="survivors",
             title_vi="Số người được tiếp nhận, theo hình thức bạo lực",
             title_en="Survivors received, by form of violence",
             geo_levels=_GEO, periods=_PERIODS, dimensions=(ACT_FORM,)),
    TableDef(id="CASE_P_AGE", domain="casework", measure="survivors",
             title_vi="Số người được tiếp nhận, theo nhóm tuổi",
             title_en="Survivors received, by age group",
             geo_levels=_GEO, periods=_PERIODS, dimensions=(AGE_GROUP,)),
    # G3
    TableDef(id="CASE_P_ACT_FORM_AGE", domain="casework", measure="survivors",
             title_vi="Số người được tiếp nhận, theo hình thức bạo lực và nhóm tuổi (toàn quốc, theo năm)",
             title_en="Survivors received, by form of violence and age group (national, by year)",
             geo_levels=("national",), periods=("year",), dimensions=(ACT_FORM, AGE_GROUP)),
    # G4: internal tier (not public, §2.7); commune by quarter would need the restricted tier.
    TableDef(id="CASE_P_COMMUNE", domain="casework", measure="survivors",
             title_vi="Số người được tiếp nhận, theo xã (theo năm)",
             title_en="Survivors received, by commune (by year)",
             geo_levels=("commune",), periods=("year",)),
    # G5
    TableDef(id="CASE_P_SEX", domain="casework", measure="survivors",
             title_vi="Số người được tiếp nhận, theo giới tính (theo năm)",
             title_en="Survivors received, by sex (by year)",
             geo_levels=_GEO, periods=("year",), dimensions=(SEX,)),
    TableDef(id="CASE_P_ETHNICITY", domain="casework", measure="survivors",
             title_vi="Số người được tiếp nhận, theo dân tộc (Kinh / dân tộc thiểu số; theo năm)",
             title_en="Survivors received, by ethnicity (Kinh / ethnic minority; by year)",
             geo_levels=_GEO, periods=("year",), dimensions=(ETHNICITY,)),
    # §2.2 Consent gate
    TableDef(id="CASE_X_CONSENT", domain="casework", measure="survivors_excluded", kind="excluded",
             source="survivors",
             title_vi="Số người được tiếp nhận nhưng không đồng ý đưa vào thống kê (toàn quốc)",
             title_en="Survivors received who did not consent to be counted (national)",
             geo_levels=("national",), periods=_PERIODS),
    TableDef(id="CASE_P_CLOSURE", domain="casework", measure="survivors_closed",
             title_vi="Số người kết thúc hỗ trợ, theo lý do",
             title_en="Survivors whose case was closed, by reason",
             geo_levels=_GEO, periods=_PERIODS, dimensions=(CLOSURE_REASON,)),
    TableDef(id="CASE_E_SHELTER_NIGHTS", domain="casework", measure="shelter_nights", kind="events",
             unit="nights", pattern_of="survivors",
             title_vi="Số đêm tạm lánh tại địa chỉ tin cậy", title_en="Nights of shelter at trusted addresses",
             geo_levels=_GEO, periods=_PERIODS),
)

# Person.age_band → Circular 07/2017 bands. 16–17 is a band of its own on the intake form; it falls in
# 16–59 here, so no grouping other than AGE_GROUP's is ever published.
AGE_GROUP_OF_BAND = {
    "under_16": "U16", "16_17": "A16_59", "18_29": "A16_59", "30_44": "A16_59", "45_59": "A16_59",
    "60_plus": "A60", "unknown": "UNK",
}
# "other" joins "not known": the shared SEX list has no third category, and a person of another sex
# would be near-unique in a province.
SEX_OF = {"female": "F", "male": "M"}
KINH = "01"  # casework/data/ethnic-groups.csv: 01 Kinh (Việt); 02–54 the ethnic minorities
FORM_COLUMNS = (("physical", "PHYS"), ("mental", "MENT"), ("sexual", "SEXU"), ("economic", "ECON"))


def register_tables(registry=None) -> None:
    """Add the tables to the catalogue; registering them again is harmless (same definitions)."""
    for table in TABLES:
        register_table(table, registry)


def age_group_code(band: str | None) -> str:
    return AGE_GROUP_OF_BAND.get(band or "", "UNK")


def sex_code(sex: str | None) -> str:
    return SEX_OF.get(sex or "", "UNK")


def ethnicity_code(code: str | None) -> str:
    from casework.geo import data as geo

    if code == KINH:
        return "KINH"
    return "MINORITY" if geo.ethnic_group(code) is not None else "UNK"


def closure_reason_code(reason: str | None) -> str:
    code = (reason or "other").upper()
    return code if code in CLOSURE_REASON.codes() else "OTHER"


def night_spans(first: date, last: date) -> Iterator[tuple[date, int]]:
    """The nights ``first``..``last`` (inclusive) split by calendar quarter: (first night, count) each."""
    day = first
    while day <= last:
        month = (day.month - 1) // 3 * 3 + 4  # first month of the next quarter
        next_quarter = date(day.year + 1, 1, 1) if month > 12 else date(day.year, month, 1)
        stop = min(last, next_quarter - timedelta(days=1))
        yield day, (stop - day).days + 1
        day = stop + timedelta(days=1)


def statistics_consent(case_id):
    """SQL for "she currently consents to be counted" on each case: the question of
    ``consent.has_consent(case, "statistics")`` (an active consent row, no service), for all cases at once."""
    from sqlalchemy import exists

    from casework.cases.models import Consent

    return exists().where(Consent.case_id == case_id, Consent.purpose == "statistics",
                          Consent.service.is_(None), Consent.withdrawn_at.is_(None))


def case_records(start: date, end: date) -> Iterator:
    """The casework from ``start`` to ``end`` (inclusive, Vietnam dates) as statistical records: one
    ``survivors`` record per intake, one ``survivors_closed`` record per closure and one
    ``shelter_nights`` record per stay and quarter. Categories and codes only; the person is her opaque
    record id."""
    from sqlalchemy import or_, select

    from casework.cases.models import Case, Person, ShelterStay
    from casework.extensions import db
    from casework.models import utcnow
    from casework.stats.counting import Record
    from casework.text import VN_TZ

    lo = datetime.combine(start, time.min, tzinfo=VN_TZ)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=VN_TZ)
    consent = statistics_consent(Case.id).label("consent")

    intakes = db.session.execute(
        select(Case.person_id, Case.intake_at, Case.province_code, Case.commune_code,
               *(getattr(Case, f"form_{form}") for form, _ in FORM_COLUMNS),
               Person.sex, Person.age_band, Person.ethnicity_code, consent)
        .join(Person, Person.id == Case.person_id)
        .where(Case.intake_at >= lo, Case.intake_at < hi).order_by(Case.intake_at, Case.id))
    for row in intakes:
        forms = frozenset(code for form, code in FORM_COLUMNS if getattr(row, f"form_{form}"))
        yield Record(measure="survivors", person_id=row.person_id, on=row.intake_at.astimezone(VN_TZ).date(),
                     province_code=row.province_code, commune_code=row.commune_code,
                     attributes={"act_form": forms, "age_group": age_group_code(row.age_band),
                                 "sex": sex_code(row.sex), "ethnicity": ethnicity_code(row.ethnicity_code)},
                     consent=bool(row.consent))

    closures = db.session.execute(
        select(Case.person_id, Case.closed_at, Case.closure_reason, Case.province_code, Case.commune_code, consent)
        .where(Case.status == "closed", Case.closed_at >= lo, Case.closed_at < hi)
        .order_by(Case.closed_at, Case.id))
    for row in closures:
        yield Record(measure="survivors_closed", person_id=row.person_id,
                     on=row.closed_at.astimezone(VN_TZ).date(), province_code=row.province_code,
                     commune_code=row.commune_code,
                     attributes={"closure_reason": closure_reason_code(row.closure_reason)},
                     consent=bool(row.consent))

    # A stay from start_on to end_on is the nights start_on .. end_on - 1 (ShelterStay.nights); a stay
    # still open has had its nights up to last night.
    today = utcnow().astimezone(VN_TZ).date()
    stays = db.session.execute(
        select(ShelterStay.start_on, ShelterStay.end_on, Case.person_id, Case.province_code, Case.commune_code,
               consent)
        .join(Case, Case.id == ShelterStay.case_id)
        .where(ShelterStay.start_on <= end, or_(ShelterStay.end_on.is_(None), ShelterStay.end_on > start))
        .order_by(ShelterStay.start_on, ShelterStay.id))
    for row in stays:
        first = max(row.start_on, start)
        last = min((row.end_on or today) - timedelta(days=1), end)
        for night, count in night_spans(first, last):
            yield Record(measure="shelter_nights", person_id=row.person_id, on=night,
                         province_code=row.province_code, commune_code=row.commune_code,
                         consent=bool(row.consent), events=count)
