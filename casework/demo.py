"""Synthetic demonstration data: obviously fake people, several provinces, every role.

Names come from a small list of invented syllables ("Demo Thị Một") so that no demo record can be
mistaken for a real woman. Each domain adds its own demo records through ``add_loader``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from casework.auth import services
from casework.auth.models import User
from casework.cases.models import Address
from casework.extensions import db

# Printed for the demo on purpose; real accounts are created with their own password.
DEMO_PASSWORD = "demo-tin-cay-2026"  # noqa: S105  # nosec B105

# Pilot provinces after the 2025 merger (vietnam-domain §4.2) with one commune each.
DEMO_PLACES = [
    ("19", "Thái Nguyên"),
    ("11", "Điện Biên"),
    ("15", "Lào Cai"),
]


@dataclass
class DemoContext:
    rng: random.Random
    cases: int
    addresses: list[Address]
    users: dict[str, User]
    echo: Callable[[str], None]


def add_loader(app, loader: Callable[[DemoContext], None]) -> None:
    app.extensions.setdefault("tincay.demo", []).append(loader)


def _first_communes(province_code: str, n: int) -> list[str]:
    from casework.geo import data as geo

    return [c.code for c in geo.communes(province_code)[:n]]


def load_demo(cases: int = 60, if_empty: bool = False, echo: Callable[[str], None] = print) -> None:
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        echo("The database already has accounts: demo data not loaded.")
        return
    # Reproducible fake data; nothing secret is drawn from it.
    rng = random.Random(20261129)  # noqa: S311  # nosec B311
    addresses: list[Address] = []
    users: dict[str, User] = {}

    def make(username: str, role: str, **kw) -> User:
        user, _secret = services.create_user(None, services.NewUser(username=username, role=role,
                                                                   password=DEMO_PASSWORD, **kw))
        user.totp_confirmed = False  # demo users enrol their authenticator at the first sign-in
        users[username] = user
        return user

    for i, (province_code, _name) in enumerate(DEMO_PLACES, start=1):
        communes = _first_communes(province_code, 2)
        for j, commune_code in enumerate(communes, start=1):
            addr = Address(name=f"ĐCTC Demo {i}.{j}", kind="household", province_code=province_code,
                           commune_code=commune_code)
            db.session.add(addr)
            addresses.append(addr)
        db.session.flush()
        make(f"host{i}", "host", display_name=f"Chủ nhà Demo {i}", address_ids=(addresses[-2].id,))
        make(f"xa{i}", "commune_officer", display_name=f"Cán bộ xã Demo {i}", scope=communes[0])
        make(f"tinh{i}", "province_officer", display_name=f"Cán bộ tỉnh Demo {i}", scope=province_code)
    make("dieuphoi", "coordinator", display_name="Điều phối Demo")
    make("quantri", "admin", display_name="Quản trị Demo")
    make("kiemtoan", "auditor", display_name="Kiểm toán Demo")
    ctx = DemoContext(rng, cases, addresses, users, echo)
    for loader in current_app.extensions.get("tincay.demo", []):
        loader(ctx)
    db.session.commit()
    echo("Demo data loaded. Sign in at http://127.0.0.1:5000 with any of these accounts;")
    echo(f"every password is: {DEMO_PASSWORD}")
    echo("At the first sign-in leave the code empty, then scan the QR code with an authenticator app.")
    for username, user in users.items():
        echo(f"  {username:<12} {user.role}")
