"""``keys verify``: decrypt everything that is protected and recompute every blind index.

The report holds counts only, by table and column: it never contains a value, so it can be pasted into
a ticket. A problem is anything that would make a record unreadable or unfindable: a data key that does
not unwrap, a value that does not decrypt, a sealed seed that does not open, an attachment chunk that
does not authenticate, a blind-index row that does not match its record, a key file missing or not
matching its check value. Notes are facts worth knowing that break nothing (rows still under an older
key version, provinces outside the blind-index coincidence rule).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import column as sql_column
from sqlalchemy import func, inspect, select, table

from casework.extensions import db
from casework.protect import blind
from casework.protect.attachments import Attachment, AttachmentChunk, _aad, _chunk_part
from casework.protect.canary import FILE_NAMES, KeyCanary, check_value_matches, file_name, ring_keys
from casework.protect.crypto import ProtectedDataError, associated_data, decrypt_value, unwrap_data_key
from casework.protect.fields import BlindIndex, ProtectedMixin
from casework.protect.keycheck import rows_using
from casework.protect.keys import KeyRing
from casework.protect.ring import current_keys
from casework.protect.rotation import existing_protected_models, existing_sealed_columns
from casework.protect.sealed import SealError, sealed_version, unseal


@dataclass
class VerifyReport:
    checked: Counter[str] = field(default_factory=Counter)  # what was checked -> how many
    problems: Counter[tuple[str, str]] = field(default_factory=Counter)  # (place, problem) -> how many
    kek_versions: Counter[int] = field(default_factory=Counter)  # master-key version -> data keys + sealed values
    index_versions: Counter[int] = field(default_factory=Counter)  # index version -> index rows
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, place: str, what: str, n: int = 1) -> None:
        self.problems[(place, what)] += n


def verify_protected_data(batch: int = 1000, keys: KeyRing | None = None) -> VerifyReport:
    keys = keys or current_keys()
    report = VerifyReport()
    _check_canaries(report, keys)
    for model in existing_protected_models():
        _check_model(report, keys, model, batch)
    for sc in existing_sealed_columns():
        _check_sealed(report, keys, sc, batch)
    _check_attachments(report, keys)
    _check_coincidence(report)
    current = keys.current_kek_version
    older = sum(n for v, n in report.kek_versions.items() if v < current)
    if older:
        report.notes.append(f"{older} data keys or sealed values are still under an older master key; "
                            f"run 'keys rotate --resume' to move them to v{current}.")
    older_index = sum(n for v, n in report.index_versions.items() if v < keys.current_index_version)
    if older_index:
        report.notes.append(f"{older_index} blind-index rows are still of an older index version; "
                            "run 'keys reindex --resume'.")
    return report


def _check_canaries(report: VerifyReport, keys: KeyRing) -> None:
    conn = db.session.connection()
    stored = {(c.kind, c.version): c.check_value for c in db.session.scalars(select(KeyCanary))}
    held = ring_keys(keys)
    for (kind, version), blob in sorted(stored.items()):
        if kind not in FILE_NAMES:
            continue
        key = held.get((kind, version))
        if key is None:
            if rows_using(conn, kind, version):
                report.problem(f"key {file_name(kind, version)}", "missing but still needed")
        elif not check_value_matches(kind, version, key, blob):
            report.problem(f"key {file_name(kind, version)}", "does not match its check value")
    for kind, version in sorted(set(held) - set(stored)):
        report.notes.append(f"key {file_name(kind, version)} has no check value yet (written at the next start).")
    report.checked["key check values"] += len(stored)


def _check_model(report: VerifyReport, keys: KeyRing, model: type[ProtectedMixin], batch: int) -> None:
    name = model.__tablename__
    t = model.__table__  # type: ignore[attr-defined]
    specs = model.__protected__
    has_province = "province_code" in t.c
    columns = [t.c.id, t.c.dek_wrapped, t.c.kek_version, t.c.dek_version] + [t.c[s.column] for s in specs.values()]
    if has_province:
        columns.append(t.c.province_code)
    indexed = {f: s for f, s in specs.items() if s.index}
    after = ""
    while True:
        rows = db.session.execute(select(*columns).where(t.c.id > after).order_by(t.c.id).limit(batch)).all()
        if not rows:
            break
        after = rows[-1].id
        stored_index = _stored_index(name, [r.id for r in rows]) if indexed else {}
        for row in rows:
            report.checked[f"{name} rows"] += 1
            plain = _check_row(report, keys, name, specs, row)
            if not indexed:
                continue
            province = row.province_code if has_province else None
            for fname, spec in indexed.items():
                _check_index(report, keys, name, fname, spec.index or "name", province, plain.get(fname, _UNREAD),
                             stored_index.get((row.id, fname), {}))
    # Index rows whose record is gone (deleted outside the ORM): noise for searches, and a trace of a record.
    orphans = db.session.scalar(select(func.count()).select_from(BlindIndex).where(
        BlindIndex.record_type == name, ~select(t.c.id).where(t.c.id == BlindIndex.record_id).exists())) or 0
    if orphans:
        report.problem(f"blind_index[{name}]", "rows of records that no longer exist", orphans)


_UNREAD = object()


def _check_row(report: VerifyReport, keys: KeyRing, name: str, specs: dict[str, Any], row: Any) -> dict[str, Any]:
    """Decrypt every protected column of one row; returns field -> plaintext (or _UNREAD on failure)."""
    plain: dict[str, Any] = {}
    cts = {f: getattr(row, s.column) for f, s in specs.items()}
    if row.dek_wrapped is None:
        if any(v is not None for v in cts.values()):
            report.problem(f"{name}.dek_wrapped", "missing while values are stored")
        return {f: None for f in specs}
    version = row.kek_version or 1
    report.kek_versions[version] += 1
    try:
        dek = unwrap_data_key(keys, bytes(row.dek_wrapped), version, f"{name}.dek[{row.id}]")
    except (ProtectedDataError, RuntimeError):
        report.problem(f"{name}.dek_wrapped", "does not unwrap")
        return {f: _UNREAD for f in specs}
    for fname, spec in specs.items():
        blob = cts[fname]
        if blob is None:
            plain[fname] = None
            continue
        report.checked[f"{name}.{spec.column} values"] += 1
        try:
            aad = associated_data(name, spec.column, row.id, row.dek_version or 1)
            plain[fname] = decrypt_value(dek, bytes(blob), aad, f"{name}.{spec.column}[{row.id}]").decode("utf-8")
        except (ProtectedDataError, UnicodeDecodeError):
            report.problem(f"{name}.{spec.column}", "does not decrypt")
            plain[fname] = _UNREAD
    return plain


def _stored_index(name: str, ids: list[str]) -> dict[tuple[str, str], dict[int, set[int]]]:
    found: dict[tuple[str, str], dict[int, set[int]]] = {}
    rows = db.session.execute(select(BlindIndex.record_id, BlindIndex.field, BlindIndex.index_version,
                                     BlindIndex.value).where(BlindIndex.record_type == name,
                                                             BlindIndex.record_id.in_(ids)))
    for record_id, fname, version, value in rows:
        found.setdefault((record_id, fname), {}).setdefault(version, set()).add(value)
    return found


def _check_index(report: VerifyReport, keys: KeyRing, name: str, fname: str, kind: str, province: str | None,
                 value: Any, stored: dict[int, set[int]]) -> None:
    place = f"blind_index[{name}.{fname}]"
    for version, values in stored.items():
        report.index_versions[version] += len(values)
    if value is _UNREAD:
        return  # already reported as a value that does not decrypt
    tokens = blind.TOKENIZERS[kind](value) if value else []
    if not tokens or not province:
        if stored:
            report.problem(place, "rows for a record without an indexed value")
        return
    if not stored:
        report.problem(place, "rows missing")
        return
    for version, values in stored.items():
        if version not in keys.index_roots:
            report.problem(place, f"rows of index version {version}, whose key is not in the key folder")
            continue
        expected = {blind.index_value(keys, name, fname, province, tok, version) for tok in tokens}
        if values != expected:
            report.problem(place, "rows do not match the value")


def _check_sealed(report: VerifyReport, keys: KeyRing, sc: Any, batch: int) -> None:
    t = table(sc.table, sql_column(sc.id_column), sql_column(sc.column))
    ident, col = t.c[sc.id_column], t.c[sc.column]
    after = ""
    while True:
        rows = db.session.execute(select(ident, col).where(ident > after, col.is_not(None))
                                  .order_by(ident).limit(batch)).all()
        if not rows:
            break
        after = rows[-1][0]
        for row_id, token in rows:
            report.checked[f"{sc.table}.{sc.column} sealed values"] += 1
            report.kek_versions[sealed_version(token) or 0] += 1
            try:
                unseal(token, sc.purpose, row_id, keys)
            except SealError:
                report.problem(f"{sc.table}.{sc.column}", "does not open")


def _check_attachments(report: VerifyReport, keys: KeyRing) -> None:
    insp = inspect(db.session.connection())
    if not insp.has_table("attachment"):
        return
    models = {m.__tablename__: m for m in existing_protected_models()}
    attachments = list(db.session.scalars(select(Attachment).order_by(Attachment.owner_type, Attachment.owner_id)))
    owner_keys: dict[tuple[str, str], tuple[bytes, int] | None] = {}
    for att in attachments:
        report.checked["attachments"] += 1
        owner = (att.owner_type, att.owner_id)
        if owner not in owner_keys:
            owner_keys[owner] = _owner_key(keys, models.get(att.owner_type), att.owner_id)
        found = owner_keys[owner]
        if found is None:
            report.problem(f"attachment[{att.owner_type}]", "owner record or its data key is missing")
            continue
        dek, dek_version = found
        chunks = dict(db.session.execute(select(AttachmentChunk.n, AttachmentChunk.data)
                                         .where(AttachmentChunk.attachment_id == att.id)).all())
        if set(chunks) != set(range(att.chunk_count)):
            report.problem("attachment_chunk", "chunks missing or extra")
        size = 0
        for n, blob in chunks.items():
            report.checked["attachment chunks"] += 1
            try:
                size += len(decrypt_value(dek, bytes(blob), _aad(att, _chunk_part(n, n == att.chunk_count - 1),
                                                                 dek_version), f"attachment_chunk[{att.id}:{n}]"))
            except ProtectedDataError:
                report.problem("attachment_chunk.data", "does not decrypt")
        if att.filename_ct is not None:
            try:
                decrypt_value(dek, att.filename_ct, _aad(att, "filename", dek_version), f"attachment[{att.id}]")
            except ProtectedDataError:
                report.problem("attachment.filename_ct", "does not decrypt")
        db.session.expunge(att)


def _owner_key(keys: KeyRing, model: Any, owner_id: str) -> tuple[bytes, int] | None:
    if model is None:
        return None
    t = model.__table__
    row = db.session.execute(select(t.c.dek_wrapped, t.c.kek_version, t.c.dek_version)
                             .where(t.c.id == owner_id)).first()
    if row is None or row.dek_wrapped is None:
        return None
    try:
        return unwrap_data_key(keys, bytes(row.dek_wrapped), row.kek_version or 1, f"{t.name}.dek[{owner_id}]"), \
            row.dek_version or 1
    except (ProtectedDataError, RuntimeError):
        return None


def _check_coincidence(report: VerifyReport) -> None:
    """CipherSweet's rule per province and indexed field (security.md §3.3): notes, not problems."""
    for model in existing_protected_models():
        name = model.__tablename__
        for fname, spec in model.__protected__.items():
            if not spec.index:
                continue
            rows = db.session.execute(select(BlindIndex.province_code, func.count(func.distinct(BlindIndex.record_id)))
                                      .where(BlindIndex.record_type == name, BlindIndex.field == fname)
                                      .group_by(BlindIndex.province_code)).all()
            outside = sorted(p for p, n in rows if not blind.coincidence_ok(n))
            if outside:
                report.notes.append(
                    f"{name}.{fname}: {len(outside)} provinces outside the coincidence rule "
                    f"2 <= R/2^{blind.INDEX_BITS} <= sqrt(R) for their record count "
                    f"(provinces {', '.join(outside[:10])}{'…' if len(outside) > 10 else ''}); see docs/security.md.")
