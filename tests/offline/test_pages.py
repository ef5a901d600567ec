"""The installable web app and the drafts list (issue 17), through the test client."""

from __future__ import annotations

import json

from casework.extensions import db
from casework.offline.models import OfflineDraft
from tests.cases.conftest import NAME, PHONE
from tests.offline.conftest import intake_body, seal


def test_the_manifest_and_service_worker_are_public_and_name_only_our_own_files(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    assert manifest.get_json()["start_url"] == "/offline/" and "http" not in manifest.get_data(as_text=True)
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    script = sw.get_data(as_text=True)
    urls = json.loads(script.split("var URLS = ", 1)[1].split(";", 1)[0])
    assert "/offline/intake" in urls and all(u.startswith("/") and not u.startswith("//") for u in urls)
    assert "/api/" not in script.split("var URLS", 1)[1].split(";", 1)[0]


def test_the_csp_allows_our_manifest_and_worker_and_no_other_origin(client):
    csp = client.get("/manifest.webmanifest").headers["Content-Security-Policy"]
    assert "manifest-src 'self'" in csp and "worker-src 'self'" in csp and "http" not in csp


def test_quick_exit_clears_cookies_and_cache_but_keeps_the_sealed_queue(client):
    header = client.get("/exit").headers["Clear-Site-Data"]
    assert '"cookies"' in header and '"cache"' in header and '"storage"' not in header


def test_the_form_shells_carry_no_token_and_no_data(world, signed_in, make_case):
    make_case(world.host_a, world.addr_a)
    browser = signed_in(world.host_a)
    for path in ("/offline/", "/offline/intake", "/offline/follow-up", "/offline/shelter-stay"):
        page = browser.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200, path
        assert "csrf_token" not in html and NAME not in html and world.host_a.username not in html
        assert "/static/js/offline.js" in html
    assert 'data-offline-kind="intake"' in browser.get("/offline/intake").get_data(as_text=True)


def test_the_shells_are_for_hosts_and_commune_officers_only(world, signed_in):
    assert signed_in(world.coordinator).get("/offline/intake").status_code == 404
    assert signed_in(world.officer_a).get("/offline/intake").status_code == 200


def test_a_hosts_pages_load_the_offline_script_and_a_coordinators_do_not(world, signed_in):
    assert "offline.js" in signed_in(world.host_a).get("/cases").get_data(as_text=True)
    assert "offline.js" not in signed_in(world.coordinator).get("/home").get_data(as_text=True)


def test_a_draft_is_listed_shown_and_finished_by_its_host_only(world, signed_in, server_key, send):
    [result] = send(world.host_a, seal(server_key, world.host_a.id, intake_body(acts=["z"])))
    draft_id = result["draft_id"]
    mine, other = signed_in(world.host_a), signed_in(world.host_b)
    listing = mine.get("/offline/drafts").get_data(as_text=True)
    assert f"/offline/drafts/{draft_id}" in listing and NAME not in listing
    assert draft_id not in other.get("/offline/drafts").get_data(as_text=True)
    assert other.get(f"/offline/drafts/{draft_id}").status_code == 404
    page = mine.get(f"/offline/drafts/{draft_id}").get_data(as_text=True)
    assert NAME in page and PHONE in page
    assert other.post(f"/offline/drafts/{draft_id}/finish").status_code == 404
    assert mine.post(f"/offline/drafts/{draft_id}/finish").status_code == 302
    db.session.expire_all()
    row = db.session.get(OfflineDraft, draft_id)
    assert row.finished_at is not None and row.payload_ct is None
    assert draft_id not in mine.get("/offline/drafts").get_data(as_text=True)


def test_the_offline_shell_is_under_150_kb_compressed(world, signed_in, capsys):
    import gzip

    browser = signed_in(world.host_a)
    script = browser.get("/sw.js").get_data(as_text=True)
    urls = json.loads(script.split("var URLS = ", 1)[1].split(";", 1)[0])
    total = len(gzip.compress(script.encode(), 9))
    for url in urls:
        response = browser.get(url)
        assert response.status_code == 200, url
        total += len(gzip.compress(response.get_data(), 9))
        response.close()
    assert total < 150 * 1024, total
    with capsys.disabled():
        print(f"\noffline shell, gzip -9: {total} bytes")
