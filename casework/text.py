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


# Vietnamese collation without ICU (vietnam-domain §6): the alphabet a ă â b c d đ e ê g h i k l m n o ô ơ p q r
# s t u ư v x y, with the foreign letters f j w z where the Latin alphabet puts them. Three levels, as in ICU's
# "vi" collation: the letters of the whole text first; then the tones (none, huyền, hỏi, ngã, sắc, nặng);
# then lower case before capitals. A space sorts before every letter, so names compare word by word
# ("An Bình" before "Anh"); punctuation comes after the space and before the digits, digits before letters.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_RANK = {letter: i for i, letter in enumerate(_ALPHABET)}
_SHAPED = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê", ("o", "\u0302"): "ô",
           ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền hỏi ngã sắc nặng
_PUNCTUATION = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_SPACE, _PUNCT, _DIGIT, _LETTER, _OTHER = 0x0100, 0x0200, 0x1000, 0x2000, 0x3000


@cache
def _weights(ch: str) -> tuple[int, int, int]:
    """(letter, tone, case) weights of one NFC character."""
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    lower = base.lower()
    case = 2 if base != lower else 1
    letter = "đ" if lower == "đ" else lower
    tone = 1
    for mark in marks:
        if (letter, mark) in _SHAPED:
            letter = _SHAPED[(letter, mark)]
        elif mark in _TONES:
            tone += _TONES[mark]
        else:  # a mark Vietnamese does not use (ç, ö, ñ…): after the six tones
            tone += 7 + (ord(mark) & 0xFF)
    if letter in _LETTER_RANK:
        primary = _LETTER + _LETTER_RANK[letter]
    elif ch.isspace():
        primary = _SPACE
    elif letter.isdigit():
        primary = _DIGIT + unicodedata.digit(letter, 10)
    elif ch in _PUNCTUATION:
        primary = _PUNCT + _PUNCTUATION.index(ch)
    elif not letter.isalnum():
        primary = _PUNCT + len(_PUNCTUATION) + ord(ch) % 0x0D00
    else:
        primary = _OTHER + ord(letter)
    return primary, tone, case


def vi_sort_key(value: str) -> bytes:
    """Vietnamese collation: a < ă < â, d < đ, tones after letters, word by word (pure Python, no ICU).

    The key is bytes, compared as a whole: the letters of the text, then its tones, then its case, each
    level ended by a zero byte (every weight is three bytes, none starting with zero).
    """
    weights = [_weights(ch) for ch in nfc(value)]
    out = bytearray()
    for level in range(3):
        for w in weights:
            out += (w[level] + 0x010000).to_bytes(3, "big")
        out += b"\x00"
    return bytes(out)


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and value.tzinfo:
        value = value.astimezone(VN_TZ)
    # strftime("%d/%m/%Y"), spelled out: a list page formats one per row (issue 18); the year unpadded, as glibc's
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(VN_TZ) if value.tzinfo else value
    return f"{local.day:02d}/{local.month:02d}/{local.year} {local.hour:02d}:{local.minute:02d}"  # as format_date


def format_vnd(amount: int | None, locale: str = "vi") -> str:
    """``1.500.000 ₫`` — VND has no minor unit, amounts are whole numbers."""
    if amount is None:
        return ""
    return f"{format_decimal(amount, locale='vi')} ₫"


def format_number(value: int | float | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale="vi")
