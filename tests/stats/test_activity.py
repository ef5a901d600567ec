"""Activity indicators (issue 16): trusted addresses new, consolidated and active, hosts trained and
support packages, counted from the address register and published as counted (no x on a 1 or a 2),
for every commune and for the pilot communes only, in every download; the pilot-commune screen.

Releases here are over two provinces and five communes (``small_geography``), never the country.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from casework.extensions import db
from casework.stats import activity, service
from casework.stats.catalogue import TableDef, catalogue, check_table
from casework.stats.models import PilotCommune, StatCell
from tests.stats.test_ledger import Q3, FakeSource
from tests.stats.test_previews import signed_in, small_geography  # noqa: F401  (fixtures)

VN = datetime(2026, 1, 5, 3, 0)


@pytest.fixture
def register(app, small_geography, make_address, make_user):  # noqa: F811
    """Two addresses in Thái Nguyên (one declared in Q3, one before and trained in Q3 with two hosts),
    one in Hà Nội declared before and given two packages in Q3; 05533 is a pilot commune."""
    from casework.auth.models import User
    from casework.cases.models import AddressSupport, AddressTraining

    app.extensions["tincay.stats_sources"] = [FakeSource()]
    new = make_address("05533", name="ĐCTC mới")
    new.declared_on = date(2026, 8, 1)
    old = make_address("05533", name="ĐCTC cũ")
    old.declared_on = date(2026, 2, 1)
    hanoi = make_address("00004", name="ĐCTC Hà Nội")
    hanoi.declared_on = date(2025, 11, 1)
    for _i in range(2):
        host = db.session.get(User, make_user("host", address_ids=(old.id,)).id)
        assert old in host.addresses or old.id in [a.id for a in host.addresses]
    db.session.add(AddressTraining(address_id=old.id, held_on=date(2026, 8, 20), topic="Kỹ năng"))
    db.session.add(AddressTraining(address_id=old.id, held_on=date(2026, 9, 20), topic="Kỹ năng 2"))
    for day in (10, 11):
        db.session.add(AddressSupport(address_id=hanoi.id, received_on=date(2026, 7, day), kind="equipment"))
    db.session.add(PilotCommune(commune_code="05533", province_code="19"))
    db.session.commit()
    return {"new": new, "old": old, "hanoi": hanoi}


def _cells(release, measure):
    return {(c.key.geo_level, c.key.geo_code, c.key.dims): c for c in release.cells if c.key.measure == measure
            and c.key.period == Q3}


def test_address_indicators_are_counted_and_published_without_suppression(app, register):
    release = service.compute(Q3, f"{Q3}-r1")
    new = _cells(release, "addresses_new")
    assert new[("province", "19", ())].value == 1 and new[("province", "19", ())].status == "published"
    assert new[("province", "01", ())].value == 0
    assert new[("national", "VN", ())].value == 1
    active = _cells(release, "addresses_active")
    assert active[("province", "19", ())].value == 2 and active[("province", "01", ())].value == 1
    consolidated = _cells(release, "addresses_consolidated")
    assert consolidated[("province", "19", ())].value == 1  # the old one, trained (the new one is new)
    assert consolidated[("province", "01", ())].value == 1  # supported
    hosts = _cells(release, "hosts_trained")
    assert hosts[("province", "19", ())].value == 2  # two hosts, trained twice: two hosts
    packages = _cells(release, "address_packages")
    assert packages[("province", "01", ())].value == 2 and packages[("national", "VN", ())].value == 2
    # Every activity cell is published, small or not: they count addresses, not women.
    assert all(c.status == "published" for c in release.cells if c.key.measure in service.activity_measures())


def test_pilot_communes_only_counts_the_pilot_communes(app, register):
    release = service.compute(Q3, f"{Q3}-r1")
    pilot = (("scope", "PILOT"),)
    active = _cells(release, "addresses_active")
    assert active[("province", "19", pilot)].value == 2  # both in 05533
    assert active[("province", "01", pilot)].value == 0  # Hà Nội has no pilot commune
    assert active[("national", "VN", pilot)].value == 2 and active[("national", "VN", ())].value == 3


def test_packages_by_commune_come_with_the_year_only(app, register):
    q3 = service.compute(Q3, f"{Q3}-r1")
    assert not [c for c in q3.cells if c.key.measure == "address_packages" and c.key.geo_level == "commune"]
    q4 = service.compute("2026Q4", "2026Q4-r1") if service.quarter_end("2026Q4") < service.today() else None
    if q4 is not None:  # pragma: no cover - depends on the day the suite runs
        communes = {c.key.geo_code: c.value for c in q4.cells if c.key.measure == "address_packages"
                    and c.key.geo_level == "commune"}
        assert communes["00004"] == 2


def test_activity_indicators_are_in_every_download(app, register, client, make_user, login):
    account = make_user("coordinator")
    login(client, account)
    app.config["STATS_RUNNER"] = "inline"
    response = client.post("/statistics/previews", data={"period": Q3})
    preview_id = response.headers["Location"].rsplit("/", 1)[-1]
    published = client.post(f"/statistics/previews/{preview_id}/publish", data={"confirm": "y"})
    assert published.status_code == 302
    base = f"/statistics/releases/{Q3}-r1"
    csv_text = client.get(f"{base}/csv").get_data().decode("utf-8-sig")
    assert "ADDR_ACTIVE,province,19" in csv_text and ",scope" in csv_text.splitlines()[0]
    dhis2 = json.loads(client.get(f"{base}/dhis2").data)
    elements = {v["dataElement"] for v in dhis2["dataValues"]}
    assert {"TC_ADDRESSES_ACTIVE_PROV", "TC_ADDRESSES_ACTIVE_SCOPE_PROV", "TC_ADDRESS_PACKAGES_NATI",
            "TC_HOSTS_TRAINED_PROV", "TC_ADDRESSES_NEW_PROV", "TC_ADDRESSES_CONSOLIDATED_PROV"} <= elements
    root = ElementTree.fromstring(client.get(f"{base}/adx").data)  # noqa: S314  (our own export)
    adx = {dv.get("dataElement") for g in root for dv in g}
    assert "TC_ADDRESSES_ACTIVE_PROV" in adx
    wb = load_workbook(io.BytesIO(client.get(f"{base}/xlsx").data))
    texts = " ".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    assert "Số địa chỉ tin cậy đang hoạt động cuối kỳ" in texts
    stored = db.session.scalar(select(StatCell).where(StatCell.measure == "addresses_active",
                                                      StatCell.geo_code == "19", StatCell.dims == ""))
    assert (stored.status, stored.value) == ("published", 2)


def test_activity_cells_never_enter_the_engines_ledger(app, register, client, make_user, login):
    service.make_release(Q3, None)
    db.session.commit()
    earlier = service.ledger(2026)
    assert earlier and not [c for r in earlier for c in r.cells if c.key.measure in service.activity_measures()]


def test_an_activity_table_cannot_count_persons_and_scope_is_for_activity_only(app):
    person_activity = TableDef(id="X", domain="d", title_vi="t", title_en="t", measure="x", kind="activity",
                               unit="persons", geo_levels=("province",), periods=("quarter",))
    assert any("never persons" in p for p in check_table(person_activity))
    scoped_persons = TableDef(id="Y", domain="d", title_vi="t", title_en="t", measure="y",
                              geo_levels=("province",), periods=("quarter",), dimensions=(activity.SCOPE,))
    assert any("activity tables only" in p for p in check_table(scoped_persons))
    assert all(t.id.startswith("ADDR_") for t in catalogue().tables()
               if t.kind == "activity" and t.domain == "casework")


def test_coordinator_sets_the_pilot_communes_of_a_province(app, small_geography, signed_in):  # noqa: F811
    c = signed_in("coordinator")
    page = c.get("/statistics/pilot")
    assert page.status_code == 200 and "Thái Nguyên" in page.get_data(as_text=True)
    form = c.get("/statistics/pilot?province=19").get_data(as_text=True)
    assert 'value="05533"' in form and 'value="00004"' not in form
    saved = c.post("/statistics/pilot?province=19", data={"communes": ["05533", "05528"]})
    assert saved.status_code == 302
    assert service.pilot_communes() == {"05533", "05528"}
    c.post("/statistics/pilot?province=19", data={"communes": ["05528"]})
    assert service.pilot_communes() == {"05528"}
    foreign = c.post("/statistics/pilot?province=19", data={"communes": ["00004"]})
    assert foreign.status_code == 422 and service.pilot_communes() == {"05528"}


def test_pilot_screen_is_404_for_everyone_but_coordinators(app, small_geography, signed_in):  # noqa: F811
    c = signed_in("province_officer", scope="19")
    assert c.get("/statistics/pilot").status_code == 404
    assert c.post("/statistics/pilot?province=19", data={"communes": ["05533"]}).status_code == 404
    assert db.session.scalar(select(PilotCommune.commune_code)) is None
