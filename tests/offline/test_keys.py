"""The offline key pair in the key ring (issue 17): init, canary, rotate --offline, verify."""

from __future__ import annotations

import shutil

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from casework import create_app
from casework.extensions import db
from casework.protect.keys import KeyError_, init_keys


@pytest.fixture
def own_keys(tmp_path, keys_dir):
    own = tmp_path / "own-keys"
    shutil.copytree(keys_dir, own)
    return own


def test_keys_init_creates_an_offline_p256_key_pair(tmp_path):
    names = init_keys(tmp_path / "k")
    assert "offline.v1.pem" in names
    key = serialization.load_pem_private_key((tmp_path / "k" / "offline.v1.pem").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert (tmp_path / "k" / "offline.v1.pem").stat().st_mode & 0o777 == 0o600


def test_a_replaced_offline_key_stops_start_up_through_its_check_value(app, app_config, own_keys):
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (own_keys / "offline.v1.pem").write_bytes(pem)
    with pytest.raises(KeyError_, match="offline.v1.pem does not match this database"):
        create_app({**app_config, "keys_dir": str(own_keys)})


def test_keys_rotate_offline_adds_a_version_served_to_phones_and_verify_lists_both(
        app, app_config, own_keys, world, token):
    made = create_app({**app_config, "keys_dir": str(own_keys)})
    headers = token(world.host_a)
    with made.app_context():
        result = made.test_cli_runner().invoke(args=["keys", "rotate", "--offline"])
        assert result.exit_code == 0, result.output
        assert (own_keys / "offline.v2.pem").exists()
        assert made.test_client().get("/api/v1/offline/key", headers=headers).get_json()["key_id"] == "offline.v2"
        verified = made.test_cli_runner().invoke(args=["keys", "verify"])
        assert verified.exit_code == 0 and "offline keys: v1, v2" in verified.output
        db.engine.dispose()
    restarted = create_app({**app_config, "keys_dir": str(own_keys)})  # the new check value matches
    assert sorted(restarted.extensions["tincay.keys"].offline_keys) == [1, 2]
