"""Small secrets sealed under the current master key (TOTP seeds): AES-256-GCM, key derived by HKDF.

Person data uses the per-record envelope of ``casework.protect.crypto``; a sealed secret belongs to a
staff account and is bound to its purpose and row by the associated data. A sealed value starts with
``v<N>:``, the master-key version that sealed it, so ``keys rotate`` can re-seal it under the next one.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.protect.keys import KeyRing
from casework.protect.ring import current_keys, refresh_keys_now


class SealError(RuntimeError):
    pass


@dataclass(frozen=True)
class SealedColumn:
    """A text column holding sealed values; ``keys rotate`` and ``keys verify`` walk every one of them."""

    table: str
    column: str
    purpose: str
    id_column: str = "id"


# Named by table and column (not by model) so that the start-up key check can read them without the models.
SEALED_COLUMNS: list[SealedColumn] = [SealedColumn("user", "totp_secret_sealed", "totp")]


def register_sealed_column(table: str, column: str, purpose: str, id_column: str = "id") -> None:
    """Declare another column of sealed values (call it at import time of the model's module)."""
    entry = SealedColumn(table, column, purpose, id_column)
    if entry not in SEALED_COLUMNS:
        SEALED_COLUMNS.append(entry)


def _key(kek: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"sealed/v1/{purpose}".encode()).derive(kek)


def sealed_version(token: str) -> int | None:
    """The master-key version of a sealed value, or None when it is not one."""
    head = token.split(":", 1)[0]
    if len(head) < 2 or head[0] != "v" or not head[1:].isdigit():
        return None
    return int(head[1:])


def seal(value: str, purpose: str, row_id: str, keys: KeyRing | None = None, version: int | None = None) -> str:
    keys = keys or current_keys()
    version = keys.current_kek_version if version is None else version
    nonce = os.urandom(12)
    aad = f"{purpose}|{row_id}|{version}".encode()
    ct = AESGCM(_key(keys.kek(version), purpose)).encrypt(nonce, value.encode("utf-8"), aad)
    return f"v{version}:" + base64.b64encode(nonce + ct).decode("ascii")


def unseal(token: str, purpose: str, row_id: str, keys: KeyRing | None = None) -> str:
    version = sealed_version(token)
    if keys is None:
        keys = current_keys()
        if version is not None and version not in keys.keks:
            # Sealed by a newer master key that a rotation in another process has just added.
            keys = refresh_keys_now()
    try:
        if version is None:
            raise ValueError("not a sealed value")
        body = token.split(":", 1)[1]
        raw = base64.b64decode(body, validate=True)
        aad = f"{purpose}|{row_id}|{version}".encode()
        return AESGCM(_key(keys.kek(version), purpose)).decrypt(raw[:12], raw[12:], aad).decode("utf-8")
    except (ValueError, InvalidTag, RuntimeError):
        raise SealError(f"A sealed {purpose} value does not open with the key ring.") from None
