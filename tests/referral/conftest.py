"""Fixtures of the referral tests: organisations, cases made through the casework services, tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from casework.auth.models import User
from casework.auth.services import issue_api_token
from casework.extensions import db
from casework.models import utcnow
from referral.models import Organisation

COMMUNE = "05533"  # Thái Nguyên (province 19)
OTHER_COMMUNE = "05528"  # Thái Nguyên too
NAME = "Nguyễn Thị Bí Mật"
PHONE = "0912 345 678"
NARRATIVE = "Ghi chú riêng tư không được chia sẻ"
SAFETY_PLAN = "Kế hoạch an toàn riêng tư"


def user_of(account) -> User:
    return db.session.get(User, account.id)


def bearer(account) -> dict:
    token, _ = issue_api_token(user_of(account))
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_org(app):
    def make(services=("police",), communes=(COMMUNE,), province="19", active=True,
             name="Công an xã Thử") -> Organisation:
        org = Organisation(name=name, kind="commune_police", province_code=province, contact="", active=active)
        org.services = list(services)
        org.commune_codes = list(communes)
        db.session.add(org)
        db.session.commit()
        return org

    return make


@pytest.fixture
def make_case(app):
    """``make_case(host_account, share={"police": ("age_band", "acts")}, birth_year=1990)`` → a case, via the
    casework intake service, with the given consent to share (an empty tuple shares the standard set)."""
    from casework.cases import services
    from casework.cases.consent import ConsentChoice

    def make(account, share=None, birth_year: int | None = 1990, statistics: bool = True, children_ages=(),
             risk=frozenset()):
        actor = user_of(account)
        share = {"police": ("age_band", "acts")} if share is None else share
        data = services.IntakeData(
            address_id=actor.addresses[0].id, intake_at=utcnow() - timedelta(hours=3),
            person=services.PersonData(full_name=NAME, birth_year=birth_year, sex="female", phone=PHONE,
                                       id_number="001190012345", home_address="Thôn Bí Mật"),
            acts=("a", "b"), relationship="spouse", children_count=len(children_ages),
            children_ages=tuple(children_ages),
            injuries="Vết bầm", first_aid_given=True, first_aid="Băng bó", safety_plan=SAFETY_PLAN,
            narrative=NARRATIVE, risk_factors=frozenset(risk),
            consent=ConsentChoice(record=True, statistics=statistics, share=tuple(share.items())))
        case = services.create_case(actor, data)
        db.session.commit()
        return case

    return make


@dataclass
class World:
    host: object
    officer: object
    provider: object
    other_provider: object
    org: Organisation
    other_org: Organisation
    case: object


@pytest.fixture
def world(app, make_user, make_address, make_org, make_case) -> World:
    """A host at an address of commune 05533 with a case that consents to share age group and acts with the
    police; the commune officer; a police post serving the commune with one provider; another organisation
    (health, same commune) with its own provider."""
    address = make_address(COMMUNE)
    host = make_user("host", address_ids=(address.id,))
    officer = make_user("commune_officer", scope=COMMUNE)
    org = make_org(services=("police",))
    other_org = make_org(services=("health", "police"), name="Trạm y tế xã Thử")
    provider = make_user("service_provider", organisation_id=org.id)
    other_provider = make_user("service_provider", organisation_id=other_org.id)
    case = make_case(host)
    return World(host, officer, provider, other_provider, org, other_org, case)


def send(client, world, headers=None, **overrides):
    body = {"organisation_id": world.org.id, "service": "police", "urgency": "normal",
            "reason": "Cần công an bảo vệ"}
    body.update(overrides)
    return client.post(f"/api/v1/cases/{world.case.id}/referrals", json=body, headers=headers or bearer(world.host))


def in_chromium(journey) -> None:
    """Run ``journey(new_page)`` with the worker's one Chromium (tests/browser/chromium.py); ``new_page(javascript=…)``
    opens a fresh 360×740 context."""
    from tests.browser.chromium import PHONE, journey_browser

    with journey_browser(300, "the browser journey did not finish within 5 minutes") as chromium:

        def new_page(javascript: bool = True):
            # bypass_csp lets the test inject axe-core; the app's own CSP is checked by the header tests.
            context = chromium.new_context(viewport=PHONE, java_script_enabled=javascript, locale="vi-VN",
                                           bypass_csp=True, service_workers="block")
            return context.new_page()

        journey(new_page)


def sign_in_browser(page, base_url: str, account) -> None:
    """Sign in from the browser's thread: the code comes from the secret (each account signs in once)."""
    import pyotp

    page.goto(f"{base_url}/login")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.fill("#totp", pyotp.TOTP(account.secret).now())
    page.click("button[type=submit].primary")
    assert "/login" not in page.url
