"""Activity indicators (issue 16): what the pilot did, counted in addresses, hosts, packages and
trainings, never in women, and published as counted, without small-cell suppression.

Plan 96 reports the trusted addresses built, consolidated and active, the hosts trained and the support
packages delivered. None of these counts a survivor: an address is a registered, publicly listed place
(Law 13/2022 Art. 36: the commune lists and publishes it), a host is a volunteer trained by the commune.
So their tables (kind ``activity``, codes ``ADDR_``) are not protected by the engine: they never enter
its audit and are added to the release as published cells after it. Nothing about a woman may become an
activity table: anything one-to-one with a survivor (her proposal, her training, her monitoring visit)
is an ``events`` table with the suppression pattern of its person count instead (``livelihood.tables``).

Each activity table is read for every commune and for the pilot communes only (the breakdown ``scope``
with its one category ``PILOT``; the total is every commune). Pilot communes are set by coordinators
(``StatPilotCommune``).

An activity source is ``source(periods) -> Iterable[ActivityRecord]``: one record per thing counted,
already assigned to a period of ``periods`` (a stock such as "active at the end of the quarter" is
counted once per period, on the period's last day).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from casework.hooks import Hooks
from casework.stats.catalogue import Category, CategoryList, TableDef
from casework.stats.cells import NATIONAL_CODE, CellKey, Geography
from casework.stats.period import Period
from casework.stats.release import PUBLISHED, Release, ReleaseCell, snapshot_hash

ACTIVITY = "activity"
SCOPE = CategoryList(
    variable="scope", version="2026.1", label_vi="Phạm vi", label_en="Scope",
    categories=(Category("PILOT", "Riêng các xã thí điểm", "Pilot communes only"),),
)


@dataclass(frozen=True)
class ActivityRecord:
    measure: str
    period: str
    province_code: str
    commune_code: str
    value: int = 1
    key: str | None = None  # counted once per key and period (a host trained twice is one host)


ActivitySource = Callable[[list[str]], Iterable[ActivityRecord]]
_SOURCES = Hooks[ActivitySource]("tincay.stats_activity_sources")
add_source = _SOURCES.add
sources = _SOURCES.of


def is_activity(table: TableDef) -> bool:
    return table.kind == ACTIVITY


def periods_of(period: str) -> list[str]:
    """The periods a release of ``period`` publishes: its quarter, and its year at the fourth quarter."""
    return [str(p) for p in Period.parse_quarter(period).published_with()]


def count(tables: Iterable[TableDef], records: Iterable[ActivityRecord], periods: list[str], geography: Geography,
          pilot: frozenset[str] = frozenset()) -> dict[CellKey, tuple[int, tuple[str, ...]]]:
    """Every cell of every activity table, zeros included: value and the tables it belongs to."""
    tables = [t for t in tables if is_activity(t)]
    by_measure: dict[str, list[TableDef]] = {}
    for t in tables:
        by_measure.setdefault(t.measure, []).append(t)
    totals: Counter[CellKey] = Counter()
    seen: set[tuple[str, str, str, str]] = set()
    for r in records:
        if r.measure not in by_measure or r.period not in periods or r.province_code not in geography.province_codes:
            continue
        if r.key is not None:
            if (r.measure, r.period, r.key, r.commune_code) in seen:
                continue
            seen.add((r.measure, r.period, r.key, r.commune_code))
        scopes = [()] + ([(("scope", "PILOT"),)] if r.commune_code in pilot else [])
        for dims in scopes:
            totals[CellKey(r.measure, "national", NATIONAL_CODE, r.period, dims)] += r.value
            totals[CellKey(r.measure, "province", r.province_code, r.period, dims)] += r.value
            if not dims:
                totals[CellKey(r.measure, "commune", r.commune_code, r.period)] += r.value
    out: dict[CellKey, tuple[int, tuple[str, ...]]] = {}
    for t in tables:
        for period in periods:
            if Period.parse(period).kind not in t.periods:
                continue
            scopes = [()] + ([(("scope", "PILOT"),)] if t.dimensions else [])
            for level in t.geo_levels:
                codes = {"national": (NATIONAL_CODE,), "province": geography.province_codes,
                         "commune": tuple(c for c, _, _ in geography.communes)}[level]
                for code in codes:
                    for dims in (scopes if level != "commune" else [()]):
                        key = CellKey(t.measure, level, code, period, dims)
                        value, ids = out.get(key, (totals.get(key, 0), ()))
                        out[key] = (value, (*ids, t.id))
    return out


def add_to(release: Release, all_tables: Iterable[TableDef],
           cells: dict[CellKey, tuple[int, tuple[str, ...]]]) -> Release:
    """The release with the activity cells added, published, and its manifest and hash updated."""
    from casework.stats.release import _table_json  # the manifest's own description of a table

    all_tables = tuple(sorted(all_tables, key=lambda t: t.id))
    units = {t.measure: t.unit for t in all_tables}
    extra = tuple(ReleaseCell(k, ids, PUBLISHED, v, units[k.measure], 1)
                  for k, (v, ids) in sorted(cells.items(), key=lambda kv: kv[0].sort_key()))
    merged = release.cells + extra
    manifest = dict(release.manifest)
    if manifest:
        manifest["tables"] = [_table_json(t) for t in all_tables]
        lists = {d.id: d for t in all_tables for d in t.dimensions}
        from casework.stats.release import _list_json

        manifest["code_lists"] = [_list_json(lists[k]) for k in sorted(lists)]
        manifest["snapshot_hash"] = snapshot_hash(merged, release.derived)
        # One time zone in every file: Vietnam's (issue 16).
        manifest["created_at"] = vn_iso(release.created_at)
        manifest["time_zone"] = "Asia/Ho_Chi_Minh"
        manifest["activity"] = {"tables": [t.id for t in all_tables if is_activity(t)], "cells": len(extra),
                                "protection": "none: counts of addresses, hosts and packages, not of persons"}
    return dataclasses.replace(release, tables=all_tables, cells=merged, manifest=manifest)


def vn_iso(moment: datetime) -> str:
    from casework.text import VN_TZ

    return moment.astimezone(VN_TZ).isoformat(timespec="seconds")
