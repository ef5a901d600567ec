"""Pre-2025 units (issue 15): the pilot years recorded in the units of their time, released in them, and
mapped to the 2025 units. Resolution 202/2025/QH15 (34 provinces) and the commune resolutions take effect on
1 July 2025; before that day a case may carry its pre-2025 commune (province, district, commune)."""

from __future__ import annotations

from datetime import datetime

import pytest

from casework.cases import services
from casework.cases.models import Case
from casework.errors import ValidationError
from casework.extensions import db
from casework.geo import legacy
from casework.stats import mapped, service
from casework.stats.cells import NATIONAL_CODE, CellKey
from casework.stats.release import PUBLISHED
from casework.text import VN_TZ
from tests.cases.conftest import intake, user_of

OLD_PHUOC_LONG = "25216"  # Phường Thác Mơ, Thị xã Phước Long, Tỉnh Bình Phước (pre-2025 province 70)
NEW_PHUOC_LONG = "25217"  # Phường Phước Long, Thành phố Đồng Nai (2025 province 75)


def vn(*parts) -> datetime:
    return datetime(*parts, tzinfo=VN_TZ)


@pytest.fixture
def binh_phuoc(app, make_address, make_user):
    address = make_address(NEW_PHUOC_LONG, name="ĐCTC Phước Long")
    host = make_user("host", address_ids=(address.id,), username="host_pl")
    return address, host


def test_a_2024_case_in_a_pre_2025_commune_of_binh_phuoc_appears_in_a_2024_release_in_pre_2025_units_and_mapped_under_dong_nai(  # noqa: E501
        app, binh_phuoc, make_case, make_user, login):
    """Done when (issue 15): a 2024 case recorded in a pre-2025 commune of Bình Phước appears in a 2024 release
    in pre-2025 units and, mapped, under Đồng Nai in the 2025 view. Twenty-four women of varied ages and
    acts, so the totals are above the thresholds (10 persons, 20 for one category) and published."""
    address, host = binh_phuoc
    for day in range(1, 25):
        person = services.PersonData(full_name="Trần Thị Thu", birth_year=1960 + 2 * day, sex="female",
                                     ethnicity_code=("01", "02", "03")[day % 3])
        make_case(host, address, intake_at=vn(2024, 2, day, 9), legacy_commune_code=OLD_PHUOC_LONG,
                  acts=(("a",), ("b",), ("n",), ("a", "b"))[day % 4], person=person)
    row = service.make_release("2024Q1", None)
    db.session.commit()
    assert service.manifest_of(row)["geography_scheme"] == "pre2025"
    cells = {c.key: c for c in service.cells_of(row)}

    def survivors(level: str, code: str):
        return cells[CellKey("survivors", level, code, "2024Q1")]

    # In the units of its time: Bình Phước (70), not the 2025 Đồng Nai (75).
    assert (survivors("province", "70").status, survivors("province", "70").value) == (PUBLISHED, 24)
    assert survivors("province", "75").value == 0  # the old Đồng Nai had none
    assert survivors("national", NATIONAL_CODE).value == 24

    # Mapped: Đồng Nai (75) = Bình Phước + the old Đồng Nai; no Bình Phước any more.
    view = {c.key: c for c in service.view_2025(service.cells_of(row))}
    dong_nai = view[CellKey("survivors", "province", "75", "2024Q1")]
    assert (dong_nai.status, dong_nai.value) == (PUBLISHED, 24)
    assert CellKey("survivors", "province", "70", "2024Q1") not in view
    assert not any(k.geo_level == "commune" for k in view)
    csv_text = service.download(row, mapped.FORMAT).content.decode("utf-8-sig")
    assert "survivors,province,75,2024Q1,,published,24,persons,70 75" in csv_text.splitlines()

    # And on the screen, both ways.
    client = app.test_client()
    login(client, make_user("coordinator", username="coord_pl"))
    page = client.get(f"/statistics/releases/{row.id}").get_data(as_text=True)
    assert "Tỉnh Bình Phước" in page and "Thành phố Đồng Nai" not in page
    mapped_page = client.get(f"/statistics/releases/{row.id}?units=2025").get_data(as_text=True)
    assert "Thành phố Đồng Nai" in mapped_page and "Tỉnh Bình Phước" not in mapped_page


def test_a_2024_intake_must_name_its_pre_2025_commune_and_a_2026_one_cannot(app, binh_phuoc):
    """Resolution 202/2025/QH15: the 2025 units are in force from 1 July 2025. An intake before 2025 is counted in
    the pre-2025 units, so it needs its commune of that time; an intake after 1 July 2025 cannot carry one."""
    address, host = binh_phuoc
    actor = user_of(host)
    with pytest.raises(ValidationError) as e:
        services.create_case(actor, intake(address, intake_at=vn(2024, 3, 1, 9)))
    assert "legacy_commune_code" in e.value.fields
    with pytest.raises(ValidationError) as e:
        services.create_case(actor, intake(address, legacy_commune_code=OLD_PHUOC_LONG))
    assert "legacy_commune_code" in e.value.fields
    with pytest.raises(ValidationError) as e:  # Thanh Hóa is not in Đồng Nai
        services.create_case(actor, intake(address, intake_at=vn(2024, 3, 1, 9), legacy_commune_code="14944"))
    assert "legacy_commune_code" in e.value.fields
    with pytest.raises(ValidationError) as e:
        services.create_case(actor, intake(address, intake_at=vn(2024, 3, 1, 9), legacy_commune_code="99999"))
    assert "legacy_commune_code" in e.value.fields
    assert db.session.query(Case).count() == 0


def test_the_address_carries_its_pre_2025_commune_and_her_home_may_be_one_anywhere(app, binh_phuoc):
    """An address of the pilot years carries its pre-2025 commune, which an intake of 2025's first half takes
    when it names none; her home commune of that time may be in any province (Thanh Hóa here)."""
    address, host = binh_phuoc
    address.legacy_commune_code = OLD_PHUOC_LONG
    db.session.commit()
    person = services.PersonData(full_name="Lê Thị Mai", birth_year=1990, legacy_home_commune_code="14944")
    case = services.create_case(user_of(host), intake(address, intake_at=vn(2025, 3, 1, 9), person=person))
    db.session.commit()
    assert case.legacy_commune_code == OLD_PHUOC_LONG
    assert case.person.legacy_commune_code == "14944"
    assert legacy.label(case.legacy_commune_code) == "Phường Thác Mơ, Thị xã Phước Long, Tỉnh Bình Phước"


def test_a_release_can_be_made_for_2022q1_but_not_before():
    """Releases start with the pilots' first year, 2022 (issue 15)."""
    assert service.FIRST_YEAR == 2022
    assert service.is_legacy_period("2022Q1") and service.is_legacy_period("2024Q4")
    assert not service.is_legacy_period("2025Q1")
