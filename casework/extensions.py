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


def read_columns[*Ts](statement: TypedReturnsRows[*Ts], parameters: dict[str, Any] | None = None) -> CursorResult[*Ts]:
    """A SELECT of plain columns on the session's connection, after the session's pending changes are written
    (as its autoflush would): rows, no ORM objects and none of the ORM's per-statement work (issue 18)."""
    db.session.flush()
    return db.session.connection().execute(statement, parameters)


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
