"""Two receivers accepting the same referral at the same moment: exactly one wins (issue 5, Bad input)."""

from __future__ import annotations

import threading

import pytest

from casework.auth.models import User
from casework.errors import StateError
from casework.extensions import db
from casework.protect.audit import AuditEvent
from referral import services
from referral.models import Referral
from tests.conftest import PG_URL
from tests.referral.conftest import send

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL): SQLite serialises every "
                                                    "writer, so the two accepts could never overlap there")]


def test_two_receivers_accepting_at_once_exactly_one_wins(app, client, world, make_user):
    referral_id = send(client, world).get_json()["id"]
    second = make_user("service_provider", organisation_id=world.org.id)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def accept(user_id: str) -> None:
        with app.test_request_context():
            user = db.session.get(User, user_id)
            referral = db.session.get(Referral, referral_id)
            barrier.wait(timeout=10)
            try:
                services.accept_referral(user, referral)
                db.session.commit()
                outcomes[user_id] = "won"
            except StateError:
                db.session.rollback()
                outcomes[user_id] = "lost"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(uid,)) for uid in (world.provider.id, second.id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()) == ["lost", "won"], outcomes
    db.session.expire_all()
    referral = db.session.get(Referral, referral_id)
    winner = next(uid for uid, o in outcomes.items() if o == "won")
    assert referral.state == "accepted" and referral.accepted_by_id == winner
    assert db.session.query(AuditEvent).filter_by(action="referral_accept").count() == 1
