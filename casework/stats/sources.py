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

from flask import Flask

from casework.hooks import Hooks
from casework.stats.counting import Record

Source = Callable[[date, date], Iterable[Record]]
_SOURCES = Hooks[Source]("tincay.stats_sources")
add_source = _SOURCES.add
sources = _SOURCES.of


def records(start: date, end: date, app: Flask | None = None) -> Iterator[Record]:
    """Every record of every domain from ``start`` to ``end``."""
    for source in sources(app):
        yield from source(start, end)
