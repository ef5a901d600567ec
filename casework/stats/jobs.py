"""Running previews in the background (issue 16): a release is a job, not a request.

A preview row (``StatPreview``) holds the state, the progress and the result, so that any web process
can show them. Who computes it depends on the setting ``STATS_RUNNER`` (app config, or the environment
variable ``TINCAY_STATS_RUNNER``):

- ``thread`` (the default, for the embedded set-up): one worker thread in the web process that accepted
  the preview; previews queue behind each other, one at a time, so two coordinators never compete
  for the two cores with two releases.
- ``worker``: the web process only writes the row; ``flask stats worker`` (a separate process, e.g. a
  systemd unit) claims the waiting rows one by one and computes them. Use it when the web server
  restarts its workers (gunicorn ``--max-requests``) or runs several: a preview then survives them.
- ``inline``: computed at once in the request (tests).

Under tests (``TESTING``) the default is ``worker``: a preview is computed only where a test asks.

A preview whose process ended without finishing (a restart) shows as failed after 30 minutes without
progress, and can be made again.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import CursorResult, select, update

from casework.extensions import db
from casework.models import utcnow

RUNNERS = ("thread", "worker", "inline")
_EXECUTOR = "tincay.stats_executor"
_FUTURES = "tincay.stats_futures"


def runner(app: Flask | None = None) -> str:
    app = app or current_app
    # Under tests nothing runs unless a test says how: a fuzzer's accepted preview must not start a release.
    default = "worker" if app.config.get("TESTING") else "thread"
    value = app.config.get("STATS_RUNNER") or os.environ.get("TINCAY_STATS_RUNNER") or default
    return value if value in RUNNERS else default


def submit(preview_id: str, app: Flask | None = None) -> Future[None] | None:
    """Hand a committed preview to its runner."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    mode = runner(app)
    if mode == "worker":
        return None
    if mode == "inline":
        _run(app, preview_id)
        return None
    executor = app.extensions.get(_EXECUTOR)
    if executor is None:
        executor = app.extensions[_EXECUTOR] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stats-preview")
    future = executor.submit(_run, app, preview_id)
    futures = app.extensions.setdefault(_FUTURES, [])
    futures[:] = [f for f in futures if not f.done()] + [future]
    return future


def wait(app: Flask, timeout: float | None = None) -> None:
    """Wait for the previews this process is running (tests; a clean shutdown)."""
    for future in list(app.extensions.get(_FUTURES, ())):
        future.result(timeout=timeout)


def _run(app: Flask, preview_id: str) -> None:
    from casework.stats import service

    with app.app_context():  # a session of its own: the request's is not shared with the thread
        try:
            service.run_preview(preview_id)
        finally:
            db.session.remove()


def claim_next() -> str | None:
    """Claim the oldest waiting preview for this worker; None when there is none. Safe with several
    workers: the row is claimed by one conditional UPDATE."""
    from casework.stats.models import StatPreview

    candidates = db.session.scalars(select(StatPreview.id).where(
        StatPreview.state == "running", StatPreview.runner == "worker", StatPreview.claimed_at.is_(None))
        .order_by(StatPreview.created_at).limit(5)).all()
    for preview_id in candidates:
        claim = update(StatPreview).where(StatPreview.id == preview_id, StatPreview.claimed_at.is_(None)) \
            .values(claimed_at=utcnow(), updated_at=utcnow())
        done = cast("CursorResult[Any]", db.session.execute(claim))  # an UPDATE's result counts its rows
        db.session.commit()
        if done.rowcount == 1:
            return preview_id
    db.session.rollback()
    return None


def work(app: Flask, once: bool = False, poll: float = 2.0) -> int:
    """The ``flask stats worker`` loop: compute waiting previews; returns how many it computed."""
    from casework.stats import service

    count = 0
    while True:
        preview_id = claim_next()
        if preview_id is not None:
            service.run_preview(preview_id)
            count += 1
            continue
        if once:
            return count
        time.sleep(poll)
