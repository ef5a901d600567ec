"""Where the records of a release come from: each domain adds a source, the core never imports a domain.

A source is a function ``source(start, end)`` that yields :class:`casework.stats.counting.Record` values
for what happened from ``start`` to ``end`` (Vietnam dates, both inclusive): intakes, registrations,
referrals, disbursements. It reads clear columns and consent only, never a protected field. Domains
register their tables with :func:`casework.stats.catalogue.register_table` and their source here, from
their own ``register(app)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date

from flask import Flask, current_app

from casework.stats.counting import Record

Source = Callable[[date, date], Iterable[Record]]
_KEY = "tincay.stats_sources"


def add_source(app: Flask, source: Source) -> None:
    """Register ``source`` for ``app``; adding the same function twice is harmless."""
    sources = app.extensions.setdefault(_KEY, [])
    if source not in sources:
        sources.append(source)


def sources(app: Flask | None = None) -> tuple[Source, ...]:
    return tuple((app or current_app).extensions.get(_KEY, ()))


def records(start: date, end: date, app: Flask | None = None) -> Iterator[Record]:
    """Every record of every domain from ``start`` to ``end``."""
    for source in sources(app):
        yield from source(start, end)
