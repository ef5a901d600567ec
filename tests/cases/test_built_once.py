"""The compiled-statement cache for statements built once (casework.extensions.BuiltOnceCache, issue 18): a kept
statement is found again by its key's identity, statements of one shape share their compiled form, and no entry
is ever taken for another statement."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from casework.auth.models import User
from casework.extensions import BuiltOnceCache, db


def _by_username() -> object:
    return select(User.id, User.username).where(User.username == bindparam("name"))


def _run(statement, cache: BuiltOnceCache, **parameters):
    return db.session.connection().execute(statement, parameters, execution_options={"compiled_cache": cache})


def test_a_kept_statement_is_compiled_once_and_found_again_by_identity(app, world):
    cache, statement = BuiltOnceCache(), _by_username()
    first = _run(statement, cache, name=world.host_a.username)
    assert first.all() == [(world.host_a.id, world.host_a.username)]
    assert first.context.cache_hit == first.dialect.CACHE_MISS
    cache._by_value.clear()  # found again without a look-up by value (no hash of the key)
    again = _run(statement, cache, name=world.host_b.username)
    assert again.all() == [(world.host_b.id, world.host_b.username)]  # the same compiled form, its own values
    assert again.context.cache_hit == again.dialect.CACHE_HIT
    assert again.context.compiled is first.context.compiled
    assert len(cache._by_identity) == 1 and not cache._by_value


def test_statements_of_one_shape_share_their_compiled_form_and_others_get_their_own(app, world):
    cache = BuiltOnceCache()
    one, same_shape = _by_username(), _by_username()  # built apart, as for two scopes: equal keys
    other = select(User.id).where(User.id == bindparam("name"))
    compiled_one = _run(one, cache, name=world.host_a.username).context.compiled
    shared = _run(same_shape, cache, name=world.host_a.username)
    assert shared.context.cache_hit == shared.dialect.CACHE_HIT and shared.context.compiled is compiled_one
    assert _run(other, cache, name=world.host_a.id).all() == [(world.host_a.id,)]
    assert len(cache._by_value) == 2 and len(cache._by_identity) == 3


def test_an_entry_is_never_taken_for_another_key_even_where_their_slots_meet(monkeypatch):
    # As if an id were reused by another object: every key's slot is the same one.
    monkeypatch.setattr(BuiltOnceCache, "_slot", staticmethod(lambda _key: ("the same slot",)))
    cache, dialect = BuiltOnceCache(), object()
    kept, other = ("select", 1), ("select", 2)
    cache[(dialect, kept, (), False, False)] = "compiled for kept"
    assert cache.get((dialect, kept, (), False, False)) == "compiled for kept"
    assert cache.get((dialect, other, (), False, False)) is None  # the identity check refuses the entry
    assert cache.get((object(), kept, (), False, False)) is None  # another dialect
    assert cache.get((dialect, ("select", 1), (), False, False)) == "compiled for kept"  # equal: found by value
    assert cache.get((dialect, kept, ("name",), False, False)) is None  # other parameters, another form


def test_a_full_cache_is_emptied_and_still_answers_rightly(app, world):
    cache = BuiltOnceCache(size=2)
    statements = [select(User.id).where(User.username == bindparam("name")),
                  select(User.username).where(User.id == bindparam("name")),
                  select(User.id, User.role).where(User.username == bindparam("name"))]
    for _ in range(2):
        assert _run(statements[0], cache, name=world.host_a.username).all() == [(world.host_a.id,)]
        assert _run(statements[1], cache, name=world.host_a.id).all() == [(world.host_a.username,)]
        assert _run(statements[2], cache, name=world.host_a.username).all() == [(world.host_a.id, world.host_a.role)]
    assert len(cache._by_value) <= 2 and len(cache._by_identity) <= 2
