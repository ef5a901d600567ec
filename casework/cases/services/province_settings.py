"""A province's settings: the hours after which a missing commune notice is flagged and the nights of shelter
allowed, read once per request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import Row, select

from casework.auth.models import User
from casework.cases import codes
from casework.cases.models import ProvinceSetting
from casework.errors import NotFound, ValidationError
from casework.extensions import db, read_columns
from casework.geo import data as geo
from casework.protect import audit


class _Setting(NamedTuple):
    max_shelter_days: int
    notice_hours: int


_TABLE = ProvinceSetting.__table__
# The settings' columns as a page's own query reads them beside its cases (``with_setting``): no statement of
# their own on the case pages (issue 18); ``keep_setting`` hands them to the rest of the request.
SETTING_COLUMNS = (_TABLE.c.max_shelter_days, _TABLE.c.notice_hours)


def with_setting(query: Any, province_code: Any) -> Any:
    """``query`` joined to the settings row (if any) of the province in the column ``province_code``."""
    return query.outerjoin(_TABLE, _TABLE.c.province_code == province_code)


def keep_setting(province_code: str, max_shelter_days: int | None, notice_hours: int | None) -> None:
    """The settings read by a page's query (``SETTING_COLUMNS``; None: no row, the defaults apply), kept for the
    rest of the request as if ``_province_setting`` had read them; a value read earlier in it stays."""
    if has_request_context():
        read: dict[str, Any] = request.environ.setdefault("tincay.province_settings", {})
        setting = None if max_shelter_days is None or notice_hours is None else _Setting(max_shelter_days,
                                                                                         notice_hours)
        read.setdefault(province_code, setting)


def _province_setting(province_code: str) -> _Setting | Row[int, int] | None:
    """The province's settings (``max_shelter_days``, ``notice_hours``; None: the defaults apply), read once per
    request: the case page asks for its notice hours and its nights of shelter several times (issue 18).
    Outside a request, read anew."""
    if not has_request_context():
        return _read_setting(province_code)
    read: dict[str, _Setting | Row[int, int] | None] = request.environ.setdefault("tincay.province_settings", {})
    if province_code not in read:
        read[province_code] = _read_setting(province_code)
    return read[province_code]


def _read_setting(province_code: str) -> Row[int, int] | None:
    """The two columns (no ORM object: issue 18); a setting changed in this session and not yet written counts."""
    table = ProvinceSetting.__table__
    row: Row[int, int] | None = read_columns(
        select(table.c.max_shelter_days, table.c.notice_hours).where(table.c.province_code == province_code)).first()
    return row


def max_shelter_days(province_code: str) -> int:
    row = _province_setting(province_code)
    if row is not None:
        return row.max_shelter_days
    return int(current_app.config.get("CASES_MAX_SHELTER_DAYS", codes.DEFAULT_MAX_SHELTER_DAYS))


def _default_notice_hours() -> int:
    return int(current_app.config.get("CASES_NOTICE_HOURS", codes.NOTICE_HOURS))


def notice_hours(province_code: str) -> int:
    """The province's hours for the commune notice: a project rule (default 24), not the law's."""
    row = _province_setting(province_code)
    return row.notice_hours if row is not None else _default_notice_hours()


def notice_hours_by_province(province_codes: Iterable[str]) -> dict[str, int]:
    codes_ = set(province_codes)
    if len(codes_) == 1:  # a host's or a commune officer's page: the request's settings row, read once
        (code,) = codes_
        return {code: notice_hours(code)}
    out = dict.fromkeys(codes_, _default_notice_hours())
    if codes_:
        for code, hours in db.session.execute(select(ProvinceSetting.province_code, ProvinceSetting.notice_hours)
                                              .where(ProvinceSetting.province_code.in_(codes_))):
            out[code] = hours
    return out


def _set_province_setting(actor: User, province_code: str, field: str, value: int | None, most: int,
                          message: str) -> ProvinceSetting:
    """A province officer (of that province) or an admin sets one of the province's settings, from 1 to
    ``most`` (``message`` otherwise); audited with the field's name."""
    from casework.auth.roles import Role

    role = str(actor.role)
    if not (role == Role.ADMIN or (role == Role.PROVINCE_OFFICER and actor.province_code == province_code)):
        raise NotFound(_("Not found."))
    if geo.province(province_code) is None:
        raise ValidationError(_("Please correct the marked fields."),
                              {"province_code": [_("Choose an existing province.")]})
    if value is None or not 1 <= value <= most:
        raise ValidationError(_("Please correct the marked fields."), {field: [message]})
    row = db.session.get(ProvinceSetting, province_code)
    if row is None:
        row = ProvinceSetting(province_code=province_code, max_shelter_days=max_shelter_days(province_code))
        db.session.add(row)
    setattr(row, field, value)
    if has_request_context():  # the rest of this request reads the row again
        request.environ.get("tincay.province_settings", {}).pop(province_code, None)
    db.session.flush()
    audit.record("province_setting_update", object_type="province", object_id=province_code, actor=actor,
                 fields=[field])
    return row


def set_notice_hours(actor: User, province_code: str, hours: int | None) -> ProvinceSetting:
    """A province officer (or an admin) sets the hours after which a missing commune notice is flagged."""
    return _set_province_setting(actor, province_code, "notice_hours", hours, codes.MAX_NOTICE_HOURS,
                                 _("Enter a number of hours from 1 to %(n)d.", n=codes.MAX_NOTICE_HOURS))


def set_max_shelter_days(actor: User, province_code: str, days: int | None) -> ProvinceSetting:
    return _set_province_setting(actor, province_code, "max_shelter_days", days, 365,
                                 _("Enter a number of nights from 1 to 365."))
