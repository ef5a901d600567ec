"""Two admins acting on the same account at the same moment (issue 12): one request, one confirmation."""

from __future__ import annotations

import threading

import pytest

from casework.auth import changes
from casework.auth.models import AccountChange, User
from casework.errors import DomainError
from casework.extensions import db
from casework.protect.audit import AuditEvent
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL): SQLite serialises "
                                                   "every writer, so the two admins could never overlap there")


def _race(app, actors, act) -> dict[str, str]:
    barrier = threading.Barrier(len(actors))
    outcomes: dict[str, str] = {}

    def run(user_id: str) -> None:
        with app.test_request_context():
            user = db.session.get(User, user_id)
            barrier.wait(timeout=10)
            try:
                act(user)
                db.session.commit()
                outcomes[user_id] = "won"
            except DomainError as e:
                db.session.rollback()
                outcomes[user_id] = e.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(uid,)) for uid in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_admins_confirming_the_same_reset_at_once_apply_it_once(app, make_user):
    requester, b, c = make_user("admin"), make_user("admin"), make_user("admin")
    target = make_user("auditor")
    with app.test_request_context():
        change_id = changes.request_second_factor_reset(db.session.get(User, requester.id), target.id).id
        db.session.commit()
    outcomes = _race(app, [b.id, c.id], lambda user: changes.confirm(user, change_id))
    assert sorted(outcomes.values()) == ["request_closed", "won"], outcomes
    db.session.expire_all()
    winner = next(uid for uid, o in outcomes.items() if o == "won")
    assert db.session.get(AccountChange, change_id).decided_by_id == winner
    assert db.session.query(AuditEvent).filter_by(action="account_change_apply").count() == 1


def test_two_admins_requesting_the_same_change_at_once_leave_one_pending(app, make_user):
    b, c = make_user("admin"), make_user("admin")
    target = make_user("commune_officer", scope="05533")
    outcomes = _race(app, [b.id, c.id],
                     lambda user: changes.request_change(user, target.id, {"can_override_consent": True}))
    assert sorted(outcomes.values()) == ["pending_confirmation", "won"], outcomes
    assert db.session.query(AccountChange).count() == 1
