"""A WSGI app that answers every request with one fixed page and does nothing else (no Flask, no session, no
database): bench/pages_gunicorn.py serves it through gunicorn with the same settings as the app, to measure
what gunicorn, the connection and the client cost before any application code runs. The body's size is set by
``TINCAY_BENCH_FIXED_BYTES`` (the case view's size in that benchmark), so the bytes sent match the page's."""

from __future__ import annotations

import os

BODY = b"<!doctype html><title>x</title>" + b"x" * max(0, int(os.environ.get("TINCAY_BENCH_FIXED_BYTES", "0")) - 31)
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(BODY))),
           ("Cache-Control", "no-store")]


def app(_environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
