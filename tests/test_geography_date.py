"""Geography with a date (issue 15): the administrative-unit package is pinned to the exact version installed,
every release manifest stores the data's version and as-of date, names sort by Vietnamese collation without
the kind prefix, and her home commune can be in any province."""

from __future__ import annotations

import configparser
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path

from casework.geo import data as geo

ROOT = Path(__file__).resolve().parent.parent


def test_setup_cfg_pins_vietnam_provinces_to_the_installed_version():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    requirements = [r.strip() for r in cfg["options"]["install_requires"].splitlines() if r.strip()]
    pin = next(r for r in requirements if r.startswith("vietnam-provinces"))
    assert pin == f"vietnam-provinces=={metadata.version('vietnam-provinces')}"


def test_the_data_version_names_the_package_its_version_and_the_date_of_its_data():
    version = geo.data_version()
    assert version["package"] == "vietnam-provinces"
    assert version["version"] == metadata.version("vietnam-provinces")
    datetime.strptime(version["as_of"], "%Y-%m-%d")  # a date, e.g. 2026-09-20 for 2026.9.0


def test_every_release_manifest_stores_the_geography_data_version(app):
    from casework.stats.cells import Geography
    from casework.stats.release import _manifest
    from casework.stats.suppression import Parameters

    manifest = _manifest("R-TEST", "2026Q1", datetime(2026, 4, 1, tzinfo=geo_tz()), Parameters(),
                         Geography.from_geo_data(), (), [], [], {})
    assert manifest["geography_data"] == geo.data_version() and manifest["geography_scheme"] == "2025"


def geo_tz():
    from casework.text import VN_TZ

    return VN_TZ


def test_provinces_sort_by_name_without_thanh_pho_or_tinh():
    names = [p.name for p in geo.provinces()]
    bare = [n.removeprefix("Thành phố ").removeprefix("Tỉnh ") for n in names]
    assert bare[0] == "An Giang"
    assert bare.index("Hà Nội") < bare.index("Huế") < bare.index("Hưng Yên")
    assert bare.index("Đà Nẵng") > bare.index("Cần Thơ")  # đ after d, not after z


def test_communes_sort_by_name_wards_and_communes_together():
    names = [c.name for c in geo.communes("19")]
    kinds = [n.split()[0] for n in names]
    first_ward = kinds.index("Phường")
    assert "Xã" in kinds[first_ward:]  # not every ward before every commune
    assert names.index("Phường Bá Xuyên") < names.index("Xã Bạch Thông")


def test_intake_addresses_sort_with_vietnamese_collation(app, make_user, make_address):
    from casework.auth.models import User
    from casework.cases.policy import intake_addresses
    from casework.extensions import db

    for name in ("Z Nhà", "Đồi Chè", "Dừa Xanh"):
        make_address("05533", name=name)
    officer = make_user("commune_officer", scope="05533", username="officer_sort")
    names = [a.name for a in intake_addresses(db.session.get(User, officer.id))]
    assert names == ["Dừa Xanh", "Đồi Chè", "Z Nhà"]


def test_her_home_commune_can_be_in_another_province(app, make_user, make_address, login):
    from sqlalchemy import select

    from casework.cases.models import Case
    from casework.extensions import db
    from casework.models import utcnow
    from casework.text import VN_TZ
    from tests.cases.test_intake import form

    address = make_address("05533", name="ĐCTC")
    host = make_user("host", address_ids=(address.id,), username="host_home")
    client = app.test_client()
    login(client, host)
    other = next(c for c in geo.all_communes() if c.province_code != "19")
    data = form(address, home_commune_other=other.code,
                intake_at=(utcnow() - timedelta(hours=1)).astimezone(VN_TZ).strftime("%Y-%m-%dT%H:%M"))
    assert client.post("/cases/new", data=data).status_code == 302
    assert db.session.scalars(select(Case)).one().person.home_commune_code == other.code
