"""Done-when of issue 17 in a real browser: a host records an intake and a follow-up with no signal, the
phone keeps only sealed entries, and a sync interrupted after its first entry and retried saves exactly two
records.

Headless Debian Chromium through Playwright at 360×740, JavaScript on (the offline web app needs it).
axe-core runs on every screen. With ``SAVE_SCREENS=1`` the screens are saved to docs/screens/offline-*.png.
"""

from __future__ import annotations

import base64
import os
import unicodedata

import pyotp
import pytest
from sqlalchemy import func, select

from casework.cases.models import Case, FollowUp
from casework.extensions import db
from casework.models import utcnow
from casework.offline.models import OfflineReceipt
from casework.text import VN_TZ
from tests.browser.conftest import AXE
from tests.cases.test_browser_intake import PHONE, run_journey, server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WOMAN = "Lường Thị Hoà"
WOMAN_PHONE = "0987 654 321"
SCREENS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "screens")

DUMP_STORAGE = """async () => {
  const out = {indexeddb: [], caches: []};
  const bin = v => (v instanceof ArrayBuffer || ArrayBuffer.isView(v))
    ? Array.from(new Uint8Array(v.buffer || v)) : v;
  const ask = r => new Promise((ok, no) => { r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  for (const info of await indexedDB.databases()) {
    const dbh = await ask(indexedDB.open(info.name));
    for (const store of Array.from(dbh.objectStoreNames)) {
      const rows = await ask(dbh.transaction(store).objectStore(store).getAll());
      out.indexeddb.push({db: info.name, store, rows: JSON.parse(JSON.stringify(rows, (k, v) => bin(v)))});
    }
    dbh.close();
  }
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      out.caches.push({cache: name, url: request.url, body: await response.text()});
    }
  }
  return JSON.stringify(out);
}"""


def _forms_of(text: str) -> list[bytes]:
    """The text in every encoding a leak could take: UTF-8, UTF-16 (both orders), NFD, base64 of each."""
    found: list[bytes] = []
    for variant in {text, unicodedata.normalize("NFD", text), unicodedata.normalize("NFC", text)}:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            raw = variant.encode(encoding)
            found += [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), base64.b64encode(raw).rstrip(b"=")]
    return found


def _axe(page) -> list[str]:
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky quick-exit bar covers the field last filled
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => await axe.run(document, {runOnly: {type: 'tag', values:
        ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""")
    return [f"{page.url}: {v['id']}: {[n['html'][:120] for n in v['nodes'][:2]]}" for v in result["violations"]]


def _shot(page, name: str) -> None:
    if os.environ.get("SAVE_SCREENS") == "1":
        os.makedirs(SCREENS, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=os.path.join(SCREENS, f"offline-{name}.png"), full_page=True)


WAIT_OFFLINE_READY = """async () => {
    const reg = await navigator.serviceWorker.getRegistration('/');
    if (!reg || !reg.active || reg.active.state !== 'activated' || !navigator.serviceWorker.controller) return false;
    for (const n of await caches.keys()) {
      if (await (await caches.open(n)).match('/offline/follow-up', {ignoreVary: true})) return true;
    }
    return false; }"""


def _settle(page) -> None:
    """Let the freshly activated worker settle before Playwright's offline emulation starts: switched
    offline at once, Chromium sometimes fails the next navigation before the worker sees it. A pause, not a
    measurement: nothing is asserted about time."""
    page.wait_for_selector("body[data-offline-synced]")
    page.wait_for_timeout(3000)


# Each page's fetch of the sync endpoint is counted; the second reaches the server, which saves the entry, and
# then fails as a dropped connection does, so the phone never hears the answer.
CUT_SECOND_ANSWER = """
(() => {
  const real = window.fetch.bind(window);
  window.__entryCalls = 0;
  window.fetch = (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    if (!url.includes("/api/v1/offline/entries")) { return real(input, init); }
    window.__entryCalls += 1;
    if (window.__entryCalls !== 2) { return real(input, init); }
    return real(input, init).then((response) => response.arrayBuffer()).then(() => {
      throw new TypeError("Failed to fetch");
    });
  };
})();
"""


def _pending(page) -> str:
    page.wait_for_function("document.getElementById('pending-count').hasAttribute('data-count')")
    return page.get_attribute("#pending-count", "data-count")


def test_a_host_records_without_signal_and_a_broken_sync_saves_each_entry_exactly_once(world, server, make_case):  # noqa: F811
    host = world.host_a
    case_id = make_case(host, world.addr_a)
    reference = db.session.get(Case, case_id).reference
    today = utcnow().astimezone(VN_TZ).date().isoformat()

    def journey(browser, found: dict) -> None:
        context = browser.new_context(viewport=PHONE, locale="vi-VN", bypass_csp=True)  # bypass: to inject axe
        page = context.new_page()
        problems: list[str] = []
        page.goto(f"{server}/login")
        page.fill("#username", host.username)
        page.fill("#password", host.password)
        page.fill("#totp", pyotp.TOTP(host.secret).now())
        page.click("main button[type=submit]")
        page.wait_for_url("**/work/")  # a host starts on her work queue (issue 13)

        # Online, signed in: the web app binds the queue to her account and keeps the form shells.
        page.goto(f"{server}/offline/")
        page.wait_for_function(WAIT_OFFLINE_READY, timeout=120000)
        page.reload()  # a load under the activated worker, as when she opens the app again
        page.wait_for_function(WAIT_OFFLINE_READY, timeout=120000)
        _settle(page)
        problems += _axe(page)
        _shot(page, "home-online")

        # No signal: she records an intake and a follow-up.
        context.set_offline(True)
        page.goto(f"{server}/offline/intake")
        page.wait_for_selector("form[data-offline-kind=intake]:not([hidden])")
        page.fill("#full_name", WOMAN)
        page.fill("#birth_year", "1993")
        page.fill("#phone", WOMAN_PHONE)
        page.select_option("#ethnicity_code", "14")
        page.select_option("#relationship", "spouse")
        page.check("input[name=acts][value=a]")
        page.check("input[name=acts][value=e]")
        page.check("input[name=acts][value=l]")
        page.check("input[name=act_parts][value='l:force_divorce']")  # a part of a letter, as online
        page.check("#consent_record")
        page.check("#consent_statistics")
        problems += _axe(page)
        _shot(page, "intake")
        found["intake_fits"] = page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.click("main button[type=submit]")
        page.wait_for_selector("#offline-status:not([hidden])")
        found["form_cleared"] = page.input_value("#full_name") == "" and page.input_value("#phone") == ""

        page.goto(f"{server}/offline/follow-up")
        page.wait_for_selector("form[data-offline-kind=follow_up]:not([hidden])")
        page.fill("#case_id", reference)
        page.fill("#on", today)
        page.select_option("#kind", "visit")
        page.select_option("#situation", "improving")
        page.check("input[name=violence_recurred][value=no]")
        page.fill("#note", f"Gặp {WOMAN} tại nhà mẹ đẻ, số {WOMAN_PHONE}.")
        problems += _axe(page)
        _shot(page, "follow-up")
        page.click("main button[type=submit]")
        page.wait_for_selector("#offline-status:not([hidden])")

        # The page reloads, still without signal: two entries wait, shown by their capture time only.
        page.goto(f"{server}/offline/")
        found["pending_offline"] = _pending(page)
        found["pending_text"] = page.inner_text("#pending-list")
        problems += _axe(page)
        _shot(page, "waiting")
        found["storage"] = page.evaluate(DUMP_STORAGE)

        # Signal again. The first entry goes through; the second is saved by the server but its answer is
        # lost on the way back (the connection drops): it stays on the phone. The loss is made in the page's
        # own fetch (an init script), not by Playwright's routing: once the service worker controls the page,
        # Chromium's requests pass through it and page.route() no longer sees them (seen in CI: no call was
        # routed and nothing was cut).
        page.goto("about:blank")  # no page of the app left open to sync on its own when the signal returns
        page.add_init_script(CUT_SECOND_ANSWER)
        context.set_offline(False)
        page.goto(f"{server}/offline/")
        page.wait_for_function("document.getElementById('pending-count').getAttribute('data-count') === '1'",
                               timeout=120000)
        found["after_interrupted_sync"] = _pending(page)
        found["calls"] = page.evaluate("window.__entryCalls")
        page.click("#sync-now")
        page.wait_for_function("document.getElementById('pending-count').getAttribute('data-count') === '0'",
                               timeout=120000)
        found["status_after_retry"] = page.inner_text("#offline-status")
        problems += _axe(page)
        _shot(page, "sent")
        found["problems"] = problems
        context.close()

    found = run_journey(journey)
    assert found["pending_offline"] == "2"
    assert WOMAN not in found["pending_text"] and "VV-" not in found["pending_text"]
    assert found["form_cleared"] and found["intake_fits"]
    dump = found["storage"].encode("utf-8")
    assert b"tincay-offline" in dump and b"ciphertext" in dump  # the dump did reach the sealed queue
    assert b"/offline/intake" in dump and b"/static/js/offline.js" in dump  # ... and the kept shells
    for secret in (WOMAN, WOMAN_PHONE, WOMAN_PHONE.replace(" ", ""), "Lường", "Hoà"):
        for form in _forms_of(secret):
            assert form not in dump, (secret, form[:20])
    assert found["after_interrupted_sync"] == "1" and found["calls"] == 2
    assert not found["problems"], found["problems"]
    db.session.expire_all()
    cases = db.session.scalars(select(Case)).all()
    assert len(cases) == 2  # the case made beforehand and the intake recorded without signal
    new = next(c for c in cases if c.id != case_id)
    assert new.person.full_name == WOMAN and new.person.phone == WOMAN_PHONE and new.address_id == world.addr_a.id
    assert sorted(new.act_codes) == ["a", "e", "l"] and new.act_parts_of("l") == ["force_divorce"]
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 1
    receipts = db.session.scalars(select(OfflineReceipt)).all()
    assert sorted(r.status for r in receipts) == ["saved", "saved"] and all(r.attempts <= 2 for r in receipts)
    assert max(r.attempts for r in receipts) == 2  # the retried entry was answered "duplicate" the second time


def test_five_entries_sync_over_a_2g_link_and_the_time_is_reported(world, server, capsys):  # noqa: F811
    """Issue 17 asks for under 30 s at 50 kbit/s and 300 ms latency. Measured and printed, not asserted
    (no test asserts on wall-clock time); the report quotes the printed figure."""
    import time

    host = world.host_a

    def journey(browser, found: dict) -> None:
        context = browser.new_context(viewport=PHONE, locale="vi-VN", bypass_csp=True)  # for wait_for_function
        page = context.new_page()
        page.goto(f"{server}/login")
        page.fill("#username", host.username)
        page.fill("#password", host.password)
        page.fill("#totp", pyotp.TOTP(host.secret).now())
        page.click("main button[type=submit]")
        page.wait_for_url("**/work/")  # a host starts on her work queue (issue 13)
        page.goto(f"{server}/offline/")
        page.wait_for_function(WAIT_OFFLINE_READY, timeout=120000)
        page.reload()  # a load under the activated worker, as when she opens the app again
        page.wait_for_function(WAIT_OFFLINE_READY, timeout=120000)
        _settle(page)
        context.set_offline(True)
        for i in range(5):
            page.goto(f"{server}/offline/{'intake' if i % 2 == 0 else ''}")
            if i % 2:
                page.goto(f"{server}/offline/intake")
            page.wait_for_selector("form[data-offline-kind=intake]:not([hidden])")
            page.fill("#full_name", f"Thử Nghiệm {i}")
            page.select_option("#relationship", "spouse")
            page.check("input[name=acts][value=a]")
            page.check("#consent_record")
            page.click("main button[type=submit]")
            page.wait_for_selector("#offline-status:not([hidden])")
        page.goto("about:blank")
        context.set_offline(False)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 300,
                                                      "downloadThroughput": 50_000 / 8,
                                                      "uploadThroughput": 50_000 / 8})
        page.goto(f"{server}/offline/", wait_until="domcontentloaded", timeout=120000)
        started = time.monotonic()  # the page is there; from now on only the sync runs
        page.wait_for_function("document.getElementById('pending-count').getAttribute('data-count') === '0'",
                               timeout=120000)
        found["seconds"] = time.monotonic() - started
        context.close()

    found = run_journey(journey)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 5
    with capsys.disabled():
        print(f"\nsync of 5 sealed entries at 50 kbit/s, 300 ms latency: {found['seconds']:.1f} s")


def test_another_account_on_the_same_phone_neither_sees_nor_sends_her_waiting_entry(world, server):  # noqa: F811
    first, second = world.host_a, world.host_b

    def sign_in(page, account, again: bool = False) -> None:
        import time

        page.goto(f"{server}/login")
        page.fill("#username", account.username)
        page.fill("#password", account.password)
        # A second sign-in uses the next 30-second step: the server refuses a code used before.
        page.fill("#totp", pyotp.TOTP(account.secret).at(time.time() + (30 if again else 0)))
        page.click("main button[type=submit]")
        page.wait_for_url("**/work/")  # a host starts on her work queue (issue 13)

    def journey(browser, found: dict) -> None:
        context = browser.new_context(viewport=PHONE, locale="vi-VN", bypass_csp=True)  # for wait_for_function
        page = context.new_page()
        sign_in(page, first)
        page.goto(f"{server}/offline/intake")
        page.wait_for_function(WAIT_OFFLINE_READY, timeout=120000)
        page.reload()  # a load under the activated worker, as when she opens the app again
        page.wait_for_function(WAIT_OFFLINE_READY, timeout=120000)
        _settle(page)
        context.set_offline(True)
        page.goto(f"{server}/offline/intake")
        page.wait_for_selector("form[data-offline-kind=intake]:not([hidden])")
        page.fill("#full_name", WOMAN)
        page.select_option("#relationship", "spouse")
        page.check("input[name=acts][value=a]")
        page.check("#consent_record")
        page.click("main button[type=submit]")
        page.wait_for_selector("#offline-status:not([hidden])")
        page.goto("about:blank")
        context.set_offline(False)
        # She signs out (the queue stays); another host signs in on the same phone.
        page.goto(f"{server}/cases")
        page.click("header form[action='/logout'] button")
        page.wait_for_url("**/login")
        sign_in(page, second)
        page.goto(f"{server}/offline/")
        found["second_sees"] = _pending(page)
        page.wait_for_selector("body[data-offline-synced]")  # the sync started on load has finished
        found["second_sees_after_sync"] = _pending(page)
        page.goto(f"{server}/cases")
        page.click("header form[action='/logout'] button")
        page.wait_for_url("**/login")
        # She signs in again: her entry is sent.
        sign_in(page, first, again=True)
        page.goto(f"{server}/offline/")
        page.wait_for_function("document.getElementById('pending-count').getAttribute('data-count') === '0'",
                               timeout=120000)
        context.close()

    found = run_journey(journey)
    assert found["second_sees"] == "0" and found["second_sees_after_sync"] == "0"
    db.session.expire_all()
    [case] = db.session.scalars(select(Case)).all()
    assert case.address_id == world.addr_a.id and case.person.full_name == WOMAN
    assert {r.user_id for r in db.session.scalars(select(OfflineReceipt))} == {first.id}
