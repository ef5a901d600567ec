"""The blind-index length keeps CipherSweet's coincidence rule 2 ≤ R/2^L ≤ √R (security.md §3.3)."""

from __future__ import annotations

import re
from pathlib import Path

from casework.protect import blind

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_index_bits_keep_the_coincidence_rule_across_the_realistic_range():
    low, high = blind.REALISTIC_RECORDS_PER_PROVINCE
    r = low
    while r <= high:  # every size in the range, in steps of about 5 %
        assert blind.coincidence_ok(r), r
        assert blind.INDEX_BITS in blind.allowed_bits(r), r
        r = int(r * 1.05) + 1
    assert blind.coincidence_ok(high)


def test_the_benchmark_populations_are_inside_the_rule():
    for persons in (100_000, 1_000_000):  # spread over the 34 provinces, as in bench/protect.py
        assert blind.coincidence_ok(persons // 34), persons


def test_the_rule_fails_when_a_province_is_too_small_or_too_large_for_the_index():
    assert not blind.coincidence_ok(2**blind.INDEX_BITS)  # one record per value: the index identifies
    assert not blind.coincidence_ok(2 ** (2 * blind.INDEX_BITS) + 1)  # too many candidates per value
    assert list(blind.allowed_bits(2_000)) == [6, 7, 8, 9]  # the table in security.md §3.3
    assert list(blind.allowed_bits(10_000)) == [7, 8, 9, 10, 11, 12]


def test_index_bits_and_their_range_are_documented():
    text = DOCS.read_text(encoding="utf-8")
    assert re.search(rf"\bINDEX_BITS\s*=\s*{blind.INDEX_BITS}\b", text)
    low, high = blind.REALISTIC_RECORDS_PER_PROVINCE
    assert f"{low:,}" in text and f"{high:,}" in text
