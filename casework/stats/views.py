"""Statistics screens: releases and their downloads and charts for national coordinators, the protected
tables of her own province and the live draft of the coming quarter for a province officer.

No screen takes a date range or a filter: a release is chosen from the ledger, a table from the fixed
catalogue, a province from the official list (disclosure-control §2.3, §2.7).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField

from casework.auth.policy import allow
from casework.auth.roles import Role
from casework.errors import DomainError, ValidationError
from casework.extensions import db
from casework.forms import MultiCheckboxField, SelectField, apply_domain_errors, form_status
from casework.protect import audit
from casework.schemas import CORRECT_FIELDS, Schema, form_values
from casework.stats import jobs, presenters, service
from casework.stats.cells import NATIONAL_CODE, Geography
from casework.stats.models import StatPreview, StatRelease
from casework.stats.pdf import check_code
from casework.stats.schemas import Confirmation, PreviewRequest
from casework.text import format_date, format_datetime

bp = Blueprint("stats", __name__, url_prefix="/statistics")

FORMAT_LABELS = {
    "pdf": "PDF", "xlsx": "Excel (XLSX)", "csv": "CSV", "json": "JSON", "dhis2": "DHIS2 (JSON)",
    "dhis2-year": "DHIS2 (JSON)", "adx": "ADX (XML)", "manifest": "JSON", "sdmx": "SDMX-CSV",
    "view2025": "CSV",
}


def format_names() -> dict[str, str]:
    return {
        "pdf": _("Quarterly report"), "xlsx": _("Tables for Excel"), "csv": _("Every figure, one per line"),
        "json": _("Every figure with the description of the release"),
        "dhis2": _("Figures of the quarter for the DHIS2 system"),
        "dhis2-year": _("Figures of the year for the DHIS2 system"),
        "adx": _("Figures for exchange with other health information systems (ADX)"),
        "manifest": _("Description of the release: how the figures are protected, the check, what they mean"),
        "sdmx": _("Figures for statistics offices (SDMX)"),
        "view2025": _("Provinces mapped to the 2025 units"),
    }


class PreviewForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    # Any value is taken here: casework/stats/schemas.py refuses it on this field in the reader's language.
    period = SelectField(_l("Quarter"), choices=[], validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        released = set(service.released_quarters_made())
        self.period.choices = [(p, presenters.period_label(p) + (_(" (released)") if p in released else ""))
                               for p in service.preview_periods()]


class PublishForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    confirm = BooleanField(_l("I have read the preview. Publish these figures: once published they are "
                              "never revised."))


class ReleaseForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    """A release without a preview (kept for forms posted by tools): the same confirmation as after a
    preview, so that no single click freezes a quarter (issue 16)."""

    # Any value is taken here: casework/stats/schemas.py refuses it on this field in the reader's language.
    period = SelectField(_l("Quarter"), choices=[], validate_choice=False)
    confirm = BooleanField(_l("I have read the preview. Publish these figures: once published they are "
                              "never revised."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.period.choices = [(p, presenters.period_label(p)) for p in service.open_periods()]


def _read[S: Schema](form: FlaskForm, schema: type[S]) -> S | None:
    """The submitted form read through its schema, or None with the messages put on the form's fields."""
    try:
        return schema.from_form(form_values(request.form))
    except ValidationError as e:
        apply_domain_errors(form, e)
        return None


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"period_label": presenters.period_label, "format_date": format_date,
            "format_datetime": format_datetime, "format_labels": FORMAT_LABELS, "format_names": format_names(),
            "table_title": presenters.title, "check_code": check_code,
            "caveat_text": lambda c: c["vi"] if presenters.is_vietnamese() else c["en"]}


@bp.get("/")
@allow(Role.COORDINATOR)
def index() -> ResponseReturnValue:
    page = service.list_releases(request.args.get("after") or None)
    return render_template("stats/index.html", releases=page.items, next_after=page.next_cursor,
                           form=PreviewForm(), recent=service.recent_previews())


@bp.post("/previews")
@allow(Role.COORDINATOR)
def preview_create() -> ResponseReturnValue:
    form = PreviewForm()
    asked = _read(form, PreviewRequest) if form.validate_on_submit() else None
    if asked is not None:
        try:
            row = service.start_preview(asked.period, current_user, runner=jobs.runner())
        except DomainError as e:
            apply_domain_errors(form, e)
        else:
            db.session.commit()  # the runner reads the row from its own session
            jobs.submit(row.id)
            return redirect(url_for("stats.preview", preview_id=row.id))
    page = service.list_releases()
    return render_template("stats/index.html", releases=page.items, next_after=page.next_cursor, form=form,
                           recent=service.recent_previews()), form_status(form)


def _preview_or_404(preview_id: str) -> StatPreview:
    try:
        return service.get_preview(preview_id)
    except DomainError:
        abort(404)


@bp.get("/previews/<preview_id>")
@allow(Role.COORDINATOR)
def preview(preview_id: str) -> ResponseReturnValue:
    row = _preview_or_404(preview_id)
    grids, summary, publishable, refusal = [], [], False, None
    if row.state == "done":
        cells = {c.key: c for c in service.preview_cells(row)}
        province = _chosen_province(None, service.geography(row.period))
        grids = presenters.grids(service.tables(), cells, row.period, service.geography(row.period), province)
        summary = service.preview_tables(row)
        publishable, refusal = service.publishable(row)
    geo = service.geography(row.period)
    provinces = [(c, geo.name("province", c)) for c in geo.codes("province")]
    return render_template("stats/preview.html", preview=row, grids=grids, summary=summary,
                           publishable=publishable, refusal=refusal, form=PublishForm(),
                           province=request.args.get("province"), provinces=provinces,
                           refresh=request.args.get("refresh") != "off",
                           error=service.preview_error_text(row) if row.state == "failed" else None)


@bp.route("/previews/<preview_id>/publish", methods=["GET", "POST"])
@allow(Role.COORDINATOR)
def preview_publish(preview_id: str) -> ResponseReturnValue:
    row = _preview_or_404(preview_id)
    form = PublishForm()
    if row.state != "done":
        return redirect(url_for("stats.preview", preview_id=row.id))
    if request.method == "POST":
        if _read(form, Confirmation) is not None and form.validate_on_submit():
            try:
                release_row = service.make_release(row.period, current_user, preview_id=row.id)
            except DomainError as e:
                apply_domain_errors(form, e)
            else:
                flash(_("Release %(id)s is published. Its figures are frozen and will never be revised.",
                        id=release_row.id))
                return redirect(url_for("stats.release", release_id=release_row.id))
    publishable, refusal = service.publishable(row)
    summary = service.preview_tables(row)
    return render_template("stats/publish.html", preview=row, form=form, publishable=publishable, refusal=refusal,
                           cells=sum(t["cells"] for t in summary),
                           withheld=sum(t["withheld"] for t in summary)), form_status(form)


@bp.post("/releases")
@allow(Role.COORDINATOR)
def create() -> ResponseReturnValue:
    form = ReleaseForm()
    if form.validate_on_submit():
        asked, period_errors = PreviewRequest.collect(form_values(request.form), form=True)
        confirmed, confirm_errors = Confirmation.collect(form_values(request.form), form=True)
        if asked is None or confirmed is None:
            if asked is not None:  # the quarter's own errors too, so that one answer names everything to correct
                try:
                    service.check_period(asked.period)
                except DomainError as e:
                    apply_domain_errors(form, e)
            apply_domain_errors(form, ValidationError(str(CORRECT_FIELDS), {**period_errors, **confirm_errors}))
        else:
            try:
                row = service.make_release(asked.period, current_user)
            except DomainError as e:
                apply_domain_errors(form, e)
            else:
                flash(_("Release %(id)s is made. Its figures are frozen and will never be revised.", id=row.id))
                return redirect(url_for("stats.release", release_id=row.id))
    page = service.list_releases()
    return render_template("stats/index.html", releases=page.items, next_after=page.next_cursor,
                           form=form, recent=service.recent_previews()), form_status(form)


def _release_or_404(release_id: str) -> StatRelease:
    try:
        return service.get_release(release_id)
    except DomainError:
        abort(404)


def _chosen_province(default: str | None, geo: Geography | None = None) -> str | None:
    if current_user.role == Role.PROVINCE_OFFICER:
        own: str | None = current_user.province_code
        return own
    code = request.args.get("province") or default
    if code is not None and code not in (geo or service.geography()).codes("province"):
        abort(404)
    return code


@bp.get("/releases/<release_id>")
@allow(Role.COORDINATOR, Role.PROVINCE_OFFICER)
def release(release_id: str) -> ResponseReturnValue:
    row = _release_or_404(release_id)
    legacy = service.is_legacy_period(row.period)
    # A year before 2025 is shown in the units of its time, or mapped to the 2025 provinces (issue 15); a
    # province officer sees her 2025 province, so the mapped view.
    units = "2025" if not legacy or request.args.get("units") == "2025" or \
        current_user.role == Role.PROVINCE_OFFICER else "pre2025"
    cells_list = service.cells_of(row)
    if legacy and units == "2025":
        cells_list = service.view_2025(cells_list)
    geo = service.view_2025_geography() if legacy and units == "2025" else service.geography(row.period)
    province = _chosen_province(None, geo)
    cells = {c.key: c for c in cells_list}
    grids = presenters.grids(service.tables(), cells, row.period, geo, province)
    audit.record("stats.release_viewed", object_type="stat_release", object_id=row.id)
    provinces = [(c, geo.name("province", c)) for c in geo.codes("province")]
    return render_template("stats/release.html", release=row, grids=grids, province=province, provinces=provinces,
                           legacy=legacy, units=units,
                           formats=service.available_formats(row) if current_user.role == Role.COORDINATOR else [],
                           manifest=service.manifest_of(row))


@bp.get("/releases/<release_id>/<fmt>")
@allow(Role.COORDINATOR)
def download(release_id: str, fmt: str) -> ResponseReturnValue:
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
def charts() -> ResponseReturnValue:
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
def province() -> ResponseReturnValue:
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
def draft() -> ResponseReturnValue:
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
        grids = presenters.grids(service.protected_tables(), cells, period, service.geography(), code)
    audit.record("stats.draft_viewed", object_type="stat_release")
    return render_template("stats/draft.html", period=period, grids=grids, error=error,
                           province_name=service.geography().name("province", code), today=service.today())


class PilotForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    communes = MultiCheckboxField(_l("Pilot communes"), choices=[], validate_choice=False)


@bp.route("/pilot", methods=["GET", "POST"])
@allow(Role.COORDINATOR)
def pilot() -> ResponseReturnValue:
    """The pilot communes, province by province: a list of checkboxes, no JavaScript needed."""
    geo = service.geography()
    code = request.args.get("province")
    if code is not None and code not in geo.codes("province"):
        abort(404)
    form = PilotForm()
    if code is not None:
        form.communes.choices = [(c, geo.name("commune", c)) for c in geo.communes_by_province.get(code, ())]
        if request.method == "GET":
            form.communes.data = sorted(c for c in service.pilot_communes() if geo.province_of.get(c) == code)
        elif form.validate_on_submit():
            try:
                added, removed = service.set_pilot_communes(code, form.communes.data, current_user)
            except DomainError as e:
                apply_domain_errors(form, e)
            else:
                flash(_("Pilot communes saved: %(added)s added, %(removed)s removed.", added=added, removed=removed))
                return redirect(url_for("stats.pilot", province=code))
    elif request.method == "POST":
        abort(404)
    counts = service.pilot_counts()
    provinces = [(c, geo.name("province", c), counts.get(c, 0)) for c in geo.codes("province")]
    return render_template("stats/pilot.html", form=form, province=code, provinces=provinces,
                           province_name=geo.name("province", code) if code else None), form_status(form)
