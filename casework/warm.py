"""A production web process, warmed before it serves (issue 18).

The first request of each worker used to build what every later one reuses: the geography read and sorted in
Vietnamese order (the first intake form of a worker took 0.4–1 s instead of 16 ms, the pre-2025 communes of its
province read and sorted from all 10,000 of them) and each page's compiled template (about 0.1 s for the
first case page). At 1,000,000 cases with 50 hosts at work those first answers were the slowest 5 % of some
kinds of request. ``wsgi.py`` calls :func:`warm_up` in production; tests and `make run` start cold, as before.
"""

from __future__ import annotations

from flask import Flask

from casework.geo import data, legacy
from casework.i18n import LocaleEnvironment


def warm_up(app: Flask) -> None:
    """Build the process-wide caches the pages use: the geography tables and every compiled template, in each
    language (casework/i18n.py: a language's templates hold its translated words)."""
    data.load()
    legacy.load()
    base = app.jinja_env
    with app.app_context():
        for env in base.language_environments() if isinstance(base, LocaleEnvironment) else [base]:
            for name in env.list_templates(extensions=("html",)):
                env.get_template(name)
