"""Small secrets sealed under the current master key (TOTP seeds): AES-256-GCM, key derived by HKDF.

Person data uses the per-record envelope of ``casework.protect.crypto``; a sealed secret belongs to a
staff account and is bound to its purpose and row by the associated data.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.protect.keys import KeyRing, current_keys


class SealError(RuntimeError):
    pass


def _key(kek: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"sealed/v1/{purpose}".encode()).derive(kek)


def seal(value: str, purpose: str, row_id: str, keys: KeyRing | None = None) -> str:
    keys = keys or current_keys()
    version = keys.current_kek_version
    nonce = os.urandom(12)
    aad = f"{purpose}|{row_id}|{version}".encode()
    ct = AESGCM(_key(keys.kek(version), purpose)).encrypt(nonce, value.encode("utf-8"), aad)
    return f"v{version}:" + base64.b64encode(nonce + ct).decode("ascii")


def unseal(token: str, purpose: str, row_id: str, keys: KeyRing | None = None) -> str:
    keys = keys or current_keys()
    try:
        head, body = token.split(":", 1)
        version = int(head[1:])
        raw = base64.b64decode(body)
        aad = f"{purpose}|{row_id}|{version}".encode()
        return AESGCM(_key(keys.kek(version), purpose)).decrypt(raw[:12], raw[12:], aad).decode("utf-8")
    except (ValueError, InvalidTag):
        raise SealError(f"A sealed {purpose} value does not open with the key ring.") from None
