"""Envelope encryption of personal data (DESIGN §3.3, security.md §3.3).

Each record that holds personal data has its own random 256-bit data key (DEK), stored next to it
wrapped by a versioned master key (AES key wrap, RFC 3394). Each protected value is encrypted with
AES-256-GCM under the DEK with a fresh 96-bit nonce; the associated data binds the ciphertext to
its table, column, row id and data-key version, so a ciphertext copied into another row, another
column or another table fails to decrypt.

Ciphertext layout: ``b"\\x01" ‖ nonce(12) ‖ ciphertext ‖ tag(16)``.
"""

from __future__ import annotations

import logging
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from casework.protect.keys import KeyRing

FORMAT_VERSION = 1
log = logging.getLogger("casework.protect")


class ProtectedDataError(RuntimeError):
    """A value or a data key does not decrypt: wrong key, corrupted bytes, or a value moved elsewhere.

    The message names the table, column and row id only; never the value.
    """


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(keys: KeyRing, dek: bytes, kek_version: int | None = None) -> tuple[bytes, int]:
    version = keys.current_kek_version if kek_version is None else kek_version
    return aes_key_wrap(keys.kek(version), dek), version


def unwrap_data_key(keys: KeyRing, wrapped: bytes, kek_version: int, where: str) -> bytes:
    try:
        return aes_key_unwrap(keys.kek(kek_version), wrapped)
    except (InvalidUnwrap, ValueError):
        log.error("data key does not unwrap: %s (master key v%s)", where, kek_version)
        raise ProtectedDataError(f"The data key of {where} does not unwrap with master key v{kek_version}.") from None


def associated_data(table: str, column: str, row_id: str, dek_version: int) -> bytes:
    parts = [str(FORMAT_VERSION), table, column, row_id, str(dek_version)]
    return b"".join(len(p.encode()).to_bytes(2, "big") + p.encode() for p in parts)


def encrypt_value(dek: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return bytes([FORMAT_VERSION]) + nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)


def decrypt_value(dek: bytes, blob: bytes, aad: bytes, where: str) -> bytes:
    if len(blob) < 1 + 12 + 16 or blob[0] != FORMAT_VERSION:
        log.error("malformed ciphertext: %s", where)
        raise ProtectedDataError(f"The protected value {where} is malformed.")
    try:
        return AESGCM(dek).decrypt(blob[1:13], blob[13:], aad)
    except InvalidTag:
        log.error("ciphertext does not authenticate: %s", where)
        raise ProtectedDataError(f"The protected value {where} does not decrypt here.") from None
