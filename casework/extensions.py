"""Extension objects, created unbound; ``create_app`` binds them."""

from typing import TYPE_CHECKING, Any, cast

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

# STYLE rule 6: one naming convention from the first migration, so constraints have stable names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
# What models subclass. Flask-SQLAlchemy builds ``db.Model`` at run time from ``Base``; type checkers see
# ``Base`` itself, so mapped attributes are typed (``Mapped[...]``) without a plugin.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


class BuiltOnceCache:
    """SQLAlchemy's cache of compiled statements, for statements built once and kept (issue 18).

    SQLAlchemy finds a statement's compiled form by its cache key: a nested tuple of the whole statement, which
    Python hashes anew on every look-up (tuples keep no hash). For the case page's statement (140 columns,
    its joins and probes) that hashing was about 2 % of a case view. A statement built once keeps the same key
    object for its life, so this cache finds it by the key's identity first. An entry holds its key, so no other
    object can take that identity while the entry lives, and each hit checks it. A statement new to the cache
    is found by value (one hash), so statements of the same shape (one per user scope) share one compiled form.
    Both maps are emptied when full: the statements are then compiled or hashed once more.

    Only for statements kept for the process (``functools.cache``, ``scoped_statement``): one built per request
    would add an entry per request. Passed as the ``compiled_cache`` execution option (``BUILT_ONCE``), which
    SQLAlchemy accepts only on a connection or an execution, not on a statement.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._by_identity: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = {}
        self._by_value: dict[tuple[Any, ...], Any] = {}

    @staticmethod
    def _slot(key: tuple[Any, ...]) -> tuple[Any, ...]:
        # SQLAlchemy's key: (dialect, the statement's cache key, the parameter names, two flags).
        return (id(key[0]), id(key[1]), *key[2:])

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        entry = self._by_identity.get(self._slot(key))
        if entry is not None and entry[0][0] is key[0] and entry[0][1] is key[1] and entry[0][2:] == key[2:]:
            return entry[1]
        compiled = self._by_value.get(key)
        if compiled is None:
            return default
        self._remember(key, compiled)
        return compiled

    def __setitem__(self, key: tuple[Any, ...], compiled: Any) -> None:
        if len(self._by_value) >= self.size:
            self._by_value.clear()
        self._by_value[key] = compiled
        self._remember(key, compiled)

    def _remember(self, key: tuple[Any, ...], compiled: Any) -> None:
        if len(self._by_identity) >= self.size:
            self._by_identity.clear()
        self._by_identity[self._slot(key)] = (key, compiled)


BUILT_ONCE = {"compiled_cache": BuiltOnceCache()}


def read_columns[*Ts](statement: TypedReturnsRows[*Ts], parameters: dict[str, Any] | None = None, *,
                      built_once: bool = False) -> CursorResult[*Ts]:
    """A SELECT of plain columns on the session's connection, after the session's pending changes are written
    (as its autoflush would): rows, no ORM objects and none of the ORM's per-statement work (issue 18).
    ``built_once``: the statement is kept for the process (``BuiltOnceCache``)."""
    db.session.flush()
    return db.session.connection().execute(statement, parameters, execution_options=BUILT_ONCE if built_once else None)


def execute_dml(statement: Executable) -> CursorResult[Any]:
    """``db.session.execute`` for an UPDATE, INSERT or DELETE, typed with its ``rowcount``: SQLAlchemy types
    every ``Session.execute`` as a plain ``Result``, which has none."""
    return cast("CursorResult[Any]", db.session.execute(statement))


migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
login_manager = LoginManager()
# Sessions are ours (casework.auth.services: a server-side row per sign-in, found by the hash of the cookie's token,
# with idle and absolute limits, ended on sign-out, by an administrator or when the account is disabled);
# Flask-Login only asks our request loader who is there. Its "session protection" compares an identifier that only
# its own ``login_user`` stores, which we never call: it protected nothing, hashed the client's address on every
# request and rewrote the session cookie (a "_fresh" mark no code reads) on the first page after every sign-in.
login_manager.session_protection = None
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)
