"""Pages near their data floor (issue 18): what a page reads and writes, the menu's counts kept a minute
without ever showing a stale count after a change made here, and the deadline sweep out of the pages."""

from __future__ import annotations

import re
from contextlib import contextmanager
from types import SimpleNamespace

from sqlalchemy import event

from casework import nav, notify
from casework.cases import services
from casework.extensions import db
from tests.cases.conftest import NAME


@contextmanager
def statements():
    """Every SQL statement the application sends while the block runs."""
    seen: list[str] = []

    def listener(_conn, _cursor, statement, _params, _context, _many):
        seen.append(" ".join(statement.split()))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def _writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def _table_of(write: str) -> str:
    found = re.search(r"(?:INTO|UPDATE|FROM)\s+\"?(\w+)", write, re.I)
    return found.group(1) if found else "?"


def test_a_page_that_shows_the_menu_writes_nothing(world, make_case, signed_in):
    """The home page, the queue and the notification list render the menu (both counts): no INSERT,
    UPDATE or DELETE at all, whatever is waiting (a case with its notice due, a notification)."""
    make_case(world.host_a, world.addr_a)
    notify.notify([world.host_a.id], "referral_overdue", "case", None, "VV-TEST0001")
    db.session.commit()
    client = signed_in(world.host_a)
    for path in ("/work/", "/notifications/", "/account/sessions"):
        with statements() as seen:
            page = client.get(path)
        assert page.status_code == 200, path
        assert "Thông báo (1)" in page.get_data(as_text=True), path
        assert _writes(seen) == [], (path, _writes(seen))


def test_the_case_list_writes_only_its_read_event(world, make_case, signed_in):
    make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    with statements() as seen:
        assert client.get("/cases").status_code == 200
    tables = {_table_of(w) for w in _writes(seen)}
    assert tables and all(t.startswith("audit") for t in tables), tables


def test_list_pages_load_no_credentials_and_no_hosts(world, make_case, signed_in, login):
    """The session's user and every case's address are loaded without the password hash, the sealed TOTP
    secret or the address's hosts (issue 18: every list loaded the hosts' full user rows)."""
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    for method, path, data in (("get", "/cases", None), ("get", f"/cases/{case_id}", None),
                               ("post", "/cases/search", {"q": NAME})):
        with statements() as seen:
            response = getattr(client, method)(path, data=data)
        assert response.status_code == 200, path
        sql = "\n".join(seen)
        assert "password_hash" not in sql and "totp_secret_sealed" not in sql, path
        assert "address_host.address_id" not in sql, path  # Address.hosts, loaded the other way round
    officer = signed_in(world.officer_a)
    with statements() as seen:
        assert officer.get("/cases").status_code == 200
    assert "password_hash" not in "\n".join(seen)


def test_the_session_her_user_and_her_addresses_are_one_query(world, make_case, signed_in):
    make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    with statements() as seen:
        assert client.get("/notifications/").status_code == 200
    reads = [s for s in seen if "user_session" in s or re.search(r'\bFROM "?user"?\b', s)
             or "address_host" in s]
    assert len(reads) == 1, reads
    assert "JOIN" in reads[0] and "address_host" in reads[0]


def test_the_case_list_reads_the_same_number_of_times_for_one_case_or_many(world, make_case, signed_in):
    """No row-by-row loading (N+1): a list of six cases costs the statements of a list of one. The commune
    officer's list names each case's address (her commune has two)."""
    make_case(world.host_a, world.addr_a)
    client = signed_in(world.officer_a)
    client.get("/cases")
    with statements() as one:
        assert client.get("/cases").status_code == 200
    for n in range(5):
        make_case(world.officer_a, world.addr_a2 if n % 2 else world.addr_a)
    client.get("/cases")  # the menu's counts were dropped by the new cases: counted again here
    with statements() as six:
        page = client.get("/cases").get_data(as_text=True)
    assert page.count('class="case-row') == 6 and "ĐCTC A2" in page
    assert len(six) == len(one), (one, six)


def test_the_case_page_after_the_list_loads_in_full(world, make_case, signed_in):
    """The list loads a few columns of each case; the same case opened next (same session, as under a
    test's application context) still shows everything."""
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    assert client.get("/cases").status_code == 200
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and NAME in page.get_data(as_text=True)
    assert "Chồng đánh bằng gậy." in client.get(f"/cases/{case_id}/edit").get_data(as_text=True)


def test_the_search_screen_reads_names_not_whole_records(world, make_case, signed_in):
    """The screen's search reads of the people it matches only what decrypts the name and the searched field
    (issue 18), and the case found, opened next in the same session, still shows everything."""
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    with statements() as seen:
        page = client.post("/cases/search", data={"q": NAME})
    assert page.status_code == 200 and f"/cases/{case_id}" in page.text and NAME in page.text
    sql = "\n".join(seen)
    assert "case_person.full_name_ct" in sql
    assert "other_names_ct" not in sql and "home_address_ct" not in sql and "id_number_ct" not in sql
    full = client.get(f"/cases/{case_id}")
    assert full.status_code == 200 and NAME in full.get_data(as_text=True)


def test_the_menu_shows_a_new_notification_at_once_and_forgets_it_once_read(world, signed_in):
    """Counts are kept a minute per session, but a notification created (or read) in this process shows
    on the very next page: the commit drops every kept count."""
    client = signed_in(world.host_a)
    page = client.get("/notifications/").get_data(as_text=True)
    assert ">Thông báo<" in page  # counted (0) and kept for her session
    notify.notify([world.host_a.id], "referral_overdue", "case", None, "VV-TEST0002")
    db.session.commit()
    assert "Thông báo (1)" in client.get("/notifications/").get_data(as_text=True)
    assert client.post("/notifications/read", data={}).status_code == 302
    assert ">Thông báo<" in client.get("/notifications/").get_data(as_text=True)


def test_a_kept_count_is_not_read_again_within_the_minute(world, signed_in, monkeypatch):
    client = signed_in(world.host_a)
    calls: list[str] = []
    real = notify.unread_count
    monkeypatch.setattr(notify, "unread_count", lambda user: calls.append(user.id) or real(user))
    client.get("/notifications/")
    client.get("/work/")
    assert calls == [world.host_a.id]
    nav.forget_counts()
    client.get("/notifications/")
    assert calls == [world.host_a.id] * 2


def test_an_audit_event_keeps_the_counts(app, world, signed_in):
    """Every read writes its audit event: that must not drop the counts, or they would never be kept."""
    from casework.protect import audit

    client = signed_in(world.host_a)
    client.get("/notifications/")
    before = nav._generation
    audit.record("case_list", object_type="case", actor=SimpleNamespace(id=world.host_a.id, role="host"),
                 detail="rows:0")
    db.session.commit()
    assert nav._generation == before
    notify.notify([world.host_a.id], "referral_overdue", "case", None, "VV-TEST0003")
    db.session.commit()
    assert nav._generation == before + 1


def test_flask_notify_overdue_runs_the_sweeps_and_commits(app, monkeypatch):
    ran: list[int] = []

    def sweep() -> int:
        ran.append(1)
        notify.notify([], "x", "case", None, "VV-NONE")
        return 2

    monkeypatch.setitem(app.extensions, "tincay.notify.sweeps", [sweep])
    result = app.test_cli_runner().invoke(args=["notify", "overdue"])
    assert result.exit_code == 0 and "notified: 2" in result.output and ran == [1]


def test_the_sweeper_runs_at_most_once_per_interval_outside_the_request(app, monkeypatch):
    import threading

    threads: list[str] = []

    def sweep() -> int:
        threads.append(threading.current_thread().name)
        return 0

    monkeypatch.setitem(app.extensions, "tincay.notify.sweeps", [sweep])
    sweeper = notify.Sweeper(app, 60)
    first = sweeper.poke(now=1000.0)
    assert first is not None
    first.join(10)
    assert sweeper.poke(now=1030.0) is None  # within the minute: a clock comparison, nothing run
    again = sweeper.poke(now=1061.0)
    assert again is not None
    again.join(10)
    assert threads == ["tincay-notify-sweep"] * 2


def test_the_sweeper_is_off_while_testing_and_on_in_development(app, make_app):
    assert "tincay.notify.sweeper" not in app.extensions
    dev = make_app(environment="development", notify_sweep_seconds=60)
    assert dev.extensions["tincay.notify.sweeper"].seconds == 60
    off = make_app(environment="development", notify_sweep_seconds=0)
    assert "tincay.notify.sweeper" not in off.extensions


def test_postgres_connections_are_recycled_not_pinged_and_sqlite_is_unchanged():
    from casework import _engine_options
    from casework.config import Settings

    pg = _engine_options(Settings(database_url="postgresql+psycopg://app@db/tincay", db_pool_recycle_seconds=120))
    assert pg["pool_pre_ping"] is False and pg["pool_recycle"] == 120
    assert _engine_options(Settings(database_url="sqlite:////tmp/x.db")) == {"connect_args": {"timeout": 30}}


def test_the_case_list_reads_bans_and_stays_only_of_the_rows_that_have_some(world, make_case, signed_in):
    """Each row says whether its case has a contact ban or a running stay (issue 18): with none on the page the
    list reads neither table on its own, nor the province's settings; a case that has a ban due shows the flag,
    and a stay past the province's limit its own."""
    from datetime import timedelta

    from casework.cases import services
    from casework.models import utcnow
    from tests.cases.conftest import ban_request, user_of

    quiet = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    client.get("/cases")  # the menu's counts (which read running stays) are kept from here on
    with statements() as seen:
        page = client.get("/cases").get_data(as_text=True)
    assert f"/cases/{quiet}" in page and "badge-due" not in page
    own = [s for s in seen if re.match(r"SELECT (contact_ban|shelter_stay|case_province_setting)\.", s)]
    assert own == [], own
    services.set_max_shelter_days(user_of(world.admin), world.addr_a.province_code, 2)
    banned = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=5))
    case = db.session.get(services.Case, banned)
    services.request_contact_ban(user_of(world.host_a), case, ban_request(utcnow() - timedelta(hours=1), "victim"))
    services.add_shelter_stay(user_of(world.host_a), case,
                              services.ShelterData(start_on=services.local_today() - timedelta(days=4)))
    db.session.commit()
    page = client.get("/cases").get_data(as_text=True)
    row = re.compile(r'<li class="case-row[^>]*>\s*<a href="/cases/([\w-]+)">(.*?)</li>', re.S)
    rows = {m.group(1): m.group(2) for m in row.finditer(page)}
    assert "badge-due" in rows[banned] and "badge-due" not in rows[quiet]
    assert "Tạm lánh quá số đêm tỉnh quy định" in rows[banned], rows[banned]


def test_the_case_page_reads_only_the_records_the_case_has(world, make_case, signed_in):
    """The case's own statement says which of its stays, bans, follow-ups, consents, timeline and pending move
    exist (issue 18): a new case reads none of the first three nor a move; once it has a follow-up, the page
    reads and shows it."""
    case_id = make_case(world.host_a, world.addr_a)
    client = signed_in(world.host_a)
    client.get("/cases")  # the menu's counts are kept from here on
    with statements() as seen:
        page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and NAME in page.text
    own = [s for s in seen if re.match(r"SELECT (shelter_stay|contact_ban|follow_up|case_transfer|case_province_setting"
                                       r"|case_act)\.", s)]
    assert own == [], own
    assert any(s.startswith("SELECT case_event.") for s in seen)  # the intake's entry on the timeline
    assert any(s.startswith("SELECT case_consent.") for s in seen) and "Công an (công an xã)" in page.text
    today = services.local_today().strftime("%d/%m/%Y")
    assert client.post(f"/cases/{case_id}/follow-ups/new", data={
        "on": today, "kind": "call", "situation": "improving", "violence_recurred": "n",
        "note": "Chị ấy ổn hơn."}).status_code == 302
    with statements() as seen:
        page = client.get(f"/cases/{case_id}")
    assert "Chị ấy ổn hơn." in page.text
    assert any(s.startswith("SELECT follow_up.") for s in seen)


def test_every_link_of_the_case_page_reaches_one_of_its_screens(app, world, make_case, signed_in):
    """The case page writes its screens' links under its own path (issue 18: one url_for): each link and form
    of the page under that path is a route of the cases blueprint, with the case's id (and the stay's, the ban's)."""
    from datetime import timedelta

    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect

    from casework.models import utcnow
    from tests.cases.conftest import ban_request, user_of

    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(days=2))
    case = db.session.get(services.Case, case_id)
    services.add_shelter_stay(user_of(world.host_a), case, services.ShelterData(start_on=services.local_today()))
    services.request_contact_ban(user_of(world.host_a), case, ban_request(utcnow() - timedelta(hours=1), "victim"))
    db.session.commit()
    page = signed_in(world.host_a).get(f"/cases/{case_id}").text
    links = set(re.findall(rf'(?:href|action)="(/cases/{case_id}[^"#]*)"', page))
    urls = app.url_map.bind("localhost")
    endpoints = set()
    for link in links:
        try:
            endpoint, args = urls.match(link, method="GET")
        except (MethodNotAllowed, NotFound, RequestRedirect):
            endpoint, args = urls.match(link, method="POST")
        assert endpoint.startswith("cases.") and args["case_id"] == case_id, link
        endpoints.add(endpoint)
    assert {"cases.edit", "cases.shelter", "cases.contact_ban_new", "cases.follow_up_new", "cases.consents",
            "cases.closure", "cases.record_pdf", "cases.contact_ban_decision", "cases.contact_ban_court",
            "cases.notice"} <= endpoints, endpoints
