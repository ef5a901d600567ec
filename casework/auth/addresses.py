"""Trusted addresses as the accounts see them: the places a host's account is scoped to (issue 14).

The cases domain keeps the addresses (``casework.cases.models.Address``, their screens and rules); it registers
how to load them in ``app.extensions["tincay.addresses"]`` and the core never imports it, like the referral
domain's organisations for the admin's picker (``casework.auth.pickers``). A loaded address is the domain's own
row, so that a host's ``User.addresses`` (the ``address_host`` table of ``casework.auth.models``) can hold it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Protocol

from flask import Flask, current_app

KEY = "tincay.addresses"


class TrustedAddress(Protocol):
    """What the accounts read of an address: its id and name, and where it is (a host's province and commune)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def province_code(self) -> str: ...

    @property
    def commune_code(self) -> str: ...


# ids -> the addresses among them that exist (every address when ids is None), in any order
Loader = Callable[[Collection[str] | None], Iterable[TrustedAddress]]


def register(app: Flask, loader: Loader) -> None:
    """Called by the domain that keeps the trusted addresses."""
    app.extensions[KEY] = loader


def load_addresses(ids: Collection[str] | None = None) -> list[TrustedAddress]:
    """The addresses with these ids that exist (every address without ids); none without the domain."""
    loader: Loader | None = current_app.extensions.get(KEY)
    if loader is None or (ids is not None and not ids):
        return []
    return list(loader(ids))


def address_names(ids: Collection[str]) -> dict[str, str]:
    """id -> name of the addresses with these ids (an account's scope in words, never an id)."""
    return {a.id: a.name for a in load_addresses(ids)}
