"""Protected fields on models: declare ``full_name = Protected(index="name")``, read and write plain text.

A model that holds personal data inherits ``ProtectedMixin``. Each ``Protected`` attribute gets a
ciphertext column ``<name>_ct``; reading the attribute decrypts, assigning encrypts (after NFC
normalisation). Fields with ``index=`` keep blind-index rows in ``blind_index`` for search; the rows
are rewritten in the same flush as the record, so index and data never disagree.

    class Person(ProtectedMixin, IdMixin, db.Model):
        __tablename__ = "person"
        province_code = mapped_column(String(2), nullable=False)
        full_name = Protected(index="name")
        phone = Protected(index="phone")

Reads are not audited here: the loaders that show a person to a user record the view (DESIGN §3.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Integer, LargeBinary, Select, String, bindparam, delete, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from casework.extensions import Model, db
from casework.loading import objects
from casework.models import new_id, ref_id
from casework.protect import blind
from casework.protect.crypto import (
    associated_data,
    decrypt_value,
    encrypt_value,
    new_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from casework.protect.ring import current_keys, refresh_keys_now
from casework.text import nfc


class BlindIndex(Model):
    """One truncated index value of one word (or one phone) of one protected field of one record."""

    __tablename__ = "blind_index"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(32), nullable=False)
    record_id: Mapped[str] = ref_id(nullable=False, index=True)
    field: Mapped[str] = mapped_column(String(32), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    index_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    value: Mapped[int] = mapped_column(Integer, nullable=False)

    # A word's bucket is one range of this index and holds the record ids, so a search intersects buckets and
    # the caller's scope without reading the table (issue 18: at 1,000,000 cases a name search read thousands
    # of scattered table pages and took seconds when they were not in memory).
    __table_args__ = (db.Index("ix_blind_index_lookup", "record_type", "field", "province_code", "value",
                               "index_version", "record_id"),)


class Protected:
    """Descriptor for one encrypted attribute; see the module docstring."""

    def __init__(self, index: str | None = None, max_length: int = 2000):
        if index is not None and index not in blind.TOKENIZERS:
            raise ValueError(f"unknown blind index kind {index!r}")
        self.index = index
        self.max_length = max_length
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def column(self) -> str:
        return f"{self.name}_ct"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        cache = obj.__dict__.setdefault("_plain", {})
        if self.name in cache:
            return cache[self.name]
        blob = getattr(obj, self.column)
        value = None if blob is None else obj._decrypt(self.column, blob)
        cache[self.name] = value
        return value

    def __set__(self, obj: Any, value: str | None) -> None:
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"{self.name} must be text")
            value = nfc(value)
            if len(value) > self.max_length:
                raise ValueError(f"{self.name} is longer than {self.max_length} characters")
            if value == "":
                value = None
        setattr(obj, self.column, None if value is None else obj._encrypt(self.column, value))
        obj.__dict__.setdefault("_plain", {})[self.name] = value
        if self.index:
            obj.__dict__.setdefault("_reindex", set()).add(self.name)


class ProtectedMixin:
    """Gives a model its wrapped data key and turns each ``Protected`` attribute into a ciphertext column."""

    dek_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    kek_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dek_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __protected__: dict[str, Protected] = {}
    if TYPE_CHECKING:  # what every protected model has; declared here for the type checker only
        id: Mapped[str]
        __tablename__: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        fields = {k: v for k, v in vars(cls).items() if isinstance(v, Protected)}
        if fields:
            cls.__protected__ = {**getattr(cls, "__protected__", {}), **fields}
            for spec in fields.values():
                setattr(cls, spec.column, mapped_column(spec.column, LargeBinary, nullable=True))
        super().__init_subclass__(**kwargs)

    # -- keys ------------------------------------------------------------------------------------

    def _where(self, column: str) -> str:
        return f"{self.__tablename__}.{column}[{self.id}]"

    def _data_key(self) -> bytes:
        cached = self.__dict__.get("_dek")
        if cached is not None:
            return cast(bytes, cached)
        keys = current_keys()
        if self.dek_wrapped is None:
            if getattr(self, "id", None) is None:
                self.id = new_id()
            dek = new_data_key()
            self.dek_wrapped, self.kek_version = wrap_data_key(keys, dek)
            self.dek_version = self.dek_version or 1
        else:
            if (self.kek_version or 1) not in keys.keks:
                # Re-wrapped by a rotation in another process under a version this worker has not loaded yet.
                    keys = refresh_keys_now()
            dek = unwrap_data_key(keys, self.dek_wrapped, self.kek_version or 1, self._where("dek"))
        self.__dict__["_dek"] = dek
        return dek

    def _aad(self, column: str) -> bytes:
        return associated_data(self.__tablename__, column, self.id, self.dek_version or 1)

    def _encrypt(self, column: str, value: str) -> bytes:
        dek = self._data_key()
        return encrypt_value(dek, value.encode("utf-8"), self._aad(column))

    def _decrypt(self, column: str, blob: bytes) -> str:
        return decrypt_value(self._data_key(), blob, self._aad(column), self._where(column)).decode("utf-8")

    def forget_plaintext(self) -> None:
        """Drop decrypted values and the data key from memory (after a bulk job)."""
        self.__dict__.pop("_plain", None)
        self.__dict__.pop("_dek", None)

    # -- search ----------------------------------------------------------------------------------

    def _index_rows(self, name: str) -> list[BlindIndex]:
        spec = self.__protected__[name]
        value = getattr(self, name)
        province = getattr(self, "province_code", None)
        if value is None or spec.index is None or not province:
            return []
        keys = current_keys()
        values = {blind.index_value(keys, self.__tablename__, name, province, t)
                  for t in blind.TOKENIZERS[spec.index](value)}
        return [BlindIndex(record_type=self.__tablename__, record_id=self.id, field=name,
                           province_code=province, index_version=keys.current_index_version, value=v)
                for v in sorted(values)]


@event.listens_for(Session, "before_flush")
def _rewrite_blind_indexes(session: Session, _flush_context: Any, _instances: Any) -> None:
    for obj in list(session.deleted):
        if isinstance(obj, ProtectedMixin):
            # A deleted record leaves no index rows behind (they would only be noise for searches).
            session.execute(delete(BlindIndex).where(BlindIndex.record_type == obj.__tablename__,
                                                     BlindIndex.record_id == obj.id))
    for obj in list(session.new) + list(session.dirty):
        pending = obj.__dict__.get("_reindex") if isinstance(obj, ProtectedMixin) else None
        if not pending:
            continue
        for name in sorted(pending):
            session.execute(delete(BlindIndex).where(BlindIndex.record_type == obj.__tablename__,
                                                     BlindIndex.record_id == obj.id, BlindIndex.field == name))
            session.add_all(obj._index_rows(name))
        obj.__dict__["_reindex"] = set()


@dataclass(frozen=True)
class BlindLookup:
    """A search's look-up in the blind index. ``shape`` (how many words, the provinces, the index versions) decides
    its statement, ``candidates()``; ``values``, the searched words' index values, are that statement's bind
    parameters. The term is in neither: a statement that holds ``candidates()`` may be built once and reused for
    every term of the same shape (issue 18), with ``values`` given at each execution."""

    model: type[ProtectedMixin]
    field: str
    shape: tuple[int, tuple[str, ...], tuple[int, ...]]
    values: dict[str, int] = dataclass_field(repr=False)

    def candidates(self, within: Select[Any] | None = None) -> Select[Any]:
        """A select of the ids of the records whose index matches every word, in any of the provinces;
        ``within``, a select of one column of record ids (the caller's scope), limits them to those ids."""
        words, provinces, versions = self.shape
        if not words or not provinces:
            return select(BlindIndex.record_id).where(db.false())
        statement = _candidates_shape(self.model.__tablename__, self.field, words, provinces, versions)
        return statement if within is None else statement.where(statement.selected_columns[0].in_(within))


def blind_lookup(model: type[ProtectedMixin], field: str, query: str, province_codes: Iterable[str]) -> BlindLookup:
    """The look-up of ``query`` in the blind index of ``model.field`` in the provinces ``province_codes``."""
    spec = model.__protected__[field]
    if spec.index is None:
        raise ValueError(f"{field} has no blind index")
    tokens = blind.TOKENIZERS[spec.index](query)
    keys = current_keys()
    table = model.__tablename__
    provinces = tuple(sorted(set(province_codes)))
    # Every index version of the ring is searched: while ``keys reindex`` runs, some records still have
    # rows of the previous version; once it is retired from the key folder, only the new one remains.
    versions = tuple(sorted(keys.index_roots))
    if not tokens or not provinces:
        return BlindLookup(model, field, (0, provinces, versions), {})
    # The rarest word's bucket first: "thị" or "nguyễn" alone match most of a province, and the database
    # may then look each of the rarest word's records up in the other words' buckets (the lookup index ends
    # with the record id) instead of reading those whole buckets.
    tokens = blind.rarest_first(tokens)
    values = {_value_name(i, j, k): blind.index_value(keys, table, field, p, token, v)
              for i, token in enumerate(tokens) for j, p in enumerate(provinces) for k, v in enumerate(versions)}
    return BlindLookup(model, field, (len(tokens), provinces, versions), values)


def candidate_ids(model: type[ProtectedMixin], field: str, query: str, province_codes: Iterable[str]) -> Select[Any]:
    """A select of record ids whose blind index matches every word of ``query`` in any of the provinces.

    Combine it with the caller's scoped query (``Model.id.in_(candidate_ids(...))``), then keep the
    rows for which ``blind.matches`` holds after decryption: the index only narrows the search.
    """
    lookup = blind_lookup(model, field, query, province_codes)
    return lookup.candidates().params(lookup.values)


def _value_name(word: int, province: int, version: int) -> str:
    return f"w{word}p{province}v{version}"


@lru_cache(maxsize=256)
def _candidates_shape(table: str, field: str, words: int, provinces: tuple[str, ...],
                      versions: tuple[int, ...]) -> Select[Any]:
    """``candidate_ids``'s statement for this many words, these provinces and index versions, built once
    (issue 18: building it anew took 8–60 ms a search); the index values are its bind parameters.

    Each word's bucket is one range of ``ix_blind_index_lookup``, which ends with the record id: the buckets
    (and the caller's scope, ``within``) intersect inside indexes, whichever way the database takes. An
    earlier shape probed the other words record by record from the first word's rows and the caller joined
    its scope after: at 1,000,000 cases that read thousands of scattered table pages for one name."""
    index = BlindIndex.__table__

    def bucket(row: Any, word: int) -> Any:
        return db.and_(row.c.record_type == table, row.c.field == field, db.or_(*[
            db.and_(row.c.province_code == p, row.c.index_version == v,
                    row.c.value == bindparam(_value_name(word, j, k), type_=Integer))
            for j, p in enumerate(provinces) for k, v in enumerate(versions)]))

    first = index.alias("bidx_0")
    statement = select(first.c.record_id).where(bucket(first, 0))
    for word in range(1, words):
        other = index.alias(f"bidx_{word}")
        statement = statement.where(first.c.record_id.in_(select(other.c.record_id).where(bucket(other, word))))
    return statement


def search(model: type[ProtectedMixin], field: str, query: str, scoped_query: Select[Any],
           province_codes: Iterable[str], limit: int = 200) -> list[Any]:
    """Records of ``scoped_query`` whose protected ``field`` matches ``query`` exactly (after decryption)."""
    lookup = blind_lookup(model, field, query, province_codes)
    return search_with(lookup, query, scoped_query.where(model.id.in_(lookup.candidates())), limit)


def search_with(lookup: BlindLookup, query: str, statement: Select[Any], limit: int = 200,
                columns: bool = False) -> list[Any]:
    """``search`` with a statement the caller built (and may keep): a select of ``lookup.model`` limited to the
    caller's scope and to ``lookup.candidates()``, whose parameters ``lookup.values`` are given here. ``columns``:
    the statement selects some of the model's columns (``casework.loading.objects``), at least the searched
    field's and the data key's; the records have only those loaded."""
    spec = lookup.model.__protected__[lookup.field]
    if columns:
        rows: Sequence[Any] = objects(lookup.model, statement, lookup.values)
    else:
        rows = db.session.scalars(statement, lookup.values).all()
    return [r for r in rows if blind.matches(spec.index or "name", getattr(r, lookup.field), query)][:limit]


def protected_models() -> list[type[ProtectedMixin]]:
    """Every mapped model class that inherits ``ProtectedMixin`` (the rotation and verify commands walk them)."""
    found: list[type[ProtectedMixin]] = []
    pending = list(ProtectedMixin.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "__mapper__" in dir(cls) and getattr(cls, "__table__", None) is not None and cls not in found:
            found.append(cls)
    return sorted(found, key=lambda c: c.__tablename__)


def protected_model(table: str) -> type[ProtectedMixin] | None:
    return next((m for m in protected_models() if m.__tablename__ == table), None)


@event.listens_for(ProtectedMixin, "expire", propagate=True)
def _forget_on_expire(target: ProtectedMixin | None, _attrs: Any) -> None:
    # After a commit or refresh the ciphertext may have changed (rotation, another worker): decrypt anew.
    # SQLAlchemy passes None for an object garbage-collected during the session's expire loop: nothing
    # of it is left in memory to forget.
    if target is None:
        return
    target.__dict__.pop("_plain", None)
    target.__dict__.pop("_dek", None)


@event.listens_for(ProtectedMixin, "refresh", propagate=True)
def _forget_on_refresh(target: ProtectedMixin | None, _context: Any, _attrs: Any) -> None:
    if target is None:
        return
    target.__dict__.pop("_plain", None)
    target.__dict__.pop("_dek", None)
