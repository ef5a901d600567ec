"""The benchmarks-only switch ``benchmark_unaudited_reads`` (bench/audit_reads.py): production refuses it, and
with it on only the read events of records are left out; every page, answer and other event stays the same."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casework import create_app
from casework.config import ConfigError, Settings, load_settings
from casework.extensions import db
from casework.protect.audit import READ_ACTIONS, AuditEvent
from casework.protect.labels import ACTIONS


def test_the_switch_is_off_by_default_and_names_only_known_read_actions():
    assert Settings().benchmark_unaudited_reads is False
    assert READ_ACTIONS <= set(ACTIONS)
    assert {"case_list", "case_view", "case_search"} <= READ_ACTIONS
    assert not READ_ACTIONS & {"case_create", "case_update", "access_denied", "login", "case_export_pdf"}


def test_production_refuses_the_switch_even_with_embedded_defaults(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="benchmarks only"):
        load_settings(tmp_path, {"environment": "production", "allow_embedded_defaults": True,
                                 "benchmark_unaudited_reads": True})
    monkeypatch.setenv("TINCAY_ENVIRONMENT", "production")
    monkeypatch.setenv("TINCAY_ALLOW_EMBEDDED_DEFAULTS", "true")
    monkeypatch.setenv("TINCAY_BENCHMARK_UNAUDITED_READS", "true")
    with pytest.raises(ConfigError, match="benchmarks only"):
        load_settings(tmp_path)
    monkeypatch.setenv("TINCAY_BENCHMARK_UNAUDITED_READS", "false")
    assert load_settings(tmp_path).environment == "production"


def test_production_app_does_not_start_with_the_switch(app_config, monkeypatch):
    monkeypatch.setenv("TINCAY_BENCHMARK_UNAUDITED_READS", "1")
    with pytest.raises(ConfigError, match="benchmarks only"):
        create_app({**app_config, "environment": "production", "allow_embedded_defaults": True})


def _journey(app, world, cid: str, other: str, login, token) -> tuple[list, list]:
    """A host's list, case page, search and case answer, a refused read and a change, through ``app``."""
    last = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    web = app.test_client()
    login(web, world.host_a)
    api = app.test_client()
    headers = token(world.host_a)
    answers = [
        (web.get("/cases").status_code, None),
        (web.get(f"/cases/{cid}").status_code, None),
        (api.post("/api/v1/cases/search", json={"q": "0912345678"}, headers=headers).status_code, None),
        (api.get(f"/api/v1/cases/{cid}", headers=headers).status_code,
         api.get(f"/api/v1/cases/{cid}", headers=headers).get_json()),
        (api.get(f"/api/v1/cases/{other}", headers=headers).status_code, None),
    ]
    version = answers[3][1]["version"]
    answers.append((api.patch(f"/api/v1/cases/{cid}", json={"version": version, "narrative": f"Ghi chú {version}"},
                              headers=headers).status_code, None))
    db.session.expire_all()
    events = [(e.action, e.outcome, e.object_id, e.fields) for e in
              db.session.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id))]
    return answers, events


def test_off_only_the_read_events_go(app, make_app, world, make_case, login, token):
    cid = make_case(world.host_a, world.addr_a)
    other = make_case(world.host_b, world.addr_b)
    audited_answers, audited = _journey(app, world, cid, other, login, token)
    unaudited_app = make_app(benchmark_unaudited_reads=True)
    unaudited_answers, unaudited = _journey(unaudited_app, world, cid, other, login, token)

    assert [a[0] for a in audited_answers] == [200, 200, 200, 200, 404, 200]
    assert [a[0] for a in unaudited_answers] == [a[0] for a in audited_answers]
    first, second = audited_answers[3][1], unaudited_answers[3][1]
    assert {k: v for k, v in first.items() if k not in ("version", "narrative", "updated_at")} == \
        {k: v for k, v in second.items() if k not in ("version", "narrative", "updated_at")}

    reads = [e for e in audited if e[0] in READ_ACTIONS]
    assert {e[0] for e in reads} >= {"case_list", "case_view", "case_search"}
    assert not any(e[0] in READ_ACTIONS for e in unaudited)
    # Everything else is written as before: the sign-in, the refused read, the change.
    assert [e for e in audited if e[0] not in READ_ACTIONS] == unaudited
    assert {"login", "access_denied", "case_update"} <= {e[0] for e in unaudited}
