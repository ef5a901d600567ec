"""The command line of the contract (DESIGN §4): keys, users, demo data, audit, statistics."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo, pass_script_info

from casework.config import Settings, instance_folder, load_settings
from casework.protect.cli import keys_reindex, keys_rotate, keys_verify

# Also a `flask.commands` entry point (setup.cfg), so `flask keys …` is found before the app is loaded:
# `keys init` must run when the app cannot start yet, for want of its keys.
keys_cli = AppGroup("keys", help="Create, rotate and verify the key files.")
users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="Verify and checkpoint the audit trail.")
demo_cli = AppGroup("demo", help="Synthetic demonstration data.")


def _settings():
    return current_app.config["SETTINGS"]


def _settings_before_the_app(info: ScriptInfo) -> Settings:
    """The settings ``keys init`` writes by, read without starting the app (which needs the keys): the
    instance folder's, or those of the app a test's CLI runner hands over."""
    if info.create_app is not None:
        return info.load_app().config["SETTINGS"]
    return load_settings(instance_folder())


@keys_cli.command("init", with_appcontext=False)
@pass_script_info
def keys_init(info: ScriptInfo):
    """Create the key files; refuses if any exists (overwriting would lose all data)."""
    from casework.protect.keys import KeyError_, init_keys

    keys_dir = _settings_before_the_app(info).keys_dir
    try:
        names = init_keys(Path(keys_dir))
    except KeyError_ as e:
        click.echo(str(e), err=True)
        sys.exit(1)
    click.echo(f"Created {len(names)} key files in {keys_dir} (mode 0600). Back them up offline.")


for _command in (keys_rotate, keys_verify, keys_reindex):  # casework/protect/cli.py
    keys_cli.add_command(_command)


@keys_cli.command("export-audit-public")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def keys_export_audit_public(file):
    """Write the checkpoint public key (PEM) to FILE for the auditor, who verifies with only that file."""
    from casework.protect.audit import public_key_fingerprint, public_key_pem
    from casework.protect.keys import KeyError_
    from casework.protect.ring import current_keys

    keys = current_keys()
    try:
        pem = public_key_pem(keys)
    except KeyError_ as e:
        click.echo(str(e), err=True)
        sys.exit(1)
    file.write_bytes(pem)
    click.echo(f"Wrote the checkpoint public key to {file} "
               f"(fingerprint {public_key_fingerprint(keys.checkpoint_public_key)}). Give it to the auditor and "
               "read the fingerprint to her by another channel.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([
    "host", "commune_officer", "province_officer", "service_provider", "coordinator", "admin", "auditor"]))
@click.option("--scope", default=None, help="Commune code (commune_officer) or province code (province_officer).")
@click.option("--address", "addresses", multiple=True, help="Trusted-address id (host); may repeat.")
@click.option("--organisation", default=None, help="Organisation id (service_provider).")
@click.option("--display-name", default="")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
def users_create(username, role, scope, addresses, organisation, display_name, password_stdin):
    """Create an account and print its TOTP secret (``totp_secret: BASE32``)."""
    from casework.auth import services
    from casework.errors import ValidationError
    from casework.extensions import db

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user, secret = services.create_user(None, services.NewUser(
            username=username, role=role, password=password, display_name=display_name, scope=scope,
            address_ids=tuple(addresses), organisation_id=organisation))
    except ValidationError as e:
        db.session.rollback()
        for name, messages in e.fields.items():
            for m in messages:
                click.echo(f"{name}: {m}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"id: {user.id}")
    click.echo(f"totp_secret: {secret}")


@audit_cli.command("verify")
@click.option("--public-key", "public_key_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The checkpoint public key exported for the auditor (keys export-audit-public): the only key "
                   "trusted for the anchor signatures; the checkpoint file must exist.")
def audit_verify(public_key_file):
    """Exit 0 when every chain, its head, every anchor (database and checkpoint file) agree and no committed
    event waits unsealed beyond the sealing delay; 1 with the first bad sequence number (or the anchors' or
    the inbox's fault) on one line."""
    from casework.protect.audit import load_public_key, verify_chain

    public_key = None
    if public_key_file is not None:
        try:
            public_key = load_public_key(public_key_file)
        except ValueError as e:
            click.echo(f"bad: checkpoint ({e})")
            sys.exit(1)
    result = verify_chain(checkpoint_dir=Path(_settings().checkpoint_dir), public_key=public_key)
    if result.ok:
        chains = f" in {result.chains} chains" if result.chains > 1 else ""
        suffix = (f"; {result.checkpoints} checkpoints signed by the given public key" if public_key is not None
                  else "")
        click.echo(f"ok: {result.checked} events{chains}, chain intact{suffix}")
        sys.exit(0)
    click.echo(f"bad: {result.first_bad_seq if result.first_bad_seq is not None else result.where} "
               f"({result.problem})")
    sys.exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint():
    """Seal what is sealable, then sign every chain head into an anchor now: in the database, the
    checkpoint file outside it and the other witnesses (and record the line in the trail)."""
    from casework.protect.audit import NATIONAL, anchor_heads
    from casework.protect.chainer import write_checkpoint

    entry = write_checkpoint(Path(_settings().checkpoint_dir))
    if entry is None:
        click.echo("no events yet: nothing to checkpoint")
    else:
        heads = anchor_heads(entry)
        click.echo("checkpoint: " + "; ".join(f"seq {s}" if c == NATIONAL else f"chain {c} seq {s}"
                                              for c, (s, _m) in sorted(heads.items(), key=lambda h: h[0] != NATIONAL)))


@audit_cli.command("seal")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def audit_seal(batch_size):
    """One pass of the chainer: seal every committed event that can be sealed now, and say how many."""
    from casework.protect.chainer import seal

    click.echo(f"sealed: {seal(batch_size)}")


@audit_cli.command("chainer")
@click.option("--interval", default=0.5, show_default=True, type=click.FloatRange(0.05, 60),
              help="Seconds between passes when nothing was left to seal.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def audit_chainer(interval, batch_size):
    """Seal events and write anchors until stopped (SIGTERM or Ctrl-C). Several may run at once."""
    import signal

    from casework.protect.chainer import Chainer

    chainer = Chainer(current_app._get_current_object(), interval=interval, batch=batch_size)
    signal.signal(signal.SIGTERM, lambda *_: chainer.stop.set())
    click.echo("audit chainer running", err=True)
    try:
        chainer.run()
    except KeyboardInterrupt:
        pass
    click.echo("audit chainer stopped", err=True)


@demo_cli.command("load")
@click.option("--cases", default=60, show_default=True, help="Cases to create across the demo addresses.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has accounts.")
def demo_load(cases, if_empty):
    """Synthetic people with obviously fake names, several provinces, every role; prints the logins."""
    from casework.demo import load_demo

    load_demo(cases=cases, if_empty=if_empty, echo=click.echo)


def register(app: Flask) -> None:
    for group in (keys_cli, users_cli, audit_cli, demo_cli):
        app.cli.add_command(group)
    from casework.stats import cli as stats_cli

    stats_cli.register(app)
