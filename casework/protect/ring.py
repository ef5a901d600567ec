"""The running application's key ring (DESIGN §3.3, security.md §3.3).

``configure_keys`` loads the ring from the key folder at start-up, after checking every key file against the
database (``casework.protect.keycheck``). While the app runs, ``keys rotate`` / ``keys reindex`` in another
process may add versions on disk: a worker adopts each one only once its check value in ``key_canary``
confirms it (``casework.protect.canary``), so a file dropped into the folder is never used unchecked.
"""

from __future__ import annotations

import logging
import time
from typing import cast

from flask import Flask, current_app, has_app_context
from sqlalchemy import select

from casework.extensions import db
from casework.protect.canary import KeyCanary, check_value_matches, file_name, ring_keys
from casework.protect.keys import KeyRing, load_keys, versions_on_disk

log = logging.getLogger("casework.protect")

# How often a running worker looks for key versions added by ``keys rotate`` / ``keys reindex``.
RELOAD_SECONDS = 30


def current_keys() -> KeyRing:
    """The application's key ring. Every ``RELOAD_SECONDS`` it picks up versions added on disk by a
    rotation in another process, once their check value in the database confirms them (``refresh_keys``)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ring = app.extensions["tincay.keys"]
    if ring is not None:
        last = app.extensions.setdefault("tincay.keys.checked_at", time.monotonic())
        if time.monotonic() - last > RELOAD_SECONDS:
            app.extensions["tincay.keys.checked_at"] = time.monotonic()
            ring = refresh_keys(app)
    return cast(KeyRing, ring)


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
    def read() -> dict[tuple[str, int], bytes]:
        with db.engine.connect() as conn:  # its own connection: never the caller's transaction
            return {(r.kind, r.version): r.check_value for r in conn.execute(select(KeyCanary.__table__))}

    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        return read()
    with app.app_context():
        return read()


def refresh_keys_now() -> KeyRing:
    """``refresh_keys`` for the current app, at once (a row needs a version the ring does not hold yet)."""
    return refresh_keys(current_app._get_current_object())  # type: ignore[attr-defined]
