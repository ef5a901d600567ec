"""Master-key rotation and blind-index re-keying, in batches that each commit (security.md §3.3).

``keys rotate`` moves every wrapped data key (each ``ProtectedMixin`` row) and every sealed value
(TOTP seeds) to the newest master key; ``keys reindex`` recomputes every blind-index row with the newest
index root. Both walk the tables in primary-key order and commit after each batch, selecting only rows
still under an older version, so a run that is killed half-way simply continues where it stopped when
started again, and a finished run started again has nothing to do.

Only the small wrapped data keys change during a rotation; the encrypted values themselves do not (their
data key is the same), so a web worker editing a record at the same moment loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import cast

from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from sqlalchemy import Table, TableClause, distinct, func, inspect, select, table
from sqlalchemy import column as sql_column

from casework.extensions import db
from casework.protect.crypto import unwrap_data_key
from casework.protect.fields import BlindIndex, ProtectedMixin, protected_models
from casework.protect.keys import KeyRing
from casework.protect.ring import current_keys
from casework.protect.sealed import SEALED_COLUMNS, SealedColumn, seal, sealed_version, unseal

Progress = Callable[[int], None]

_BLIND_INDEX = cast(Table, BlindIndex.__table__)


@dataclass(frozen=True)
class Operator:
    """The actor of key operations run from the command line (no account: the shell user is the operator)."""

    id: str | None = None
    role: str = "operator"


OPERATOR = Operator()


def existing_protected_models() -> list[type[ProtectedMixin]]:
    """Protected models whose table exists in this database (a model of an unmigrated package is skipped)."""
    insp = inspect(db.session.connection())
    return [m for m in protected_models() if insp.has_table(m.__tablename__)]


def existing_sealed_columns() -> list[SealedColumn]:
    insp = inspect(db.session.connection())
    found = []
    for sc in SEALED_COLUMNS:
        if insp.has_table(sc.table) and sc.column in {c["name"] for c in insp.get_columns(sc.table)}:
            found.append(sc)
    return found


def indexed_models() -> list[type[ProtectedMixin]]:
    return [m for m in existing_protected_models() if any(s.index for s in m.__protected__.values())]


def _sealed_table(sc: SealedColumn) -> TableClause:
    # A bare table: updating it never fires the model's ``onupdate`` (a rotation is not an edit).
    return table(sc.table, sql_column(sc.id_column), sql_column(sc.column))


def _key_table(model: type[ProtectedMixin]) -> TableClause:
    return table(model.__tablename__, sql_column("id"), sql_column("dek_wrapped"),
                 sql_column("kek_version"))


# --- master key ----------------------------------------------------------------------------------


def pending_rewrap(target: int) -> dict[str, int]:
    """Rows still under a master key older than ``target``, by table (and sealed column)."""
    counts: dict[str, int] = {}
    for model in existing_protected_models():
        t = _key_table(model)
        n = db.session.scalar(select(func.count()).select_from(t).where(
            t.c.kek_version < target, t.c.dek_wrapped.is_not(None))) or 0
        if n:
            counts[model.__tablename__] = n
    for sc in existing_sealed_columns():
        t = _sealed_table(sc)
        col = t.c[sc.column]
        n = db.session.scalar(select(func.count()).select_from(t).where(
            col.is_not(None), col.not_like(f"v{target}:%"))) or 0
        if n:
            counts[f"{sc.table}.{sc.column}"] = n
    return counts


def rewrap_batch(model: type[ProtectedMixin], target: int, after_id: str, size: int,
                 keys: KeyRing | None = None) -> tuple[int, str]:
    """Re-wrap up to ``size`` data keys of ``model`` with ids after ``after_id``; returns (count, last id)."""
    keys = keys or current_keys()
    t = _key_table(model)
    rows = db.session.execute(select(t.c.id, t.c.dek_wrapped, t.c.kek_version).where(
        t.c.id > after_id, t.c.kek_version < target, t.c.dek_wrapped.is_not(None)).order_by(t.c.id).limit(size)).all()
    new_kek = keys.kek(target)
    for row in rows:
        dek = unwrap_data_key(keys, bytes(row.dek_wrapped), row.kek_version,
                              f"{model.__tablename__}.dek[{row.id}]")
        # Guarded by the old version: a row changed meanwhile by someone else is left for the next run.
        db.session.execute(t.update().where(t.c.id == row.id, t.c.kek_version == row.kek_version)
                           .values(dek_wrapped=aes_key_wrap(new_kek, dek), kek_version=target))
    return len(rows), (rows[-1].id if rows else after_id)


def reseal_batch(sc: SealedColumn, target: int, after_id: str, size: int,
                 keys: KeyRing | None = None) -> tuple[int, str]:
    """Re-seal up to ``size`` sealed values of one column under master key ``target``."""
    keys = keys or current_keys()
    t = _sealed_table(sc)
    ident, col = t.c[sc.id_column], t.c[sc.column]
    rows = db.session.execute(select(ident, col).where(
        ident > after_id, col.is_not(None), col.not_like(f"v{target}:%")).order_by(ident).limit(size)).all()
    for row_id, token in rows:
        if (sealed_version(token) or 0) >= target:
            continue
        fresh = seal(unseal(token, sc.purpose, row_id, keys), sc.purpose, row_id, keys, version=target)
        db.session.execute(t.update().where(ident == row_id, col == token).values({sc.column: fresh}))
    return len(rows), (rows[-1][0] if rows else after_id)


def _in_batches(batch: Callable[[str], tuple[int, str]], on_batch: Progress) -> int:
    """Call ``batch(after_id)`` until it finds nothing more, committing after each batch; returns the rows done."""
    done, after = 0, ""
    while True:
        n, after = batch(after)
        if not n:
            return done
        db.session.commit()
        done += n
        on_batch(n)


def rewrap_all(target: int, size: int = 500, on_batch: Progress = lambda n: None) -> int:
    """Move everything to master key ``target``, committing after each batch; returns the rows done."""
    done = 0
    for model in existing_protected_models():
        done += _in_batches(partial(rewrap_batch, model, target, size=size), on_batch)
    for sc in existing_sealed_columns():
        done += _in_batches(partial(reseal_batch, sc, target, size=size), on_batch)
    return done


# --- blind indexes -------------------------------------------------------------------------------


def pending_reindex(target: int) -> dict[str, int]:
    """Records that still have index rows of a version older than ``target``, by table."""
    counts: dict[str, int] = {}
    for model in indexed_models():
        name = model.__tablename__
        n = db.session.scalar(select(func.count(distinct(BlindIndex.record_id))).where(
            BlindIndex.record_type == name, BlindIndex.index_version < target)) or 0
        if n:
            counts[name] = n
    return counts


def reindex_batch(model: type[ProtectedMixin], target: int, after_id: str, size: int) -> tuple[int, str]:
    """Recompute the index rows of up to ``size`` records that still have rows older than ``target``."""
    keys = current_keys()
    if keys.current_index_version != target:
        raise RuntimeError(f"the key ring's newest index key is v{keys.current_index_version}, not v{target}")
    name = model.__tablename__
    ids = list(db.session.scalars(select(BlindIndex.record_id).where(
        BlindIndex.record_type == name, BlindIndex.record_id > after_id, BlindIndex.index_version < target)
        .group_by(BlindIndex.record_id).order_by(BlindIndex.record_id).limit(size)))
    if not ids:
        return 0, after_id
    records = list(db.session.scalars(select(model).where(model.id.in_(ids))))
    fields = [f for f, spec in model.__protected__.items() if spec.index]
    for record in records:
        for field in fields:
            db.session.execute(_BLIND_INDEX.delete().where(
                BlindIndex.record_type == name, BlindIndex.record_id == record.id,
                BlindIndex.field == field))
            db.session.add_all(record._index_rows(field))
    gone = set(ids) - {r.id for r in records}
    if gone:  # rows of records deleted before index rows were cleaned up with them
        db.session.execute(_BLIND_INDEX.delete().where(
            BlindIndex.record_type == name, BlindIndex.record_id.in_(sorted(gone))))
    db.session.flush()
    for record in records:
        record.forget_plaintext()
        db.session.expunge(record)
    return len(ids), ids[-1]


def reindex_all(target: int, size: int = 500, on_batch: Progress = lambda n: None) -> int:
    return sum(_in_batches(partial(reindex_batch, model, target, size=size), on_batch) for model in indexed_models())
