"""Vietnamese text: normalisation, folding for search, collation, and display formats (vietnam-domain §6)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def nfc(value: str) -> str:
    """NFC with whitespace trimmed and collapsed: how every text is stored and compared."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def fold(value: str) -> str:
    """Accent-free, case-free form: "Nguyễn Thị Lan" and "nguyen thi lan" fold alike; đ is not a mark."""
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.replace("đ", "d").replace("Đ", "D").casefold().split())


@cache
def _collator():
    import icu

    return icu.Collator.createInstance(icu.Locale("vi_VN"))


def vi_sort_key(value: str) -> bytes:
    """ICU's Vietnamese collation: a < ă < â, d < đ, tones after letters, word by word."""
    return _collator().getSortKey(nfc(value))


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date() if value.tzinfo else value.date()
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(VN_TZ) if value.tzinfo else value
    return local.strftime("%d/%m/%Y %H:%M")


def format_vnd(amount: int | None, locale: str = "vi") -> str:
    """``1.500.000 ₫`` — VND has no minor unit, amounts are whole numbers."""
    if amount is None:
        return ""
    return f"{format_decimal(amount, locale='vi')} ₫"


def format_number(value: int | float | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale="vi")
