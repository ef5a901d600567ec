"""What both subjects of the auth services use: the app's settings and the hash a token is kept under."""

from __future__ import annotations

import hashlib

from flask import current_app

from casework.config import Settings


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()
