"""Vietnamese sort order without ICU (casework/text.py): names, provinces and communes sort as a Vietnamese
reader expects — a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y, tones after letters, word by word."""

from __future__ import annotations

import unicodedata

import pytest

from casework.text import vi_sort_key


def vi_sorted(names):
    return sorted(names, key=vi_sort_key)


def test_d_with_stroke_is_a_letter_after_d():
    assert vi_sorted(["Đà Nẵng", "Dương", "Đắk Lắk", "Điện Biên", "Duy"]) == [
        "Duy", "Dương", "Đà Nẵng", "Đắk Lắk", "Điện Biên"]


def test_breve_and_circumflex_letters_follow_their_base_letter():
    assert vi_sorted(["Ân", "Ă", "Âu", "A", "Ăn", "B", "An"]) == ["A", "An", "Ă", "Ăn", "Ân", "Âu", "B"]
    assert vi_sorted(["Ơn", "Ông", "Oanh", "Ưng", "Uyên", "Ê", "E"]) == ["E", "Ê", "Oanh", "Ông", "Ơn", "Uyên", "Ưng"]


def test_tones_come_after_letters_in_the_order_ngang_huyen_hoi_nga_sac_nang():
    assert vi_sorted(["má", "mạ", "mà", "mã", "ma", "mả"]) == ["ma", "mà", "mả", "mã", "má", "mạ"]
    # A tone decides only between words with the same letters: "Bà" before "Bác" though á > à.
    assert vi_sorted(["Bác", "Bà", "Ba", "Bạc"]) == ["Ba", "Bà", "Bác", "Bạc"]


def test_names_compare_word_by_word():
    assert vi_sorted(["Nguyễn Thị Anh", "Nguyễn Thị An", "Nguyễn Thị Ánh", "Nguyễn An"]) == [
        "Nguyễn An", "Nguyễn Thị An", "Nguyễn Thị Anh", "Nguyễn Thị Ánh"]
    assert vi_sorted(["Anh", "An Bình"]) == ["An Bình", "Anh"]


def test_lower_case_before_capital_only_when_letters_and_tones_are_equal():
    assert vi_sorted(["Lan", "lan", "làn", "LAN"]) == ["lan", "Lan", "LAN", "làn"]


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_composed_and_decomposed_input_sort_alike(form):
    name = "Nguyễn Thị Xuyến"
    assert vi_sort_key(unicodedata.normalize(form, name)) == vi_sort_key(name)


def test_foreign_letters_and_digits_have_their_place():
    assert vi_sorted(["Zô", "Wen", "Fa", "Gà", "Êm", "Jun", "Kha", "Yến", "Ấp 2", "Ấp 10", "Ấp 1"]) == [
        "Ấp 1", "Ấp 10", "Ấp 2", "Êm", "Fa", "Gà", "Jun", "Kha", "Wen", "Yến", "Zô"]


def test_provinces_are_listed_in_vietnamese_order():
    from casework.geo import data

    provinces = [p.name.removeprefix("Tỉnh ") for p in data.provinces() if p.name.startswith("Tỉnh ")]
    assert provinces[:13] == ["An Giang", "Cà Mau", "Cao Bằng", "Đắk Lắk", "Điện Biên", "Đồng Tháp", "Gia Lai",
                              "Hà Tĩnh", "Hưng Yên", "Khánh Hòa", "Lai Châu", "Lạng Sơn", "Lào Cai"]
    assert provinces[-6:] == ["Sơn La", "Tây Ninh", "Thái Nguyên", "Thanh Hóa", "Tuyên Quang", "Vĩnh Long"]
