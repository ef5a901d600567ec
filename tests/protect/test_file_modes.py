"""Key and data files are private to the application's account (issue 12).

Production refuses to start when the key folder or a key file is open to group or others; the embedded
SQLite database and the checkpoint file are created 0600 in folders 0700.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from casework import create_app
from casework.extensions import db
from casework.protect import audit, chainer
from casework.protect.keys import KeyError_
from tests.conftest import PG_URL


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _production(app_config: dict, keys: Path) -> dict:
    return {**app_config, "environment": "production", "allow_embedded_defaults": True, "keys_dir": str(keys)}


@pytest.mark.parametrize("name, mode", [
    ("kek.v1.key", 0o644), ("kek.v1.key", 0o640), ("index.v1.key", 0o604), ("audit.v1.key", 0o620),
    ("session.key", 0o606), ("checkpoint.ed25519", 0o644),
])
def test_production_refuses_a_key_file_open_to_group_or_others(app_config, own_keys, name, mode):
    path = own_keys / name
    os.chmod(path, mode)
    with pytest.raises(KeyError_) as caught:
        create_app(_production(app_config, own_keys))
    message = str(caught.value)
    assert str(path) in message and f"{mode:04o}" in message and "chmod 600" in message
    assert path.read_bytes().strip().decode("ascii", "replace")[:16] not in message  # no key material


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701, 0o770])
def test_production_refuses_a_key_folder_open_to_group_or_others(app_config, own_keys, mode):
    os.chmod(own_keys, mode)
    with pytest.raises(KeyError_, match=f"{own_keys}.*{mode:04o}.*chmod 700"):
        create_app(_production(app_config, own_keys))


def test_production_starts_with_a_private_key_folder(app_config, own_keys):
    assert _mode(own_keys) == 0o700 and all(_mode(p) == 0o600 for p in own_keys.iterdir())
    app = create_app(_production(app_config, own_keys))
    with app.app_context():
        db.engine.dispose()


def test_development_warns_but_starts_with_an_open_key_file(app_config, own_keys, caplog, monkeypatch):
    # The migrations' logging.config.fileConfig disables the loggers that existed before it ran.
    monkeypatch.setattr(logging.getLogger("casework.protect"), "disabled", False)
    os.chmod(own_keys / "kek.v1.key", 0o644)
    app = create_app({**app_config, "environment": "development", "keys_dir": str(own_keys)})
    with app.app_context():
        db.engine.dispose()
    assert f"{own_keys / 'kek.v1.key'} has mode 0644" in caplog.text


@pytest.mark.skipif(bool(PG_URL), reason="the embedded SQLite database file")
def test_the_embedded_sqlite_database_is_created_0600_in_a_0700_folder(app_config, tmp_path):
    from flask_migrate import upgrade

    old = os.umask(0o022)  # a common, permissive umask: SQLite alone would create the file 0644
    try:
        target = tmp_path / "fresh" / "tincay.db"
        app = create_app({**app_config, "database_url": f"sqlite:///{target}"})
        with app.app_context():
            upgrade()
            audit.record("login", object_type="user")
            db.session.commit()
            db.engine.dispose()
    finally:
        os.umask(old)
    assert _mode(target) == 0o600 and _mode(target.parent) == 0o700
    for extra in target.parent.glob("tincay.db-*"):  # WAL and shared-memory files follow the database's mode
        assert _mode(extra) == 0o600, extra


@pytest.mark.skipif(bool(PG_URL), reason="the embedded SQLite database file")
def test_an_existing_sqlite_database_open_to_others_is_narrowed_to_0600(app_config):
    path = Path(app_config["database_url"].removeprefix("sqlite:///"))
    os.chmod(path, 0o644)
    app = create_app(app_config)
    with app.app_context():
        db.engine.dispose()
    assert _mode(path) == 0o600


def test_the_checkpoint_file_is_created_0600_in_a_0700_folder(app):
    old = os.umask(0o022)
    try:
        audit.record("login", object_type="user")
        db.session.commit()
        directory = Path(app.config["SETTINGS"].checkpoint_dir)
        chainer.write_checkpoint(directory)
    finally:
        os.umask(old)
    assert _mode(directory) == 0o700
    assert [(p.name, _mode(p)) for p in directory.iterdir()] == [(audit.CHECKPOINT_FILE, 0o600)]
