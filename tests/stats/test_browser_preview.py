"""Browser journey of issue 16: a coordinator previews a quarter, sees the progress, reads the preview,
publishes it after confirming, and downloads the report; headless Chromium at 360×740.

The journey itself runs with JavaScript off (the progress page refreshes itself with a meta refresh);
a second phone with JavaScript on reads the same screens with axe-core. The preview is computed by
``flask stats worker`` logic started by the test, so the progress page is seen while it runs and the
page never waits for the computation. Two provinces and five communes (``small_geography``), never the
country, so the preview takes seconds.
"""

from __future__ import annotations

import re
import threading

import pytest

from casework.extensions import db
from casework.stats import jobs
from casework.stats.models import StatPreview, StatRelease
from tests.browser.conftest import PHONE, check_accessibility, save_screen
from tests.stats.test_browser_release import _download, _sign_in, in_chromium
from tests.stats.test_ledger import Q3, FakeSource
from tests.stats.test_previews import small_geography  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RELEASE_ID = f"{Q3}-r1"
WAIT_MS = 300_000


@pytest.fixture
def source(app, small_geography):  # noqa: F811
    fake = FakeSource()
    fake.add(Q3, 30, "05533")
    fake.add(Q3, 12, "05528", prefix="b", service_code="HEALTH")
    fake.add(Q3, 3, "00004", prefix="h")  # Hà Nội: 3 persons, withheld
    app.extensions["tincay.stats_sources"] = [fake]
    app.config["STATS_RUNNER"] = "worker"  # the test starts the worker once the progress page is seen
    return fake


def _wide(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_coordinator_previews_sees_progress_reads_publishes_and_downloads_without_javascript(
        app, live_server, make_user, source):  # noqa: F811
    walker, reader = make_user("coordinator"), make_user("coordinator")
    seen: dict[str, object] = {}

    def work() -> None:
        with app.app_context():
            seen["computed"] = jobs.work(app, once=True)
            db.session.remove()

    def journey(new_page) -> None:
        page = new_page(PHONE, False)
        _sign_in(page, live_server, walker)
        page.goto(f"{live_server}/statistics/")
        page.get_by_label("Quý", exact=True).select_option(Q3)
        page.get_by_role("button", name="Xem trước", exact=True).click()
        page.wait_for_url(re.compile(r".*/statistics/previews/[0-9a-f]{32}$"))
        preview_url = page.url
        # --- the progress: a bar and a sentence, and the page refreshes itself (no JavaScript) ----------
        assert page.locator("progress#progress").count() == 1
        assert "Đã xong 0%" in page.locator("[role=status]").inner_text()
        assert page.locator('meta[http-equiv="refresh"]').count() == 1
        assert _wide(page) <= PHONE["width"]
        look = new_page(PHONE, True)
        _sign_in(look, live_server, reader)
        look.goto(preview_url)
        save_screen(look, "stats-preview-progress-phone")
        # WCAG 2.2.1 (timing adjustable) is met by the "stop refreshing" link, which axe cannot see: its rule
        # flags any timed refresh. The page without the refresh passes everything.
        check_accessibility(look, allowed=("meta-refresh",))
        look.get_by_role("link", name="Dừng tự tải lại").click()
        assert look.locator('meta[http-equiv="refresh"]').count() == 0
        check_accessibility(look)

        worker = threading.Thread(target=work)
        worker.start()
        # --- the preview, reached by the page's own refresh: what will be withheld and why -------------
        page.wait_for_selector("section[aria-labelledby=summary]", timeout=WAIT_MS)
        worker.join(timeout=60)
        summary = page.locator("section[aria-labelledby=summary] tbody tr")
        assert summary.count() > 0
        assert "số dưới 10" in page.locator("section[aria-labelledby=summary]").inner_text()
        assert set(page.locator("td.withheld").all_inner_texts()) == {"x"}
        assert page.locator('meta[http-equiv="refresh"]').count() == 0
        text = page.locator("main").inner_text()
        for word in ("integer programming", "HiGHS", "p = ", "sdc-suppression"):
            assert word not in text
        assert _wide(page) <= PHONE["width"]
        look.goto(preview_url)
        save_screen(look, "stats-preview-phone")
        look.evaluate("window.scrollTo(0, 0)")
        check_accessibility(look)
        # --- publishing asks for a confirmation -------------------------------------------------------
        page.get_by_role("link", name="Chốt số liệu…").click()
        look.goto(page.url)
        save_screen(look, "stats-publish-phone")
        check_accessibility(look)
        page.get_by_role("button", name="Chốt số liệu", exact=True).click()
        assert page.locator("p.error").count() == 1  # not ticked: nothing published
        page.get_by_label(re.compile("Tôi đã xem bản xem trước")).check()
        page.get_by_role("button", name="Chốt số liệu", exact=True).click()
        page.wait_for_url(f"{live_server}/statistics/releases/{RELEASE_ID}")
        assert page.locator(".flash").inner_text().startswith(f"Đã chốt {RELEASE_ID}.")
        seen["pdf"] = _download(page, "Báo cáo quý")
        seen["xlsx"] = _download(page, "Bảng số liệu cho Excel")

    in_chromium(journey)

    assert seen["computed"] == 1
    db.session.expire_all()
    assert db.session.query(StatRelease).count() == 1
    preview = db.session.query(StatPreview).one()
    assert preview.release_id == RELEASE_ID and preview.state == "done"
    assert seen["pdf"][0] == f"tincay-{RELEASE_ID}.pdf" and seen["pdf"][1].startswith(b"%PDF")
    assert seen["xlsx"][1].startswith(b"PK")
