"""The offline wire format (issue 17): entries sealed on a host's phone to the server's offline key.

An entry is ``{"id": UUID, "key_id", "epk", "nonce", "ciphertext", "captured_at"}``: ``epk`` is the
ephemeral uncompressed P-256 point, the AES-256-GCM key is HKDF-SHA256 over the ECDH secret (empty salt,
info ``tincay-offline-v1|{key_id}``, 32 bytes), and the associated data ``tincay-offline-v1|{key_id}|{id}|
{user_id}`` binds the ciphertext to its entry id and to the account that sealed it. Byte strings are
base64url without padding. Only the server holds the private key: the phone cannot read back what it sealed.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALG = "ECDH-P256+HKDF-SHA256+A256GCM"
FORMAT = "tincay-offline-v1"
_KEY_ID = re.compile(r"^offline\.v([1-9][0-9]{0,5})$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


class UnsealError(Exception):
    """The entry cannot be opened; ``code`` says why (never anything of its content)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def key_id(version: int) -> str:
    return f"offline.v{version}"


def key_version(value: object) -> int | None:
    m = _KEY_ID.match(value) if isinstance(value, str) else None
    return int(m.group(1)) if m else None


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(value: object, limit: int) -> bytes:
    if not isinstance(value, str) or len(value) > limit or not _B64URL.match(value):
        raise UnsealError("malformed")
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise UnsealError("malformed") from None


def public_point(private_key: ec.EllipticCurvePrivateKey) -> str:
    return b64u(private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                      serialization.PublicFormat.UncompressedPoint))


def associated_data(kid: str, entry_id: str, user_id: str) -> bytes:
    return f"{FORMAT}|{kid}|{entry_id}|{user_id}".encode()


def derive_key(shared: bytes, kid: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"{FORMAT}|{kid}".encode()).derive(shared)


def unseal(private_key: ec.EllipticCurvePrivateKey, kid: str, entry_id: str, user_id: str, epk: object,
           nonce: object, ciphertext: object, max_bytes: int = 256 * 1024) -> bytes:
    """The plaintext of one entry, or ``UnsealError``: ``malformed`` (not the format) or ``unreadable``
    (tampered, truncated, sealed for another account or another entry id: AES-GCM cannot tell them apart)."""
    point = b64u_decode(epk, 200)
    iv = b64u_decode(nonce, 32)
    sealed = b64u_decode(ciphertext, max_bytes * 4 // 3 + 4)
    if len(point) != 65 or point[0] != 4 or len(iv) != 12:
        raise UnsealError("malformed")
    if len(sealed) < 16:
        raise UnsealError("unreadable")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise UnsealError("malformed") from None
    shared = private_key.exchange(ec.ECDH(), peer)
    try:
        return AESGCM(derive_key(shared, kid)).decrypt(iv, sealed, associated_data(kid, entry_id, user_id))
    except InvalidTag:
        raise UnsealError("unreadable") from None

