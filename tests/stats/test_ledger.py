"""The release ledger around the engine (issue 7): the CLI, the API, the screens and the downloads.

Records come from a source registered in the test (``casework.stats.sources``) so that every count is
known: the referral tables count ``referred_persons`` by province, quarter and service. The demo-data
release in every format is at the end.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from casework.extensions import db
from casework.protect.audit import AuditEvent
from casework.stats import service
from casework.stats.counting import Record
from casework.stats.models import StatCell, StatFile, StatRelease

# Quarters that have ended whatever day the suite runs on (the geography is that of 2025 onwards).
Q1, Q2, Q3 = "2026Q1", "2026Q2", "2026Q3"
ALL_FORMATS = ("csv", "json", "xlsx", "pdf", "dhis2", "adx")


def _day(period: str, offset: int = 10) -> date:
    year, q = int(period[:4]), int(period[-1])
    return date(year, 3 * q - 2, 1) + timedelta(days=offset)


class FakeSource:
    """Referred persons in Thái Nguyên (19): ``big`` persons in one commune, ``small`` in another."""

    def __init__(self):
        self.records: list[Record] = []

    def add(self, period: str, n: int, commune: str, service_code: str = "POLICE", prefix: str = "p",
            consent: bool = True) -> None:
        for i in range(n):
            attrs = {"referral_service": frozenset({service_code}), "referral_outcome": frozenset({"PROVIDED"})}
            for measure in ("referred_persons", "referrals"):
                self.records.append(Record(measure=measure, person_id=f"{prefix}{period}{commune}{i}",
                                           on=_day(period), province_code=commune_province(commune),
                                           commune_code=commune, attributes=attrs, consent=consent))

    def __call__(self, start: date, end: date):
        return [r for r in self.records if start <= r.on <= end]


def commune_province(commune: str) -> str:
    from casework.geo import data as geo

    return geo.commune(commune).province_code


@pytest.fixture
def source(app):
    fake = FakeSource()
    app.extensions["tincay.stats_sources"] = [fake]  # only the known records: the domains' sources are tested apart
    return fake


@pytest.fixture
def coordinator_token(app, make_user):
    from casework.auth.models import User
    from casework.auth.services import issue_api_token

    account = make_user("coordinator")
    token, _ = issue_api_token(db.session.get(User, account.id))
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _release(client, headers, period):
    return client.post("/api/v1/statistics/releases", json={"period": period}, headers=headers)


def test_cli_releases_a_quarter_once_and_refuses_the_rest(app, source):
    source.add(Q3, 30, "05533")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stats", "release", "--period", Q3])
    assert result.exit_code == 0, result.output
    assert "2026Q3-r1" in result.output
    row = db.session.get(StatRelease, "2026Q3-r1")
    assert row.number == 1 and row.period == Q3 and row.cell_count > 0

    again = runner.invoke(args=["stats", "release", "--period", Q3])
    assert again.exit_code == 1
    assert "đã được chốt" in again.output  # Vietnamese, the command line's language
    earlier = runner.invoke(args=["stats", "release", "--period", Q2])
    assert earlier.exit_code == 1 and "quý sau" in earlier.output
    future = runner.invoke(args=["stats", "release", "--period", service.current_quarter()])
    assert future.exit_code == 1 and "chưa kết thúc" in future.output
    garbled = runner.invoke(args=["stats", "release", "--period", "2026-07-01..2026-09-30"])
    assert garbled.exit_code == 1 and "2026Q3" in garbled.output
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 1


def test_release_counts_and_protects_what_the_sources_give(app, source, client, coordinator_token):
    source.add(Q3, 30, "05533")            # 30 persons: published
    source.add(Q3, 3, "05528", prefix="s")  # 3 persons in another commune of the same province
    source.add(Q3, 4, "05533", prefix="n", consent=False)  # never counted
    response = _release(client, coordinator_token, Q3)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"] == "2026Q3-r1" and body["period"] == Q3 and set(ALL_FORMATS) <= set(body["formats"])
    cells = {(c.geo_level, c.geo_code, c.period, c.dims): c for c in db.session.scalars(
        select(StatCell).where(StatCell.release_id == body["id"], StatCell.measure == "referred_persons"))}
    province = cells[("province", "19", Q3, "")]
    assert (province.status, province.value) == ("published", 33)
    police = cells[("province", "19", Q3, "referral_service=POLICE")]
    assert (police.status, police.value) == ("published", 33)
    # Another province with nobody referred publishes 0: zeros are not withheld (§2.4 P5).
    assert cells[("province", "11", Q3, "")].value == 0
    # The one-flag rule: a withheld cell carries no value and no hint of why.
    for c in cells.values():
        assert (c.status == "suppressed") == (c.value is None)
        assert c.status in ("published", "suppressed")


def test_small_counts_are_withheld_with_one_flag(app, source, client, coordinator_token):
    source.add(Q3, 30, "05533")
    source.add(Q3, 3, "00004", prefix="h")  # 3 persons in Hà Nội: below k = 10
    body = _release(client, coordinator_token, Q3).get_json()
    csv_text = client.get(f"/api/v1/statistics/releases/{body['id']}?format=csv",
                          headers=coordinator_token).get_data().decode("utf-8-sig")
    lines = [line.split(",") for line in csv_text.splitlines()]
    header = lines[0]
    rows = [dict(zip(header, line, strict=True)) for line in lines[1:]]
    hanoi = [r for r in rows if r["geo_code"] == "01" and r["period"] == Q3 and r["measure"] == "referred_persons"
             and r["referral_service"] == "_T" and r.get("referral_outcome", "_T") == "_T"]
    assert hanoi and all(r["status"] == "suppressed" and r["value"] == "" for r in hanoi)
    # Complementary suppression: with Hà Nội hidden, the national total minus the other provinces must not
    # give it back, so at least one more province total (or the national total) is withheld.
    totals = [r for r in rows if r["geo_level"] in ("national", "province") and r["period"] == Q3
              and r["measure"] == "referred_persons" and r["referral_service"] == "_T"
              and r.get("referral_outcome", "_T") == "_T" and r["table_id"] == "REF_P_SERVICE"]
    withheld = [r for r in totals if r["status"] == "suppressed"]
    assert len(withheld) >= 2
    assert not any(r["status"] == "suppressed" and r["value"] for r in rows)


def test_every_download_is_byte_identical_and_well_formed(app, source, client, coordinator_token):
    source.add(Q3, 30, "05533")
    source.add(Q3, 12, "00004", prefix="h", service_code="HEALTH")
    body = _release(client, coordinator_token, Q3).get_json()
    url = f"/api/v1/statistics/releases/{body['id']}"
    seen = {}
    for fmt in ALL_FORMATS:
        first = client.get(f"{url}?format={fmt}", headers=coordinator_token)
        second = client.get(f"{url}?format={fmt}", headers=coordinator_token)
        assert first.status_code == 200 and second.status_code == 200, fmt
        assert first.data == second.data, fmt
        digest = base64.b64encode(hashlib.sha256(first.data).digest()).decode()
        assert first.headers["Repr-Digest"] == f"sha-256=:{digest}:"
        assert "attachment" in first.headers["Content-Disposition"]
        seen[fmt] = first
    assert seen["pdf"].data.startswith(b"%PDF") and seen["pdf"].mimetype == "application/pdf"
    assert seen["xlsx"].data.startswith(b"PK")

    # DHIS2 dataValueSets: the quarter as DHIS2 writes it, published cells only, values as strings.
    dhis2 = json.loads(seen["dhis2"].data)
    assert set(dhis2) == {"dataSet", "completeDate", "dataValues"}
    published = db.session.scalar(select(func.count()).select_from(StatCell).where(
        StatCell.release_id == body["id"], StatCell.status == "published", StatCell.period.like("%Q%")))
    assert len(dhis2["dataValues"]) == published
    for v in dhis2["dataValues"]:
        assert set(v) == {"dataElement", "period", "orgUnit", "categoryOptionCombo", "value"}
        assert re.fullmatch(r"2026Q[1-3]", v["period"]) and v["value"].isdigit()

    # ADX: well-formed XML in the ADX namespace, one group per org unit and period, no suppressed value.
    root = ElementTree.fromstring(seen["adx"].data)  # noqa: S314  (our own export, not outside input)
    assert root.tag == "{urn:ihe:qrph:adx:2015}adx"
    groups = root.findall("{urn:ihe:qrph:adx:2015}group")
    assert groups and all(g.get("period") and g.get("orgUnit") for g in groups)
    values = [dv.get("value") for g in groups for dv in g]
    assert values and all(v is not None and v.isdigit() for v in values)

    # XLSX: values only, x where withheld, no formulas, nothing hidden.
    wb = load_workbook(io.BytesIO(seen["xlsx"].data))
    texts = set()
    for ws in wb.worksheets:
        assert ws.sheet_state == "visible"
        for row in ws.iter_rows(values_only=True):
            for v in row:
                assert not (isinstance(v, str) and v.startswith("=")), v
                texts.add(v)
    assert "x" in texts

    # The canonical JSON carries the manifest with the audit summary and the caveats.
    doc = json.loads(seen["json"].data)
    # The audit covers the protected cells; the activity indicators (issue 16) are published as counted.
    assert doc["manifest"]["release_id"] == body["id"]
    assert doc["manifest"]["audit"]["cells"] + doc["manifest"]["activity"]["cells"] == body["cells"]
    assert any("không phải tỷ lệ" in c["vi"] for c in doc["manifest"]["caveats"])
    # Stored once: the database holds the same bytes.
    stored = db.session.get(StatFile, (body["id"], "csv"))
    assert stored.content == client.get(f"{url}?format=csv", headers=coordinator_token).data


def test_published_figures_are_never_revised(app, source, client, coordinator_token):
    source.add(Q1, 25, "05533")
    assert _release(client, coordinator_token, Q1).status_code == 201
    q1 = {(c.measure, c.geo_level, c.geo_code, c.period, c.dims): (c.status, c.value) for c in db.session.scalars(
        select(StatCell).where(StatCell.release_id == "2026Q1-r1"))}
    # A late record dated in the first quarter arrives after its release.
    source.add(Q1, 5, "05533", prefix="late")
    source.add(Q2, 20, "05533", prefix="q2")
    response = _release(client, coordinator_token, Q2)
    assert response.status_code == 201
    # The first quarter's release is untouched, and the second quarter's does not publish Q1 again.
    after = {(c.measure, c.geo_level, c.geo_code, c.period, c.dims): (c.status, c.value) for c in db.session.scalars(
        select(StatCell).where(StatCell.release_id == "2026Q1-r1"))}
    assert after == q1
    assert q1[("referred_persons", "province", "19", Q1, "")] == ("published", 25)
    q2_periods = set(db.session.scalars(select(StatCell.period).where(StatCell.release_id == "2026Q2-r1")))
    assert q2_periods == {Q2}
    q2_total = db.session.get(StatCell, ("2026Q2-r1", "referred_persons", "province", "19", Q2, ""))
    assert (q2_total.status, q2_total.value) == ("published", 20)
    manifest = json.loads(db.session.get(StatRelease, "2026Q2-r1").manifest)
    assert manifest["audit"]["joint_with"] == ["2026Q1-r1"]
    listing = client.get("/api/v1/statistics/releases", headers=coordinator_token).get_json()
    assert [r["id"] for r in listing["items"]] == ["2026Q2-r1", "2026Q1-r1"] and listing["next"] is None
    assert [r["number"] for r in listing["items"]] == [2, 1]


def test_api_refuses_filters_ranges_and_bad_periods(app, source, client, coordinator_token):
    h = coordinator_token
    r = client.get("/api/v1/statistics/releases?from=2026-01-01&to=2026-03-31", headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "filters_not_allowed"
    assert set(r.get_json()["error"]["fields"]) == {"from", "to"}
    r = client.post("/api/v1/statistics/releases", json={"period": Q3, "province_code": "19"}, headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "filters_not_allowed"
    r = client.post("/api/v1/statistics/releases", json={"period": "2026-07"}, headers=h)
    assert r.status_code == 422 and "2026Q3" in r.get_json()["error"]["fields"]["period"][0]
    r = client.post("/api/v1/statistics/releases", json={}, headers=h)
    assert r.status_code == 422 and "period" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/statistics/releases", json={"period": service.current_quarter()}, headers=h)
    assert r.status_code == 422 and "chưa kết thúc" in r.get_json()["error"]["fields"]["period"][0]
    r = client.post("/api/v1/statistics/releases", data="{", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 0

    source.add(Q3, 15, "05533")
    assert _release(client, h, Q3).status_code == 201
    r = _release(client, h, Q3)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_released"
    r = _release(client, h, Q2)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "later_release_exists"
    r = client.get("/api/v1/statistics/releases/2026Q3-r1?format=docx", headers=h)
    assert r.status_code == 422 and "format" in r.get_json()["error"]["fields"]
    r = client.get("/api/v1/statistics/releases/2026Q3-r1?format=csv&province=19", headers=h)
    assert r.status_code == 400
    assert client.get("/api/v1/statistics/releases/2026Q2-r1", headers=h).status_code == 404
    assert client.get("/api/v1/statistics/releases/nonsense", headers=h).status_code == 404


@pytest.mark.parametrize("role", ["host", "commune_officer", "province_officer", "service_provider", "admin",
                                  "auditor"])
def test_only_coordinators_use_the_statistics_api(app, source, client, make_user, make_address, coordinator_token,
                                                  role):
    from casework.auth.models import User
    from casework.auth.services import issue_api_token

    source.add(Q3, 15, "05533")
    assert _release(client, coordinator_token, Q3).status_code == 201
    scopes = {"host": {"address_ids": (make_address().id,)}, "commune_officer": {"scope": "05533"},
              "province_officer": {"scope": "19"}, "service_provider": {"organisation_id": "no-such-org-000000000"}}
    account = make_user(role, **scopes.get(role, {}))
    token, _ = issue_api_token(db.session.get(User, account.id))
    db.session.commit()
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/statistics/releases", headers=h).status_code == 404
    assert client.get("/api/v1/statistics/releases/2026Q3-r1?format=csv", headers=h).status_code == 404
    assert _release(client, h, Q2).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(StatRelease)) == 1


def test_release_and_download_are_audited_without_figures(app, source, client, coordinator_token):
    source.add(Q3, 15, "05533")
    _release(client, coordinator_token, Q3)
    client.get("/api/v1/statistics/releases/2026Q3-r1?format=pdf", headers=coordinator_token)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("stats.%"))
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.object_id, e.detail) for e in events] == [
        ("stats.release_created", "2026Q3-r1", None), ("stats.release_downloaded", "2026Q3-r1", "pdf")]
