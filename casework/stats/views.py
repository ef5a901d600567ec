"""Statistics screens: releases and their downloads and charts for national coordinators, the protected
tables of her own province and the live draft of the coming quarter for a province officer.

No screen takes a date range or a filter: a release is chosen from the ledger, a table from the fixed
catalogue, a province from the official list (disclosure-control §2.3, §2.7).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField

from casework.auth.policy import allow
from casework.auth.roles import Role
from casework.errors import DomainError
from casework.forms import apply_domain_errors, form_status
from casework.protect import audit
from casework.stats import presenters, service
from casework.stats.cells import NATIONAL_CODE
from casework.stats.models import StatRelease
from casework.text import format_date, format_datetime

bp = Blueprint("stats", __name__, url_prefix="/statistics")

FORMAT_LABELS = {
    "pdf": "PDF", "xlsx": "Excel (XLSX)", "csv": "CSV", "json": "JSON", "dhis2": "DHIS2 (JSON)",
    "dhis2-year": "DHIS2 (JSON)", "adx": "ADX (XML)", "manifest": "JSON", "sdmx": "SDMX-CSV",
}


def format_names() -> dict[str, str]:
    return {
        "pdf": _("Quarterly report"), "xlsx": _("Tables for Excel"), "csv": _("Every figure, one per line"),
        "json": _("Every figure with the manifest"), "dhis2": _("DHIS2 data values of the quarter"),
        "dhis2-year": _("DHIS2 data values of the year"), "adx": _("ADX data exchange"),
        "manifest": _("Manifest: method, parameters, audit, caveats"), "sdmx": _("SDMX data"),
    }


class ReleaseForm(FlaskForm):
    # Any value reaches the service, which refuses it on this field in the reader's language.
    period = SelectField(_l("Quarter"), choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.period.choices = [(p, presenters.period_label(p)) for p in service.open_periods()]


@bp.context_processor
def _helpers():
    return {"period_label": presenters.period_label, "format_date": format_date,
            "format_datetime": format_datetime, "format_labels": FORMAT_LABELS, "format_names": format_names(),
            "table_title": presenters.title,
            "caveat_text": lambda c: c["vi"] if presenters.is_vietnamese() else c["en"]}


@bp.get("/")
@allow(Role.COORDINATOR)
def index():
    page = service.list_releases(request.args.get("after") or None)
    form = ReleaseForm()
    return render_template("stats/index.html", releases=page.items, next_after=page.next_cursor, form=form)


@bp.post("/releases")
@allow(Role.COORDINATOR)
def create():
    form = ReleaseForm()
    if form.validate_on_submit():
        try:
            row = service.make_release(form.period.data, current_user)
        except DomainError as e:
            apply_domain_errors(form, e)
        else:
            flash(_("Release %(id)s is made. Its figures are frozen and will never be revised.", id=row.id))
            return redirect(url_for("stats.release", release_id=row.id))
    page = service.list_releases()
    return render_template("stats/index.html", releases=page.items, next_after=page.next_cursor,
                           form=form), form_status(form)


def _release_or_404(release_id: str) -> StatRelease:
    try:
        return service.get_release(release_id)
    except DomainError:
        abort(404)


def _chosen_province(default: str | None) -> str | None:
    if current_user.role == Role.PROVINCE_OFFICER:
        return current_user.province_code
    code = request.args.get("province") or default
    if code is not None and code not in service.geography().codes("province"):
        abort(404)
    return code


@bp.get("/releases/<release_id>")
@allow(Role.COORDINATOR, Role.PROVINCE_OFFICER)
def release(release_id: str):
    row = _release_or_404(release_id)
    province = _chosen_province(None)
    cells = {c.key: c for c in service.cells_of(row)}
    grids = presenters.grids(service.tables(), cells, row.period, service.geography(), province)
    audit.record("stats.release_viewed", object_type="stat_release", object_id=row.id)
    provinces = [(c, service.geography().name("province", c)) for c in service.geography().codes("province")]
    return render_template("stats/release.html", release=row, grids=grids, province=province, provinces=provinces,
                           formats=service.available_formats(row) if current_user.role == Role.COORDINATOR else [],
                           manifest=service.manifest_of(row))


@bp.get("/releases/<release_id>/<fmt>")
@allow(Role.COORDINATOR)
def download(release_id: str, fmt: str):
    row = _release_or_404(release_id)
    if fmt not in service.CONTENT_TYPES:
        abort(404)
    try:
        f = service.download(row, fmt)
    except DomainError:
        abort(404)
    name = f"tincay-{row.id}.{service.EXTENSIONS[fmt]}"
    return Response(f.content, mimetype=f.content_type.split(";")[0], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Repr-Digest": service.repr_digest(f),
        "Content-Type": f.content_type})


@bp.get("/charts")
@allow(Role.COORDINATOR)
def charts():
    measures = service.person_measures()
    chosen = request.args.get("measure") or service.main_measure()
    if measures and chosen not in {t.measure for t in measures}:
        abort(404)
    periods = service.released_quarters()
    series = service.series(measure=chosen)
    geo = service.geography()
    charts = [presenters.chart(geo.name("national", NATIONAL_CODE), series.get(NATIONAL_CODE, {}), periods,
                               width=440, height=150)]
    charts += [presenters.chart(geo.name("province", code), series.get(code, {}), periods)
               for code in geo.codes("province")]
    audit.record("stats.charts_viewed", object_type="stat_release")
    return render_template("stats/charts.html", charts=charts, measures=measures, chosen=chosen, periods=periods)


@bp.get("/province")
@allow(Role.PROVINCE_OFFICER)
def province():
    code = current_user.province_code
    rows = service.list_releases(limit=8).items
    latest = rows[0] if rows else None
    grids = []
    if latest is not None:
        cells = {c.key: c for c in service.cells_of(latest)}
        grids = presenters.grids(service.tables(), cells, latest.period, service.geography(), code)
    audit.record("stats.province_viewed", object_type="stat_release", object_id=latest.id if latest else None)
    return render_template("stats/province.html", latest=latest, releases=rows, grids=grids,
                           province_name=service.geography().name("province", code))


@bp.get("/province/draft")
@allow(Role.PROVINCE_OFFICER)
def draft():
    code = current_user.province_code
    error = None
    grids = []
    period = service.current_quarter()
    try:
        release = service.draft(code)
    except DomainError as e:
        error = e.message
    else:
        cells = {c.key: c for c in release.cells}
        grids = presenters.grids(service.tables(), cells, period, service.geography(), code)
    audit.record("stats.draft_viewed", object_type="stat_release")
    return render_template("stats/draft.html", period=period, grids=grids, error=error,
                           province_name=service.geography().name("province", code), today=service.today())
