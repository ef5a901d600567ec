"""Roles and what scope each one carries (DESIGN §1)."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    HOST = "host"
    COMMUNE_OFFICER = "commune_officer"
    PROVINCE_OFFICER = "province_officer"
    SERVICE_PROVIDER = "service_provider"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    AUDITOR = "auditor"


ALL_ROLES = tuple(Role)
STAFF_WITH_CASES = (Role.HOST, Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER)

ROLE_LABELS = {
    Role.HOST: _l("Trusted-address host"),
    Role.COMMUNE_OFFICER: _l("Commune Women's Union officer"),
    Role.PROVINCE_OFFICER: _l("Provincial Women's Union officer"),
    Role.SERVICE_PROVIDER: _l("Service provider"),
    Role.COORDINATOR: _l("National coordinator"),
    Role.ADMIN: _l("System administrator"),
    Role.AUDITOR: _l("Data-protection auditor"),
}

# Which scope field each role needs: "commune" and "province" are codes, "address" and
# "organisation" are record ids, None is national.
SCOPE_OF_ROLE: dict[Role, str | None] = {
    Role.HOST: "address",
    Role.COMMUNE_OFFICER: "commune",
    Role.PROVINCE_OFFICER: "province",
    Role.SERVICE_PROVIDER: "organisation",
    Role.COORDINATOR: None,
    Role.ADMIN: None,
    Role.AUDITOR: None,
}
