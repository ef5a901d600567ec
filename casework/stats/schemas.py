"""Statistics inputs (issue 14): a release or a preview is asked for one quarter, by the API, the screens and
the command line alike, and a release is published only once its box is ticked.

There is nothing else to ask for: no date range, no filter (disclosure-control §2.3); a body naming any other
field is refused by the API before it is read (``filters_not_allowed``). The quarter is read as a
:class:`~casework.stats.period.Period`; whether it has ended and whether the ledger still allows it are the
service's rules (``service.ended_quarter``, ``service.check_period``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from flask_babel import lazy_gettext as _l

from casework.schemas import ABSENT, FORM, REQUIRED, Message, NamedFieldsOnly, Schema, _Marker, invalid
from casework.stats.period import QUARTER_PATTERN, Period

NOT_A_QUARTER = _l("Choose a quarter, written like 2026Q3.")
PREVIEW_ID_PATTERN: Final = "^[0-9a-f]{32}$"


@dataclass(frozen=True)
class Quarter(_Marker):
    """A quarter written like ``2026Q3`` (spaces around it dropped), read as a :class:`Period`.

    A body that does not name it gets "required"; any other value that is no quarter (null, "", a year,
    ``2026Q5``, full-width digits, a number) gets ``message``. In a form, a missing choice is no quarter.
    """

    message: Message = NOT_A_QUARTER

    def read(self, value: Any, source: str) -> Period:
        if value is ABSENT and source != FORM:
            raise invalid(REQUIRED)
        try:
            return Period.parse_quarter(value.strip() if isinstance(value, str) else value)
        except ValueError:
            raise invalid(self.message) from None

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": QUARTER_PATTERN}


@dataclass(frozen=True)
class PreviewId(_Marker):
    """The id of a finished preview to publish, as given: an id of no preview is the service's 404."""

    message: Message = _l("This preview is not valid.")

    def read(self, value: Any, source: str) -> str | None:
        if value is None or value is ABSENT:
            return None
        if not isinstance(value, str):
            raise invalid(self.message)
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": PREVIEW_ID_PATTERN}


@dataclass(frozen=True)
class Ticked(_Marker):
    """A box that must be ticked: a JSON ``true``; in a form, a checkbox sent with any value but "false"
    (how the screens' check boxes have always been read)."""

    message: Message

    def read(self, value: Any, source: str) -> bool:
        if value is True or (source == FORM and isinstance(value, str) and value not in ("", "false")):
            return True
        raise invalid(self.message)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean", "enum": [True]}


class PreviewRequest(NamedFieldsOnly):
    """``POST /api/v1/statistics/previews`` and the screen's preview form: the quarter to compute."""

    period: Annotated[Period, Quarter()]


class ReleaseRequest(NamedFieldsOnly):
    """``POST /api/v1/statistics/releases``: the quarter, and the finished preview to publish as computed (without
    one the quarter is computed in the request, as tools have always done)."""

    period: Annotated[Period, Quarter()]
    preview_id: Annotated[str | None, PreviewId()]


class Confirmation(Schema):
    """The confirmation on the screens before a quarter is frozen: once published, figures are never revised
    (issue 16: no single click freezes a quarter)."""

    confirm: Annotated[bool, Ticked(_l("Tick the box to confirm that you want to publish."))]
