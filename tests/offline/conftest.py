"""Fixtures of the offline tests: the casework world, and a small independent sealer (the wire format of
issue 17 written again from its text with ``cryptography``, so the server is tested against the spec)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.cases.services import local_today
from casework.models import utcnow
from tests.cases.conftest import NAME, PHONE, make_case, req, signed_in, token, world  # noqa: F401


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(server_key: dict, user_id: str, body: dict, entry_id: str | None = None,
         captured_at: str | None = None) -> dict:
    """Seal ``body`` exactly as the issue states: ECDH P-256 ephemeral, HKDF-SHA256 (empty salt, info
    tincay-offline-v1|key_id), AES-256-GCM with AAD tincay-offline-v1|key_id|id|user_id."""
    entry_id = entry_id or str(uuid.uuid4())
    kid = server_key["key_id"]
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(server_key["public_key"]))
    eph = ec.generate_private_key(ec.SECP256R1())
    secret = eph.exchange(ec.ECDH(), peer)
    key = HKDF(hashes.SHA256(), 32, salt=b"", info=f"tincay-offline-v1|{kid}".encode()).derive(secret)
    nonce = os.urandom(12)
    aad = f"tincay-offline-v1|{kid}|{entry_id}|{user_id}".encode()
    ct = AESGCM(key).encrypt(nonce, json.dumps(body, ensure_ascii=False).encode("utf-8"), aad)
    point = eph.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"id": entry_id, "key_id": kid, "epk": b64u(point), "nonce": b64u(nonce), "ciphertext": b64u(ct),
            "captured_at": captured_at or utcnow().isoformat()}


def intake_body(address_id: str | None = None, **changes) -> dict:
    body = {"type": "intake", "intake_at": (utcnow() - timedelta(hours=3)).isoformat(),
            "person": {"full_name": NAME, "birth_year": 1990, "sex": "female", "ethnicity_code": "01",
                       "phone": PHONE},
            "acts": ["a", "b"], "relationship": "spouse",
            "consent": {"record": True, "statistics": True, "share": ["police"]}}
    if address_id:
        body["address_id"] = address_id
    body.update(changes)
    return body


def follow_up_body(case_id: str, **changes) -> dict:
    return {"type": "follow_up", "case_id": case_id, "on": local_today().isoformat(), "kind": "visit",
            "situation": "safe", "violence_recurred": False, "note": "Chị ấy đã ổn hơn.", **changes}


@pytest.fixture
def server_key(client, world, token):  # noqa: F811
    response = client.get("/api/v1/offline/key", headers=token(world.host_a))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def send(client, token):  # noqa: F811
    def do(account, *entries, headers=None):
        response = client.post("/api/v1/offline/entries", json={"entries": list(entries)},
                               headers=headers or token(account))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["results"]

    return do
