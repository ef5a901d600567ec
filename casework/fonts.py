"""The font of every PDF the app draws (a case record, the quarterly statistics report).

Be Vietnam Pro from the ``fontpkg-be-vietnam-pro`` package, never ReportLab's built-in fonts, which lack most
Vietnamese letters (vietnam-domain §6.1). A core module: the domains' PDFs and the statistics report share it.
"""

from __future__ import annotations

from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "BeVietnamPro"


@cache
def register_fonts() -> str:
    from fontpkg_be_vietnam_pro import ROOT

    files = ROOT / "files"
    pdfmetrics.registerFont(TTFont(FONT, str(files / "BeVietnamPro-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(f"{FONT}-Bold", str(files / "BeVietnamPro-Bold.ttf")))
    pdfmetrics.registerFont(TTFont(f"{FONT}-Italic", str(files / "BeVietnamPro-Italic.ttf")))
    pdfmetrics.registerFont(TTFont(f"{FONT}-BoldItalic", str(files / "BeVietnamPro-BoldItalic.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=f"{FONT}-Bold", italic=f"{FONT}-Italic",
                                  boldItalic=f"{FONT}-BoldItalic")
    return FONT
