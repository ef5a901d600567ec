"""The main menu: each domain adds its entries, so the core never imports a domain (DESIGN §3.1)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    roles: frozenset[str]
    order: int = 50


def add(app, endpoint: str, label, roles, order: int = 50) -> None:
    items = app.extensions.setdefault("tincay.nav", [])
    if all(i.endpoint != endpoint for i in items):
        items.append(NavItem(endpoint, label, frozenset(str(r) for r in roles), order))


def nav_items() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    items = sorted(current_app.extensions.get("tincay.nav", []), key=lambda i: i.order)
    return [(i.endpoint, str(i.label)) for i in items if current_user.role in i.roles]
