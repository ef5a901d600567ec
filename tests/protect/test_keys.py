"""Start-up refuses a missing or wrong key; the key check values never block a fresh install."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import create_engine, select, text

from casework import create_app
from casework.cli import keys_cli
from casework.extensions import db
from casework.protect.canary import KeyCanary
from casework.protect.keys import KeyError_, init_keys
from tests.protect.conftest import NAME, Person, add_person

ROOT = Path(__file__).resolve().parents[2]


def _replace(path) -> None:
    path.write_text(secrets.token_bytes(32).hex() + "\n")


def _start(app_config, keys):
    made = create_app({**app_config, "keys_dir": str(keys)})
    with made.app_context():
        db.engine.dispose()
    return made


def test_first_start_writes_a_check_value_per_key_version(app):
    kinds = sorted((c.kind, c.version) for c in db.session.scalars(select(KeyCanary)))
    assert kinds == [("audit", 1), ("checkpoint", 1), ("index", 1), ("kek", 1), ("offline", 1)]


def test_missing_master_key_file_stops_start_up(app_config, own_keys):
    (own_keys / "kek.v1.key").unlink()
    with pytest.raises(KeyError_, match="kek.v1.key"):
        create_app({**app_config, "keys_dir": str(own_keys)})


@pytest.mark.parametrize("name", ["kek.v1.key", "index.v1.key", "audit.v1.key"])
def test_replaced_key_file_stops_start_up_through_its_check_value(app, app_config, own_keys, name):
    _start(app_config, own_keys)  # the same keys as the database's: starts
    _replace(own_keys / name)
    with pytest.raises(KeyError_, match=f"{name} does not match this database") as info:
        create_app({**app_config, "keys_dir": str(own_keys)})
    assert (own_keys / name).read_text().strip() not in str(info.value)


def test_key_folder_of_another_installation_stops_start_up(app, app_config, tmp_path):
    other = tmp_path / "other-keys"
    init_keys(other)
    with pytest.raises(KeyError_, match="does not match this database"):
        create_app({**app_config, "keys_dir": str(other)})


def test_wrong_master_key_is_caught_by_the_data_when_no_check_value_exists_yet(keyed_app, app_config, own_keys):
    add_person()
    db.session.execute(KeyCanary.__table__.delete())  # as on the first start after the migration
    db.session.commit()
    db.session.remove()
    _replace(own_keys / "kek.v1.key")
    with pytest.raises(KeyError_, match="kek.v1.key does not decrypt the data already stored"):
        create_app({**app_config, "keys_dir": str(own_keys)})


def test_wrong_index_key_is_caught_by_the_data_when_no_check_value_exists_yet(keyed_app, app_config, own_keys):
    add_person()
    db.session.execute(KeyCanary.__table__.delete().where(KeyCanary.kind == "index"))
    db.session.commit()
    db.session.remove()
    _replace(own_keys / "index.v1.key")
    with pytest.raises(KeyError_, match="index.v1.key does not decrypt the data already stored"):
        create_app({**app_config, "keys_dir": str(own_keys)})


def test_an_empty_database_starts_and_migrates_without_check_values(tmp_path, keys_dir, app_config):
    from flask_migrate import upgrade

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    fresh = create_app({**app_config, "database_url": url})  # no table at all: nothing to check
    with fresh.app_context():
        upgrade()
        assert db.session.scalar(select(db.func.count()).select_from(KeyCanary)) == 0
        db.engine.dispose()
    started = create_app({**app_config, "database_url": url})  # first start after the migration
    with started.app_context():
        # one canary each: kek, index, audit, checkpoint, offline
        assert db.session.scalar(select(db.func.count()).select_from(KeyCanary)) == 5
        db.engine.dispose()


def test_keys_init_runs_before_any_key_exists_and_the_new_keys_then_must_match(app, app_config, tmp_path,
                                                                                monkeypatch):
    keys = tmp_path / "fresh-keys"
    with pytest.raises(KeyError_):  # no keys, no app, whatever the command line says
        monkeypatch.setattr(sys, "argv", ["flask", "keys", "init"])
        create_app({**app_config, "keys_dir": str(keys)})
    monkeypatch.setenv("TINCAY_KEYS_DIR", str(keys))  # what `flask keys init` reads: the instance's settings
    result = CliRunner().invoke(keys_cli, ["init"], obj=ScriptInfo())
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in keys.iterdir()) == [
        "audit.v1.key", "checkpoint.ed25519", "index.v1.key", "kek.v1.key", "offline.v1.pem", "session.key"]
    with pytest.raises(KeyError_, match="does not match this database"):  # this database has other keys
        create_app({**app_config, "keys_dir": str(keys)})


def test_flask_keys_init_on_a_fresh_instance_folder(tmp_path):
    """What `make run` does first: the real command line, with no key and no database yet."""
    flask = Path(sys.executable).with_name("flask")
    env = {**os.environ, "TINCAY_INSTANCE_PATH": str(tmp_path)}
    env.pop("TINCAY_KEYS_DIR", None)
    env.pop("TINCAY_DATABASE_URL", None)
    def flask_says(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - this interpreter's flask with a fixed command line
            [str(flask), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    done = flask_says("keys", "init")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "keys" / "kek.v1.key").exists()
    listed = flask_says("keys", "--help")
    assert all(name in listed.stdout for name in ("init", "rotate", "verify", "reindex", "export-audit-public"))


def test_keys_init_refuses_to_overwrite_existing_keys(app, own_keys, app_config):
    made = create_app({**app_config, "keys_dir": str(own_keys)})
    before = (own_keys / "kek.v1.key").read_bytes()
    result = made.test_cli_runner().invoke(args=["keys", "init"])
    assert result.exit_code == 1
    assert (own_keys / "kek.v1.key").read_bytes() == before
    with made.app_context():
        db.engine.dispose()


def test_missing_older_master_key_stops_start_up_while_rows_still_need_it(keyed_app, app_config, own_keys):
    add_person()
    db.session.remove()
    result = keyed_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    shutil.copy(own_keys / "kek.v2.key", own_keys.parent / "kek.v2.backup")
    (own_keys / "kek.v2.key").unlink()  # lost, while every row is now under v2
    with pytest.raises(KeyError_, match="kek.v2.key is missing"):
        create_app({**app_config, "keys_dir": str(own_keys)})


def test_retired_master_key_may_leave_the_folder_once_no_row_needs_it(keyed_app, app_config, own_keys):
    person_id = add_person().id
    db.session.remove()
    assert keyed_app.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
    (own_keys / "kek.v1.key").unlink()  # every data key and seed is under v2 now
    later = create_app({**app_config, "keys_dir": str(own_keys)})
    with later.app_context():
        assert db.session.get(Person, person_id).full_name == NAME
        db.session.remove()
        db.engine.dispose()


def test_a_running_worker_reads_rows_rewrapped_by_a_rotation_in_another_process(keyed_app, app_config, own_keys):
    person_id = add_person().id
    db.session.remove()
    rotator = create_app({**app_config, "keys_dir": str(own_keys)})  # the operator's `flask keys rotate`
    with rotator.app_context():
        assert rotator.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
        db.engine.dispose()
    # The worker started before the rotation holds master key v1 only…
    assert sorted(keyed_app.extensions["tincay.keys"].keks) == [1]
    # …and loads v2, confirmed by its check value, when a row needs it.
    assert db.session.get(Person, person_id).full_name == NAME
    assert sorted(keyed_app.extensions["tincay.keys"].keks) == [1, 2]


def test_a_key_added_on_disk_without_its_check_value_is_not_used(keyed_app, own_keys):
    from casework.protect.keys import add_kek_version
    from casework.protect.ring import refresh_keys

    add_kek_version(own_keys)  # someone dropped a file in the folder; no `keys rotate` recorded it
    ring = refresh_keys(keyed_app)
    assert sorted(ring.keks) == [1]


def test_check_values_do_not_contain_the_keys(app, keys_dir):
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as conn:
        blobs = [bytes(r[0]) for r in conn.execute(text("SELECT check_value FROM key_canary"))]
    engine.dispose()
    key_bytes = [bytes.fromhex(p.read_text().strip()) for p in keys_dir.glob("*.key")]
    for blob in blobs:
        for key in key_bytes:
            assert key not in blob and key[:8] not in blob
