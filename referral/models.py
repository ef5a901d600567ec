from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.extensions import db
from casework.models import IdMixin, TimestampMixin

# Kinds of receiving organisation (vietnam-domain §1.3–1.4).
ORGANISATION_KINDS = (
    "commune_police", "health_station", "commune_committee", "legal_aid", "social_assistance",
    "peace_house", "hotline_111", "other",
)

organisation_service = Table(
    "organisation_service",
    db.metadata,
    Column("organisation_id", String(22), ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
    Column("service", String(32), primary_key=True, index=True),
)

organisation_commune = Table(
    "organisation_commune",
    db.metadata,
    Column("organisation_id", String(22), ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
    Column("commune_code", String(5), primary_key=True, index=True),
)


class Organisation(IdMixin, TimestampMixin, db.Model):
    """A police post, health station, legal-aid centre… that receives referrals."""

    __tablename__ = "organisation"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    # The organisation's own switchboard or e-mail, never a person's.
    contact: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    _services = relationship("OrganisationService", cascade="all, delete-orphan", lazy="selectin")
    _communes = relationship("OrganisationCommune", cascade="all, delete-orphan", lazy="selectin")

    @property
    def services(self) -> list[str]:
        return sorted(s.service for s in self._services)

    @services.setter
    def services(self, values: list[str]) -> None:
        self._services = [OrganisationService(service=v) for v in sorted(set(values))]

    @property
    def commune_codes(self) -> list[str]:
        return sorted(c.commune_code for c in self._communes)

    @commune_codes.setter
    def commune_codes(self, values: list[str]) -> None:
        self._communes = [OrganisationCommune(commune_code=v) for v in sorted(set(values))]

    def __repr__(self) -> str:
        return f"<Organisation {self.id}>"


class OrganisationService(db.Model):
    __table__ = organisation_service


class OrganisationCommune(db.Model):
    __table__ = organisation_commune
