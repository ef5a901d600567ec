"""A read event records what was shown (issue 18): the helpers of tests/*/test_read_events.py.

Every case, survivor, proposal and referral screen and API answer is opened by each role that may open it,
on records whose personal fields hold distinctive planted values. The test reads the response body (HTML,
JSON or the PDF's text) and finds which planted values are in it; the read event written by that request
must name every field whose value is shown, and every field it names that has a planted value must be shown.
Categorical fields (sex, ethnic group, codes) have no distinctive value to plant: they are checked only
through the view model's names, not against the body.
"""

from __future__ import annotations

import html
import io
import json
import unicodedata

from sqlalchemy import select

from casework.extensions import db
from casework.protect.audit import AuditEvent


def _read_events(before: int, actions: tuple[str, ...]) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > before, AuditEvent.action.in_(actions))
                                   .order_by(AuditEvent.id)))


def _last_id() -> int:
    return db.session.scalar(select(db.func.max(AuditEvent.id))) or 0


def _body(response) -> str:
    if response.mimetype == "application/pdf":
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(response.data))
        text = " ".join(page.extract_text() for page in reader.pages)
        return unicodedata.normalize("NFC", " ".join(text.split()))
    if response.mimetype == "application/json":
        return json.dumps(response.get_json(), ensure_ascii=False)
    return html.unescape(response.get_data(as_text=True))


def shown_in(body: str, planted: dict[str, list[str]]) -> set[str]:
    return {field for field, tokens in planted.items() if any(t in body for t in tokens)}


def check_read(client, url: str, planted: dict[str, list[str]], actions: tuple[str, ...], object_id: str,
               headers: dict | None = None) -> set[str]:
    """GET ``url``; exactly one read event of ``object_id``; its fields match the planted values shown."""
    db.session.expire_all()
    before = _last_id()
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, (url, response.status_code)
    db.session.expire_all()
    events = [e for e in _read_events(before, actions) if e.object_id == object_id]
    assert len(events) == 1, (url, [(e.action, e.object_id) for e in events])
    recorded = set((events[0].fields or "").split(",")) - {""}
    seen = shown_in(_body(response), planted)
    assert seen <= recorded, f"{url}: shown but not in the read event: {sorted(seen - recorded)}"
    missing = (recorded & planted.keys()) - seen
    assert not missing, f"{url}: in the read event but not shown: {sorted(missing)}"
    return recorded




def sweep(client, urls, planted: dict[str, list[str]], object_id: str, headers: dict | None = None):
    """GET every url of a record's screens: whatever planted value a page shows must be named by a read event
    of ``object_id`` written by that request. → (the urls answered 200, [(url, fields shown unrecorded)])."""
    answered, problems = [], []
    for url in urls:
        db.session.expire_all()
        before = _last_id()
        response = client.get(url, headers=headers or {})
        if response.status_code != 200:
            continue
        answered.append(url)
        seen = shown_in(_body(response), planted)
        if not seen:
            continue
        db.session.expire_all()
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > before,
                                                                  AuditEvent.object_id == object_id)))
        recorded = {f for e in events for f in (e.fields or "").split(",") if f}
        if not seen <= recorded:
            problems.append((url, sorted(seen - recorded)))
    return answered, problems
