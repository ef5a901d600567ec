"""The pre-2025 units and their mapping to 2025 (issue 15), from vietnam-provinces 2026.9.0, with the package's
known quirks corrected (casework.geo.legacy). Resolution 202/2025/QH15 merges the 63 provinces into 34 from
1 July 2025; the conversion table is the one the package generates from BangChuyendoiĐVHCmoi_cu_khong_merge.csv."""

from __future__ import annotations

from vietnam_provinces._province_conversion_2025 import OLD_TO_NEW as PACKAGE_PROVINCES

from casework.geo import data, legacy


def test_sixty_three_pre_2025_provinces_go_each_to_one_of_the_34_provinces_of_resolution_202_2025():
    m = legacy.province_map()
    assert len(legacy.provinces()) == 63 and len(m) == 63
    assert set(m.values()) == {p.code for p in data.provinces()}
    assert len(set(m.values())) == 34


def test_quirk_tien_giang_is_not_split_the_package_files_phuong_4_of_tan_an_long_an_under_tien_giang():
    """The package's province table sends Tiền Giang (82) to Tây Ninh (80) and Đồng Tháp (82), because its
    ward table files Phường 4 (27691) of Thành phố Tân An under Tiền Giang; it is in Long An (80)."""
    assert [n.code for n in PACKAGE_PROVINCES[82].new_provinces] == [80, 82]  # the quirk, still in 2026.9.0
    assert legacy.commune("27691").province_code == "80"
    assert legacy.province("80").name == "Tỉnh Long An"
    assert legacy.to_2025_province("82") == "82"  # Tiền Giang → Đồng Tháp, wholly
    assert legacy.to_2025_province("80") == "80"  # Long An → Tây Ninh


def test_quirk_tien_hai_is_in_kien_giang_not_an_giang():
    assert legacy.commune("30781").province_code == "91"
    assert legacy.to_2025_province("91") == "91"


def test_binh_phuoc_went_to_dong_nai_and_its_communes_to_dong_nai_communes():
    assert legacy.to_2025_province("70") == "75"
    assert data.province("75").name == "Thành phố Đồng Nai"
    assert legacy.sources_of_2025_province("75") == ["70", "75"]
    assert legacy.label("25216") == "Phường Thác Mơ, Thị xã Phước Long, Tỉnh Bình Phước"
    assert legacy.to_2025_commune("25216") == "25217"
    assert data.commune("25217").province_code == "75"


def test_quirk_a_split_commune_has_no_single_2025_commune_but_keeps_its_province():
    split = "00019"  # Phường Điện Biên, Ba Đình: split between four 2025 communes of Hà Nội
    assert legacy.commune(split) is not None
    assert legacy.to_2025_commune(split) is None
    assert legacy.to_2025_province(legacy.commune(split).province_code) == "01"


def test_quirk_communes_missing_from_the_conversion_table_map_to_their_province_only():
    missing = legacy.commune("01651")  # Xã Mỹ Hưng, Cao Bằng: in the legacy list, not in the table
    assert missing is not None and missing.province_code == "04"
    assert legacy.to_2025_commune("01651") is None
    assert legacy.to_2025_province("04") == "04"


def test_a_2025_commune_is_placed_back_only_when_it_is_exactly_one_pre_2025_commune():
    assert legacy.from_2025_commune("25217") is None  # Phước Long is several old wards
    exact = [c.code for c in legacy.all_communes()
             if legacy.to_2025_commune(c.code) and legacy.from_2025_commune(legacy.to_2025_commune(c.code)) == c.code]
    assert exact  # some communes were not merged at all
    for code in exact[:50]:
        assert legacy.from_2025_commune(legacy.to_2025_commune(code)) == code


def test_pre_2025_lists_are_in_vietnamese_order_without_the_kind_prefix():
    names = [p.name for p in legacy.provinces()]
    assert names.index("Tỉnh Đắk Lắk") > names.index("Tỉnh Cà Mau")
    assert names.index("Tỉnh Điện Biên") < names.index("Tỉnh Gia Lai")
    assert names.index("Thành phố Đà Nẵng") < names.index("Tỉnh Đắk Lắk")  # Đà before Đắk, prefix ignored
