"""The command line of the contract (DESIGN §4): keys, users, demo data, audit, statistics."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

keys_cli = AppGroup("keys", help="Create, rotate and verify the key files.")
users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="Verify and checkpoint the audit trail.")
demo_cli = AppGroup("demo", help="Synthetic demonstration data.")


def _settings():
    return current_app.config["SETTINGS"]


@keys_cli.command("init")
def keys_init():
    """Create the key files; refuses if any exists (overwriting would lose all data)."""
    from casework.protect.keys import KeyError_, init_keys

    try:
        names = init_keys(Path(_settings().keys_dir))
    except KeyError_ as e:
        click.echo(str(e), err=True)
        sys.exit(1)
    click.echo(f"Created {len(names)} key files in {_settings().keys_dir} (mode 0600). Back them up offline.")


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
def audit_verify():
    """Exit 0 when the chain and the newest checkpoint agree, 1 with the first bad sequence number."""
    from casework.protect.audit import verify_chain

    result = verify_chain(checkpoint_dir=Path(_settings().checkpoint_dir))
    if result.ok:
        click.echo(f"ok: {result.checked} events, chain intact")
        sys.exit(0)
    click.echo(f"bad: {result.first_bad_seq} ({result.problem})")
    sys.exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint():
    """Sign the newest event's sequence number and MAC into the checkpoint file outside the database."""
    from casework.protect.audit import write_checkpoint

    entry = write_checkpoint(Path(_settings().checkpoint_dir))
    if entry is None:
        click.echo("no events yet: nothing to checkpoint")
    else:
        click.echo(f"checkpoint: seq {entry['seq']}")


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
    for extra in ("casework.protect.cli", "casework.stats.cli"):
        try:
            module = __import__(extra, fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != extra:
                raise
            continue
        module.register(app, keys_cli)
