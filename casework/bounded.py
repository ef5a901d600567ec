"""A mapping kept by the process with a bound on its size: the per-session menu counts (``casework.nav``), the
checked session cookies and the signed form tokens (``casework.web``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable


def put[K: Hashable, V](kept: dict[K, V], key: K, value: V, limit: int, stale: Callable[[V], bool]) -> None:
    """``kept[key] = value``, at most ``limit`` entries: when full, the ``stale`` ones go first, else all of them."""
    if len(kept) >= limit:
        # A snapshot (one C-level copy under the GIL): other request threads may add entries meanwhile.
        for old in [k for k, v in list(kept.items()) if stale(v)]:
            kept.pop(old, None)
        if len(kept) >= limit:
            kept.clear()
    kept[key] = value
