"""The offline wire format's routes (issue 17). The web app calls them with its session; any other client
(an Android app, a test) with a bearer token. Nothing here ever answers with an entry's content."""

from __future__ import annotations

import re

from flask import g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from casework.api import api_route, protect_session
from casework.api.json import json_body, raise_if
from casework.cases.policy import WORKER_ROLES
from casework.errors import DomainError
from casework.offline import sealing, services
from casework.protect.ring import current_keys

_DEVICE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

KEY_OUT = {"type": "object", "required": ["key_id", "alg", "public_key"], "properties": {
    "key_id": {"type": "string"}, "alg": {"enum": [sealing.ALG]}, "public_key": {"type": "string"}}}
SESSION_OUT = {"type": "object", "required": ["user_id", "queue"], "properties": {
    "user_id": {"type": "string"}, "queue": {"type": "string"}, "csrf_token": {"type": "string"}}}
ENTRY_IN = {"type": "object", "required": ["id", "key_id", "epk", "nonce", "ciphertext", "captured_at"],
            "properties": {"id": {"type": "string", "format": "uuid"}, "key_id": {"type": "string"},
                           "epk": {"type": "string"}, "nonce": {"type": "string"},
                           "ciphertext": {"type": "string"}, "captured_at": {"type": "string",
                                                                             "format": "date-time"}}}
ENTRIES_IN = {"type": "object", "required": ["entries"], "properties": {
    "entries": {"type": "array", "maxItems": services.MAX_BATCH, "items": ENTRY_IN}}}
RESULTS_OUT = {"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {
    "type": "object", "required": ["id", "status"], "properties": {
        "id": {"type": "string", "nullable": True},
        "status": {"enum": ["saved", "duplicate", "needs_correction", "rejected"]},
        "case_id": {"type": "string"}, "reason": {"type": "string"}, "draft_id": {"type": "string"}}}}}}


class OfflineUnavailable(DomainError):
    status = 503
    code = "offline_key_missing"


@api_route("/offline/key", "GET", summary="The server's public key that entries recorded offline are sealed to",
           roles=WORKER_ROLES, response=KEY_OUT, errors=(401, 503), session=True)
def offline_key():
    keys = current_keys()
    version = services.current_offline_version(keys)
    if version is None:
        raise OfflineUnavailable(_("Offline recording is not set up on this server yet."))
    return jsonify(key_id=sealing.key_id(version), alg=sealing.ALG,
                   public_key=sealing.public_point(keys.offline_keys[version]))


@api_route("/offline/session", "GET", summary="The signed-in account's id and its queue name on this device "
           "(header X-Tincay-Device)", roles=WORKER_ROLES, response=SESSION_OUT, errors=(401, 422), session=True)
def offline_session():
    device = request.headers.get("X-Tincay-Device", "")
    if device and not _DEVICE.match(device):
        raise_if({"device": [_("This device has no valid device id.")]})
    body = {"user_id": current_user.id, "queue": services.queue_tag(current_user, device)}
    if g.get("api_session"):
        body["csrf_token"] = generate_csrf()
    return jsonify(body)


@api_route("/offline/entries", "POST", summary="Send entries sealed offline; one answer per entry, each entry "
           "saved at most once", roles=WORKER_ROLES, request=ENTRIES_IN, response=RESULTS_OUT,
           errors=(400, 401, 422), session=True)
def offline_entries():
    protect_session()
    data = json_body()
    entries = data.get("entries")
    if not isinstance(entries, list) or not entries:
        raise_if({"entries": [_("Send a list of entries.")]})
    if len(entries) > services.MAX_BATCH:
        raise_if({"entries": [_("At most %(n)d entries at a time.", n=services.MAX_BATCH)]})
    results = services.receive_entries(current_user._get_current_object(), entries)
    return jsonify(results=results)
