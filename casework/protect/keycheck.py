"""The start-up key check: the app refuses to start when a key file does not match the database (DESIGN §3.3).

At start-up (``configure_keys``) each check value stored in ``key_canary`` (``casework.protect.canary``) must
decrypt with the key file of the same version, so a folder from another installation, a restored old folder
or a replaced file stops the app before it writes anything with the wrong key.

- A database without the table (empty, not yet migrated) is not checked: ``db upgrade`` and
  ``keys init`` work on a fresh install.
- The checkpoint signing key (``checkpoint.ed25519``) has a check value too, derived from its private
  bytes: a replaced checkpoint key stops the app like a replaced master key.
- A key version without a check value yet (first start after the migration, or a version just added)
  is first compared with the data already stored under it (one wrapped data key, one sealed seed,
  one blind-index row, the newest audit event); if the data agrees or there is none, its check value is
  written. A key that disagrees with existing data stops the app.
- A key file that is missing while rows still need its version stops the app; a version that no row
  uses any more (retired after a completed rotation) may be removed from the folder.

Messages name the key file, never its content.
"""

from __future__ import annotations

import logging
from typing import cast

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap
from sqlalchemy import Connection, Table, create_engine, inspect, select, table
from sqlalchemy import column as sql_column
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from casework.models import utcnow
from casework.protect import blind
from casework.protect.audit import AuditEvent, compute_mac
from casework.protect.canary import FILE_NAMES, KeyCanary, check_value_matches, file_name, make_check_value, ring_keys
from casework.protect.crypto import ProtectedDataError, associated_data, decrypt_value, unwrap_data_key
from casework.protect.keys import KeyError_, KeyRing
from casework.protect.sealed import SEALED_COLUMNS, SealError, unseal

log = logging.getLogger("casework.protect")


def check_key_canaries(keys: KeyRing, database_url: str) -> None:
    """Raise ``KeyError_`` unless every key of the ring matches this database (see the module docstring).

    Uses its own short-lived connection: it runs in ``configure_keys``, before the extensions exist.
    """
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        for attempt in (1, 2):
            try:
                with engine.begin() as conn:
                    check_connection(conn, keys)
                return
            except IntegrityError:
                # Another worker starting at the same moment wrote the same check value: check again.
                if attempt == 2:
                    raise
    finally:
        engine.dispose()


def check_connection(conn: Connection, keys: KeyRing) -> None:
    if not inspect(conn).has_table("key_canary"):
        return  # an empty or not yet migrated database: nothing can have been written with a key
    canaries = cast(Table, KeyCanary.__table__)
    stored = {(r.kind, r.version): r.check_value for r in conn.execute(select(canaries))}
    held = ring_keys(keys)
    for (kind, version), blob in sorted(stored.items()):
        if kind not in FILE_NAMES:
            continue
        key = held.get((kind, version))
        name = file_name(kind, version)
        if key is None:
            users = rows_using(conn, kind, version)
            if users:
                raise KeyError_(f"Key file {name} is missing from {keys.directory}; {users} stored rows need it.")
            log.info("key %s is retired: no stored row uses it", name)
            continue
        if not check_value_matches(kind, version, key, blob):
            log.error("key check failed: %s does not match this database", name)
            raise KeyError_(f"Key file {name} does not match this database: its check value does not decrypt. "
                            "The key folder is not the one this database was written with.")
    for (kind, version), key in sorted(held.items()):
        if (kind, version) in stored:
            continue
        if data_disagrees(conn, keys, kind, version):
            log.error("key check failed: %s does not decrypt the stored data", file_name(kind, version))
            raise KeyError_(f"Key file {file_name(kind, version)} does not decrypt the data already stored "
                            "under its version. The key folder is not the one this database was written with.")
        conn.execute(canaries.insert().values(kind=kind, version=version, created_at=utcnow(),
                                              check_value=make_check_value(kind, version, key)))


# --- what the stored data says about a key --------------------------------------------------------


def _tables_with(conn: Connection, *columns: str) -> list[str]:
    insp = inspect(conn)
    found = []
    for name in insp.get_table_names():
        have = {c["name"] for c in insp.get_columns(name)}
        if set(columns) <= have:
            found.append(name)
    return found


def rows_using(conn: Connection, kind: str, version: int) -> int:
    """How many stored rows (at most one per table is counted) need this key version."""
    n = 0
    if kind == "kek":
        for name in _tables_with(conn, "dek_wrapped", "kek_version"):
            t = table(name, sql_column("kek_version"))
            n += len(conn.execute(select(t.c.kek_version).where(t.c.kek_version == version).limit(1)).all())
        existing = set(inspect(conn).get_table_names())
        for sc in SEALED_COLUMNS:
            if sc.table in existing:
                t = table(sc.table, sql_column(sc.column))
                n += len(conn.execute(select(t.c[sc.column]).where(
                    t.c[sc.column].like(f"v{version}:%")).limit(1)).all())
    elif kind == "index" and inspect(conn).has_table("blind_index"):
        t = table("blind_index", sql_column("index_version"))
        n += len(conn.execute(select(t.c.index_version).where(t.c.index_version == version).limit(1)).all())
    elif kind == "audit" and inspect(conn).has_table("audit_event"):
        t = table("audit_event", sql_column("key_version"))
        n += len(conn.execute(select(t.c.key_version).where(t.c.key_version == version).limit(1)).all())
    return n


def data_disagrees(conn: Connection, keys: KeyRing, kind: str, version: int) -> bool:
    """True when a sample of the data stored under this key version does not open with the key."""
    if kind == "kek":
        return _kek_disagrees(conn, keys, version)
    if kind == "index":
        return _index_disagrees(conn, keys, version)
    if kind == "audit":
        return _audit_disagrees(conn, keys, version)
    return False


def _kek_disagrees(conn: Connection, keys: KeyRing, version: int) -> bool:
    kek = keys.kek(version)
    for name in _tables_with(conn, "dek_wrapped", "kek_version"):
        t = table(name, sql_column("dek_wrapped"), sql_column("kek_version"))
        row = conn.execute(select(t.c.dek_wrapped).where(t.c.kek_version == version,
                                                        t.c.dek_wrapped.is_not(None)).limit(1)).first()
        if row is not None:
            try:
                aes_key_unwrap(kek, bytes(row.dek_wrapped))
            except (InvalidUnwrap, ValueError):
                return True
    existing = set(inspect(conn).get_table_names())
    for sc in SEALED_COLUMNS:
        if sc.table not in existing:
            continue
        t = table(sc.table, sql_column(sc.id_column), sql_column(sc.column))
        row = conn.execute(select(t.c[sc.id_column], t.c[sc.column]).where(
            t.c[sc.column].like(f"v{version}:%")).limit(1)).first()
        if row is not None:
            try:
                unseal(row[1], sc.purpose, row[0], keys)
            except SealError:
                return True
    return False


def _index_disagrees(conn: Connection, keys: KeyRing, version: int) -> bool:
    """Decrypt the record behind one index row and recompute its index values with this root key."""
    if not inspect(conn).has_table("blind_index"):
        return False
    bi = table("blind_index", sql_column("record_type"), sql_column("record_id"), sql_column("field"),
               sql_column("province_code"), sql_column("index_version"), sql_column("value"))
    sample = conn.execute(select(bi.c.record_type, bi.c.record_id, bi.c.field, bi.c.province_code)
                          .where(bi.c.index_version == version).limit(1)).first()
    if sample is None:
        return False
    record_type, record_id, field, province = sample
    if record_type not in inspect(conn).get_table_names():
        return False
    ct = f"{field}_ct"
    t = table(record_type, sql_column("id"), sql_column("dek_wrapped"), sql_column("kek_version"),
              sql_column("dek_version"), sql_column(ct))
    row = conn.execute(select(t).where(t.c.id == record_id)).first()
    if row is None or row.dek_wrapped is None or row[4] is None or (row.kek_version or 1) not in keys.keks:
        return False  # nothing to compare with: not a sign of a wrong key
    try:
        where = f"{record_type}.{ct}[{record_id}]"
        dek = unwrap_data_key(keys, bytes(row.dek_wrapped), row.kek_version or 1, where)
        plain = decrypt_value(dek, bytes(row[4]), associated_data(record_type, ct, record_id, row.dek_version or 1),
                              where).decode("utf-8")
    except ProtectedDataError:
        return False  # the master key's own check reports this
    stored = {v for (v,) in conn.execute(select(bi.c.value).where(
        bi.c.record_type == record_type, bi.c.record_id == record_id, bi.c.field == field,
        bi.c.index_version == version))}
    for tokenize in blind.TOKENIZERS.values():
        computed = {blind.index_value(keys, record_type, field, province, tok, version) for tok in tokenize(plain)}
        if computed and computed == stored:
            return False
    return True


def _audit_disagrees(conn: Connection, keys: KeyRing, version: int) -> bool:
    if not inspect(conn).has_table("audit_event"):
        return False
    t = AuditEvent.__table__
    newest = conn.execute(select(t).where(t.c.key_version == version, t.c.mac.is_not(None))
                          .order_by(t.c.id.desc()).limit(1)).first()
    return newest is not None and compute_mac(keys.audit_key, newest) != newest.mac
