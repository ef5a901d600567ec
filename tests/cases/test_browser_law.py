"""The screens issue 15 changed, on a 360×740 phone without JavaScript, checked with axe-core and saved for the
user guide (``SAVE_SCREENS=1`` writes docs/screens/law-*.png):

- the intake of a 2024 case with the units of its time (pre-2025 commune of Bình Phước) and an act Decree 76/2023
  does not count for a divorced couple: it saves, and the case page shows the warning;
- the contact-ban forms (Law 13/2022 Arts. 25–26: request or the chair's own initiative, court ban, revocation);
- the trafficking statuses of Law 53/2024 and a child who came with her (Art. 37(2), items a–h);
- a 2024 statistics release in the pre-2025 units and mapped to the 2025 units.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pyotp
import pytest

from casework.cases import services
from casework.cases.models import Case
from casework.extensions import db
from casework.models import utcnow
from casework.stats import service as stats
from casework.text import VN_TZ
from livelihood import services as lv
from livelihood.models import AccompanyingChild
from tests.browser.chromium import journey_browser
from tests.browser.conftest import check_accessibility, save_screen
from tests.cases.conftest import ban_decision, ban_request, intake, user_of
from tests.livelihood.conftest import survivor_input

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
NEW_PHUOC_LONG = "25217"  # Phường Phước Long, Thành phố Đồng Nai (2025)
OLD_THAC_MO = "25216"  # Phường Thác Mơ, Thị xã Phước Long, Tỉnh Bình Phước (before 1 July 2025)


def in_chromium(journey) -> None:
    """``journey(browser)`` with the worker's one Chromium (tests/browser/chromium.py)."""
    seconds = int(os.environ.get('LAW_BROWSER_TIMEOUT', '400'))
    with journey_browser(seconds, "the browser journey did not finish within 400 s") as browser:
        journey(browser)


def screen(page, name: str, open_details: str | None = None) -> None:
    """Check and save the page the journey (JavaScript off) is on. axe-core and the width check need a script,
    so they run on the same URL in a twin page with the same cookies and JavaScript on (as the livelihood and
    statistics journeys do); the screen is the same without a script."""
    twin_ctx = page.context.browser.new_context(viewport=PHONE, locale="vi-VN", bypass_csp=True,
                                                service_workers="block",
                                                storage_state=page.context.storage_state())
    try:
        twin = twin_ctx.new_page()
        twin.set_default_timeout(90_000)
        twin.goto(page.url)
        if open_details:
            twin.click(open_details)
        assert twin.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url
        check_accessibility(twin)
        save_screen(twin, name)
    finally:
        twin_ctx.close()


def sign_in(browser, base: str, account):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="vi-VN",
                                  service_workers="block")
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{base}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.fill("#totp", pyotp.TOTP(account.secret).now())
    page.click("button[type=submit].primary")
    assert "/login" not in page.url
    return context, page


def vn(*parts) -> datetime:
    return datetime(*parts, tzinfo=VN_TZ)


def test_the_law_screens_on_a_phone_without_javascript(app, live_server, make_address, make_user):
    address = make_address(NEW_PHUOC_LONG, name="ĐCTC Phước Long")
    host = make_user("host", address_ids=(address.id,), username="host_law")
    officer = make_user("commune_officer", scope=NEW_PHUOC_LONG, username="xa_law")
    coordinator = make_user("coordinator", username="coord_law")
    # A 2024 release: 24 women recorded in Phường Thác Mơ of Bình Phước, as it was then.
    for day in range(1, 25):
        person = services.PersonData(full_name="Trần Thị Thu", birth_year=1960 + 2 * day,
                                     ethnicity_code=("01", "02", "03")[day % 3])
        services.create_case(user_of(host), intake(address, intake_at=vn(2024, 2, day, 9), person=person,
                                                   legacy_commune_code=OLD_THAC_MO,
                                                   acts=(("a",), ("b",), ("n",), ("a", "b"))[day % 4]))
    release = stats.make_release("2024Q1", None)
    # A case with a granted commune ban, to revoke; a survivor for the children.
    case = services.create_case(user_of(host), intake(address))
    ban = services.request_contact_ban(user_of(host), case, ban_request(None, "victim", True))
    now = utcnow()
    services.decide_contact_ban(user_of(host), case, ban.id, ban_decision("granted", now, now, now + timedelta(days=3)))
    survivor = lv.register_survivor(user_of(officer), survivor_input(NEW_PHUOC_LONG))
    db.session.flush()
    case_id, ban_id, survivor_id, release_id = case.id, ban.id, survivor.id, release.id
    db.session.commit()
    db.session.close()  # no read lock of this thread's SQLite connection while the server writes
    found: dict = {}

    def journey(browser) -> None:
        ctx, page = sign_in(browser, live_server, host)
        page.goto(f"{live_server}/cases/new")
        page.fill("#intake_at", "2024-03-05T21:30")
        page.fill("#full_name", "Lê Thị Mai")
        page.select_option("#relationship", "divorced")
        page.check("input[name=acts][value=a]")
        page.check("input[name=acts][value=n]")
        page.click("#pre2025 summary")
        page.select_option("#legacy_commune_code", OLD_THAC_MO)
        page.check("#consent_record")
        screen(page, "law-intake-pre2025-phone", open_details="#pre2025 summary")
        page.click("button[type=submit].primary")
        assert "/cases/new" not in page.url, page.locator(".error").all_inner_texts()
        found["new_case"] = page.url.rsplit("/", 1)[-1]
        assert "NĐ 76/2023" in page.content() or "76/2023" in page.content()
        assert "Phường Thác Mơ, Thị xã Phước Long, Tỉnh Bình Phước" in page.content()
        screen(page, "law-case-not-counted-warning-phone")

        page.goto(f"{live_server}/cases/{case_id}/contact-bans/new")
        assert "Điều 25" in page.content()
        screen(page, "law-contact-ban-request-phone")
        page.goto(f"{live_server}/cases/{case_id}/contact-bans/court")
        assert "Điều 26" in page.content()
        screen(page, "law-contact-ban-court-phone")
        page.goto(f"{live_server}/cases/{case_id}/contact-bans/{ban_id}/revoke")
        assert "khoản 4 Điều 25" in page.content()
        screen(page, "law-contact-ban-revoke-phone")
        ctx.close()

        ctx, page = sign_in(browser, live_server, officer)
        page.goto(f"{live_server}/livelihood/survivors/new")
        for label in ("Đang xác minh", "Đã xác định là nạn nhân", "Không phải nạn nhân"):
            assert label in page.content()
        screen(page, "law-trafficking-status-phone")
        page.goto(f"{live_server}/livelihood/survivors/{survivor_id}/children/new")
        page.fill("#name", "Bé Na")
        page.fill("#birth_year", "2019")
        page.check("input[name=supports][value=a]")
        page.check("input[name=supports][value=h]")
        screen(page, "law-child-form-phone")
        page.click("button[type=submit].primary")
        assert page.url.endswith(f"/livelihood/survivors/{survivor_id}#children"), page.url
        assert "Bé Na" in page.content()
        page.locator("#children").scroll_into_view_if_needed()
        screen(page, "law-survivor-children-phone")
        ctx.close()

        ctx, page = sign_in(browser, live_server, coordinator)
        page.goto(f"{live_server}/statistics/releases/{release_id}")
        assert "Tỉnh Bình Phước" in page.content()
        screen(page, "law-release-pre2025-units-phone")
        page.click("a:text-is('Quy đổi sang đơn vị năm 2025')")  # not the download of the same name
        assert "Thành phố Đồng Nai" in page.content() and "Tỉnh Bình Phước" not in page.content()
        screen(page, "law-release-2025-view-phone")
        ctx.close()

    in_chromium(journey)
    db.session.expire_all()
    saved = db.session.get(Case, found["new_case"])
    assert saved.legacy_commune_code == OLD_THAC_MO and saved.acts_not_counted == ["n"] and saved.dv_counted
    assert db.session.query(AccompanyingChild).filter_by(survivor_id=survivor_id).count() == 1
