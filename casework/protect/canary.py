"""Key canaries: the app refuses to start when a key file does not match the database (DESIGN §3.3).

For every key version that protects data (master keys ``kek.v<N>``, blind-index roots ``index.v<N>``,
the audit key) the table ``key_canary`` holds a check value: a known text encrypted with AES-256-GCM
under a key derived from that key file. At start-up (``configure_keys``) each stored check value must
decrypt with the key file of the same version, so a folder from another installation, a restored old
folder or a replaced file stops the app before it writes anything with the wrong key.

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

The check value reveals nothing about the key (it is an AEAD ciphertext of a public text under an HKDF
subkey); messages name the key file, never its content.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap
from flask import Flask
from sqlalchemy import Connection, Integer, LargeBinary, String, Table, create_engine, inspect, select, table
from sqlalchemy import column as sql_column
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.pool import NullPool

from casework.extensions import Model, db
from casework.models import UTCDateTime, utcnow
from casework.protect.keys import KeyError_, KeyRing, load_keys, versions_on_disk

log = logging.getLogger("casework.protect")

CANARY_TEXT = b"Tin Cay key canary v1"
FILE_NAMES = {"kek": "kek.v{}.key", "index": "index.v{}.key", "audit": "audit.v{}.key",
              "checkpoint": "checkpoint.ed25519",
              "offline": "offline.v{}.pem"}


class KeyCanary(Model):
    """One check value per key version; see the module docstring."""

    __tablename__ = "key_canary"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    check_value: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<KeyCanary {self.kind} v{self.version}>"


def file_name(kind: str, version: int) -> str:
    return FILE_NAMES.get(kind, kind + ".v{}").format(version)


def ring_keys(keys: KeyRing) -> dict[tuple[str, int], bytes]:
    """Every data-protecting key of the ring by (kind, version)."""
    held = {("kek", v): k for v, k in keys.keks.items()}
    held.update({("index", v): k for v, k in keys.index_roots.items()})
    held[("audit", 1)] = keys.audit_key
    if keys.checkpoint_key is not None:
        # A replaced checkpoint key would sign checkpoints of a rewritten trail: it must match too. Its
        # loss only stops new checkpoints (no stored row needs it), so a missing file does not stop start-up.
        held[("checkpoint", 1)] = keys.checkpoint_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    # Offline key pairs (issue 17): the check value is keyed by the private scalar; its row's created_at
    # is also when that version became current, which starts the grace period of the one before.
    held.update({("offline", v): k.private_numbers().private_value.to_bytes(32, "big")
                 for v, k in keys.offline_keys.items()})
    return held


def _aead(kind: str, version: int, key: bytes) -> tuple[AESGCM, bytes]:
    sub = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tincay/canary/v1").derive(key)
    return AESGCM(sub), f"{kind}|{version}".encode()


def make_check_value(kind: str, version: int, key: bytes) -> bytes:
    aead, aad = _aead(kind, version, key)
    nonce = os.urandom(12)
    return nonce + aead.encrypt(nonce, CANARY_TEXT, aad)


def check_value_matches(kind: str, version: int, key: bytes, blob: bytes) -> bool:
    aead, aad = _aead(kind, version, key)
    try:
        return len(blob) > 28 and aead.decrypt(blob[:12], blob[12:], aad) == CANARY_TEXT
    except InvalidTag:
        return False


# --- start-up -----------------------------------------------------------------------------------


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
        from casework.protect.sealed import SEALED_COLUMNS

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
    from casework.protect.sealed import SEALED_COLUMNS, SealError, unseal

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
    from casework.protect import blind
    from casework.protect.crypto import ProtectedDataError, associated_data, decrypt_value, unwrap_data_key

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
    from casework.protect.audit import AuditEvent, compute_mac

    if not inspect(conn).has_table("audit_event"):
        return False
    t = AuditEvent.__table__
    newest = conn.execute(select(t).where(t.c.key_version == version, t.c.mac.is_not(None))
                          .order_by(t.c.id.desc()).limit(1)).first()
    return newest is not None and compute_mac(keys.audit_key, newest) != newest.mac


# --- while running --------------------------------------------------------------------------------


def record_check_value(keys: KeyRing, kind: str, version: int) -> None:
    """Store the check value of a version just added by ``keys rotate`` / ``keys reindex`` (caller commits)."""
    key = ring_keys(keys)[(kind, version)]
    db.session.add(KeyCanary(kind=kind, version=version, check_value=make_check_value(kind, version, key)))


def refresh_keys(app: Flask) -> KeyRing:
    """Adopt key versions added on disk since start-up, each only once its check value confirms it.

    Versions already held are never re-read: a file changed under a running app is caught at the next
    start. Returns the (possibly extended) ring.
    """
    ring: KeyRing = app.extensions["tincay.keys"]
    on_disk = versions_on_disk(ring.directory)
    new = [("kek", v) for v in on_disk["kek"] - set(ring.keks)]
    new += [("index", v) for v in on_disk["index"] - set(ring.index_roots)]
    new += [("offline", v) for v in on_disk.get("offline", set()) - set(ring.offline_keys)]
    if not new:
        return ring
    try:
        fresh = load_keys(ring.directory)
        stored = _stored_check_values(app)
    except Exception:  # a half-written folder or an unreachable database: keep the ring we have
        log.exception("could not look for new key versions")
        return ring
    fresh_keys = ring_keys(fresh)
    keks: dict[int, bytes] = {}
    roots: dict[int, bytes] = {}
    offline = {}
    for kind, version in sorted(new):
        key, blob = fresh_keys.get((kind, version)), stored.get((kind, version))
        if key is None or blob is None or not check_value_matches(kind, version, key, blob):
            log.warning("key %s is on disk but not confirmed by the database; not used", file_name(kind, version))
            continue
        if kind == "offline":
            offline[version] = fresh.offline_keys[version]
            continue
        (keks if kind == "kek" else roots)[version] = key
    if offline:
        ring = ring.adding_offline(offline)
        app.extensions["tincay.keys"] = ring
    if keks or roots:
        ring = ring.adding(keks=keks, index_roots=roots)
        app.extensions["tincay.keys"] = ring
        log.info("key ring now holds master keys %s and index keys %s", sorted(ring.keks), sorted(ring.index_roots))
    return ring


def _stored_check_values(app: Flask) -> dict[tuple[str, int], bytes]:
    from flask import current_app, has_app_context

    def read() -> dict[tuple[str, int], bytes]:
        with db.engine.connect() as conn:  # its own connection: never the caller's transaction
            return {(r.kind, r.version): r.check_value for r in conn.execute(select(KeyCanary.__table__))}

    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        return read()
    with app.app_context():
        return read()


def refresh_keys_now() -> KeyRing:
    """``refresh_keys`` for the current app, at once (a row needs a version the ring does not hold yet)."""
    from flask import current_app

    return refresh_keys(current_app._get_current_object())  # type: ignore[attr-defined]
