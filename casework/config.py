"""Typed settings, read once at start-up from the instance file and the environment.

Order of precedence: built-in defaults < ``instance/settings.toml`` < ``TINCAY_*`` environment
variables < the ``test_config`` mapping given to ``create_app``. Every value is checked here, so a
typo or a dangerous production setting stops the app before it serves anything.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """A setting is missing, malformed or unsafe; the message names the setting, never a secret."""


ENVIRONMENTS = ("development", "testing", "production")


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = ""  # empty: SQLite in the instance folder
    keys_dir: str = ""  # empty: <instance>/keys
    checkpoint_dir: str = ""  # empty: <instance>/checkpoints
    attachments_dir: str = ""  # empty: <instance>/attachments
    ratelimit_storage_uri: str = "memory://"
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_rate_limit: str = "20 per minute"
    api_token_hours: int = 8
    max_upload_mb: int = 10
    force_https: bool = False
    allow_embedded_defaults: bool = False
    default_locale: str = "vi"
    exit_url: str = "https://www.google.com/search?q=th%E1%BB%9Di+ti%E1%BA%BFt"
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
    if s.environment not in ENVIRONMENTS:
        raise ConfigError(f"Setting environment must be one of {', '.join(ENVIRONMENTS)}.")
    db = s.database_url or f"sqlite:///{instance_path / 'tincay.db'}"
    if db.startswith("postgres://") or db.startswith("postgresql://"):
        db = "postgresql+psycopg://" + db.split("://", 1)[1]
    keys = s.keys_dir or str(instance_path / "keys")
    if s.session_idle_minutes < 1 or s.session_absolute_hours < 1:
        raise ConfigError("Session timeouts must be positive.")
    if s.max_upload_mb < 1 or s.max_upload_mb > 100:
        raise ConfigError("Setting max_upload_mb must be between 1 and 100.")
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
