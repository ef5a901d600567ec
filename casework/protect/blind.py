"""Blind indexes: search encrypted names and phone numbers without decrypting every row (DESIGN §3.3).

An index value is HMAC-SHA256 of the normalised input under a key derived (HKDF) from the blind-index
root key, per table, per field and per province, truncated to ``INDEX_BITS`` bits so that several
records share each value (CipherSweet's coincidence rule, security.md §3.3): the database alone
cannot tell whether two rows hold the same name, and a province's index is useless in another.

Names are indexed word by word (folded: no accents, đ→d, no case), so "lan nguyen" finds
"Nguyễn Thị Lan"; the candidates are then decrypted and filtered exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.protect.keys import KeyRing
from casework.text import fold

# CipherSweet's coincidence rule (security.md §3.3): with R records of a province and index values of L
# bits, C = R / 2^L records share each value, and a safe L keeps 2 ≤ C ≤ √R. Below 2 the index tells a
# database thief which records share a name word; above √R it no longer narrows a search. L = 8 keeps
# the rule from R = 512 to R = 65,536 records per province and field: a province's first years (hundreds
# of cases) up to about twice the 1,000,000-person national case of the benchmark (≈ 29,400 per province
# over 34 provinces). docs/security.md explains the choice; ``keys verify`` lists provinces outside it.
INDEX_BITS = 8
REALISTIC_RECORDS_PER_PROVINCE = (512, 60_000)


@lru_cache(maxsize=4096)
def _derive(root: bytes, table: str, field: str, province_code: str) -> bytes:
    info = f"bidx/v1|{table}|{field}|{province_code}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root)


def index_value(keys: KeyRing, table: str, field: str, province_code: str, token: str,
                version: int | None = None) -> int:
    key = _derive(keys.index_root(version), table, field, province_code)
    digest = hmac.new(key, token.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") >> (32 - INDEX_BITS)


def coincidences(records: int, bits: int = INDEX_BITS) -> float:
    """Expected records per index value: C = R / 2^L."""
    return float(records / 2**bits)


def coincidence_ok(records: int, bits: int = INDEX_BITS) -> bool:
    """CipherSweet's rule 2 ≤ R / 2^L ≤ √R for one index on a high-entropy input."""
    c = coincidences(records, bits)
    return 2 <= c <= math.sqrt(records)


def allowed_bits(records: int) -> range:
    """Every index length L (bits) that keeps the rule for R records (empty below R = 16)."""
    return range(max(1, math.ceil(math.log2(records) / 2)) if records > 1 else 1,
                 math.floor(math.log2(records / 2)) + 1 if records >= 2 else 1)


def name_tokens(value: str) -> list[str]:
    """Folded words of a name, without repeats: the units a name search matches."""
    words = re.split(r"[^\w]+", fold(value))
    return sorted({w for w in words if w})


def phone_token(value: str) -> list[str]:
    """Digits only, national form: "+84 912-345-678" and "0912345678" index alike."""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return [digits] if digits else []


TOKENIZERS = {"name": name_tokens, "phone": phone_token}

# The words most Vietnamese names share (folded): family names of about nine people in ten, and the
# middle names "Thị" and "Văn". A search starts from the query's other words, whose index values match
# far fewer records.
COMMON_NAME_WORDS = frozenset(
    "nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly thi van ngoc thu hong kim my "
    "thanh duc minh huu dinh".split())


def rarest_first(tokens: list[str]) -> list[str]:
    """Tokens ordered so that the likely rarest comes first: uncommon words, longer words first."""
    return sorted(tokens, key=lambda t: (t in COMMON_NAME_WORDS, -len(t), t))


def matches(kind: str, stored: str | None, query: str) -> bool:
    """Exact check after decryption: every query word is a whole word of the name; phones equal."""
    if not stored:
        return False
    if kind == "phone":
        return phone_token(stored) == phone_token(query) and bool(phone_token(query))
    wanted = set(name_tokens(query))
    return bool(wanted) and wanted <= set(name_tokens(stored))
