"""Statistics API (DESIGN §4): the release ledger, making a release for a quarter, and its downloads.

There are no free date ranges and no filters: a query parameter other than the ones declared here is
refused with 400 and the code ``filters_not_allowed`` (disclosure-control §2.3 "no ad-hoc filters").
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from casework.api import api_route
from casework.api.json import json_body
from casework.auth.roles import Role
from casework.errors import DomainError, ValidationError
from casework.extensions import db
from casework.schemas import Schema
from casework.stats import jobs, service
from casework.stats.models import StatPreview, StatRelease
from casework.stats.schemas import PreviewRequest, ReleaseRequest


class FiltersNotAllowed(DomainError):
    status = 400
    code = "filters_not_allowed"


RELEASE_SCHEMA = {
    "type": "object",
    "required": ["id", "number", "period", "created_at", "method", "cells", "suppressed", "snapshot_hash",
                 "formats"],
    "properties": {
        "id": {"type": "string"}, "number": {"type": "integer"}, "period": {"type": "string"},
        "created_at": {"type": "string"}, "method": {"type": "string"}, "cells": {"type": "integer"},
        "suppressed": {"type": "integer"}, "snapshot_hash": {"type": "string"},
        "formats": {"type": "array", "items": {"type": "string"}},
    },
}
# ?format=json, dhis2 and manifest answer those documents (JSON too), the other formats their own media type.
DOWNLOAD_SCHEMA = {"anyOf": [
    RELEASE_SCHEMA,
    {"type": "object", "required": ["manifest", "cells", "derived"]},
    {"type": "object", "required": ["dataValues"]},
    {"type": "object", "required": ["release_id", "method", "parameters", "audit", "caveats"]},
]}
FORMAT_ENUM = list(service.DOWNLOADS) + ["dhis2-year", *service.EXTRA_FORMATS]


def _only(*allowed: str) -> None:
    extra = sorted(set(request.args) - set(allowed))
    if extra:
        raise FiltersNotAllowed(
            _("Statistics come only as fixed releases of the catalogue: date ranges and filters are not accepted."),
            {name: [_("This parameter is not accepted.")] for name in extra})


def release_json(row: StatRelease) -> dict[str, Any]:
    return {"id": row.id, "number": row.number, "period": row.period,
            "created_at": row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "method": row.method,
            "cells": row.cell_count, "suppressed": row.suppressed_count, "snapshot_hash": row.snapshot_hash,
            "formats": service.available_formats(row)}


@api_route("/statistics/releases", "GET", summary="The release ledger, newest first", roles=(Role.COORDINATOR,),
           query={"after": {"type": "string", "maxLength": 12}},
           response={"type": "object", "required": ["items", "next"], "properties": {
               "items": {"type": "array", "items": RELEASE_SCHEMA},
               "next": {"type": "string", "nullable": True}}}, errors=(400, 401, 404, 422))
def list_statistics_releases() -> ResponseReturnValue:
    _only("after")
    page = service.list_releases(request.args.get("after") or None)
    return jsonify(items=[release_json(r) for r in page.items], next=page.next_cursor)


def _body[S: Schema](schema: type[S]) -> S:
    """The body read through ``schema``; a field it does not declare is a filter, refused first (400)."""
    data = json_body()
    extra = sorted(set(data) - set(schema.model_fields))
    if extra:
        raise FiltersNotAllowed(
            _("Statistics come only as fixed releases of the catalogue: date ranges and filters are not accepted."),
            {name: [_("This parameter is not accepted.")] for name in extra})
    return schema.from_json(data)


@api_route("/statistics/releases", "POST", summary="Make the release of a quarter that has ended",
           roles=(Role.COORDINATOR,), status=201, request=ReleaseRequest.openapi(),
           response=RELEASE_SCHEMA, errors=(400, 401, 404, 409, 422))
def create_statistics_release() -> ResponseReturnValue:
    """Without ``preview_id`` the quarter is computed in the request, as before (tools); with it, the
    finished preview is published as computed."""
    _only()
    body = _body(ReleaseRequest)
    row = service.make_release(body.period, current_user, preview_id=body.preview_id)
    return jsonify(release_json(row)), 201


PREVIEW_SCHEMA = {
    "type": "object", "required": ["id", "state"],
    "properties": {
        "id": {"type": "string"}, "period": {"type": "string"},
        "state": {"type": "string", "enum": ["running", "done", "failed"]},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "error": {"type": "string"},
        "tables": {"type": "array", "items": {"type": "object", "required": ["id", "title", "cells", "withheld"]}},
    },
}


def preview_json(row: StatPreview) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "period": row.period, "state": row.state, "progress": row.progress}
    if row.state == "failed":
        out["error"] = service.preview_error_text(row)
    if row.state == "done":
        out["tables"] = service.preview_tables(row)
    return out


@api_route("/statistics/previews", "POST", summary="Compute the release of an ended quarter in the background",
           roles=(Role.COORDINATOR,), status=202, request=PreviewRequest.openapi(),
           response=PREVIEW_SCHEMA, errors=(400, 401, 404, 422))
def create_statistics_preview() -> ResponseReturnValue:
    _only()
    body = _body(PreviewRequest)
    row = service.start_preview(body.period, current_user, runner=jobs.runner())
    db.session.commit()  # the runner reads the row from its own session
    jobs.submit(row.id)
    return jsonify({"id": row.id, "state": "running"}), 202


@api_route("/statistics/previews/<preview_id>", "GET", summary="A preview: its state, progress and tables",
           roles=(Role.COORDINATOR,), response=PREVIEW_SCHEMA, errors=(400, 401, 404))
def get_statistics_preview(preview_id: str) -> ResponseReturnValue:
    _only()
    return jsonify(preview_json(service.get_preview(preview_id)))


@api_route("/statistics/releases/<release_id>", "GET",
           summary="A release: its description, or its download with ?format=csv|json|xlsx|pdf|dhis2|adx",
           roles=(Role.COORDINATOR,), query={"format": {"type": "string", "enum": FORMAT_ENUM}},
           response=DOWNLOAD_SCHEMA, errors=(400, 401, 404, 422),
           media=tuple(sorted({service.CONTENT_TYPES[f].split(";")[0] for f in FORMAT_ENUM} - {"application/json"})))
def get_statistics_release(release_id: str) -> ResponseReturnValue:
    _only("format")
    row = service.get_release(release_id)
    fmt = request.args.get("format")
    if fmt is None:
        return jsonify(release_json(row))
    if fmt not in FORMAT_ENUM:
        raise ValidationError(_("Please correct the marked fields."),
                              {"format": [_("Choose one of: %(formats)s.", formats=", ".join(service.DOWNLOADS))]})
    f = service.download(row, fmt)
    name = f"tincay-{row.id}.{service.EXTENSIONS[fmt]}"
    return Response(f.content, headers={"Content-Type": f.content_type, "Repr-Digest": service.repr_digest(f),
                                        "Content-Disposition": f'attachment; filename="{name}"'})
