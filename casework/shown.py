"""The names of the personal fields a page or an API answer shows, taken from its view model (issue 18).

A read event records the fields shown. Rather than a hand-kept list beside each view (which drifts from
the page), the presenter builds one mapping of *audit name → value* with the person's data, the page or
answer reads her data only from it, and the read event records the names of its non-empty entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def is_empty(value: Any) -> bool:
    """An empty value shows nothing of her: its name is not recorded. ``False`` and ``0`` are facts, shown."""
    if value is None:
        return True
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value) == 0
    return False


def shown_fields(view: Mapping[str, Any], *, expand: Iterable[str] = (), skip: Iterable[str] = (),
                 rename: Mapping[str, str] | None = None) -> list[str]:
    """Sorted audit names of the non-empty entries of ``view``.

    ``expand``: keys holding a mapping whose own keys are the fields (e.g. an answer's ``person``);
    ``skip``: keys that are not about her (ids, versions, timestamps of the record);
    ``rename``: a key of the view → its audit name (several keys may share one name).
    """
    skip, expand, rename = set(skip), set(expand), dict(rename or {})
    names: set[str] = set()
    for key, value in view.items():
        if key in skip or is_empty(value):
            continue
        if key in expand and isinstance(value, Mapping):
            names.update(shown_fields(value, skip=skip, rename=rename))
            continue
        names.add(rename.get(key, key))
    return sorted(names)
