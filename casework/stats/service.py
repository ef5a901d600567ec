"""Making, storing and reading releases: the database side of the pure engine (disclosure-control §2.7).

``make_release`` counts every registered table from the domains' record sources, runs the engine with
the year's earlier releases as the ledger, and freezes the result: the release row, every cell, and
each format rendered once. ``draft`` computes the coming quarter live for a province officer; a draft
is never stored and never downloadable.

Only fixed quarters can be released, only once each, only after they have ended, and never before a
later quarter of the same year: there are no free date ranges and no filters (§2.3, §2.7).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from casework.errors import DomainError, NotFound, StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit
from casework.stats import formats, sources
from casework.stats.catalogue import REGISTRY, TableDef
from casework.stats.cells import CellKey, Geography, period_start, quarter_of
from casework.stats.counting import count_cells
from casework.stats.models import StatCell, StatFile, StatRelease
from casework.stats.release import METHOD, SUPPRESSED, Release, ReleaseCell, compute_release
from casework.stats.suppression import Parameters, ReleaseError
from casework.text import VN_TZ

PERIOD = re.compile(r"^(\d{4})Q([1-4])$")
FIRST_YEAR = 2025  # the 2025 administrative units (34 provinces) are the only geography we count over
RELEASE_LOCK_ID = 0x5354_4154  # "STAT": one release is made at a time on PostgreSQL
DOWNLOADS = ("csv", "json", "xlsx", "pdf", "dhis2", "adx")  # the API's formats (DESIGN §4)
EXTRA_FORMATS = ("manifest", "sdmx")
CONTENT_TYPES = {**formats.CONTENT_TYPES, "pdf": "application/pdf"}
EXTENSIONS = {"csv": "csv", "json": "json", "xlsx": "xlsx", "pdf": "pdf", "dhis2": "dhis2.json",
              "dhis2-year": "dhis2-year.json", "adx": "adx.xml", "manifest": "manifest.json", "sdmx": "sdmx.csv"}


class AlreadyReleased(StateError):
    code = "already_released"


class LaterReleaseExists(StateError):
    code = "later_release_exists"


class ReleaseRefused(DomainError):
    """The engine found no suppression pattern that protects the release: nothing is published."""

    status = 409
    code = "release_not_protectable"


@cache
def geography() -> Geography:
    return Geography.from_geo_data()


def tables() -> tuple[TableDef, ...]:
    return REGISTRY.tables()


def today() -> date:
    return datetime.now(VN_TZ).date()


def quarter_end(period: str) -> date:
    year, q = int(period[:4]), int(period[-1])
    return (date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)) - timedelta(days=1)


def current_quarter(on: date | None = None) -> str:
    return quarter_of(on or today())


def previous_quarters(on: date | None = None, years: int = 2) -> list[str]:
    """Quarters that have ended, newest first, over this year and the ``years - 1`` before it."""
    now = current_quarter(on)
    year = int(now[:4])
    out = [f"{y}Q{q}" for y in range(year, max(FIRST_YEAR, year - years + 1) - 1, -1) for q in (4, 3, 2, 1)]
    return [p for p in out if p < now]


# --- validation ---------------------------------------------------------------------------------

def check_period(period: object) -> str:
    """The period a release may be made for, or a ValidationError / StateError in the user's language."""
    if not isinstance(period, str) or not PERIOD.match(period.strip()):
        raise ValidationError(_("Please correct the marked fields."),
                              {"period": [_("Choose a quarter, written like 2026Q3.")]})
    period = period.strip()
    if int(period[:4]) < FIRST_YEAR:
        raise ValidationError(_("Please correct the marked fields."),
                              {"period": [_("Releases start with the year %(year)s.", year=FIRST_YEAR)]})
    if quarter_end(period) >= today():
        raise ValidationError(_("Please correct the marked fields."),
                              {"period": [_("This quarter has not ended yet: it can be released from %(day)s.",
                                            day=(quarter_end(period) + timedelta(days=1)).strftime("%d/%m/%Y"))]})
    if db.session.scalar(select(StatRelease.id).where(StatRelease.period == period)):
        raise AlreadyReleased(_("This quarter has already been released. Published figures are never revised."))
    later = db.session.scalar(select(StatRelease.id).where(StatRelease.year == int(period[:4]),
                                                           StatRelease.period > period).limit(1))
    if later:
        raise LaterReleaseExists(_("A later quarter of this year has already been released; an earlier quarter "
                                   "can no longer be released on its own. Its figures will appear in the annual "
                                   "release."))
    return period


def open_periods() -> list[str]:
    """The quarters a coordinator may release now, newest first."""
    released = {p for (p,) in db.session.execute(select(StatRelease.period))}
    latest_by_year: dict[int, str] = {}
    for p in released:
        latest_by_year[int(p[:4])] = max(latest_by_year.get(int(p[:4]), ""), p)
    return [p for p in previous_quarters() if p not in released and p > latest_by_year.get(int(p[:4]), "")]


# --- making a release -----------------------------------------------------------------------------

def ledger(year: int, before: str | None = None) -> list[Release]:
    """The year's releases as the engine's ledger: their cells, statuses and published values."""
    rows = db.session.scalars(select(StatRelease).where(StatRelease.year == year).order_by(StatRelease.period))
    out = []
    for r in rows:
        if before is not None and r.period >= before:
            continue
        cells = tuple(_release_cell(c) for c in db.session.scalars(
            select(StatCell).where(StatCell.release_id == r.id)))
        out.append(Release(r.id, r.period, r.created_at, r.method, Parameters(**_params(r)), geography(), (),
                           cells, (), {}))
    return out


def _params(r: StatRelease) -> dict:
    p = json.loads(r.parameters)
    return {"k": p["k"], "p": p["p"], "protection_width": p["protection_width"], "group_factor": p["group_factor"]}


def _release_cell(c: StatCell) -> ReleaseCell:
    return ReleaseCell(cell_key(c), tuple(c.tables.split(",")), c.status, c.value, c.unit, c.rounding_base)


def cell_key(c: StatCell) -> CellKey:
    dims = tuple(tuple(part.split("=", 1)) for part in c.dims.split(";")) if c.dims else ()
    return CellKey(c.measure, c.geo_level, c.geo_code, c.period, dims)  # type: ignore[arg-type]


def dims_text(key: CellKey) -> str:
    return ";".join(f"{v}={code}" for v, code in key.dims)


def compute(period: str, release_id: str, *, until: date | None = None,
            parameters: Parameters | None = None) -> Release:
    """Count and protect ``period`` against the ledger of its year; pure apart from reading."""
    year = int(period[:4])
    start, end = date(year, 1, 1), until or quarter_end(period)
    counted = count_cells(tables(), sources.records(start, end), period, geography())
    try:
        return compute_release(release_id=release_id, period=period, created_at=utcnow(), tables=tables(),
                               counted=counted, geography=geography(), parameters=parameters,
                               earlier=ledger(year, before=period))
    except ReleaseError as exc:
        raise ReleaseRefused(_("No safe pattern of withheld figures was found for this quarter, so nothing "
                               "was released. Please contact the system administrator.")) from exc


def make_release(period: object, user) -> StatRelease:
    """Freeze a numbered release for ``period``: every cell, its status, and every format's bytes."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": RELEASE_LOCK_ID})
    period = check_period(period)
    number = (db.session.scalar(select(func.max(StatRelease.number))) or 0) + 1
    release = compute(period, f"{period}-r1")
    row = StatRelease(id=release.release_id, number=number, period=period, year=int(period[:4]),
                      created_at=release.created_at, created_by_id=getattr(user, "id", None), method=METHOD,
                      parameters=json.dumps(release.parameters.as_dict(), sort_keys=True),
                      manifest=formats.render(release, "manifest").decode("utf-8"),
                      snapshot_hash=release.manifest["snapshot_hash"], cell_count=len(release.cells),
                      suppressed_count=sum(1 for c in release.cells if c.status == SUPPRESSED))
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError as exc:  # another coordinator released the same quarter a moment ago
        db.session.rollback()
        raise AlreadyReleased(_("This quarter has already been released. Published figures are never "
                                "revised.")) from exc
    db.session.execute(insert(StatCell), [
        {"release_id": row.id, "measure": c.key.measure, "geo_level": c.key.geo_level, "geo_code": c.key.geo_code,
         "period": c.key.period, "dims": dims_text(c.key), "tables": ",".join(c.tables), "status": c.status,
         "value": c.value, "unit": c.unit, "rounding_base": c.rounding_base} for c in release.cells])
    for fmt, content in render_all(release).items():
        db.session.add(StatFile(release_id=row.id, format=fmt, content_type=CONTENT_TYPES[fmt],
                                sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content))
    audit.record("stats.release_created", object_type="stat_release", object_id=row.id)
    db.session.flush()
    return row


def render_all(release: Release) -> dict[str, bytes]:
    from casework.stats.pdf import quarterly_report

    out = {fmt: formats.render(release, fmt) for fmt in ("csv", "json", "xlsx", "dhis2", "adx", *EXTRA_FORMATS)}
    if release.period.endswith("Q4"):
        out["dhis2-year"] = formats.render(release, "dhis2-year")
    main = headline_table(release.tables)
    out["pdf"] = quarterly_report(release, series(release, main.measure if main else None))
    return out


# --- reading --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    items: list[StatRelease]
    next_cursor: str | None


def list_releases(after: str | None = None, limit: int = 20) -> Page:
    """Releases newest first, by their ledger number; ``after`` is the last number seen."""
    q = select(StatRelease).order_by(StatRelease.number.desc()).limit(limit + 1)
    if after:
        if not after.isdigit():
            raise ValidationError(_("Please correct the marked fields."), {"after": [_("This cursor is not valid.")]})
        q = q.where(StatRelease.number < int(after))
    rows = list(db.session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].number) if more and rows else None)


def get_release(release_id: str) -> StatRelease:
    row = db.session.get(StatRelease, release_id) if PERIOD.match(release_id.split("-r")[0] or "") else None
    if row is None:
        raise NotFound(_("Not found."))
    return row


def download(row: StatRelease, fmt: str) -> StatFile:
    f = db.session.get(StatFile, (row.id, fmt))
    if f is None:
        raise NotFound(_("Not found."))
    audit.record("stats.release_downloaded", object_type="stat_release", object_id=row.id, detail=fmt)
    return f


def repr_digest(f: StatFile) -> str:
    """The file's SHA-256 as an RFC 9530 ``Repr-Digest`` header: a reader can check her copy is the release."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(f.sha256)).decode()}:"


def available_formats(row: StatRelease) -> list[str]:
    have = set(db.session.scalars(select(StatFile.format).where(StatFile.release_id == row.id)))
    return [f for f in (*DOWNLOADS, "dhis2-year", *EXTRA_FORMATS) if f in have]


def manifest_of(row: StatRelease) -> dict:
    return json.loads(row.manifest)


def released_quarters() -> list[str]:
    """Every quarter from the first released year's first quarter to the latest released quarter."""
    periods = sorted(p for (p,) in db.session.execute(select(StatRelease.period)))
    if not periods:
        return []
    first, last = int(periods[0][:4]), periods[-1]
    return [f"{y}Q{q}" for y in range(first, int(last[:4]) + 1) for q in range(1, 5) if f"{y}Q{q}" <= last]


def cells_of(row: StatRelease) -> list[ReleaseCell]:
    return [_release_cell(c) for c in db.session.scalars(select(StatCell).where(StatCell.release_id == row.id))]


def series(current: Release | None = None, measure: str | None = None) -> dict[str, dict[str, ReleaseCell]]:
    """Quarterly province and national totals of one person measure over every release: what the charts
    draw. ``current`` adds a release that is being made (not yet stored)."""
    measure = measure or main_measure()
    out: dict[str, dict[str, ReleaseCell]] = {}
    q = select(StatCell).where(StatCell.measure == measure, StatCell.dims == "",
                               StatCell.geo_level.in_(("national", "province")))
    cells = [_release_cell(c) for c in db.session.scalars(q)]
    if current is not None:
        cells += [c for c in current.cells if c.key.measure == measure and not c.key.dims
                  and c.key.geo_level in ("national", "province")]
    for c in cells:
        if PERIOD.match(c.key.period):
            out.setdefault(c.key.geo_code, {}).setdefault(c.key.period, c)
    return out


def person_measures() -> list[TableDef]:
    """One table per person measure published by province and quarter, for choosing a chart."""
    seen: dict[str, TableDef] = {}
    for t in tables():
        if t.kind == "persons" and "province" in t.geo_levels and "quarter" in t.periods:
            if t.measure not in seen or (seen[t.measure].dimensions and not t.dimensions):
                seen[t.measure] = t  # the total's own table names the measure best
    # Trusted-address casework first: its survivors are the pilot's headline figure.
    return sorted(seen.values(), key=lambda t: (t.domain != "casework", t.measure))


def headline_table(candidates) -> TableDef | None:
    """The table of the report's summary and chart: the first person total by province and quarter."""
    totals = [t for t in candidates if t.kind == "persons" and not t.dimensions and "province" in t.geo_levels
              and "quarter" in t.periods]
    return sorted(totals, key=lambda t: (t.domain != "casework", t.measure))[0] if totals else None


def main_measure() -> str:
    measures = person_measures()
    return measures[0].measure if measures else "survivors"


def draft(province_code: str) -> Release:
    """The current quarter of one province, counted live up to today: never stored, never downloadable.

    Counted and protected over that province alone (its communes, and the province as the whole), with
    the province's cells of the year's releases as the ledger: what she sees is protected the way a
    release is, and computing it does not need the rest of the country.
    """
    period = current_quarter()
    year = int(period[:4])
    geo = geography()
    communes = set(geo.communes_by_province.get(province_code, ()))
    local = Geography(provinces=((province_code, geo.name("province", province_code)),),
                      communes=tuple(c for c in geo.communes if c[0] in communes), scheme=geo.scheme)

    def mine(key: CellKey) -> bool:
        return (key.geo_level == "province" and key.geo_code == province_code) or \
            (key.geo_level == "commune" and key.geo_code in communes)

    # The quarter only: the year's figures (and the tables published by year) come with the release.
    quarterly = [dataclasses.replace(t, periods=("quarter",)) for t in tables() if "quarter" in t.periods]
    measures = {t.measure for t in quarterly}
    earlier = [Release(r.release_id, r.period, r.created_at, r.method, r.parameters, local, (),
                       tuple(c for c in r.cells if mine(c.key) and c.key.measure in measures
                             and "Q" in c.key.period), (), {})
               for r in ledger(year, before=period)]
    records = (r for r in sources.records(date(year, 1, 1), today()) if r.province_code == province_code)
    counted = count_cells(quarterly, records, period, local)
    try:
        return compute_release(release_id="draft", period=period, created_at=utcnow(), tables=quarterly,
                               counted=counted, geography=local, earlier=earlier)
    except ReleaseError as exc:
        raise ReleaseRefused(_("No safe pattern of withheld figures was found for this quarter, so nothing "
                               "was released. Please contact the system administrator.")) from exc


def period_start_date(period: str) -> date:
    return period_start(period)
