"""What a schema refuses: the per-field messages of the ``ValidationError`` a reading raises."""

from __future__ import annotations

import pytest

from casework.errors import ValidationError


def refused(read, data) -> dict[str, list[str]]:
    """The field messages ``read(data)`` refuses with; fails the test when it reads ``data`` without one."""
    with pytest.raises(ValidationError) as raised:
        read(data)
    return raised.value.fields
