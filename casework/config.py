"""Typed settings, read once at start-up from the instance file and the environment.

Order of precedence: built-in defaults < ``instance/settings.toml`` < ``TINCAY_*`` environment
variables < the ``test_config`` mapping given to ``create_app``. Every value is checked here, so a
typo or a dangerous production setting stops the app before it serves anything.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """A setting is missing, malformed or unsafe; the message names the setting, never a secret."""


ENVIRONMENTS = ("development", "testing", "production")


def setting[T](default: T, *, at_least: int | None = None, at_most: int | None = None,
               one_of: tuple[str, ...] | None = None, secret: bool = False) -> T:
    """A setting's default and the values it accepts, checked at start-up by ``_check``; a ``secret`` one is
    left out of the settings' repr."""
    rules = {"at_least": at_least, "at_most": at_most, "one_of": one_of}
    return field(default=default, repr=not secret, metadata={k: v for k, v in rules.items() if v is not None})


def _check(name: str, value: Any, rules: Mapping[str, Any]) -> None:
    if "one_of" in rules and value not in rules["one_of"]:
        raise ConfigError(f"Setting {name} must be one of {', '.join(rules['one_of'])}.")
    low, high = rules.get("at_least"), rules.get("at_most")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"Setting {name} must be {bounds}.")


@dataclass(frozen=True)
class Settings:
    environment: str = setting("development", one_of=ENVIRONMENTS)
    database_url: str = ""  # empty: SQLite in the instance folder
    keys_dir: str = ""  # empty: <instance>/keys
    checkpoint_dir: str = ""  # empty: <instance>/checkpoints
    attachments_dir: str = ""  # empty: <instance>/attachments
    ratelimit_storage_uri: str = "memory://"
    session_idle_minutes: int = setting(30, at_least=1)
    session_absolute_hours: int = setting(12, at_least=1)
    login_max_failures: int = setting(5, at_least=1)
    login_lockout_minutes: int = setting(15, at_least=1)
    login_rate_limit: str = "20 per minute"
    api_token_hours: int = setting(8, at_least=1)
    max_upload_mb: int = setting(10, at_least=1, at_most=100)
    # An .xlsx upload expanding beyond this is refused (zip bomb).
    xlsx_max_uncompressed_mb: int = setting(20, at_least=1)
    force_https: bool = False
    allow_embedded_defaults: bool = False
    default_locale: str = setting("vi", one_of=("vi", "en"))
    exit_url: str = "https://www.google.com/search?q=th%E1%BB%9Di+ti%E1%BA%BFt"
    # Issue 17: entries sealed offline older than this are kept as drafts instead of saved; an offline
    # private key replaced by ``keys rotate --offline`` still opens entries for this many days.
    offline_max_age_days: int = setting(30, at_least=1)
    offline_key_grace_days: int = setting(60, at_least=0)
    # Issue 13: the daily e-mail digest (``flask notify digest``), off while smtp_host is empty. public_url is
    # the address users open the app at: the digest's link to the queue starts with it.
    smtp_host: str = ""
    smtp_port: int = setting(587, at_least=1, at_most=65535)
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password: str = setting("", secret=True)  # better from TINCAY_SMTP_PASSWORD than the file
    mail_from: str = ""
    public_url: str = ""
    # Issue 18: PostgreSQL connections are replaced after this many seconds instead of pinged on each request.
    db_pool_recycle_seconds: int = setting(300, at_least=1)
    # Issue 18: each web process runs the deadline sweep (``flask notify overdue``) in a background thread at
    # most this often, never inside a page; 0 leaves it to cron alone (the default while testing).
    notify_sweep_seconds: int = setting(60, at_least=0)
    # Issue 18: the audit chainer. "thread": the app seals events itself (embedded default); "off": run
    # ``flask audit chainer`` beside the app (production). Anchors every audit_anchor_seconds (0: never) to
    # the database, checkpoint_dir, each of audit_witness_dirs (comma-separated) and audit_witness_url.
    audit_chainer: str = setting("thread", one_of=("thread", "off"))
    audit_anchor_seconds: int = setting(60, at_least=0)
    audit_seal_delay_seconds: int = setting(2, at_least=0)
    audit_witness_dirs: str = ""
    audit_witness_url: str = ""
    # Benchmarks only (bench/audit_reads.py): reads of records (lists, views, searches) write no audit event,
    # so that a benchmark can compare audited reads with the same reads unaudited. Refused in production.
    benchmark_unaudited_reads: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _coerce(name: str, raw: Any, target: Any) -> Any:
    if target is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"Setting {name} must be true or false.")
    if target is int:
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"Setting {name} must be a whole number.") from None
    return str(raw)


def instance_folder() -> Path:
    """The instance folder: ``TINCAY_INSTANCE_PATH``, else ``./instance``."""
    return Path(os.environ.get("TINCAY_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def load_settings(instance_path: Path, overrides: dict[str, Any] | None = None) -> Settings:
    values: dict[str, Any] = {}
    settings_file = instance_path / "settings.toml"
    if settings_file.exists():
        with settings_file.open("rb") as fh:
            values.update(tomllib.load(fh))
    for name in (f.name for f in fields(Settings) if f.name != "extra"):
        env = os.environ.get(f"TINCAY_{name.upper()}")
        if env is not None:
            values[name] = env
    known = {f.name: f for f in fields(Settings) if f.name != "extra"}
    if overrides:
        values.update({(k.lower() if k.lower() in known else k): v for k, v in overrides.items()})
    unknown = {k: v for k, v in values.items() if k not in known}
    types = {"int": int, "bool": bool, "str": str}
    clean: dict[str, Any] = {}
    for name, f in known.items():
        if name in values:
            clean[name] = _coerce(name, values[name], types[str(f.type)])
    settings = Settings(**clean, extra=unknown)
    return _complete(settings, instance_path)


def _complete(s: Settings, instance_path: Path) -> Settings:
    for f in fields(Settings):
        _check(f.name, getattr(s, f.name), f.metadata)
    db = s.database_url or f"sqlite:///{instance_path / 'tincay.db'}"
    if db.startswith("postgres://") or db.startswith("postgresql://"):
        db = "postgresql+psycopg://" + db.split("://", 1)[1]
    keys = s.keys_dir or str(instance_path / "keys")
    if s.smtp_host:
        if "@" not in s.mail_from:
            raise ConfigError("Setting mail_from (the digest's sender address) is needed with smtp_host.")
        if not s.public_url.startswith(("https://", "http://")):
            raise ConfigError("Setting public_url (https://…, the link in the digest) is needed with smtp_host.")
        if s.environment == "production" and not s.public_url.startswith("https://"):
            raise ConfigError("Setting public_url must start with https:// in production.")
    if s.audit_witness_url and not s.audit_witness_url.startswith(("https://", "http://")):
        raise ConfigError("Setting audit_witness_url must start with https:// or http://.")
    if s.benchmark_unaudited_reads and s.environment == "production":
        # Never by accident, whatever else is accepted knowingly: every read of a record is audited.
        raise ConfigError("Setting benchmark_unaudited_reads is for benchmarks only; production refuses it.")
    s = Settings(
        **{
            **{f.name: getattr(s, f.name) for f in fields(Settings)},
            "database_url": db,
            "keys_dir": keys,
            "checkpoint_dir": s.checkpoint_dir or str(instance_path / "checkpoints"),
            "attachments_dir": s.attachments_dir or str(instance_path / "attachments"),
        }
    )
    if s.environment == "production" and not s.allow_embedded_defaults:
        # DESIGN §3.7: production runs on PostgreSQL with keys mounted by the operator.
        if s.uses_sqlite:
            raise ConfigError(
                "Production refuses the embedded SQLite database; set TINCAY_DATABASE_URL to PostgreSQL "
                "or TINCAY_ALLOW_EMBEDDED_DEFAULTS=true to accept it knowingly."
            )
        if Path(s.keys_dir).resolve().is_relative_to(instance_path.resolve()):
            raise ConfigError(
                "Production refuses keys generated in the instance folder; set TINCAY_KEYS_DIR to the "
                "operator's key mount or TINCAY_ALLOW_EMBEDDED_DEFAULTS=true to accept it knowingly."
            )
        if s.ratelimit_storage_uri.startswith("memory"):
            raise ConfigError(
                "Production with several workers needs a shared rate-limit store; set "
                "TINCAY_RATELIMIT_STORAGE_URI to redis://… or TINCAY_ALLOW_EMBEDDED_DEFAULTS=true."
            )
    return s
