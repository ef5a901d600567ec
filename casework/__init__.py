"""Tin Cậy: the application factory. It reads like a table of contents (STYLE rule 1)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from casework.config import Settings, instance_folder, load_settings
from casework.routing import LazyBuilderRule


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    instance_path = instance_folder()
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
    )
    app.url_rule_class = LazyBuilderRule  # each URL builder compiled at its first use (casework/routing.py)
    settings = load_settings(instance_path, test_config)
    configure_settings(app, settings)
    configure_logging(app)
    configure_data_files(settings)
    configure_keys(app, settings)
    configure_extensions(app, settings)
    configure_models()
    configure_i18n(app)
    configure_security(app)
    configure_blueprints(app)
    configure_rate_limits(app)
    configure_errors(app)
    configure_cli(app)
    from casework.protect.chainer import install

    install(app)
    return app


def configure_settings(app: Flask, s: Settings) -> None:
    app.config.update(
        SETTINGS=s,
        TESTING=s.environment == "testing",
        SQLALCHEMY_DATABASE_URI=s.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(s),
        MAX_CONTENT_LENGTH=s.max_upload_mb * 1024 * 1024,
        SESSION_COOKIE_NAME="__Host-tincay" if s.force_https else "tincay",
        SESSION_COOKIE_SECURE=s.force_https,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=s.session_absolute_hours * 3600,
        # Only a response that changed the session sends its cookie. Else each page's background reads
        # (offline.js) answer with the cookie as it was when they started and can overwrite a newer one,
        # dropping the message a form just left for the next page. The server-side session row holds
        # the idle and absolute timeouts, so the cookie need not be refreshed to expire on time.
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,  # the session's own timeouts bound the token's life
        WTF_CSRF_SSL_STRICT=s.force_https,
        RATELIMIT_STORAGE_URI=s.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=False,
        BABEL_DEFAULT_LOCALE=s.default_locale,
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        BABEL_TRANSLATION_DIRECTORIES=";".join(
            str(Path(__file__).resolve().parent.parent / d / "translations")
            for d in ("casework", "casework/cases", "casework/stats", "casework/offline", "referral", "livelihood")
        ),
        PREFERRED_URL_SCHEME="https" if s.force_https else "http",
        JSON_SORT_KEYS=False,
    )
    app.config.update({k: v for k, v in s.extra.items() if k.isupper()})


def _engine_options(s: Settings) -> dict[str, Any]:
    if s.uses_sqlite:
        return {"connect_args": {"timeout": 30}}
    # No ping before each checkout (issue 18: a round trip on every request). Connections are replaced after
    # ``pool_recycle`` seconds instead, below the idle timeouts of PostgreSQL proxies and firewalls; one
    # dropped anyway (a database restart) fails that request once and the pool discards it (SQLAlchemy
    # invalidates the whole pool on a disconnect error), so the next request gets a fresh connection.
    from casework.dbapi import Cursor

    return {"pool_pre_ping": False, "pool_recycle": s.db_pool_recycle_seconds, "pool_size": 5, "max_overflow": 5,
            "connect_args": {"cursor_factory": Cursor}}


def configure_logging(app: Flask) -> None:
    # Request lines carry only the method, endpoint and status (no query strings): see casework.web.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.logger.setLevel(logging.INFO)
    if app.config["SETTINGS"].benchmark_unaudited_reads:  # refused in production (casework.config)
        app.logger.warning("benchmark_unaudited_reads is on: reads of records write no audit event "
                           "(benchmarks only)")


def configure_keys(app: Flask, s: Settings) -> None:
    """Refuse to start without the key files (DESIGN §3.3); only ``keys init`` may run before they exist.

    The keys must also match the database: each key version's check value in ``key_canary`` must decrypt
    (``casework.protect.keycheck``), so a wrong or replaced key file stops the app too.
    """
    from casework.protect.keycheck import check_key_canaries
    from casework.protect.keys import load_keys, open_to_others, require_private

    if s.environment == "production":
        require_private(Path(s.keys_dir))  # a key others can read decrypts every case
    else:
        for path, mode in open_to_others(Path(s.keys_dir)):
            logging.getLogger("casework.protect").warning("key path %s has mode %04o: production would refuse "
                                                          "to start", path, mode)
    keys = load_keys(Path(s.keys_dir))  # no keys, no app: `keys init` runs without one (casework/cli.py)
    check_key_canaries(keys, s.database_url)
    app.extensions["tincay.keys"] = keys
    app.secret_key = keys.secret_key


def configure_extensions(app: Flask, s: Settings) -> None:
    from casework import web
    from casework.auth import passwords
    from casework.extensions import csrf, db, limiter, login_manager, migrate

    if s.environment == "testing":
        passwords.configure(time_cost=1, memory_cost=256)  # KiB: 0.3 ms a hash (8 MiB: 2.7 ms), thousands in the suite
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    app.session_interface = web.CookieSessions()
    limiter.init_app(app)
    login_manager.init_app(app)
    if s.uses_sqlite:
        from sqlalchemy import event

        with app.app_context():
            @event.listens_for(db.engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA journal_mode=WAL")
                cur.close()


def configure_data_files(s: Settings) -> None:
    if s.uses_sqlite:
        private_sqlite_file(s.database_url)


def private_sqlite_file(database_url: str) -> None:
    """Create the embedded SQLite database file 0600 (its folder 0700 when we create it), before SQLite does.

    SQLite would create it with the process umask (often 0644: readable by every account on the server);
    its -wal and -shm files take the database file's mode. An existing file open to group or others is
    narrowed to 0600: it holds every case's ciphertext, wrapped keys and the audit trail.
    """
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        try:
            os.chmod(path, 0o600)
        except OSError:  # not ours to change: say so, the operator decides
            logging.getLogger("casework").warning("database file %s has mode %04o; make it 0600", path, mode)
            return
        logging.getLogger("casework").warning("database file %s had mode %04o; narrowed to 0600", path, mode)


def configure_models() -> None:
    """Import every model module so that the metadata (and ``flask db check``) sees all tables."""
    import casework.auth.models
    import casework.cases.models
    import casework.drafts.models
    import casework.notify
    import casework.offline.models
    import casework.protect.audit
    import casework.protect.fields
    import casework.stats.models  # noqa: F401


def configure_i18n(app: Flask) -> None:
    from casework.web import configure_i18n as _configure

    _configure(app)


def configure_security(app: Flask) -> None:
    from casework.web import configure_request_cycle

    configure_request_cycle(app)


def configure_blueprints(app: Flask) -> None:
    # Domain packages are imported here and nowhere else in casework (DESIGN §3.1).
    import livelihood
    import referral
    from casework import api, cases, main, offline, work_api
    from casework.api import core as api_core
    from casework.auth import admin_bp
    from casework.auth import api as auth_api
    from casework.auth import bp as auth_bp
    from casework.auth import views as _auth_views  # noqa: F401
    from casework.protect import views as _protect_views  # noqa: F401
    from casework.protect.views import bp as audit_bp
    from casework.stats import api as stats_api
    from casework.stats.views import bp as stats_bp

    api.contribute(app, api_core, auth_api, stats_api, work_api)
    app.register_blueprint(main.bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(stats_bp)
    from casework import digest, drafts, notify, work
    from casework.auth import changes

    work.register(app)
    drafts.register(app)  # issue 13: forms that survive a lost session
    notify.register(app)
    digest.register(app)
    changes.register_work(app)
    cases.register(app)
    offline.register(app)
    for domain in (referral, livelihood):
        domain.register(app)
    api.install(app)
    configure_nav(app)


def configure_rate_limits(app: Flask) -> None:
    """Flask-Limiter checks, before every request, the limits that apply to all routes (application, default,
    blueprint and fallback limits). Tin Cậy sets none: the sign-in routes carry their own limits, which their
    decorators check when those views run. So, unless configuration adds such a limit, that check is dropped
    (issue 18: a few per cent of every page, for nothing). Runs after the blueprints are registered."""
    from casework.extensions import limiter

    if limiter not in app.extensions.get("limiter", ()):  # RATELIMIT_ENABLED off: no hook was installed
        return
    manager = limiter.limit_manager
    # Private attributes read with a default that keeps the check, should a later Flask-Limiter rename them.
    if (manager.application_limits or manager.default_limits or getattr(manager, "_blueprint_limits", True)
            or getattr(limiter, "_meta_limits", True) or getattr(limiter, "_in_memory_fallback", True)):
        return
    hooks = app.before_request_funcs.get(None, [])
    hooks[:] = [hook for hook in hooks if hook != limiter._check_request_limit]


def configure_nav(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from casework import nav
    from casework.auth.roles import Role

    nav.add(app, "admin.users", _l("Accounts"), [Role.ADMIN], order=80)
    nav.add(app, "audit.events", _l("Audit trail"), [Role.AUDITOR], order=80)
    nav.add(app, "stats.index", _l("Statistics"), [Role.COORDINATOR], order=60)
    nav.add(app, "stats.charts", _l("Charts"), [Role.COORDINATOR], order=61)
    nav.add(app, "stats.province", _l("Statistics"), [Role.PROVINCE_OFFICER], order=60)


def configure_errors(app: Flask) -> None:
    from casework.web import configure_errors as _configure

    _configure(app)


def configure_cli(app: Flask) -> None:
    from casework.cli import register

    register(app)


def new_request_id() -> str:
    return secrets.token_hex(8)
