"""What the referral services share: one answer for a refused body and the service's own reasons (issue 13)."""

from __future__ import annotations

from flask_babel import gettext as _

from casework.errors import ValidationError
from casework.schemas import Errors, FieldErrors


def _refuse(refused: FieldErrors, found: FieldErrors) -> ValidationError:
    """The schema's messages and the service's, for the fields the schema did not already refuse: one answer
    (issue 13)."""
    errors = Errors({name: list(messages) for name, messages in refused.items()})
    errors.merge({name: messages for name, messages in found.items() if name not in refused})
    return ValidationError(_("Please correct the marked fields."), errors.fields)
