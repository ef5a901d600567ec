"""Lists in Vietnamese order, sorted in Python and not by the database (issue 15): "Đ…" after "D", before "E";
communes by name without the kind prefix ("Phường"/"Xã"), so a ward does not come before every commune."""

from __future__ import annotations

NAMES = ["Eo Gió", "Zô", "Đồng Tâm", "Dương Liễu", "Ấp Bắc", "An Khánh"]
EXPECTED = ["An Khánh", "Ấp Bắc", "Dương Liễu", "Đồng Tâm", "Eo Gió", "Zô"]


def _order(text: str, names: list[str]) -> list[str]:
    return sorted(names, key=text.index)


def test_the_trusted_address_list_is_in_vietnamese_order(world, make_address, signed_in):
    for name in NAMES:
        make_address("05533", name=f"ĐCTC {name}")
    listing = signed_in(world.admin).get("/addresses").text
    names = [f"ĐCTC {n}" for n in NAMES]
    assert _order(listing, names) == [f"ĐCTC {n}" for n in EXPECTED]


def test_the_admin_address_picker_is_in_vietnamese_order(world, make_address, signed_in):
    for name in NAMES:
        make_address("05533", name=f"Nhà {name}")
    page = signed_in(world.admin).get("/admin/users/new").text
    names = [f"Nhà {n}" for n in NAMES]
    assert _order(page, names) == [f"Nhà {n}" for n in EXPECTED]
