"""The case record as a PDF (ReportLab), for hosts and commune officers; the view calls the audit.

The font is Be Vietnam Pro (``casework.fonts``), never ReportLab's built-in fonts, which lack most
Vietnamese letters (vietnam-domain §6.1). Every text is NFC-normalised before it is drawn, because
ReportLab does not position combining marks. Each page says it is confidential, who printed it and
when. The document's metadata carries no personal data.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from flask_babel import pgettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from casework.auth.models import User
from casework.cases import codes
from casework.cases.extensions import timeline_label
from casework.cases.models import Case
from casework.cases.services import shelter_nights
from casework.fonts import FONT, register_fonts
from casework.geo import data as geo
from casework.text import format_date, format_datetime, format_vnd, nfc


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9.5, leading=12.5)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontName=f"{FONT}-Bold", fontSize=15, leading=19,
                                spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontName=f"{FONT}-Bold", fontSize=11.5, leading=15,
                             spaceBefore=8, spaceAfter=3, textColor=colors.HexColor("#6b1f5c")),
        "label": ParagraphStyle("label", parent=base, fontName=f"{FONT}-Bold"),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#55555f")),
        "warn": ParagraphStyle("warn", parent=base, fontName=f"{FONT}-Bold", textColor=colors.HexColor("#a4161a")),
    }


def _t(value: Any) -> str:
    """NFC text, escaped for ReportLab's mini-markup; line breaks kept."""
    if value is None:
        return ""
    return escape(nfc(str(value)) if "\n" not in str(value) else "\n".join(nfc(x) for x in str(value).split("\n")))\
        .replace("\n", "<br/>")


def _rows(pairs: list[tuple[Any, Any]], st: dict[str, ParagraphStyle]) -> Table:
    data = [[Paragraph(_t(k), st["label"]), Paragraph(_t(v) if v not in (None, "") else "—", st["base"])]
            for k, v in pairs]
    table = Table(data, colWidths=[52 * mm, 118 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c9c9d3")),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _label(mapping: dict[str, Any], code: str | None) -> str:
    return str(mapping.get(code or "", code or ""))


def render_case_pdf(case: Case, viewer: User, now: datetime, shown: dict[str, Any] | None = None) -> bytes:
    """The whole record of one case; ``viewer`` and ``now`` are printed on every page.

    Her data comes only from ``shown`` (``presenters.case_page``), whose fields the read event records.
    """
    if shown is None:
        from casework.cases.presenters import case_page

        shown = case_page(case)
    register_fonts()
    st = _styles()
    p = shown
    buf = io.BytesIO()
    # A personal-data marking, not a state-secret level ("MẬT" is one under Law 29/2018/QH14).
    stamp = _("CONFIDENTIAL – PERSONAL DATA — printed by %(user)s on %(time)s. Do not copy or leave unattended.",
              user=nfc(getattr(viewer, "display_name", "") or viewer.username), time=format_datetime(now))

    def on_page(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#a4161a"))
        canvas.setFont(f"{FONT}-Bold", 10)
        canvas.drawString(20 * mm, A4[1] - 12 * mm, nfc(_("CONFIDENTIAL – PERSONAL DATA")))
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#55555f"))
        canvas.drawString(20 * mm, 10 * mm, nfc(stamp))
        canvas.drawRightString(A4[0] - 20 * mm, A4[1] - 12 * mm, nfc(_("Page %(n)d", n=doc.page)))
        canvas.restoreState()

    doc = SimpleDocTemplate(buf, pagesize=A4, initialFontName=FONT, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=18 * mm, bottomMargin=16 * mm, title=nfc(_("Case record")), author="Tin Cậy",
                            subject=nfc(_("Confidential – personal data")), creator="Tin Cậy")
    story: list[Any] = [
        Paragraph(_t(_("Case record %(ref)s", ref=case.reference)), st["title"]),
        Paragraph(_t(stamp), st["warn"]),
        Spacer(1, 4 * mm),
    ]
    commune = geo.commune(case.commune_code)
    home = geo.commune(p["home_commune_code"])
    ethnic = geo.ethnic_group(p["ethnicity_code"])
    story += [Paragraph(_t(_("Intake")), st["h2"]), _rows([
        (_("Trusted address"), shown["address"]),
        (_("Commune"), commune.name if commune else case.commune_code),
        (_("Arrived"), format_datetime(shown["intake_at"])),
        (_("How she arrived"), _label(codes.ARRIVALS, shown["arrival"])),
        (_("Status"), _label(codes.STATUSES, case.status)),
        (_("Commune People's Committee notified"), format_datetime(shown["commune_notified_at"]) or _("Not yet")),
    ], st)]
    story += [Paragraph(_t(_("The person")), st["h2"]), _rows([
        (_("Name"), p["full_name"]), (_("Other names"), p["other_names"]), (_("Sex"), _label(codes.SEXES, p["sex"])),
        (_("Year of birth"), p["birth_year"]), (_("Date of birth"), format_date(_date(p["birth_date"]))),
        (_("Age group"), _label(codes.AGE_BANDS, p["age_band"])), (_("Ethnic group"), ethnic.name if ethnic else ""),
        (_("Phone"), p["phone"]), (_("ID number"), p["id_number"]),
        (pgettext("residence", "Home"),
         ", ".join(x for x in (p["home_address"] or "", home.name if home else "") if x)),
        (_("Children with her"), _children(shown["children"])),
    ], st)]
    acts = [f"{a}) {codes.ACTS[a]}" for a in shown["acts"]]
    story += [Paragraph(_t(_("What happened")), st["h2"]), _rows([
        (_("Acts (Law 13/2022, Art. 3)"), "\n".join(acts)),
        (_("Forms of violence"), ", ".join(str(codes.FORMS[f]) for f in case.forms)),
        (_("Relationship to the perpetrator"), _label(codes.RELATIONSHIPS, shown["relationship"])),
        (_("Perpetrator"), f"{_label(codes.PERPETRATOR_SEXES, shown['perpetrator']['sex'])}, "
                           f"{_label(codes.AGE_BANDS, shown['perpetrator']['age_band'])}"),
        (_("Injuries"), shown["injuries"]),
        (_("First aid"), shown["first_aid"]["text"] if shown["first_aid"]["given"] else _("None")),
    ], st)]
    story += [Paragraph(_t(_("Risk and safety")), st["h2"]), _rows([
        (_("Risk level"), _label(codes.RISK_LEVELS, shown["risk"]["level"])),
        (_("Risk factors"), "\n".join(str(codes.RISK_FACTORS[f]) for f in shown["risk"]["factors"])),
        (_("Safety plan"), shown["safety_plan"]),
    ], st)]
    summary = shown["consent"]
    shares = [f"{codes.SERVICES.get(s, s)}: {', '.join(str(codes.SHAREABLE_FIELDS.get(f, f)) for f in row.fields)}"
              for s, row in summary.share.items()]
    story += [Paragraph(_t(_("Consent")), st["h2"]), _rows([
        (_("Keep this record"), _("Yes") if summary.record else _("No")),
        (_("Statistics"), _("Yes") if summary.statistics else _("No")),
        (_("Share with"), "\n".join(shares) or _("Nobody")),
    ], st)]
    stays = [f"{format_date(s.start_on)} – {format_date(s.end_on) or _('now')}: "
             f"{', '.join(str(codes.ESSENTIALS[e]) for e in s.essentials)}"
             f"{' (' + format_vnd(s.money_vnd) + ')' if s.money_vnd else ''}" for s in shown["shelter"]]
    bans = [f"{format_datetime(b.requested_at)} {_label(codes.CONTACT_BAN_KINDS, b.kind)}"
            f"{' ' + b.court_name if b.court_name else ''}: "
            f"{_label(codes.CONTACT_BAN_DECISIONS, b.decision) or _('waiting')}"
            f"{' ' + format_datetime(b.valid_from) + ' – ' + format_datetime(b.valid_until) if b.valid_until else ''}"
            f"{'; ' + _('Revoked on %(day)s', day=format_date(b.revoked_on)) if b.revoked_on else ''}"
            for b in shown["contact_bans"]]
    follow = [f"{format_date(f.on)} {_label(codes.FOLLOW_UP_KINDS, f.kind)}: {_label(codes.SITUATIONS, f.situation)}"
              f"{'; ' + _('violence again') if f.violence_recurred else ''}{'. ' + f.note if f.note else ''}"
              for f in shown["follow_ups"]]
    story += [Paragraph(_t(_("Support")), st["h2"]), _rows([
        (_("Shelter (%(n)d nights)", n=shelter_nights(case)), "\n".join(stays) or _("None")),
        (_("Contact bans"), "\n".join(bans) or _("None")),
        (_("Follow-ups"), "\n".join(follow) or _("None")),
        (_("Closure"), _label(codes.CLOSURE_REASONS, shown["closure"]["reason"]) if shown["closure"] else ""),
    ], st)]
    story += [Paragraph(_t(_("Notes")), st["h2"]), Paragraph(_t(shown["narrative"]) or "—", st["base"])]
    events = [(format_datetime(e.at), f"{timeline_label(e.kind)}{': ' + e.note if e.note else ''}")
              for e in shown["timeline"]]
    if events:
        story += [Paragraph(_t(_("Timeline")), st["h2"]), _rows(events, st)]
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


def _date(value: str | None):
    from datetime import date

    return date.fromisoformat(value) if value else None


def _children(children: dict[str, Any]) -> str:
    if not children["count"]:
        return _("None")
    ages = children["ages"]
    return _("%(n)d (ages %(ages)s)", n=children["count"], ages=ages) if ages else str(children["count"])
