"""What other domains add to the case page, owned by each application (``app.extensions["tincay.case_page"]``).

Referral adds "Refer her" and its timeline entries, the cases domain its own; casework never imports them.
Panels (``app.extensions["tincay.case_panels"]``, callables ``(user, case, has) -> Markup``, ``has`` the page's
``CaseHas``) stay where they are; a panel may register a probe (``register_case_probe``) so that the page tells it,
from its own statement, whether it has anything to show (issue 18).
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
    probes: dict[str, Any] = field(default_factory=dict)  # name -> a boolean column on Case, labelled


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


def register_case_probe(app: Flask, name: str, expression: Any) -> None:
    """Read ``expression`` (a boolean on ``Case``: an EXISTS of the domain's rows of the case) with the case page's
    own statement; the page's panels find the answer in ``has.probes[name]`` (issue 18: a panel with nothing to
    show needs no query of its own)."""
    case_page(app).probes[name] = expression.label(f"probe_{name}")


def timeline_label(kind: str) -> str:
    """The label of a timeline kind in the request's language; the code itself when none is registered."""
    return str(case_page().timeline_kinds.get(kind, kind))
