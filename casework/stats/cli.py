"""``flask stats release --period 2026Q3`` (DESIGN §4): freeze a numbered release from the command line."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

stats_cli = AppGroup("stats", help="Anonymised statistics releases.")


@stats_cli.command("release")
@click.option("--period", required=True, help="A quarter that has ended, e.g. 2026Q3.")
def release(period: str) -> None:
    """Count, protect and freeze the release of one quarter; prints its id and the audit summary."""
    from flask_babel import gettext as _

    from casework.errors import DomainError
    from casework.extensions import db
    from casework.stats import service

    with click.progressbar(length=100, label=_("Counting and checking"), file=sys.stderr) as bar:
        done = {"pct": 0}

        def progress(pct: int) -> None:
            if pct > done["pct"]:
                bar.update(pct - done["pct"])
                done["pct"] = pct

        try:
            row = service.make_release(period, None, progress=progress)
            db.session.commit()
            progress(100)
            failed = None
        except DomainError as exc:
            db.session.rollback()
            failed = exc
    if failed is not None:
        click.echo(failed.message, err=True)
        for messages in failed.fields.values():
            for message in messages:
                click.echo(f"  {message}", err=True)
        sys.exit(1)
    click.echo(_("Release %(id)s: %(cells)s figures, %(withheld)s withheld (x); snapshot %(hash)s",
                 id=row.id, cells=row.cell_count, withheld=row.suppressed_count, hash=row.snapshot_hash))


@stats_cli.command("worker")
@click.option("--once", is_flag=True, help="Compute the previews waiting now, then stop.")
def worker(once: bool) -> None:
    """Compute the previews that the web application queued (setting STATS_RUNNER = "worker")."""
    from flask import current_app

    from casework.stats import jobs

    count = jobs.work(current_app._get_current_object(), once=once)  # type: ignore[attr-defined]
    click.echo(f"{count}")


@stats_cli.command("list")
def list_releases() -> None:
    """The releases in the ledger, newest first."""
    from casework.extensions import db
    from casework.stats.models import StatRelease

    for row in db.session.scalars(db.select(StatRelease).order_by(StatRelease.number.desc())):
        click.echo(f"{row.number}\t{row.id}\t{row.period}\t{row.created_at:%Y-%m-%d}\t"
                   f"{row.cell_count}\t{row.suppressed_count}")


def register(app: Flask) -> None:
    app.cli.add_command(stats_cli)
