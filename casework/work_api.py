"""``GET /api/v1/work``: the caller's work queue, most urgent first (issue 13)."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from casework import notify, work
from casework.api import api_route

WORK_ITEM = {
    "type": "object",
    "required": ["kind", "due_at", "overdue", "object_type", "object_id"],
    "properties": {
        "kind": {"type": "string"}, "due_at": {"type": "string", "format": "date-time"},
        "overdue": {"type": "boolean"}, "object_type": {"type": "string"}, "object_id": {"type": "string"},
        "reference": {"type": "string"},
    },
}


@api_route("/work", "GET", summary="The caller's work queue, most urgent first", roles=work.WORK_ROLES,
           response={"type": "object", "required": ["items", "next"], "properties": {
               "items": {"type": "array", "items": WORK_ITEM}, "next": {"type": ["string", "null"]}}},
           query={"after": {"type": "string", "maxLength": 200}})
def work_list():
    page = work.work_for(current_user._get_current_object(), after=request.args.get("after", "")[:200] or None)
    return jsonify(work.api_items(page))


NOTIFICATION = {
    "type": "object",
    "required": ["id", "kind", "object_type", "object_id", "read", "created_at"],
    "properties": {
        "id": {"type": "string"}, "kind": {"type": "string"}, "object_type": {"type": "string"},
        "object_id": {"type": ["string", "null"]}, "reference": {"type": "string"}, "read": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}


@api_route("/notifications", "GET", summary="The caller's notifications, newest first", roles=notify.NOTIFIED_ROLES,
           response={"type": "object", "required": ["items", "next"], "properties": {
               "items": {"type": "array", "items": NOTIFICATION}, "next": {"type": ["string", "null"]}}},
           query={"after": {"type": "string", "maxLength": 200}})
def notifications_list():
    page = notify.notifications_for(current_user._get_current_object(),
                                    after=request.args.get("after", "")[:200] or None)
    return jsonify(notify.api_items(page))
