"""The 2025 view of a release counted in the pre-2025 units (issue 15: the pilot years mapped to 2025).

A release of a year before 2025 is counted and protected in the units of its time (63 provinces and their
communes). Its 2025 view is *derived from its published cells*, never counted again: the figure of a 2025
province is the sum of the pre-2025 provinces merged into it (``casework.geo.legacy.province_map``: each
pre-2025 province went wholly to one 2025 province), published only when every one of them is published.
A sum of published figures discloses nothing the release does not already show, so the view needs no
protection of its own. Communes are left out: a pre-2025 commune split between 2025 communes has no one
2025 commune, and a 2025 commune made of parts would be a new, unprotected figure.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping

from casework.stats.cells import CellKey
from casework.stats.release import PUBLISHED, SUPPRESSED, ReleaseCell

FORMAT = "view2025"
COLUMNS = ("measure", "geo_level", "geo_code", "period", "dims", "status", "value", "unit", "sources")


def view_2025(cells: Iterable[ReleaseCell], province_map: Mapping[str, str]) -> list[ReleaseCell]:
    """National cells as published; province cells summed into their 2025 province; no commune cells."""
    out: list[ReleaseCell] = []
    groups: dict[CellKey, list[ReleaseCell]] = defaultdict(list)
    for c in cells:
        if c.key.geo_level == "national":
            out.append(c)
        elif c.key.geo_level == "province":
            new = province_map.get(c.key.geo_code)
            if new is None:
                raise ValueError(f"pre-2025 province {c.key.geo_code} has no 2025 province")
            groups[c.key.at("province", new)].append(c)
    for key, parts in groups.items():
        published = all(p.status == PUBLISHED and p.value is not None for p in parts)
        out.append(ReleaseCell(key, parts[0].tables, PUBLISHED if published else SUPPRESSED,
                               sum(p.value for p in parts) if published else None,  # type: ignore[misc]
                               parts[0].unit, max(p.rounding_base for p in parts)))
    return sorted(out, key=lambda c: c.key.sort_key())


def sources_of(province_map: Mapping[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for old, new in sorted(province_map.items()):
        out[new].append(old)
    return dict(out)


def to_csv(cells: Iterable[ReleaseCell], province_map: Mapping[str, str]) -> bytes:
    """The view as CSV (UTF-8 with BOM, as the release's CSV): ``sources`` names the pre-2025 provinces."""
    sources = sources_of(province_map)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for c in cells:
        k = c.key
        w.writerow([k.measure, k.geo_level, k.geo_code, k.period, ";".join(f"{v}={x}" for v, x in k.dims),
                    c.status, "" if c.value is None else c.value, c.unit,
                    " ".join(sources.get(k.geo_code, ())) if k.geo_level == "province" else ""])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
