"""The demo data can play every journey (issue 13): two province officers and a service provider in each
demo province, trusted addresses in rural communes of the pilot provinces, logins printed by province."""

from __future__ import annotations

from sqlalchemy import select

from casework.auth import passwords
from casework.auth.models import User
from casework.cases.models import Address
from casework.demo import DEMO_COMMUNES, DEMO_PASSWORD, DEMO_PLACES, load_demo
from casework.extensions import db
from casework.geo import data as geo


def test_demo_accounts_and_addresses_cover_every_province_and_print_by_province(app):
    from referral.models import Organisation

    lines: list[str] = []
    load_demo(cases=10, echo=lines.append)
    users = db.session.scalars(select(User)).all()
    for code, _name in DEMO_PLACES:
        assert len([u for u in users if u.role == "province_officer" and u.province_code == code]) == 2
        orgs = {o.id for o in db.session.scalars(select(Organisation).where(Organisation.province_code == code))}
        assert any(u.role == "service_provider" and u.organisation_id in orgs for u in users), code
        assert any(u.role == "host" and u.addresses and u.addresses[0].province_code == code for u in users)
    # The pilot provinces' addresses are in rural communes (xã) of the 2025 units.
    assert {code for code, _ in DEMO_PLACES} >= {"38", "75"}
    for province, communes in DEMO_COMMUNES.items():
        used = set(db.session.scalars(select(Address.commune_code).where(Address.province_code == province)))
        assert used == set(communes)
        for code in communes:
            commune = geo.commune(code)
            assert commune is not None and commune.province_code == province and commune.name.startswith("Xã ")
    # The printed logins: one heading per province, each followed by its own accounts only.
    lines = lines[lines.index(next(x for x in lines if x.startswith("At the first sign-in"))) + 1:]
    headings = [i for i, line in enumerate(lines) if line.endswith(":") and not line.startswith(" ")]
    assert [lines[i] for i in headings] == [
        *(f"{geo.province(code).name} ({code}):" for code, _name in DEMO_PLACES), "Cả nước / national:"]
    by_name = {u.username: u for u in users}
    for start, end in zip(headings, [*headings[1:], len(lines)], strict=True):
        names = [line.split()[0] for line in lines[start + 1:end]]
        assert names, lines[start]
        code = None if lines[start].startswith("Cả nước") else lines[start].rsplit("(", 1)[-1].rstrip("):")
        for name in names:
            user = by_name[name]
            if user.role in ("province_officer", "commune_officer"):
                assert user.province_code == code
            elif user.role == "host":
                assert user.addresses[0].province_code == code
            elif code is None:
                assert user.role in ("coordinator", "admin", "auditor")
    assert sum(len(line.split()) > 1 and line.startswith("  ") for line in lines) == len(users)
    # The printed password passes the rules every real password must pass.
    assert passwords.weakness(DEMO_PASSWORD) is None
