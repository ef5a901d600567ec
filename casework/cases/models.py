from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.auth.models import address_host
from casework.extensions import db
from casework.models import IdMixin, TimestampMixin

ADDRESS_KINDS = ("household", "organisation", "health_station", "police_post")


class Address(IdMixin, TimestampMixin, db.Model):
    """A community trusted address (ĐCTC): a household or organisation that receives victims."""

    __tablename__ = "address"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    commune_code: Mapped[str] = mapped_column(String(5), nullable=False, index=True)
    geo_scheme: Mapped[str] = mapped_column(String(8), nullable=False, default="2025")
    declared_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    published_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    hosts = relationship("User", secondary=address_host, back_populates="addresses", lazy="selectin")

    def __repr__(self) -> str:
        return f"<Address {self.id}>"
