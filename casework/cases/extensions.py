"""What other domains add to the case page, owned by each application (``app.extensions["tincay.case_page"]``).

Referral adds "Refer her" and its timeline entries, the cases domain its own; casework never imports them.
Panels (``app.extensions["tincay.case_panels"]``, callables ``(user, case) -> Markup``) stay where they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

_KEY = "tincay.case_page"


@dataclass
class CasePage:
    timeline_kinds: dict[str, Any] = field(default_factory=dict)  # kind -> label (a lazy_gettext string)
    actions: list[tuple[str, Any, frozenset[str]]] = field(default_factory=list)  # endpoint, label, roles


def case_page(app: Flask | None = None) -> CasePage:
    page: CasePage = (app or current_app).extensions.setdefault(_KEY, CasePage())
    return page


def register_timeline_kind(app: Flask, kind: str, label: Any) -> None:
    """Give a timeline kind its label (a lazy_gettext string)."""
    case_page(app).timeline_kinds[kind] = label


def register_case_action(app: Flask, endpoint: str, label: Any, roles: Iterable[str]) -> None:
    """Show a link ``url_for(endpoint, case_id=…)`` on the case page to these roles."""
    actions = case_page(app).actions
    if all(e != endpoint for e, _l, _r in actions):
        actions.append((endpoint, label, frozenset(str(r) for r in roles)))


def timeline_label(kind: str) -> str:
    """The label of a timeline kind in the request's language; the code itself when none is registered."""
    return str(case_page().timeline_kinds.get(kind, kind))
