"""A release is a job, not a request (issue 16): previews computed in the background, shown with their
progress and what will be withheld, published once after a confirmation; the API of previews; the
command line's progress bar; the province officer's cached draft.

Every release here is over two provinces and five communes (``small_geography``), never the country.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casework.extensions import db
from casework.stats import jobs, service
from casework.stats.cells import Geography
from casework.stats.models import StatFile, StatPreview, StatPreviewFile, StatRelease
from tests.stats.test_ledger import Q2, Q3, FakeSource

COMMUNES = {"19": ("05533", "05528", "05530"), "01": ("00004", "00008")}


@pytest.fixture
def small_geography(monkeypatch):
    full = Geography.from_geo_data()
    keep = {c for cs in COMMUNES.values() for c in cs}
    geo = Geography(provinces=tuple(p for p in full.provinces if p[0] in COMMUNES),
                    communes=tuple(c for c in full.communes if c[0] in keep), scheme=full.scheme)
    monkeypatch.setattr(service, "geography", lambda period=None: geo)
    return geo


@pytest.fixture
def source(app, small_geography):
    fake = FakeSource()
    fake.add(Q3, 30, "05533")
    fake.add(Q3, 3, "00004", prefix="h")  # Hà Nội: 3 persons, withheld
    app.extensions["tincay.stats_sources"] = [fake]
    app.config["STATS_RUNNER"] = "inline"
    return fake


@pytest.fixture
def token(app, make_user):
    from casework.auth.models import User
    from casework.auth.services import issue_api_token

    def of(role: str, **kw) -> dict:
        account = make_user(role, **kw)
        value, _ = issue_api_token(db.session.get(User, account.id))
        db.session.commit()
        return {"Authorization": f"Bearer {value}"}

    return of


@pytest.fixture
def signed_in(client, make_user, login):
    def as_role(role: str, **kw):
        login(client, make_user(role, **kw))
        return client

    return as_role


def _preview(client, headers, period=Q3):
    return client.post("/api/v1/statistics/previews", json={"period": period}, headers=headers)


def _releases() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(StatRelease))


def test_preview_api_answers_202_running_then_done_with_tables_and_stores_no_release(app, source, client, token):
    headers = token("coordinator")
    response = _preview(client, headers)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert set(body) == {"id", "state"} and body["state"] == "running"
    done = client.get(f"/api/v1/statistics/previews/{body['id']}", headers=headers).get_json()
    assert done["state"] == "done" and done["progress"] == 100 and done["id"] == body["id"]
    tables = {t["id"]: t for t in done["tables"]}
    service_table = tables["REF_P_SERVICE"]
    assert service_table["withheld"] >= 2 and "x" in service_table["reason"]
    hanoi = [f for f in service_table["figures"] if f["geo_code"] == "01" and not f["dims"]]
    assert hanoi and all(f["value"] is None for f in hanoi)  # withheld: no value, no hint
    thai_nguyen = [f for f in service_table["figures"] if f["geo_code"] == "19" and not f["dims"]
                   and f["period"] == Q3]
    # With Hà Nội withheld, one more total must be (two provinces: Thái Nguyên's, or the national one).
    assert len(thai_nguyen) == 1 and thai_nguyen[0]["value"] in (None, 30)
    assert _releases() == 0  # a preview is never a release


def test_preview_of_a_released_quarter_is_made_but_cannot_be_published(app, source, client, token):
    headers = token("coordinator")
    assert client.post("/api/v1/statistics/releases", json={"period": Q3}, headers=headers).status_code == 201
    body = _preview(client, headers).get_json()
    assert client.get(f"/api/v1/statistics/previews/{body['id']}", headers=headers).get_json()["state"] == "done"
    again = client.post("/api/v1/statistics/releases", json={"period": Q3, "preview_id": body["id"]}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_released"
    assert _releases() == 1


def test_publishing_a_preview_stores_its_figures_and_files_once(app, source, client, token):
    headers = token("coordinator")
    preview_id = _preview(client, headers).get_json()["id"]
    published = client.post("/api/v1/statistics/releases", json={"period": Q3, "preview_id": preview_id},
                            headers=headers)
    assert published.status_code == 201, published.get_json()
    assert published.get_json()["id"] == f"{Q3}-r1"
    stored = {f.format: f.content for f in db.session.scalars(select(StatFile))}
    previewed = {f.format: f.content for f in db.session.scalars(select(StatPreviewFile))}
    assert stored == previewed and "pdf" in stored  # the files the coordinator previewed, byte for byte
    twice = client.post("/api/v1/statistics/releases", json={"period": Q3, "preview_id": preview_id},
                        headers=headers)
    assert twice.status_code == 409
    assert _releases() == 1


def test_a_preview_made_before_an_earlier_quarter_was_released_is_refused_as_stale(app, source, client, token):
    headers = token("coordinator")
    source.add(Q2, 25, "05533", prefix="q2")
    preview_id = _preview(client, headers, Q3).get_json()["id"]
    assert client.post("/api/v1/statistics/releases", json={"period": Q2}, headers=headers).status_code == 201
    stale = client.post("/api/v1/statistics/releases", json={"period": Q3, "preview_id": preview_id},
                        headers=headers)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "preview_stale"
    assert _releases() == 1


def test_preview_of_another_quarter_or_unfinished_is_not_published(app, source, client, token):
    headers = token("coordinator")
    app.config["STATS_RUNNER"] = "worker"  # nobody computes it: it stays running
    preview_id = _preview(client, headers, Q3).get_json()["id"]
    running = client.post("/api/v1/statistics/releases", json={"period": Q3, "preview_id": preview_id},
                          headers=headers)
    assert running.status_code == 409 and running.get_json()["error"]["code"] == "preview_not_ready"
    other = client.post("/api/v1/statistics/releases", json={"period": Q2, "preview_id": preview_id},
                        headers=headers)
    assert other.status_code == 422 and "preview_id" in other.get_json()["error"]["fields"]
    assert _releases() == 0


def test_preview_api_refuses_unended_quarters_filters_and_unknown_ids(app, source, client, token):
    headers = token("coordinator")
    future = _preview(client, headers, service.current_quarter())
    assert future.status_code == 422 and "period" in future.get_json()["error"]["fields"]
    extra = client.post("/api/v1/statistics/previews", json={"period": Q3, "province": "19"}, headers=headers)
    assert extra.status_code == 400 and extra.get_json()["error"]["code"] == "filters_not_allowed"
    assert client.get("/api/v1/statistics/previews/" + "0" * 32, headers=headers).status_code == 404
    assert client.get("/api/v1/statistics/previews/../releases", headers=headers).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(StatPreview)) == 0


@pytest.mark.parametrize("role,kw", [("province_officer", {"scope": "19"}), ("admin", {}), ("auditor", {})])
def test_previews_are_for_coordinators_only_others_get_404(app, source, client, token, role, kw):
    # The preview is queued for the worker, not computed: another role is refused it whatever its state, and
    # computing it cost a whole release per role.
    app.config["STATS_RUNNER"] = "worker"
    coordinator = token("coordinator")
    preview_id = _preview(client, coordinator).get_json()["id"]
    other = token(role, **kw)
    assert _preview(client, other).status_code == 404
    assert client.get(f"/api/v1/statistics/previews/{preview_id}", headers=other).status_code == 404
    assert client.post("/api/v1/statistics/releases", json={"period": Q3, "preview_id": preview_id},
                       headers=other).status_code == 404
    assert _releases() == 0


def test_a_preview_that_fails_says_so_in_plain_words(app, source, client, token, monkeypatch):
    def refuse(*a, **k):
        raise service.ReleaseRefused("refused")

    monkeypatch.setattr(service, "compute", refuse)
    headers = token("coordinator")
    preview_id = _preview(client, headers).get_json()["id"]
    body = client.get(f"/api/v1/statistics/previews/{preview_id}", headers=headers).get_json()
    assert body["state"] == "failed" and "tables" not in body
    assert "Không tìm được" in body["error"] or "No safe pattern" in body["error"]


def test_thread_runner_computes_in_the_background_and_reports_progress(app, source, client, token, monkeypatch):
    app.config["STATS_RUNNER"] = "thread"
    seen: list[int] = []
    original = service.compute

    def watched(period, release_id, **kw):
        progress = kw["progress"]

        def record(pct):
            seen.append(pct)
            progress(pct)

        return original(period, release_id, **{**kw, "progress": record})

    monkeypatch.setattr(service, "compute", watched)
    headers = token("coordinator")
    body = _preview(client, headers).get_json()
    assert body["state"] == "running"
    jobs.wait(app, timeout=300)
    done = client.get(f"/api/v1/statistics/previews/{body['id']}", headers=headers).get_json()
    assert done["state"] == "done" and done["progress"] == 100
    assert seen[0] == 0 and 10 in seen and seen[-1] == 100  # counting, then the engine, then done


def test_worker_command_claims_and_computes_a_queued_preview(app, source, client, token):
    app.config["STATS_RUNNER"] = "worker"
    headers = token("coordinator")
    preview_id = _preview(client, headers).get_json()["id"]
    assert client.get(f"/api/v1/statistics/previews/{preview_id}", headers=headers).get_json()["state"] == "running"
    result = app.test_cli_runner().invoke(args=["stats", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1"
    assert client.get(f"/api/v1/statistics/previews/{preview_id}", headers=headers).get_json()["state"] == "done"
    again = app.test_cli_runner().invoke(args=["stats", "worker", "--once"])
    assert again.output.strip() == "0"  # claimed once


def test_coordinator_previews_reads_and_publishes_after_confirming(app, source, signed_in):
    c = signed_in("coordinator")
    app.config["STATS_RUNNER"] = "worker"
    index = c.get("/statistics/").get_data(as_text=True)
    assert f'<option value="{Q3}"' in index and "Xem trước" in index
    response = c.post("/statistics/previews", data={"period": Q3})
    assert response.status_code == 302
    url = response.headers["Location"]
    running = c.get(url).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in running and "<progress" in running
    app.test_cli_runner().invoke(args=["stats", "worker", "--once"])
    done = c.get(url).get_data(as_text=True)
    assert '<meta http-equiv="refresh"' not in done
    assert ">x</abbr>" in done and "số dưới 10" in done  # what will be withheld, and why, in plain words
    assert "integer programming" not in done and "HiGHS" not in done
    assert _releases() == 0
    confirm_url = f"{url}/publish"
    assert "Chốt số liệu" in c.get(confirm_url).get_data(as_text=True)
    unconfirmed = c.post(confirm_url, data={})
    assert unconfirmed.status_code == 422 and _releases() == 0
    published = c.post(confirm_url, data={"confirm": "y"})
    assert published.status_code == 302 and published.headers["Location"].endswith(f"/statistics/releases/{Q3}-r1")
    assert _releases() == 1
    again = c.post(confirm_url, data={"confirm": "y"})
    assert again.status_code == 422 and _releases() == 1


def test_preview_screens_are_404_for_a_province_officer(app, source, signed_in):
    c = signed_in("province_officer", scope="19")
    assert c.get("/statistics/").status_code == 404
    assert c.post("/statistics/previews", data={"period": Q3}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(StatPreview)) == 0


def test_cli_release_shows_a_progress_bar_fed_by_the_computation(app, source, monkeypatch):
    seen: list[int] = []
    original = service.compute

    def watched(period, release_id, **kw):
        return original(period, release_id, **{**kw, "progress": lambda pct: (seen.append(pct), kw["progress"](pct))})

    monkeypatch.setattr(service, "compute", watched)
    result = app.test_cli_runner().invoke(args=["stats", "release", "--period", Q3])
    assert result.exit_code == 0, result.output
    # Off a terminal click prints the bar's label only; on one, the bar moves with ``seen``.
    assert "Đang tổng hợp và kiểm tra" in result.output and f"{Q3}-r1" in result.output
    assert seen[0] == 0 and seen[-1] == 100 and seen == sorted(seen)


def test_draft_is_protected_again_only_when_the_data_change_and_at_most_once_a_minute(app, source, monkeypatch):
    from casework.stats import service as s

    calls = []
    original = s.compute_release

    def counting(**kw):
        calls.append(kw["period"])
        return original(**kw)

    monkeypatch.setattr(s, "compute_release", counting)
    monkeypatch.setattr(s, "current_quarter", lambda on=None: Q3)
    monkeypatch.setattr(s, "today", lambda: s.quarter_end(Q3))
    s.forget_drafts()
    first = s.draft("19")
    assert s.draft("19") is first and len(calls) == 1  # same data: the cached draft
    source.add(Q3, 5, "05528", prefix="late")
    assert s.draft("19") is first and len(calls) == 1  # changed, but computed less than a minute ago
    monkeypatch.setattr(s, "DRAFT_MIN_AGE", 0.0)
    second = s.draft("19")
    assert second is not first and len(calls) == 2
    assert s.draft("19") is second and len(calls) == 2  # unchanged again
    s.forget_drafts()
