"""API for moving a case to another trusted address (issue 13): the shapes the issue fixes."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user

from casework.api import api_route
from casework.api.json import json_body
from casework.auth.roles import Role
from casework.cases import services, transfer
from casework.cases.models import CaseTransfer
from casework.cases.schemas import TransferDeclineIn, TransferIn

TRANSFER_OUT = {"type": "object", "required": ["id", "state"], "properties": {
    "id": {"type": "string"}, "state": {"enum": ["pending", "accepted", "declined"]},
    "case_id": {"type": "string"}, "from_address_id": {"type": "string"}, "to_address_id": {"type": "string"},
    "requested_at": {"type": "string", "format": "date-time"}}}
ERRORS = (400, 401, 404, 409, 422)
OFFICERS = (Role.COMMUNE_OFFICER,)


def transfer_json(row: CaseTransfer) -> dict[str, Any]:
    return {"id": row.id, "state": row.state, "case_id": row.case_id, "from_address_id": row.from_address_id,
            "to_address_id": row.to_address_id, "requested_at": row.requested_at.isoformat()}


@api_route("/cases/<case_id>/transfer", "POST", summary="Move a case to another trusted address (pending until "
           "a commune officer of the receiving commune accepts)", roles=OFFICERS, request=TransferIn.openapi(),
           response=TRANSFER_OUT, status=202, errors=ERRORS)
def case_transfer(case_id: str):
    user = current_user._get_current_object()
    case = services.get_case_or_404(user, case_id)
    data = TransferIn.from_json(json_body())
    row = transfer.request_transfer(user, case, data.address_id, data.reason)
    return jsonify(transfer_json(row)), 202


@api_route("/transfers/<transfer_id>", "GET", summary="One move of a case (both communes' officers)",
           roles=OFFICERS, response=TRANSFER_OUT)
def transfer_get(transfer_id: str):
    return jsonify(transfer_json(transfer.get_transfer_or_404(current_user._get_current_object(), transfer_id)))


@api_route("/transfers/<transfer_id>/accept", "POST", summary="Accept a move into the caller's commune",
           roles=OFFICERS, response=TRANSFER_OUT, errors=ERRORS)
def transfer_accept(transfer_id: str):
    user = current_user._get_current_object()
    row = transfer.get_transfer_or_404(user, transfer_id)
    transfer.accept_transfer(user, row)
    return jsonify(transfer_json(row))


@api_route("/transfers/<transfer_id>/decline", "POST", summary="Decline a move into the caller's commune",
           roles=OFFICERS, request=TransferDeclineIn.openapi(), response=TRANSFER_OUT, errors=ERRORS)
def transfer_decline(transfer_id: str):
    user = current_user._get_current_object()
    row = transfer.get_transfer_or_404(user, transfer_id)
    transfer.decline_transfer(user, row, TransferDeclineIn.from_json(json_body()).reason)
    return jsonify(transfer_json(row))
