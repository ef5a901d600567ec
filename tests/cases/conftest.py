"""Fixtures of the casework tests: two communes of province 19, one commune of province 11, an account
of every role, and ``make_case`` that records an intake through the service like a host would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from casework.auth.models import User
from casework.auth.services import issue_api_token
from casework.cases import services
from casework.cases.consent import ConsentChoice
from casework.cases.schemas import ContactBanDecisionIn, ContactBanIn, ContactBanRevocationIn
from casework.extensions import db
from casework.models import utcnow

COMMUNE_A = "05533"  # Phường Bá Xuyên, province 19
COMMUNE_B = "05528"  # Phường Bách Quang, province 19
COMMUNE_C = "03127"  # Phường Điện Biên Phủ, province 11
NAME = "Nguyễn Thị Hạnh"
PHONE = "0912 345 678"


@dataclass
class World:
    addr_a: object
    addr_a2: object
    addr_b: object
    addr_c: object
    host_a: object
    host_b: object
    host_c: object
    officer_a: object
    officer_b: object
    province_19: object
    province_11: object
    coordinator: object
    admin: object
    auditor: object
    provider: object


@pytest.fixture
def world(app, make_user, make_address) -> World:
    addr_a = make_address(COMMUNE_A, name="ĐCTC A")
    addr_a2 = make_address(COMMUNE_A, name="ĐCTC A2")
    addr_b = make_address(COMMUNE_B, name="ĐCTC B")
    addr_c = make_address(COMMUNE_C, name="ĐCTC C")
    return World(
        addr_a=addr_a, addr_a2=addr_a2, addr_b=addr_b, addr_c=addr_c,
        host_a=make_user("host", address_ids=(addr_a.id,), username="host_a"),
        host_b=make_user("host", address_ids=(addr_b.id,), username="host_b"),
        host_c=make_user("host", address_ids=(addr_c.id,), username="host_c"),
        officer_a=make_user("commune_officer", scope=COMMUNE_A, username="officer_a"),
        officer_b=make_user("commune_officer", scope=COMMUNE_B, username="officer_b"),
        province_19=make_user("province_officer", scope="19", username="province_19"),
        province_11=make_user("province_officer", scope="11", username="province_11"),
        coordinator=make_user("coordinator", username="coordinator1"),
        admin=make_user("admin", username="admin1"),
        auditor=make_user("auditor", username="auditor1"),
        provider=make_user("service_provider", organisation_id="org-000000000000000001", username="provider1"),
    )


def user_of(account) -> User:
    return db.session.get(User, account.id)


def intake(address, **changes) -> services.IntakeData:
    person = changes.pop("person", None) or services.PersonData(
        full_name=NAME, birth_year=1990, phone=PHONE, ethnicity_code="01", sex="female")
    data = services.IntakeData(
        address_id=address.id, intake_at=utcnow() - timedelta(hours=2), person=person, acts=("a", "b"),
        relationship="spouse", narrative="Chồng đánh bằng gậy.", injuries="Bầm tay trái",
        consent=ConsentChoice(record=True, statistics=True, share=(("police", ()),)))
    return services.with_changes(data, **changes)


@pytest.fixture
def make_case(app):
    """``make_case(account, address, **intake changes)`` → the case id, committed."""

    def make(account, address, **changes) -> str:
        case = services.create_case(user_of(account), intake(address, **changes))
        db.session.commit()
        return case.id

    return make


@pytest.fixture
def token(app):
    def make(account) -> dict[str, str]:
        value, _ = issue_api_token(user_of(account))
        db.session.commit()
        return {"Authorization": f"Bearer {value}"}

    return make


@pytest.fixture
def signed_in(app, login):
    """``signed_in(account)`` → a test client with a session of that account."""

    def make(account):
        client = app.test_client()
        login(client, account)
        return client

    return make


@pytest.fixture
def req(app):
    """A request context, for calling services directly (their messages are translated per request)."""
    with app.test_request_context():
        yield


# Contact bans as the services take them (issue 14): read by the same schemas as the API and the forms.


def ban_request(requested_at, requester, victim_consented=False, *, origin="request", life_threatened=False):
    return ContactBanIn.from_values(requested_at=requested_at, requester=requester, victim_consented=victim_consented,
                                    chair_initiative=origin == "chair_initiative", life_threatened=life_threatened)


def ban_decision(decision, decided_at=None, valid_from=None, valid_until=None, decision_ref=None):
    return ContactBanDecisionIn.from_values(decision=decision, decided_at=decided_at, valid_from=valid_from,
                                            valid_until=valid_until, decision_ref=decision_ref)


def court_ban(**values):
    return ContactBanIn.from_values(kind="court", **values)


def revocation(reason, on):
    return ContactBanRevocationIn.from_values(reason=reason, date=on)
