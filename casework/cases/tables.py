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

Activity indicators (issue 16; ``casework.stats.activity``), counted in addresses, hosts and packages,
never in women, published as counted, for every commune and for the pilot communes only:

- ``ADDR_NEW``: trusted addresses declared in the period (``declared_on``, or the day the address was
  registered in the app when the declaration date is not recorded);
- ``ADDR_CONSOLIDATED``: addresses declared before the period that received a training or a support
  package in it (Plan 96 "củng cố");
- ``ADDR_ACTIVE``: addresses active at the end of the period (declared by then and not closed; an
  address closed since is no longer counted in earlier periods either: the app keeps no history of
  the flag, and a release is frozen when made);
- ``ADDR_HOSTS_TRAINED``: distinct hosts of the addresses that had a training in the period;
- ``ADDR_PACKAGES``: support packages received, by province and quarter; ``ADDR_PACKAGES_COMMUNE``: by
  commune for the year.

The research note (§2.3) advised against any count of addresses; Plan 96 reports them and the commune
publishes its list of trusted addresses anyway (Law 13/2022 Art. 36), so a count by province adds
nothing a neighbour cannot read on the commune's notice board. No table says which address received a
woman, or how many women an address received.

Not registered:

- a count of women by trusted address (§2.3 "Never export: trusted-address identity").
- survivors by referral outcome: the referral domain publishes persons referred by service and outcome
  (``referral.tables``); casework does not import referral.
- ``case_outcome``: the closure reason is the outcome casework records; a second variable for it would
  be a second grouping of the same fact.

Decree 76/2023: a case none of whose acts counts as domestic violence for its relationship
(``Case.dv_counted`` false) is in none of these tables; in a case with some acts that count, the form of
violence is that of the counted acts only (``Case.form_*``).

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
    BY_YEAR,
    COMMUNE_BY_YEAR,
    ETHNICITY,
    NATIONAL_BY_YEAR,
    NATIONAL_PROVINCE,
    QUARTER_YEAR,
    SEX,
    Registry,
    TableDef,
    category_list,
    excluded_table,
    register_table,
    table_family,
)
from casework.stats.period import Period

# One grouping per variable for the whole catalogue, versioned (disclosure-control §2.3). The codes are
# those of ``codes.CLOSURE_REASONS`` in capitals; the labels are the screens' wording.
CLOSURE_REASON = category_list("closure_reason", "2026.1", "Lý do kết thúc hỗ trợ", "Reason the case was closed", [
    ("SAFE_REINTEGRATED", "An toàn và đã trở về cộng đồng", "Safe and back in the community"),
    ("MOVED_AWAY", "Đã chuyển đi nơi khác", "Moved away"),
    ("REFERRED_TAKEN_OVER", "Đã chuyển gửi và được nơi khác tiếp nhận", "Referred on and taken over by a service"),
    ("DECLINED_SUPPORT", "Chị ấy không muốn hỗ trợ thêm", "She declined further support"),
    ("LOST_CONTACT", "Mất liên lạc", "Contact lost"), ("OTHER", "Lý do khác", "Other reason")], sensitive=True)

# Issue 16: was the commune People's Committee notified of the intake within the deadline (Law 13/2022
# Art. 36: the trusted address notifies the commune; the app counts NOTICE_HOURS)? Single-valued.
NOTICE_HOURS = 24
NOTICE = category_list("notice", "2026.1", "Báo cho UBND xã", "Commune notified", [
    ("IN_TIME", f"Trong vòng {NOTICE_HOURS} giờ", f"Within {NOTICE_HOURS} hours"),
    ("LATE_OR_NONE", "Muộn hơn hoặc chưa báo", "Later, or not notified")])
# Issue 16: received again: she had a case at a trusted address before this intake. Single-valued.
REPEAT = category_list("repeat", "2026.1", "Bị bạo lực lặp lại", "Violence again",
                       [("REPEAT", "Đã từng được tiếp nhận trước đó", "Received before"),
                        ("FIRST", "Lần đầu được tiếp nhận", "First time received")], sensitive=True)

_survivors = table_family("casework", "survivors")

TABLES = (
    # G1
    _survivors("CASE_P_TOTAL", "Số người bị bạo lực gia đình được tiếp nhận",
               "Survivors of domestic violence received"),
    # G2
    _survivors("CASE_P_ACT_FORM", "Số người được tiếp nhận, theo hình thức bạo lực",
               "Survivors received, by form of violence", ACT_FORM),
    _survivors("CASE_P_AGE", "Số người được tiếp nhận, theo nhóm tuổi", "Survivors received, by age group", AGE_GROUP),
    # G3
    _survivors("CASE_P_ACT_FORM_AGE",
               "Số người được tiếp nhận, theo hình thức bạo lực và nhóm tuổi (toàn quốc, theo năm)",
               "Survivors received, by form of violence and age group (national, by year)",
               ACT_FORM, AGE_GROUP, **NATIONAL_BY_YEAR),
    # G4: internal tier (not public, §2.7); commune by quarter would need the restricted tier.
    _survivors("CASE_P_COMMUNE", "Số người được tiếp nhận, theo xã (theo năm)",
               "Survivors received, by commune (by year)", **COMMUNE_BY_YEAR),
    # G5
    _survivors("CASE_P_SEX", "Số người được tiếp nhận, theo giới tính (theo năm)",
               "Survivors received, by sex (by year)", SEX, **BY_YEAR),
    _survivors("CASE_P_ETHNICITY", "Số người được tiếp nhận, theo dân tộc (Kinh / dân tộc thiểu số; theo năm)",
               "Survivors received, by ethnicity (Kinh / ethnic minority; by year)", ETHNICITY, **BY_YEAR),
    # §2.2 Consent gate
    excluded_table("CASE_X_CONSENT", "casework", "survivors",
                   "Số người được tiếp nhận nhưng không đồng ý đưa vào thống kê (toàn quốc)",
                   "Survivors received who did not consent to be counted (national)"),
    table_family("casework", "survivors_closed")(
        "CASE_P_CLOSURE", "Số người kết thúc hỗ trợ, theo lý do", "Survivors whose case was closed, by reason",
        CLOSURE_REASON),
    # Issue 16: contact bans, notice within the deadline, repeat violence (person tables, protected).
    table_family("casework", "survivors_contact_ban")(
        "CASE_P_CONTACT_BAN", "Số người được đề nghị áp dụng biện pháp cấm tiếp xúc",
        "Survivors for whom a contact ban was requested"),
    _survivors("CASE_P_NOTICE", "Số người được tiếp nhận, theo việc báo cho UBND xã đúng hạn",
               "Survivors received, by whether the commune was notified in time", NOTICE),
    _survivors("CASE_P_REPEAT", "Số người được tiếp nhận, theo việc bị bạo lực lặp lại",
               "Survivors received, by whether they were received before", REPEAT),
    table_family("casework", "shelter_nights", kind="events", unit="nights", pattern_of="survivors")(
        "CASE_E_SHELTER_NIGHTS", "Số đêm tạm lánh tại địa chỉ tin cậy", "Nights of shelter at trusted addresses"),
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


def _activity(id_: str, measure: str, unit: str, title_vi: str, title_en: str, **kw) -> TableDef:
    from casework.stats.activity import ACTIVITY, SCOPE

    defaults = {"geo_levels": NATIONAL_PROVINCE, "periods": QUARTER_YEAR, "dimensions": (SCOPE,)}
    return TableDef(id=id_, domain="casework", measure=measure, kind=ACTIVITY, unit=unit, title_vi=title_vi,
                    title_en=title_en, **{**defaults, **kw})


ACTIVITY_TABLES = (
    _activity("ADDR_NEW", "addresses_new", "addresses", "Số địa chỉ tin cậy được xây dựng mới",
              "Trusted addresses newly set up"),
    _activity("ADDR_CONSOLIDATED", "addresses_consolidated", "addresses",
              "Số địa chỉ tin cậy được củng cố (được tập huấn hoặc hỗ trợ trong kỳ)",
              "Trusted addresses consolidated (trained or supported in the period)"),
    _activity("ADDR_ACTIVE", "addresses_active", "addresses", "Số địa chỉ tin cậy đang hoạt động cuối kỳ",
              "Trusted addresses active at the end of the period"),
    _activity("ADDR_HOSTS_TRAINED", "hosts_trained", "hosts", "Số người phụ trách địa chỉ tin cậy được tập huấn",
              "Hosts of trusted addresses trained"),
    _activity("ADDR_PACKAGES", "address_packages", "packages", "Số gói hỗ trợ địa chỉ tin cậy đã trao",
              "Support packages delivered to trusted addresses"),
    _activity("ADDR_PACKAGES_COMMUNE", "address_packages", "packages",
              "Số gói hỗ trợ địa chỉ tin cậy đã trao, theo xã (theo năm)",
              "Support packages delivered to trusted addresses, by commune (by year)",
              geo_levels=("commune",), periods=("year",), dimensions=()),
)


def register_tables(registry: Registry) -> None:
    """Add the tables to the catalogue; registering them again is harmless (same definitions)."""
    for table in (*TABLES, *ACTIVITY_TABLES):
        register_table(table, registry)


def address_activity(periods: list[str]) -> Iterator:
    """The trusted addresses' activity in ``periods`` as activity records (``casework.stats.activity``):
    addresses, hosts and packages, never a woman. Reads clear columns of the address register only."""
    from sqlalchemy import select

    from casework.auth.models import address_host
    from casework.cases.models import Address, AddressSupport, AddressTraining
    from casework.extensions import db
    from casework.stats.activity import ActivityRecord
    from casework.text import VN_TZ

    addresses = db.session.execute(select(Address.id, Address.province_code, Address.commune_code,
                                          Address.declared_on, Address.created_at, Address.active)).all()
    since = {a.id: a.declared_on or a.created_at.astimezone(VN_TZ).date() for a in addresses}
    place = {a.id: (a.province_code, a.commune_code) for a in addresses}
    spans = {p: Period.parse(p) for p in periods}
    lo = min(p.start for p in spans.values())
    hi = max(p.end for p in spans.values())
    trainings = db.session.execute(select(AddressTraining.address_id, AddressTraining.held_on).where(
        AddressTraining.held_on >= lo, AddressTraining.held_on <= hi)).all()
    packages = db.session.execute(select(AddressSupport.address_id, AddressSupport.received_on).where(
        AddressSupport.received_on >= lo, AddressSupport.received_on <= hi)).all()
    hosts: dict[str, list[str]] = {}
    for address_id, user_id in db.session.execute(select(address_host.c.address_id, address_host.c.user_id)):
        hosts.setdefault(address_id, []).append(user_id)

    for period in periods:
        start, end = spans[period].start, spans[period].end
        for a in addresses:
            if start <= since[a.id] <= end:
                yield ActivityRecord("addresses_new", period, a.province_code, a.commune_code)
            if a.active and since[a.id] <= end:
                yield ActivityRecord("addresses_active", period, a.province_code, a.commune_code)
        supported: set[str] = set()
        for address_id, held_on in trainings:
            if start <= held_on <= end and address_id in place:
                supported.add(address_id)
                for user_id in hosts.get(address_id, ()):
                    yield ActivityRecord("hosts_trained", period, *place[address_id], key=user_id)
        for address_id, received_on in packages:
            if start <= received_on <= end and address_id in place:
                supported.add(address_id)
                yield ActivityRecord("address_packages", period, *place[address_id])
        for address_id in sorted(supported):
            if since[address_id] < start:
                yield ActivityRecord("addresses_consolidated", period, *place[address_id])


def age_group_code(band: str | None) -> str:
    return AGE_GROUP_OF_BAND.get(band or "", "UNK")


def sex_code(sex: str | None) -> str:
    return SEX_OF.get(sex or "", "UNK")


def ethnicity_code(code: str | None) -> str:
    from casework.geo import data as geo

    if code == KINH:
        return "KINH"
    return "MINORITY" if geo.ethnic_group(code) is not None else "UNK"


def notice_code(intake_at: datetime | None, notified_at: datetime | None) -> str:
    """IN_TIME when the commune was notified within NOTICE_HOURS of the intake (or before it)."""
    if intake_at is None or notified_at is None:
        return "LATE_OR_NONE"
    return "IN_TIME" if notified_at - intake_at <= timedelta(hours=NOTICE_HOURS) else "LATE_OR_NONE"


def closure_reason_code(reason: str | None) -> str:
    code = (reason or "other").upper()
    return code if code in CLOSURE_REASON.codes() else "OTHER"


def night_spans(first: date, last: date) -> Iterator[tuple[date, int]]:
    """The nights ``first``..``last`` (inclusive) split by calendar quarter: (first night, count) each."""
    day = first
    while day <= last:
        stop = min(last, Period.containing(day).end)
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
    from sqlalchemy import exists, or_, select
    from sqlalchemy.orm import aliased

    from casework.cases.models import Case, ContactBan, Person, ShelterStay
    from casework.extensions import db
    from casework.models import utcnow
    from casework.stats.counting import Record
    from casework.text import VN_TZ

    lo = datetime.combine(start, time.min, tzinfo=VN_TZ)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=VN_TZ)
    consent = statistics_consent(Case.id).label("consent")

    earlier = aliased(Case)
    before = exists().where(earlier.person_id == Case.person_id, earlier.intake_at < Case.intake_at) \
        .correlate(Case).label("before")
    intakes = db.session.execute(
        select(Case.person_id, Case.intake_at, Case.province_code, Case.commune_code,
               Case.legacy_commune_code, Case.commune_notified_at,
               *(getattr(Case, f"form_{form}") for form, _ in FORM_COLUMNS),
               Person.sex, Person.age_band, Person.ethnicity_code, consent, before)
        .join(Person, Person.id == Case.person_id)
        .where(Case.intake_at >= lo, Case.intake_at < hi, Case.dv_counted).order_by(Case.intake_at, Case.id))
    for row in intakes:
        forms = frozenset(code for form, code in FORM_COLUMNS if getattr(row, f"form_{form}"))
        yield Record(measure="survivors", person_id=row.person_id, on=row.intake_at.astimezone(VN_TZ).date(),
                     province_code=row.province_code, commune_code=row.commune_code,
                     legacy_commune_code=row.legacy_commune_code or "",
                     attributes={"act_form": forms, "age_group": age_group_code(row.age_band),
                                 "sex": sex_code(row.sex), "ethnicity": ethnicity_code(row.ethnicity_code),
                                 "notice": notice_code(row.intake_at, row.commune_notified_at),
                                 "repeat": "REPEAT" if row.before else "FIRST"},
                     consent=bool(row.consent))

    bans = db.session.execute(
        select(ContactBan.requested_at, Case.person_id, Case.province_code, Case.commune_code,
               Case.legacy_commune_code, consent)
        .join(Case, Case.id == ContactBan.case_id)
        .where(ContactBan.requested_at >= lo, ContactBan.requested_at < hi)
        .order_by(ContactBan.requested_at, ContactBan.id))
    for row in bans:
        yield Record(measure="survivors_contact_ban", person_id=row.person_id,
                     on=row.requested_at.astimezone(VN_TZ).date(), province_code=row.province_code,
                     commune_code=row.commune_code,
                     legacy_commune_code=row.legacy_commune_code or "", consent=bool(row.consent))

    closures = db.session.execute(
        select(Case.person_id, Case.closed_at, Case.closure_reason, Case.province_code, Case.commune_code,
               Case.legacy_commune_code, consent)
        .where(Case.status == "closed", Case.closed_at >= lo, Case.closed_at < hi, Case.dv_counted)
        .order_by(Case.closed_at, Case.id))
    for row in closures:
        yield Record(measure="survivors_closed", person_id=row.person_id,
                     on=row.closed_at.astimezone(VN_TZ).date(), province_code=row.province_code,
                     commune_code=row.commune_code,
                     legacy_commune_code=row.legacy_commune_code or "",
                     attributes={"closure_reason": closure_reason_code(row.closure_reason)},
                     consent=bool(row.consent))

    # A stay from start_on to end_on is the nights start_on .. end_on - 1 (ShelterStay.nights); a stay
    # still open has had its nights up to last night.
    today = utcnow().astimezone(VN_TZ).date()
    stays = db.session.execute(
        select(ShelterStay.start_on, ShelterStay.end_on, Case.person_id, Case.province_code, Case.commune_code,
               Case.legacy_commune_code,
               consent)
        .join(Case, Case.id == ShelterStay.case_id)
        .where(Case.dv_counted, ShelterStay.start_on <= end,
               or_(ShelterStay.end_on.is_(None), ShelterStay.end_on > start))
        .order_by(ShelterStay.start_on, ShelterStay.id))
    for row in stays:
        first = max(row.start_on, start)
        last = min((row.end_on or today) - timedelta(days=1), end)
        for night, count in night_spans(first, last):
            yield Record(measure="shelter_nights", person_id=row.person_id, on=night,
                         province_code=row.province_code, commune_code=row.commune_code,
                     legacy_commune_code=row.legacy_commune_code or "",
                         consent=bool(row.consent), events=count)
