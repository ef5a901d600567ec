"""A reporting period: one calendar quarter (``2026Q3``) or one year (``2026``), disclosure-control §2.3.

There are no free date ranges: a release is for a quarter, and the fourth quarter's release also carries
its year. ``Period`` is the one place that reads, writes, names and orders periods; everything else
(the engine, the record sources of the domains, the command line, the API, the screens, the PDF and the
workbook) goes through it. The text form (``str(period)``) is what cells, release rows, manifests and
downloads hold, unchanged: ``Period.parse(str(p)) == p``.

Labels: ``label("vi")`` is "Quý III/2026" or "Năm 2026" (the Vietnamese way of naming a reporting
period, as a heading or after a colon), ``label("en")`` is "Q3 2026" or "2026"; ``in_sentence`` is the
same in running text ("số liệu thống kê quý III/2026"); ``short`` ("Q3/2026", "2026") is for a chart's
axis, where a full label does not fit under a bar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, total_ordering
from typing import Literal, NoReturn

ROMAN = ("I", "II", "III", "IV")
PeriodKind = Literal["quarter", "year"]
Language = Literal["vi", "en"]

# ASCII digits only, the whole text: "２０２６Q3" (full-width digits, which ``\d`` and ``int`` accept) and
# "2026Q3\n" are not periods.
_TEXT = re.compile(r"([0-9]{4})(?:Q([1-4]))?")
QUARTER_PATTERN = "^[0-9]{4}Q[1-4]$"  # the API's JSON Schema of a quarter


@total_ordering
@dataclass(frozen=True)
class Period:
    """A quarter (``quarter`` 1–4) or a whole year (``quarter`` None).

    Ordered by time, a year after its own quarters (it ends with the fourth): 2026Q1 < … < 2026Q4 < 2026
    < 2027Q1. A year is never compared by its text: "2026" < "2026Q1" as strings.
    """

    year: int
    quarter: int | None = None

    def __post_init__(self) -> None:
        if not 1000 <= self.year <= 9999:
            raise ValueError(f"year {self.year} is not written with four digits")
        if self.quarter is not None and not 1 <= self.quarter <= 4:
            raise ValueError(f"quarter {self.quarter} is not 1, 2, 3 or 4")

    # --- reading ------------------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: object) -> Period:
        """``"2026Q3"`` or ``"2026"``; a ValueError for anything else (no spaces, no other forms)."""
        return _parse(text) if isinstance(text, str) else _refuse(text)

    @classmethod
    def parse_quarter(cls, text: object) -> Period:
        """A quarter only (what a release is made for); a ValueError for a year or anything else."""
        period = cls.parse(text)
        if period.quarter is None:
            raise ValueError("a release is for a quarter; the fourth quarter's release carries the year")
        return period

    @classmethod
    def is_quarter_text(cls, text: object) -> bool:
        """Whether ``text`` is written as a quarter, ``2026Q3`` (a form's or a body's field)."""
        try:
            return cls.parse(text).is_quarter
        except ValueError:
            return False

    @classmethod
    def containing(cls, day: date) -> Period:
        """The quarter ``day`` falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def quarters_of(cls, year: int | str) -> tuple[Period, ...]:
        """The four quarters of ``year``, first to last."""
        return tuple(cls(int(year), q) for q in range(1, 5))

    # --- what it is ---------------------------------------------------------------------------------

    @property
    def is_quarter(self) -> bool:
        return self.quarter is not None

    @property
    def kind(self) -> PeriodKind:
        """``"quarter"`` or ``"year"``: the catalogue's name of the period type (``TableDef.periods``)."""
        return "quarter" if self.quarter is not None else "year"

    @property
    def whole_year(self) -> Period:
        """The year this period is in (a year is its own)."""
        return Period(self.year)

    @property
    def quarters(self) -> tuple[Period, ...]:
        """The quarters of this period's year."""
        return Period.quarters_of(self.year)

    @property
    def start(self) -> date:
        """The first day."""
        return date(self.year, 3 * (self.quarter - 1) + 1 if self.quarter else 1, 1)

    @property
    def end(self) -> date:
        """The last day (inclusive)."""
        if self.quarter is None or self.quarter == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.quarter + 1, 1) - timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def published_with(self) -> tuple[Period, ...]:
        """What a release of this quarter publishes: the quarter, and its year with the fourth quarter."""
        return (self, self.whole_year) if self.quarter == 4 else (self,)

    # --- ordering -----------------------------------------------------------------------------------

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.year, self.quarter or 5)  # a year sorts after its quarters

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self.sort_key < other.sort_key

    # --- writing ------------------------------------------------------------------------------------

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}" if self.quarter else str(self.year)

    @property
    def roman(self) -> str:
        """The quarter in Roman numerals ("III"), as Vietnamese reports write it; "" for a year."""
        return ROMAN[self.quarter - 1] if self.quarter else ""

    def label(self, language: Language | str = "vi") -> str:
        """"Quý III/2026" / "Năm 2026" in Vietnamese; "Q3 2026" / "2026" in English."""
        if language.startswith("vi"):
            return f"Quý {self.roman}/{self.year}" if self.quarter else f"Năm {self.year}"
        return f"Q{self.quarter} {self.year}" if self.quarter else str(self.year)

    def in_sentence(self, language: Language | str = "vi") -> str:
        """The label in running text: "quý III/2026" / "năm 2026"; English as ``label``."""
        text = self.label(language)
        return text[0].lower() + text[1:] if language.startswith("vi") else text

    @property
    def short(self) -> str:
        """"Q3/2026" or "2026": the label of a bar on a chart, in either language."""
        return f"Q{self.quarter}/{self.year}" if self.quarter else str(self.year)


def _refuse(text: object) -> NoReturn:
    raise ValueError(f"period {text!r} is not a quarter like 2026Q3 or a year like 2026")


@cache
def _parse(text: str) -> Period:
    """Parsed once per text: the engine reads the same few periods for every one of its cells."""
    m = _TEXT.fullmatch(text)
    if not m:
        _refuse(text)
    return Period(int(m.group(1)), int(m.group(2)) if m.group(2) else None)
