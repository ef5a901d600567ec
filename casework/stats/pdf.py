"""The quarterly pilot report as a PDF (ReportLab), always in Vietnamese (disclosure-control §2.9).

Rendered once, when the release is made, and stored with it. It holds only what the release publishes:
a short narrative written from the published national figures, a chart of the national total by quarter
(a withheld quarter is marked ``x``, never drawn as zero), the quarter's tables by province, and the
caveats. The font is Be Vietnam Pro (every Vietnamese letter); pages are numbered "Trang n/N".
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from casework.fonts import FONT, register_fonts
from casework.stats.catalogue import TableDef, headline_table
from casework.stats.cells import NATIONAL_CODE, CellKey, period_type
from casework.stats.formats import PLAN96_ORDER, shown_cells, zero_total
from casework.stats.period import Period
from casework.stats.release import CAVEATS, PUBLISHED, Release, ReleaseCell
from casework.text import format_datetime, format_number, nfc

PLUM = colors.HexColor("#6b1f5c")
GREY = colors.HexColor("#55555f")
MARK = "x"


def period_label(period: str) -> str:
    """"quý III/2026" or "năm 2026" (the Vietnamese way of naming a reporting period): the report is
    always in Vietnamese."""
    return Period.parse(period).in_sentence("vi")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9.5, leading=13)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontName=f"{FONT}-Bold", fontSize=16, leading=21,
                                textColor=PLUM, spaceAfter=2),
        "h2": ParagraphStyle("h2", parent=base, fontName=f"{FONT}-Bold", fontSize=11.5, leading=15,
                             spaceBefore=10, spaceAfter=4, textColor=PLUM),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, textColor=GREY),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
        "head": ParagraphStyle("head", parent=base, fontName=f"{FONT}-Bold", fontSize=7.5, leading=9),
        "num_head": ParagraphStyle("num_head", parent=base, fontName=f"{FONT}-Bold", fontSize=7.5, leading=9,
                                   alignment=TA_RIGHT),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(nfc(text)), style)


def value_text(cell: ReleaseCell | None) -> str:
    if cell is None:
        return "–"
    if cell.status != PUBLISHED or cell.value is None:
        return MARK
    return format_number(cell.value)


def _numbered_canvas(footer: str) -> type[Canvas]:
    class NumberedCanvas(Canvas):  # type: ignore[misc]  # ReportLab ships no types
        """Draws "Trang n/N" once the number of pages is known."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["initialFontName"] = kwargs.get("initialFontName") or FONT  # never Helvetica, even unused
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802  (ReportLab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(FONT, 7.5)
                self.setFillColor(GREY)
                self.drawString(20 * mm, 10 * mm, nfc(footer))
                self.drawRightString(A4[0] - 20 * mm, 10 * mm,
                                     nfc(_("Page %(n)s/%(total)s", n=self._pageNumber, total=total)))
                super().showPage()
            super().save()

    return NumberedCanvas


def quarterly_report(release: Release, series: Mapping[str, Mapping[str, ReleaseCell]]) -> bytes:
    """The report of ``release``; ``series`` maps a geography code to its published quarterly totals."""
    with force_locale("vi"):
        return _report(release, series)


def _report(release: Release, series: Mapping[str, Mapping[str, ReleaseCell]]) -> bytes:
    register_fonts()
    st = _styles()
    buf = io.BytesIO()
    title = _("Tin Cậy: statistics of %(period)s", period=period_label(release.period))
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title=nfc(title), author="Tin Cậy", subject=release.release_id,
                            creator="Tin Cậy", invariant=1, initialFontName=FONT)
    story: list[Flowable] = [
        _p(title, st["title"]),
        _p(_("Release %(id)s, made on %(day)s (Vietnam time). Figures of fewer than 10 persons, and the figures "
             "from which they could be worked out, are withheld and shown as x; activity indicators count "
             "addresses and packages, not women, and are published in full. Details are in the statistics "
             "guide.", id=release.release_id, day=format_datetime(release.created_at)), st["small"]),
        Spacer(1, 3 * mm),
    ]
    # Plan 96's own indicators first, in the order the steering board reads them: trusted addresses
    # (new, consolidated, active), hosts trained, support packages, then livelihood; then the protected
    # tables of persons.
    story += plan96_block(release, st)
    for table in plan96_tables(release):
        block = table_block(release, table, st)
        if block:
            story += block
    story += [_p(_("Persons received and supported (protected figures)"), st["h2"])]
    story += [_p(line, st["base"]) for line in narrative(release)]
    story += [_p(_("Persons received by quarter, whole country"), st["h2"]),
              QuarterChart(series.get(NATIONAL_CODE, {}), release.year)]
    shown = {t.id for t in plan96_tables(release)}
    for table in release.tables:
        if table.id in shown:
            continue
        block = table_block(release, table, st)
        if block:
            story += block
    story.append(_p(_("What these figures mean"), st["h2"]))
    story += [_p("• " + c["vi"], st["base"]) for c in CAVEATS]
    audit = release.manifest.get("audit", {})
    story += [Spacer(1, 3 * mm), _p(_("Check: of the %(cells)s protected figures, %(withheld)s are withheld (x); "
                                       "checked against every figure of this release and of the year's earlier "
                                       "releases. Check code %(hash)s.", cells=audit.get("cells", 0),
                                       withheld=audit.get("suppressed", 0),
                                       hash=check_code(release.manifest.get("snapshot_hash", ""))), st["small"])]
    units = units_line(release.manifest)
    if units:
        story.append(_p(units, st["small"]))
    footer = _("Tin Cậy, release %(id)s: anonymised statistics, no personal data", id=release.release_id)
    doc.build(story, canvasmaker=_numbered_canvas(footer))
    return buf.getvalue()


def check_code(snapshot_hash: str) -> str:
    """The release's check code without the name of the hash function (a word for the guide, not the
    reader): ``sha256:ab12…`` → ``ab12…``."""
    return snapshot_hash.split(":", 1)[-1]


def units_line(manifest: Mapping[str, Any]) -> str | None:
    """Issue 15: the administrative units of the figures and the date of the map data, in words."""
    data = manifest.get("geography_data")
    if not data:
        return None
    schemes = {"2025": _("The units since 1 July 2025"), "pre2025": _("The units before 1 July 2025")}
    scheme = manifest.get("geography_scheme", "")
    as_of = str(data.get("as_of") or "")
    day = f"{as_of[8:10]}/{as_of[5:7]}/{as_of[:4]}" if len(as_of) == 10 else as_of
    words: str = _("Administrative units") + ": " + _("%(scheme)s; %(package)s %(version)s, data of %(as_of)s",
                                                      scheme=schemes.get(scheme, scheme),
                                                      package=data.get("package", ""),
                                                      version=data.get("version", ""), as_of=day)
    return words


def narrative(release: Release) -> list[str]:
    """Three or four sentences written from the published figures only."""
    main = headline_table(release.tables)
    lines: list[str] = []
    if main is not None:
        total = _cell(release, CellKey(main.measure, "national", NATIONAL_CODE, release.period))
        provinces = [c for c in release.cells if c.key.measure == main.measure and c.key.geo_level == "province"
                     and c.key.period == release.period and not c.key.dims]
        with_cases = sum(1 for c in provinces if c.status != PUBLISHED or (c.value or 0) > 0)
        if total is not None and total.status == PUBLISHED:
            lines.append(_("In %(period)s, %(n)s persons who agreed to be counted were received at trusted "
                           "addresses (%(what)s).", period=period_label(release.period),
                           n=format_number(total.value), what=main.title_vi.lower()))
        else:
            lines.append(_("In %(period)s the national number of persons received is withheld (x): it is "
                           "too small to publish safely.", period=period_label(release.period)))
        lines.append(_("%(n)s of %(all)s provinces reported persons received or a withheld figure.",
                       n=with_cases, all=len(provinces)))
    withheld = sum(1 for c in shown_cells(release).values() if c.status != PUBLISHED)
    lines.append(_("%(withheld)s of %(cells)s figures are withheld (x) so that no woman can be recognised; a "
                   "withheld figure may be small, large or zero.", withheld=withheld, cells=len(release.cells)))
    if Period.parse(release.period).quarter == 4:
        lines.append(_("This release also carries the figures of the whole year %(year)s.", year=release.year))
    return lines


def _cell(release: Release, key: CellKey) -> ReleaseCell | None:
    try:
        return release.cell(key)
    except KeyError:
        return None


class QuarterChart(Flowable):  # type: ignore[misc]  # ReportLab ships no types
    """Bars for the four quarters of a year, drawn straight on the page in the report's font; a withheld
    quarter is a dashed outline with ``x``, never a zero bar."""

    def __init__(self, points: Mapping[str, ReleaseCell], year: str, width: float = 170 * mm,
                 height: float = 48 * mm):
        super().__init__()
        self.points, self.year, self.width, self.height = points, year, width, height

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        quarters = [str(q) for q in Period.quarters_of(self.year)]
        values = [p.value for q in quarters if (p := self.points.get(q)) is not None
                  and p.status == PUBLISHED and p.value]
        top = max(values) if values else 1
        base_y, plot_h = 12, self.height - 26
        slot = self.width / 4
        c.setStrokeColor(GREY)
        c.setLineWidth(0.5)
        c.line(0, base_y, self.width, base_y)
        for i, q in enumerate(quarters):
            x, w = i * slot + slot * 0.25, slot * 0.5
            middle = x + w / 2
            cell = self.points.get(q)
            c.setFillColor(GREY)
            c.setFont(FONT, 7.5)
            c.drawCentredString(middle, 2, nfc(period_label(q)))
            if cell is None:
                c.setFont(FONT, 7)
                c.drawCentredString(middle, base_y + 4, nfc(_("not released")))
            elif cell.status != PUBLISHED or cell.value is None:
                h = plot_h * 0.35
                c.setStrokeColor(PLUM)
                c.setDash(2, 2)
                c.rect(x, base_y, w, h, stroke=1, fill=0)
                c.setDash()
                c.setFillColor(PLUM)
                c.setFont(f"{FONT}-Bold", 10)
                c.drawCentredString(middle, base_y + h / 2 - 3, MARK)
            else:
                h = plot_h * cell.value / top
                c.setFillColor(PLUM)
                c.rect(x, base_y, w, h, stroke=0, fill=1)
                c.setFillColor(colors.black)
                c.setFont(FONT, 8)
                c.drawCentredString(middle, base_y + h + 2, format_number(cell.value))


def table_block(release: Release, table: TableDef, st: dict[str, ParagraphStyle]) -> list[Flowable] | None:
    """A table of the release's own period: provinces (or the country) by category, ``x`` where withheld."""
    year_end = Period.parse(release.period).quarter == 4
    own = release.period if "quarter" in table.periods else (release.year if year_end else None)
    if own is None or period_type(own) not in table.periods:
        return None
    level = "province" if "province" in table.geo_levels else ("national" if "national" in table.geo_levels else None)
    if level is None or len(table.dimensions) > 1:
        return None
    dim = table.dimensions[0] if table.dimensions else None
    columns: list[tuple[str, str | None]] = [(c.label_vi, c.code) for c in dim.categories] if dim else []
    columns.append((_("Total"), None))
    codes = [NATIONAL_CODE] + (list(release.geography.codes("province")) if level == "province" else [])
    header = [_p(_("Place"), st["head"])] + [_p(label, st["num_head"]) for label, _c in columns]
    rows = [header]
    for code in codes:
        geo_level = "national" if code == NATIONAL_CODE else "province"
        row = [_p(release.geography.name(geo_level, code), st["cell"])]
        for _label, cat in columns:
            key = CellKey(table.measure, geo_level, code, own, ((dim.variable, cat),) if dim and cat else ())
            cell = _cell(release, key)
            zero = cell is not None and zero_total(release._by_key(), key)  # a row whose total is 0 shows 0
            row.append(format_number(0) if zero else value_text(cell))
        rows.append(row)
    name_w = 38 * mm
    other_w = min((A4[0] - 36 * mm - name_w) / len(columns), 24 * mm)
    t = Table(rows, colWidths=[name_w] + [other_w] * len(columns), repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 7.5),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, PLUM),
        ("BACKGROUND", (0, 1), (-1, 1), colors.HexColor("#f3e9f1")),
        ("ROWBACKGROUNDS", (0, 2), (-1, -1), [colors.white, colors.HexColor("#f7f7f9")]),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    heading = _p(f"{table.title_vi} ({period_label(own)})", st["h2"])
    return [KeepTogether([heading, t]) if len(rows) < 12 else heading, *([] if len(rows) < 12 else [t])]


def plan96_tables(release: Release) -> list[TableDef]:
    by_id = {t.id: t for t in release.tables}
    return [by_id[i] for i in PLAN96_ORDER if i in by_id and by_id[i].kind == "activity"]


def plan96_block(release: Release, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The first table of the report: each Plan 96 indicator for the whole country in the quarter (and the
    year at year-end), for every commune and for the pilot communes only."""
    by_id = {t.id: t for t in release.tables}
    periods = [str(p) for p in Period.parse(release.period).published_with()]
    header = [_p(_("Indicator"), st["head"])]
    for p in periods:
        header += [_p(period_label(p), st["num_head"]), _p(_("pilot communes"), st["num_head"])]
    rows = [header]
    for table_id in PLAN96_ORDER:
        t = by_id.get(table_id)
        if t is None or "national" not in t.geo_levels:
            continue
        variants: list[tuple[tuple[str, str], ...]] = [()]
        if t.dimensions and t.dimensions[0].variable == "proposal_stage":
            variants = [((t.dimensions[0].variable, c.code),) for c in t.dimensions[0].categories]
        for dims in variants:
            label = t.title_vi if not dims else f"{t.title_vi.split('(')[0].strip()}: " \
                f"{t.dimensions[0].category(dims[0][1]).label_vi.lower()}"
            row = [_p(label, st["cell"])]
            any_value = False
            for p in periods:
                if period_type(p) not in t.periods:
                    row += ["–", "–"]
                    continue
                any_value = True
                row.append(value_text(_cell(release, CellKey(t.measure, "national", NATIONAL_CODE, p, dims))))
                pilot = _cell(release, CellKey(t.measure, "national", NATIONAL_CODE, p, (("scope", "PILOT"),)))
                row.append(value_text(pilot) if pilot is not None else "–")
            if any_value:
                rows.append(row)
    if len(rows) == 1:
        return []
    widths = [70 * mm] + [(A4[0] - 36 * mm - 70 * mm) / (2 * len(periods))] * (2 * len(periods))
    t = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8), ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, PLUM),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f7f9")]),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return [_p(_("Plan 96 indicators, whole country"), st["h2"]), t, Spacer(1, 2 * mm)]
