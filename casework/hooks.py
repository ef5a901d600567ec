"""Functions a domain adds to one app for the core to call: the records of statistics, the open items of a
closure, the deadline sweeps. Kept in ``app.extensions`` under the list's key, so that two apps in one
process share nothing (issue 14); the core never imports a domain to find them.
"""

from __future__ import annotations

from flask import Flask, current_app


class Hooks[T]:
    """One list of hooks, kept per app under ``key``."""

    def __init__(self, key: str) -> None:
        self.key = key

    def add(self, app: Flask, hook: T) -> None:
        """Called by a domain's ``register(app)``; adding the same function twice keeps one."""
        hooks: list[T] = app.extensions.setdefault(self.key, [])
        if hook not in hooks:
            hooks.append(hook)

    def of(self, app: Flask | None = None) -> tuple[T, ...]:
        """The hooks of ``app`` (the current app by default), in the order they were added."""
        return tuple((app or current_app).extensions.get(self.key, ()))
