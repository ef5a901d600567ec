"""``flask referral …``: the overdue sweep, for a timer (cron, systemd) when nobody opens a page."""

from __future__ import annotations

import click
from flask.cli import AppGroup

referral_cli = AppGroup("referral", help="Referrals: deadlines and notifications.")


@referral_cli.command("notify-overdue")
def notify_overdue_command():
    """Notify senders, commune officers and receivers of referrals past their acknowledgement deadline."""
    from casework.extensions import db
    from referral.notifications import notify_overdue

    claimed = notify_overdue(limit=10_000)
    db.session.commit()
    click.echo(f"overdue referrals notified: {claimed}")
