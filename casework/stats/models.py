"""The release ledger (disclosure-control §2.7): every release, every cell it published or withheld, and
the files it was published as.

A release is written once and never changed: no code path updates these rows. Its cells enter the audit
of every later release of the same year (the ledger); its files are rendered once, when the release is
made, so that every download of the same release is byte-identical. Nothing here names a person: cells
are counts and sums for a province, a commune or the country.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.extensions import Model
from casework.models import ref_id, utc_datetime, utcnow


class StatRelease(Model):
    """One numbered release for one quarter (the fourth quarter's also carries the year)."""

    __tablename__ = "stat_release"
    __table_args__ = (UniqueConstraint("period", name="uq_stat_release_period"),
                      UniqueConstraint("number", name="uq_stat_release_number"))

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "2026Q3-r1" (§2.7)
    number: Mapped[int] = mapped_column(Integer, nullable=False)  # 1, 2, 3… across all years
    period: Mapped[str] = mapped_column(String(8), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    created_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    created_by_id: Mapped[str | None] = ref_id("user", nullable=True)
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    parameters: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    manifest: Mapped[str] = mapped_column(Text, nullable=False)  # JSON, as downloaded
    snapshot_hash: Mapped[str] = mapped_column(String(80), nullable=False)
    cell_count: Mapped[int] = mapped_column(Integer, nullable=False)
    suppressed_count: Mapped[int] = mapped_column(Integer, nullable=False)

    cells: Mapped[list[StatCell]] = relationship(back_populates="release", cascade="all, delete-orphan",
                                                 lazy="raise")
    files: Mapped[list[StatFile]] = relationship(back_populates="release", cascade="all, delete-orphan",
                                                 lazy="raise")


class StatCell(Model):
    """One cell of a release with its one status flag; ``value`` is empty when withheld (§2.7)."""

    __tablename__ = "stat_cell"

    release_id: Mapped[str] = mapped_column(String(16), ForeignKey("stat_release.id", ondelete="CASCADE"),
                                            primary_key=True)
    measure: Mapped[str] = mapped_column(String(48), primary_key=True)
    geo_level: Mapped[str] = mapped_column(String(10), primary_key=True)
    geo_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    dims: Mapped[str] = mapped_column(String(200), primary_key=True)  # "act_form=PHYS;age_group=U16" or ""
    tables: Mapped[str] = mapped_column(String(400), nullable=False)  # comma list of table ids
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    value: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unit: Mapped[str] = mapped_column(String(16), nullable=False)
    rounding_base: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    release: Mapped[StatRelease] = relationship(back_populates="cells")


class _RenderedFile:
    """A release or a preview rendered in one format (keyed by its owner's id, then ``format``)."""

    format: Mapped[str] = mapped_column(String(16), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class StatFile(_RenderedFile, Model):
    """A release rendered in one format, kept as the bytes every later download returns."""

    __tablename__ = "stat_file"

    release_id: Mapped[str] = mapped_column(String(16), ForeignKey("stat_release.id", ondelete="CASCADE"),
                                            primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)

    release: Mapped[StatRelease] = relationship(back_populates="files")


class StatPreview(Model):
    """A release computed in the background and shown before it is published (issue 16).

    The state lives here, not in a worker's memory, so any web process can show the progress and the
    result: ``running`` (with ``progress`` 0–100), then ``done`` (``cells`` and the rendered files) or
    ``failed``. A preview is never a release: publishing copies it into the ledger, once, and only if
    the ledger of its year is still the one it was computed against (``ledger``).
    """

    __tablename__ = "stat_preview"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="running")
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    created_by_id: Mapped[str | None] = ref_id("user", nullable=True)
    # Who runs it: "thread" (the web process that accepted it) or "worker" (``flask stats worker``);
    # a worker claims a row by setting ``claimed_at``.
    runner: Mapped[str] = mapped_column(String(10), nullable=False, default="thread")
    claimed_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    ledger: Mapped[str | None] = mapped_column(String(400), nullable=True)  # the year's release ids it saw
    release_created_at: Mapped[datetime | None] = utc_datetime(nullable=True)
    method: Mapped[str | None] = mapped_column(String(32), nullable=True)
    parameters: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    manifest: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON
    snapshot_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    cells: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list, as StatCell rows
    error: Mapped[str | None] = mapped_column(String(400), nullable=True)  # a plain sentence, no data
    release_id: Mapped[str | None] = mapped_column(String(16), ForeignKey("stat_release.id", ondelete="SET NULL"),
                                                   nullable=True)

    files: Mapped[list[StatPreviewFile]] = relationship(back_populates="preview", cascade="all, delete-orphan",
                                                        lazy="raise")


class StatPreviewFile(_RenderedFile, Model):
    """A preview rendered in one format: the bytes its release will carry if it is published."""

    __tablename__ = "stat_preview_file"

    preview_id: Mapped[str] = mapped_column(String(32), ForeignKey("stat_preview.id", ondelete="CASCADE"),
                                            primary_key=True)

    preview: Mapped[StatPreview] = relationship(back_populates="files")


class PilotCommune(Model):
    """A commune of the pilot (Plan 96), set by a national coordinator: every table can be read for the
    pilot communes only."""

    __tablename__ = "stat_pilot_commune"

    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    added_at: Mapped[datetime] = utc_datetime(nullable=False, default=utcnow)
    added_by_id: Mapped[str | None] = ref_id("user", nullable=True)
