"""Key canaries: a check value per key version, so that a key file that does not match the database is caught
(DESIGN §3.3).

For every key version that protects data (master keys ``kek.v<N>``, blind-index roots ``index.v<N>``,
the audit key, the checkpoint key, the offline key pairs) the table ``key_canary`` holds a check value: a
known text encrypted with AES-256-GCM under a key derived from that key file. The start-up check
(``casework.protect.keycheck``) and ``keys verify`` compare every key file with it; a running worker adopts a
version added on disk only once its check value confirms it (``casework.protect.ring``).

The check value reveals nothing about the key (it is an AEAD ciphertext of a public text under an HKDF
subkey); messages name the key file, never its content.
"""

from __future__ import annotations

import os
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.extensions import Model, db
from casework.models import utc_datetime, utcnow
from casework.protect.keys import KeyRing

CANARY_TEXT = b"Tin Cay key canary v1"
FILE_NAMES = {"kek": "kek.v{}.key", "index": "index.v{}.key", "audit": "audit.v{}.key",
              "checkpoint": "checkpoint.ed25519",
              "offline": "offline.v{}.pem"}


class KeyCanary(Model):
    """One check value per key version; see the module docstring and ``casework.protect.keycheck``."""

    __tablename__ = "key_canary"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    check_value: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<KeyCanary {self.kind} v{self.version}>"


def file_name(kind: str, version: int) -> str:
    return FILE_NAMES.get(kind, kind + ".v{}").format(version)


def ring_keys(keys: KeyRing) -> dict[tuple[str, int], bytes]:
    """Every data-protecting key of the ring by (kind, version)."""
    held = {("kek", v): k for v, k in keys.keks.items()}
    held.update({("index", v): k for v, k in keys.index_roots.items()})
    held[("audit", 1)] = keys.audit_key
    if keys.checkpoint_key is not None:
        # A replaced checkpoint key would sign checkpoints of a rewritten trail: it must match too. Its
        # loss only stops new checkpoints (no stored row needs it), so a missing file does not stop start-up.
        held[("checkpoint", 1)] = keys.checkpoint_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    # Offline key pairs (issue 17): the check value is keyed by the private scalar; its row's created_at
    # is also when that version became current, which starts the grace period of the one before.
    held.update({("offline", v): k.private_numbers().private_value.to_bytes(32, "big")
                 for v, k in keys.offline_keys.items()})
    return held


def _aead(kind: str, version: int, key: bytes) -> tuple[AESGCM, bytes]:
    sub = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tincay/canary/v1").derive(key)
    return AESGCM(sub), f"{kind}|{version}".encode()


def make_check_value(kind: str, version: int, key: bytes) -> bytes:
    aead, aad = _aead(kind, version, key)
    nonce = os.urandom(12)
    return nonce + aead.encrypt(nonce, CANARY_TEXT, aad)


def check_value_matches(kind: str, version: int, key: bytes, blob: bytes) -> bool:
    aead, aad = _aead(kind, version, key)
    try:
        return len(blob) > 28 and aead.decrypt(blob[:12], blob[12:], aad) == CANARY_TEXT
    except InvalidTag:
        return False


def record_check_value(keys: KeyRing, kind: str, version: int) -> None:
    """Store the check value of a version just added by ``keys rotate`` / ``keys reindex`` (caller commits)."""
    key = ring_keys(keys)[(kind, version)]
    db.session.add(KeyCanary(kind=kind, version=version, check_value=make_check_value(kind, version, key)))
