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
import inspect
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from casework.errors import DomainError, NotFound, StateError, ValidationError
from casework.extensions import db
from casework.models import utcnow
from casework.protect import audit
from casework.stats import activity, formats, mapped, sources
from casework.stats.catalogue import TableDef, catalogue, headline_table
from casework.stats.cells import CellKey, Geography, period_start
from casework.stats.counting import Counted, Record, count_cells
from casework.stats.models import PilotCommune, StatCell, StatFile, StatPreview, StatPreviewFile, StatRelease
from casework.stats.pdf import quarterly_report
from casework.stats.period import Period
from casework.stats.release import METHOD, SUPPRESSED, Release, ReleaseCell, compute_release
from casework.stats.schemas import PreviewRequest
from casework.stats.suppression import Parameters, ReleaseError
from casework.text import VN_TZ

if TYPE_CHECKING:
    from casework.auth.models import User

FIRST_YEAR = 2022  # the pilot years: 2022 – 2024 are counted in the pre-2025 units, 2025 on in the 2025 units
UNITS_2025_FROM = 2025  # the first year counted in the 2025 units (a year's ledger is in one scheme)
RELEASE_LOCK_ID = 0x5354_4154  # "STAT": one release is made at a time on PostgreSQL
DOWNLOADS = ("csv", "json", "xlsx", "pdf", "dhis2", "adx")  # the API's formats (DESIGN §4)
EXTRA_FORMATS = ("manifest", "sdmx")
CONTENT_TYPES = {**formats.CONTENT_TYPES, "pdf": "application/pdf", "view2025": "text/csv; charset=utf-8"}
EXTENSIONS = {"csv": "csv", "json": "json", "xlsx": "xlsx", "pdf": "pdf", "dhis2": "dhis2.json",
              "dhis2-year": "dhis2-year.json", "adx": "adx.xml", "manifest": "manifest.json", "sdmx": "sdmx.csv",
              "view2025": "2025.csv"}


class AlreadyReleased(StateError, code="already_released"):
    """The quarter already has a release: published figures are never revised."""


class LaterReleaseExists(StateError, code="later_release_exists"):
    """A later period of the year is already released."""


class PreviewNotReady(StateError, code="preview_not_ready"):
    """The preview has not finished."""


class PreviewStale(StateError, code="preview_stale"):
    """The year's ledger changed since the preview, or the preview is too old to publish."""


class ReleaseRefused(DomainError, status=409, code="release_not_protectable"):
    """The engine found no suppression pattern that protects the release: nothing is published."""


@cache
def national_geography() -> Geography:
    """The administrative units in force since 1 July 2025: what production counts over."""
    return Geography.from_geo_data()


@cache
def national_legacy_geography() -> Geography:
    """The units before 1 July 2025 (63 provinces, their communes): what the years 2022 – 2024 count over."""
    return Geography.from_legacy_data()


def is_legacy_period(period: str | None) -> bool:
    """Whether ``period`` (a quarter or a year) is counted in the pre-2025 units: the years before 2025."""
    if not period:
        return False
    return Period.parse(period).year < UNITS_2025_FROM


def geography(period: str | None = None) -> Geography:
    """The geography releases of the current application are counted over: ``STATS_GEOGRAPHY`` in its config
    (the suite gives ordinary tests a few real communes), else the national one. Everything that counts,
    protects or shows a release asks here, so one application never mixes two geographies.

    A period of a year before 2025 is counted in the pre-2025 units (``STATS_LEGACY_GEOGRAPHY``, else the
    national pre-2025 list); its 2025 view is derived from its published cells (``view_2025``)."""
    if is_legacy_period(period):
        configured = current_app.config.get("STATS_LEGACY_GEOGRAPHY") if has_app_context() else None
        return configured if configured is not None else national_legacy_geography()
    configured = current_app.config.get("STATS_GEOGRAPHY") if has_app_context() else None
    return configured if configured is not None else national_geography()


def in_units_of(records: Iterable[Record], geo: Geography) -> Iterator[Record]:
    """The records placed in the units of ``geo``: unchanged for the 2025 units; for the pre-2025 units, each
    record in its pre-2025 commune (``legacy_commune_code``), else in the one pre-2025 commune its 2025 commune
    wholly came from. A record that can be placed in neither is left out and counted in the log (an intake
    before 2025 must carry its pre-2025 commune, so only records of other domains can miss one)."""
    if geo.scheme != "pre2025":
        yield from records
        return
    from casework.geo import legacy

    province_of = geo.province_of
    unplaced = 0
    for r in records:
        code = r.legacy_commune_code or legacy.from_2025_commune(r.commune_code) or ""
        if code in province_of:
            yield dataclasses.replace(r, province_code=province_of[code], commune_code=code)
        else:
            unplaced += 1
    if unplaced:
        log.warning("statistics: %d records without a pre-2025 commune left out of a pre-2025 count", unplaced)


def tables() -> tuple[TableDef, ...]:
    """Every table of the catalogue: the protected ones and the activity indicators."""
    return catalogue().tables()


def protected_tables() -> tuple[TableDef, ...]:
    """The tables the engine protects: everything but the activity indicators."""
    return tuple(t for t in tables() if not activity.is_activity(t))


def activity_measures() -> set[str]:
    return {t.measure for t in tables() if activity.is_activity(t)}


def pilot_communes() -> frozenset[str]:
    return frozenset(db.session.scalars(select(PilotCommune.commune_code)))


def with_activity(release: Release, period: str) -> Release:
    """``release`` with the activity indicators of ``period`` added (published as counted). The years before
    2025 have none: the addresses' activity is known in the 2025 units only."""
    if is_legacy_period(period):
        return release
    periods = activity.periods_of(period)
    records = (r for source in activity.sources() for r in source(periods))
    cells = activity.count(tables(), records, periods, geography(), pilot_communes())
    return activity.add_to(release, tables(), cells)


def today() -> date:
    return datetime.now(VN_TZ).date()


def quarter_end(period: str) -> date:
    return Period.parse_quarter(period).end


def current_quarter(on: date | None = None) -> str:
    return str(Period.containing(on or today()))


def previous_quarters(on: date | None = None, years: int = 2) -> list[str]:
    """Quarters that have ended, newest first, over this year and the ``years - 1`` before it."""
    now = Period.containing(on or today())
    first = FIRST_YEAR if years <= 0 else max(FIRST_YEAR, now.year - years + 1)  # years <= 0: since the first
    return [str(q) for y in range(now.year, first - 1, -1) for q in reversed(Period.quarters_of(y)) if q < now]


# --- validation ---------------------------------------------------------------------------------

def ended_quarter(period: Period | object) -> Period:
    """A quarter that has ended, from the first year: the one a request's schema read, or the text of the
    command line (read by the same schema); else a ValidationError on ``period`` in the user's language."""
    quarter = period if isinstance(period, Period) else PreviewRequest.from_form({"period": period}).period
    if quarter.year < FIRST_YEAR:
        raise ValidationError(_("Please correct the marked fields."),
                              {"period": [_("Releases start with the year %(year)s.", year=FIRST_YEAR)]})
    if quarter.end >= today():
        raise ValidationError(_("Please correct the marked fields."),
                              {"period": [_("This quarter has not ended yet: it can be released from %(day)s.",
                                            day=(quarter.end + timedelta(days=1)).strftime("%d/%m/%Y"))]})
    return quarter


def check_period(period: Period | str) -> str:
    """The period a release may be made for, or a ValidationError / StateError in the user's language."""
    quarter = ended_quarter(period)
    period = str(quarter)
    if db.session.scalar(select(StatRelease.id).where(StatRelease.period == period)):
        raise AlreadyReleased(_("This quarter has already been released. Published figures are never revised."))
    later = db.session.scalar(select(StatRelease.id).where(StatRelease.year == quarter.year,
                                                           StatRelease.period > period).limit(1))
    if later:
        raise LaterReleaseExists(_("A later quarter of this year has already been released; an earlier quarter "
                                   "can no longer be released on its own. Its figures will appear in the annual "
                                   "release."))
    return period


def open_periods() -> list[str]:
    """The quarters a coordinator may release now, newest first."""
    released = {Period.parse(p) for p in db.session.scalars(select(StatRelease.period))}
    latest_by_year: dict[int, Period] = {}
    for p in released:
        latest_by_year[p.year] = max(latest_by_year.get(p.year, p), p)
    open_ = (Period.parse(p) for p in previous_quarters(years=0))
    return [str(p) for p in open_ if p not in released and (p.year not in latest_by_year or p > latest_by_year[p.year])]


# --- making a release -----------------------------------------------------------------------------

def ledger(year: int, before: str | None = None) -> list[Release]:
    """The year's releases as the engine's ledger: their cells, statuses and published values."""
    rows = db.session.scalars(select(StatRelease).where(StatRelease.year == year).order_by(StatRelease.period))
    out = []
    for r in rows:
        if before is not None and r.period >= before:
            continue
        # The activity indicators are published as counted: they never enter the engine's audit.
        cells = tuple(_release_cell(c) for c in db.session.scalars(
            select(StatCell).where(StatCell.release_id == r.id, StatCell.measure.not_in(activity_measures()))))
        out.append(Release(r.id, r.period, r.created_at, r.method, Parameters(**_params(r)), geography(r.period), (),
                           cells, (), {}))
    return out


def _params(r: StatRelease) -> dict[str, Any]:
    p = json.loads(r.parameters)
    return {"k": p["k"], "p": p["p"], "protection_width": p["protection_width"], "group_factor": p["group_factor"]}


def _release_cell(c: StatCell) -> ReleaseCell:
    return ReleaseCell(cell_key(c), tuple(c.tables.split(",")), c.status, c.value, c.unit, c.rounding_base)


def cell_key(c: StatCell) -> CellKey:
    dims = tuple(tuple(part.split("=", 1)) for part in c.dims.split(";")) if c.dims else ()
    return CellKey(c.measure, c.geo_level, c.geo_code, c.period, dims)  # type: ignore[arg-type]


def dims_text(key: CellKey) -> str:
    return ";".join(f"{v}={code}" for v, code in key.dims)


def _engine_takes_progress() -> bool:
    try:
        return "progress" in inspect.signature(compute_release).parameters
    except (TypeError, ValueError):  # pragma: no cover - a C function or a mock
        return False


def compute(period: str, release_id: str, *, until: date | None = None,
            parameters: Parameters | None = None, progress: Callable[[int], None] | None = None) -> Release:
    """Count and protect ``period`` against the ledger of its year; pure apart from reading.

    ``progress`` is told 0–100 as the work goes on: counting is the first tenth, the engine the rest
    (when the engine reports its own progress; otherwise 10 before it and 100 after it)."""
    report = progress or (lambda pct: None)
    quarter = Period.parse_quarter(period)
    year = quarter.year
    start, end = quarter.whole_year.start, until or quarter.end
    report(0)
    geo = geography(period)
    counted = count_cells(protected_tables(), in_units_of(sources.records(start, end), geo), period, geo)
    report(10)
    extra: dict[str, Any] = {}  # ``progress`` only when the engine takes it (a test's stand-in may not)
    if progress is not None and _engine_takes_progress():
        extra["progress"] = lambda pct: report(10 + int(max(0, min(100, pct)) * 0.9))
    try:
        release = compute_release(release_id=release_id, period=period, created_at=utcnow(),
                                  tables=protected_tables(), counted=counted, geography=geo,
                                  parameters=parameters, earlier=ledger(year, before=period), **extra)
        release = with_activity(release, period)
        report(100)
        return release
    except ReleaseError as exc:
        raise ReleaseRefused(_("No safe pattern of withheld figures was found for this quarter, so nothing "
                               "was released. Please contact the system administrator.")) from exc


def _lock() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": RELEASE_LOCK_ID})


def make_release(period: Period | str, user: User | None, preview_id: str | None = None,
                 progress: Callable[[int], None] | None = None) -> StatRelease:
    """Freeze a numbered release for ``period``: every cell, its status, and every format's bytes.

    With ``preview_id`` the release is the preview's, copied as it was computed (publishing takes no
    computing); without it the quarter is computed now, as the command line and tools do."""
    _lock()
    period = check_period(period)
    if preview_id is not None:
        return publish_preview(preview_id, period, user)
    release = compute(period, f"{period}-r1", progress=progress)
    return _store(period, user, release.release_id, release.created_at, METHOD,
                  json.dumps(release.parameters.as_dict(), sort_keys=True),
                  formats.render(release, "manifest").decode("utf-8"), release.manifest["snapshot_hash"],
                  [_cell_row(c) for c in release.cells], render_all(release))


def _cell_row(c: ReleaseCell) -> dict[str, Any]:
    return {"measure": c.key.measure, "geo_level": c.key.geo_level, "geo_code": c.key.geo_code,
            "period": c.key.period, "dims": dims_text(c.key), "tables": ",".join(c.tables), "status": c.status,
            "value": c.value, "unit": c.unit, "rounding_base": c.rounding_base}


def _store(period: str, user: User | None, release_id: str, created_at: datetime, method: str, parameters: str,
           manifest: str, snapshot: str, cells: list[dict[str, Any]], files: dict[str, bytes]) -> StatRelease:
    number = (db.session.scalar(select(func.max(StatRelease.number))) or 0) + 1
    row = StatRelease(id=release_id, number=number, period=period, year=Period.parse(period).year,
                      created_at=created_at, created_by_id=getattr(user, "id", None), method=method,
                      parameters=parameters, manifest=manifest, snapshot_hash=snapshot, cell_count=len(cells),
                      suppressed_count=sum(1 for c in cells if c["status"] == SUPPRESSED))
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError as exc:  # another coordinator released the same quarter a moment ago
        db.session.rollback()
        raise AlreadyReleased(_("This quarter has already been released. Published figures are never "
                                "revised.")) from exc
    if cells:
        db.session.execute(insert(StatCell), [{"release_id": row.id, **c} for c in cells])
    for fmt, content in files.items():
        db.session.add(StatFile(release_id=row.id, format=fmt, content_type=CONTENT_TYPES[fmt],
                                sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content))
    audit.record("stats.release_created", object_type="stat_release", object_id=row.id)
    db.session.flush()
    return row


# --- previews: a release computed in the background, shown, then published once --------------------

log = logging.getLogger(__name__)
PREVIEW_VALID = timedelta(days=1)  # an older preview is computed again before it is published
PREVIEW_SILENT = timedelta(minutes=30)  # a running preview that has not moved for this long has died
PREVIEW_TABLE = cast(Table, StatPreview.__table__)  # progress is written past the ORM, from the job


def check_preview_period(period: Period | object) -> str:
    """A quarter that has ended, from the first year: released or not (a preview is never stored)."""
    return str(ended_quarter(period))


def preview_periods() -> list[str]:
    """Quarters a preview can be made for: every quarter that has ended, newest first."""
    return previous_quarters(years=0)


def _ledger_ids(period: str) -> str:
    return ",".join(db.session.scalars(select(StatRelease.id).where(
        StatRelease.year == Period.parse(period).year, StatRelease.period < period).order_by(StatRelease.period)))


def start_preview(period: Period | str, user: User | None, runner: str = "thread") -> StatPreview:
    """A new preview of ``period`` in the state ``running``; the caller commits, then hands its id to a
    runner (``casework.stats.jobs``)."""
    period = check_preview_period(period)
    row = StatPreview(id=secrets.token_hex(16), period=period, state="running", progress=0,
                      created_by_id=getattr(user, "id", None), runner=runner)
    db.session.add(row)
    audit.record("stats.preview_started", object_type="stat_preview", object_id=row.id, detail=period.lower())
    db.session.flush()
    return row


def get_preview(preview_id: object) -> StatPreview:
    row = db.session.get(StatPreview, preview_id) if isinstance(preview_id, str) and \
        re.fullmatch(r"[0-9a-f]{32}", preview_id) else None
    if row is None:
        raise NotFound(_("Not found."))
    if row.state == "running" and as_utc(row.updated_at) < utcnow() - PREVIEW_SILENT:
        row.state, row.error = "failed", "stopped"  # its process ended without finishing (restart, crash)
        db.session.flush()
    return row


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def run_preview(preview_id: str) -> None:
    """Compute a preview and store its result; for a runner, in its own application context. Commits:
    the progress is written as the work goes on so that any web process can show it."""
    row = db.session.get(StatPreview, preview_id)
    if row is None or row.state != "running":
        return
    period = row.period
    last = {"pct": 0, "at": 0.0}

    def report(pct: int) -> None:
        pct = max(0, min(99, int(pct)))
        now = time.monotonic()
        if pct > last["pct"] and (now - last["at"] >= 0.5 or pct - last["pct"] >= 10):
            last.update(pct=pct, at=now)
            db.session.execute(PREVIEW_TABLE.update().where(StatPreview.id == preview_id)
                               .values(progress=pct, updated_at=utcnow()))
            db.session.commit()

    try:
        seen = _ledger_ids(period)
        release = compute(period, f"{period}-r1", progress=report)
        files = render_all(release)
        row = db.session.get(StatPreview, preview_id)
        if row is None:
            raise LookupError("the preview was deleted while it was computed")
        row.ledger = seen
        row.release_created_at = release.created_at
        row.method = METHOD
        row.parameters = json.dumps(release.parameters.as_dict(), sort_keys=True)
        row.manifest = formats.render(release, "manifest").decode("utf-8")
        row.snapshot_hash = release.manifest["snapshot_hash"]
        row.cells = json.dumps([_cell_row(c) for c in release.cells], separators=(",", ":"))
        for fmt, content in files.items():
            db.session.add(StatPreviewFile(preview_id=preview_id, format=fmt, content_type=CONTENT_TYPES[fmt],
                                           content=content))
        row.state, row.progress, row.finished_at, row.updated_at = "done", 100, utcnow(), utcnow()
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - a preview that fails says so instead of running for ever
        db.session.rollback()
        log.exception("statistics preview failed", extra={"preview_id": preview_id})
        row = db.session.get(StatPreview, preview_id)
        if row is not None:
            row.state, row.finished_at, row.updated_at = "failed", utcnow(), utcnow()
            row.error = "not_protectable" if isinstance(exc, ReleaseRefused) else "error"
            db.session.commit()


def preview_error_text(row: StatPreview) -> str:
    if row.error == "not_protectable":
        return str(_("No safe pattern of withheld figures was found for this quarter, so nothing can be released. "
                     "Please contact the system administrator."))
    if row.error == "stopped":
        return str(_("The preview stopped before it finished (the server was restarted). Please make it again."))
    return str(_("The preview could not be completed. Please try again; if it fails again, contact the system "
                 "administrator."))


def preview_cells(row: StatPreview) -> list[ReleaseCell]:
    if row.state != "done" or not row.cells:
        return []
    out = []
    for c in json.loads(row.cells):
        dims = tuple(tuple(part.split("=", 1)) for part in c["dims"].split(";")) if c["dims"] else ()
        out.append(ReleaseCell(CellKey(c["measure"], c["geo_level"], c["geo_code"], c["period"], dims),
                               tuple(c["tables"].split(",")), c["status"], c["value"], c["unit"],
                               c["rounding_base"]))
    return out


def publish_preview(preview_id: str, period: str, user: User | None) -> StatRelease:
    """Store the preview of ``period`` as its release, once (``check_period`` has passed)."""
    row = get_preview(preview_id)
    if row.period != period:
        raise ValidationError(_("Please correct the marked fields."),
                              {"preview_id": [_("This preview is of another quarter.")]})
    if row.state != "done" or row.release_created_at is None:  # a finished preview has its moment
        raise PreviewNotReady(_("This preview has not finished; it can be published once it is done."))
    if row.release_id is not None:
        raise AlreadyReleased(_("This quarter has already been released. Published figures are never revised."))
    if (row.ledger or "") != _ledger_ids(period) or \
            as_utc(row.release_created_at or row.created_at) < utcnow() - PREVIEW_VALID:
        raise PreviewStale(_("The figures published this year have changed since this preview, or the preview "
                             "is more than a day old. Please make a new preview before publishing."))
    files = {f.format: f.content for f in db.session.scalars(
        select(StatPreviewFile).where(StatPreviewFile.preview_id == row.id))}
    release = _store(period, user, f"{period}-r1", row.release_created_at, row.method or METHOD,
                     row.parameters or "{}", row.manifest or "{}", row.snapshot_hash or "",
                     json.loads(row.cells or "[]"), files)
    row.release_id = release.id
    db.session.flush()
    return release


def render_all(release: Release) -> dict[str, bytes]:
    out = {fmt: formats.render(release, fmt) for fmt in ("csv", "json", "xlsx", "dhis2", "adx", *EXTRA_FORMATS)}
    if is_legacy_period(release.period):  # added, never in place of a format (DESIGN §4)
        out[mapped.FORMAT] = mapped.to_csv(view_2025(release.cells), province_map())
    if Period.parse(release.period).quarter == 4:
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
    row = db.session.get(StatRelease, release_id) if Period.is_quarter_text(release_id.split("-r")[0]) else None
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
    return [f for f in (*DOWNLOADS, "dhis2-year", *EXTRA_FORMATS, mapped.FORMAT) if f in have]


def province_map() -> dict[str, str]:
    """Pre-2025 province → 2025 province, over the provinces of the configured pre-2025 geography."""
    from casework.geo import legacy

    return {code: legacy.to_2025_province(code) or "" for code, _name in geography("2024").provinces}


def view_2025_geography() -> Geography:
    """The 2025 provinces the configured pre-2025 provinces went to: the places of the 2025 view."""
    from casework.geo import data

    codes = sorted(set(province_map().values()))
    return Geography(provinces=tuple((c, p.name) for c in codes if (p := data.province(c))), communes=(),
                     scheme=data.SCHEME)


def view_2025(cells: Iterable[ReleaseCell]) -> list[ReleaseCell]:
    """The 2025 view of a pre-2025 release's cells (``casework.stats.mapped``)."""
    return mapped.view_2025(cells, province_map())


def manifest_of(row: StatRelease) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(row.manifest)
    return manifest


def released_quarters() -> list[str]:
    """Every quarter from the first released year's first quarter to the latest released quarter."""
    periods = sorted(Period.parse(p) for p in db.session.scalars(select(StatRelease.period)))
    if not periods:
        return []
    first, last = periods[0], periods[-1]
    return [str(q) for y in range(first.year, last.year + 1) for q in Period.quarters_of(y) if q <= last]


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
        if Period.is_quarter_text(c.key.period):
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


def main_measure() -> str:
    measures = person_measures()
    return measures[0].measure if measures else "survivors"


def draft(province_code: str) -> Release:
    """The current quarter of one province, counted live up to today: never stored, never downloadable.

    Counted and protected over that province alone (its communes, and the province as the whole), with
    the province's cells of the year's releases as the ledger: what she sees is protected the way a
    release is, and computing it does not need the rest of the country.
    """
    quarter = Period.containing(today())
    period, year = str(quarter), quarter.year
    geo = geography()
    communes = set(geo.communes_by_province.get(province_code, ()))
    local = Geography(provinces=((province_code, geo.name("province", province_code)),),
                      communes=tuple(c for c in geo.communes if c[0] in communes), scheme=geo.scheme)

    def mine(key: CellKey) -> bool:
        return (key.geo_level == "province" and key.geo_code == province_code) or \
            (key.geo_level == "commune" and key.geo_code in communes)

    # The quarter only: the year's figures (and the tables published by year) come with the release.
    quarterly = [dataclasses.replace(t, periods=("quarter",)) for t in protected_tables() if "quarter" in t.periods]
    measures = {t.measure for t in quarterly}
    earlier = [Release(r.release_id, r.period, r.created_at, r.method, r.parameters, local, (),
                       tuple(c for c in r.cells if mine(c.key) and c.key.measure in measures
                             and Period.parse(c.key.period).is_quarter), (), {})
               for r in ledger(year, before=period)]
    records = (r for r in sources.records(quarter.whole_year.start, today()) if r.province_code == province_code)
    counted = count_cells(quarterly, records, period, local)
    fingerprint = _fingerprint(counted, earlier)
    key = (province_code, period)
    with _DRAFT_LOCK:
        cached = _DRAFTS.get(key)
    now = time.monotonic()
    # Counting is cheap, protecting is not: the protected draft is kept per province and quarter and
    # computed again only when the counts (or the ledger) changed, and at most once a minute.
    if cached is not None and (cached[1] == fingerprint or now - cached[0] < DRAFT_MIN_AGE):
        return cached[2]
    try:
        release = compute_release(release_id="draft", period=period, created_at=utcnow(), tables=quarterly,
                                  counted=counted, geography=local, earlier=earlier)
    except ReleaseError as exc:
        raise ReleaseRefused(_("No safe pattern of withheld figures was found for this quarter, so nothing "
                               "was released. Please contact the system administrator.")) from exc
    with _DRAFT_LOCK:
        _DRAFTS[key] = (now, fingerprint, release)
    return release


DRAFT_MIN_AGE = 60.0  # seconds: a province's draft is protected again at most once a minute
_DRAFTS: dict[tuple[str, str], tuple[float, str, Release]] = {}
_DRAFT_LOCK = threading.Lock()


def _fingerprint(counted: Counted, earlier: Iterable[Release]) -> str:
    h = hashlib.sha256()
    for part in (counted.cells, counted.context):
        for k in sorted(part, key=CellKey.sort_key):
            c = part[k]
            h.update(repr((k.label(), c.value, getattr(c, "persons", None), getattr(c, "top", None))).encode())
    for r in earlier:
        h.update(r.release_id.encode())
    return h.hexdigest()


def forget_drafts() -> None:
    with _DRAFT_LOCK:
        _DRAFTS.clear()


def period_start_date(period: str) -> date:
    return period_start(period)


def preview_tables(row: StatPreview) -> list[dict[str, Any]]:
    """Every table of a finished preview: how many figures, how many withheld and why, and each figure
    as it would be published (value, or None where withheld)."""
    from casework.stats.presenters import title, withheld_reason

    by_table: dict[str, list[ReleaseCell]] = {}
    for c in preview_cells(row):
        if c.key.hidden:
            continue
        for table_id in c.tables:
            by_table.setdefault(table_id, []).append(c)
    out = []
    for t in tables():
        cells = sorted(by_table.get(t.id, ()), key=lambda c: c.key.sort_key())
        if not cells:
            continue
        withheld = sum(1 for c in cells if c.status == SUPPRESSED)
        out.append({
            "id": t.id, "title": title(t), "kind": t.kind, "cells": len(cells), "withheld": withheld,
            "reason": withheld_reason(t, withheld),
            "figures": [{"geo_level": c.key.geo_level, "geo_code": c.key.geo_code, "period": c.key.period,
                         "dims": dict(c.key.dims), "value": c.value if c.status != SUPPRESSED else None}
                        for c in cells],
        })
    return out


def released_quarters_made() -> list[str]:
    return list(db.session.scalars(select(StatRelease.period)))


def recent_previews(limit: int = 5) -> list[StatPreview]:
    return list(db.session.scalars(select(StatPreview).order_by(StatPreview.created_at.desc()).limit(limit)))


def publishable(row: StatPreview) -> tuple[bool, str | None]:
    """Whether a finished preview can be published now, and if not, why (in the reader's language)."""
    if row.release_id is not None:
        return False, _("This preview has been published.")
    try:
        check_period(row.period)
    except DomainError as e:
        return False, " ".join([e.message] + [m for ms in e.fields.values() for m in ms]) if e.fields else e.message
    if (row.ledger or "") != _ledger_ids(row.period) or \
            as_utc(row.release_created_at or row.created_at) < utcnow() - PREVIEW_VALID:
        return False, _("The figures published this year have changed since this preview, or the preview is more "
                        "than a day old. Please make a new preview before publishing.")
    return True, None


# --- pilot communes (issue 16) ----------------------------------------------------------------------

def pilot_counts() -> dict[str, int]:
    """How many pilot communes each province has."""
    return {p: n for p, n in db.session.execute(
        select(PilotCommune.province_code, func.count()).group_by(PilotCommune.province_code))}


def set_pilot_communes(province_code: object, communes: Iterable[str] | None, user: User | None) -> tuple[int, int]:
    """Make exactly ``communes`` the pilot communes of ``province_code``; returns (added, removed)."""
    if not isinstance(province_code, str) or province_code not in geography().codes("province"):
        raise ValidationError(_("Please correct the marked fields."), {"province": [_("Choose a province.")]})
    wanted = set(communes or ())
    known = set(geography().communes_by_province.get(province_code, ()))
    unknown = sorted(wanted - known)
    if unknown:
        raise ValidationError(_("Please correct the marked fields."),
                              {"communes": [_("Choose communes of this province only.")]})
    have = {r.commune_code: r for r in db.session.scalars(
        select(PilotCommune).where(PilotCommune.province_code == province_code))}
    for code in sorted(wanted - set(have)):
        db.session.add(PilotCommune(commune_code=code, province_code=province_code,
                                    added_by_id=getattr(user, "id", None)))
    for code in sorted(set(have) - wanted):
        db.session.delete(have[code])
    added, removed = len(wanted - set(have)), len(set(have) - wanted)
    if added or removed:
        audit.record("stats.pilot_communes_set", object_type="province", object_id=province_code)
    db.session.flush()
    return added, removed
