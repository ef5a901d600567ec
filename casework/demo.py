"""Synthetic demonstration data: obviously fake people, several provinces, every role.

Names come from a small list of invented syllables ("Demo Thị Một") so that no demo record can be
mistaken for a real woman. The core creates the accounts that belong to a commune, a province or the
whole country; each domain adds its own records through ``add_loader`` (the cases domain its trusted
addresses and their hosts first, then the cases).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from casework.auth import services
from casework.auth.addresses import TrustedAddress
from casework.auth.models import User
from casework.extensions import db

# Printed for the demo on purpose; real accounts are created with their own password.
DEMO_PASSWORD = "hoa-sen-mua-he-2026"  # noqa: S105  # nosec B105

# Pilot provinces after the 2025 merger (vietnam-domain §4.2), two demo trusted addresses in each. The last
# two are the plan's pilot provinces (issue 13): Thanh Hóa, and Đồng Nai, which now holds Bình Phước.
DEMO_PLACES = [
    ("19", "Thái Nguyên"),
    ("11", "Điện Biên"),
    ("15", "Lào Cai"),
    ("38", "Thanh Hóa"),
    ("75", "Đồng Nai"),
]
# Rural communes (xã, 2025 units) chosen for the pilot provinces; the others take their first two communes.
# Thanh Hóa: Xã Bá Thước and Xã Cẩm Thủy, in the western hills. Đồng Nai: Xã Lộc Ninh (former Bình Phước
# province, on the Cambodian border) and Xã Định Quán (former Đồng Nai).
DEMO_COMMUNES = {
    "38": ("14923", "15127"),
    "75": ("25270", "26206"),
}
# The accounts that belong to no province, printed last.
NATIONAL = ""


@dataclass
class DemoContext:
    rng: random.Random
    cases: int
    addresses: list[TrustedAddress]  # the demo trusted addresses, in the order of DEMO_PLACES (cases domain)
    users: dict[str, User]
    echo: Callable[[str], None]
    # username → the province code the account works in (printed grouped by province); loaders add theirs.
    province_of: dict[str, str] = field(default_factory=dict)

    def add_user(self, username: str, role: str, province_code: str = NATIONAL, **kw: Any) -> User:
        """A demo account with the demo password, listed under ``province_code`` in the printed logins."""
        user, _secret = services.create_user(None, services.NewUser(username=username, role=role,
                                                                   password=DEMO_PASSWORD, **kw))
        user.totp_confirmed = False  # demo users enrol their authenticator at the first sign-in
        self.users[username] = user
        if province_code != NATIONAL:
            self.province_of[username] = province_code
        return user


def add_loader(app, loader: Callable[[DemoContext], None]) -> None:
    app.extensions.setdefault("tincay.demo", []).append(loader)


def first_communes(province_code: str, n: int) -> list[str]:
    from casework.geo import data as geo

    chosen = DEMO_COMMUNES.get(province_code)
    if chosen:
        return [code for code in chosen if geo.commune(code) is not None][:n]
    return [c.code for c in geo.communes(province_code)[:n]]


_ROLE_WORDS = {
    "host": "chủ ĐCTC (host)",
    "commune_officer": "cán bộ Hội LHPN xã (commune officer)",
    "province_officer": "cán bộ Hội LHPN tỉnh (province officer)",
    "service_provider": "cơ quan cung cấp dịch vụ (service provider)",
    "coordinator": "điều phối quốc gia (coordinator)",
    "admin": "quản trị (admin)",
    "auditor": "kiểm toán (auditor)",
}
_ROLE_ORDER = {role: n for n, role in enumerate(_ROLE_WORDS)}


def print_logins(ctx: DemoContext) -> None:
    """The demo accounts grouped by province (then the national ones), each with its role and place."""
    from casework.geo import data as geo

    groups: dict[str, list[str]] = {}
    for username in ctx.users:
        groups.setdefault(ctx.province_of.get(username, NATIONAL), []).append(username)
    names = dict(DEMO_PLACES)
    order = [code for code, _name in DEMO_PLACES if code in groups] + sorted(
        code for code in groups if code not in names and code != NATIONAL)
    for code in [*order, NATIONAL] if NATIONAL in groups else order:
        if code == NATIONAL:
            ctx.echo("Cả nước / national:")
        else:
            province = geo.province(code)
            ctx.echo(f"{province.name if province else names.get(code, code)} ({code}):")
        # In the order of the roles above (hosts first), whichever loader made the account.
        for username in sorted(groups[code], key=lambda u: _ROLE_ORDER.get(ctx.users[u].role, len(_ROLE_ORDER))):
            user = ctx.users[username]
            place = ""
            if user.role == "host":
                place = ", ".join(a.name for a in user.addresses)
            elif user.commune_code:
                commune = geo.commune(user.commune_code)
                place = commune.name if commune else user.commune_code
            elif user.role == "service_provider":
                place = user.display_name or ""
            line = f"  {username:<12} {_ROLE_WORDS.get(user.role, user.role)}"
            ctx.echo(f"{line}  {place}".rstrip())


def load_demo(cases: int = 60, if_empty: bool = False, echo: Callable[[str], None] = print) -> None:
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        echo("The database already has accounts: demo data not loaded.")
        return
    # Reproducible fake data; nothing secret is drawn from it.
    rng = random.Random(20261129)  # noqa: S311  # nosec B311
    ctx = DemoContext(rng, cases, [], {}, echo)
    for i, (province_code, _name) in enumerate(DEMO_PLACES, start=1):
        commune_code = first_communes(province_code, 1)[0]
        ctx.add_user(f"xa{i}", "commune_officer", province_code, display_name=f"Cán bộ xã Demo {i}",
                     scope=commune_code)
        ctx.add_user(f"tinh{i}", "province_officer", province_code, display_name=f"Cán bộ tỉnh Demo {i}",
                     scope=province_code)
        # Issues 12 and 13: second approvals, budget changes and tranches need a second officer of the province.
        ctx.add_user(f"tinh{i}b", "province_officer", province_code, display_name=f"Cán bộ tỉnh Demo {i}B",
                     scope=province_code)
    ctx.add_user("dieuphoi", "coordinator", display_name="Điều phối Demo")
    ctx.add_user("quantri", "admin", display_name="Quản trị Demo")
    ctx.add_user("quantri2", "admin", display_name="Quản trị Demo 2")  # account changes need a second administrator
    ctx.add_user("kiemtoan", "auditor", display_name="Kiểm toán Demo")
    for loader in current_app.extensions.get("tincay.demo", []):
        loader(ctx)
    db.session.commit()
    echo("Demo data loaded. Sign in at http://127.0.0.1:5000 with any of these accounts;")
    echo(f"every password is: {DEMO_PASSWORD}")
    echo("At the first sign-in leave the code empty, then scan the QR code with an authenticator app.")
    print_logins(ctx)
