"""T20 catalogue guard: the rules of the table catalogue (disclosure-control §2.3), enforced at
registration, and checked over every table the domains declare."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from casework.stats.catalogue import (
    ACT_FORM,
    AGE_GROUP,
    ETHNICITY,
    SEX,
    CatalogueError,
    Category,
    CategoryList,
    Registry,
    TableDef,
    check_catalogue,
    register_table,
)


def table(**kw) -> TableDef:
    base = dict(id="T", domain="test", title_vi="Bảng", title_en="Table", measure="survivors",
                geo_levels=("national", "province"), periods=("quarter", "year"))
    return TableDef(**{**base, **kw})


AGE_UNDER_20 = CategoryList("age_group", "other.1", "Tuổi", "Age",
                            (Category("U20", "Dưới 20", "Under 20"), Category("A20", "20+", "20 and over")))


@pytest.mark.parametrize("bad, reason", [
    (table(geo_levels=("commune",), periods=("year",), dimensions=(SEX,)), "no commune-level sex"),
    (table(geo_levels=("commune",), periods=("year",), dimensions=(ETHNICITY,)), "no commune-level ethnicity"),
    (table(geo_levels=("commune",), periods=("year",), dimensions=(AGE_GROUP,)), "no commune-level age_group"),
    (table(geo_levels=("commune",), periods=("year",), dimensions=(ACT_FORM,)), "total only"),
    (table(geo_levels=("commune",), periods=("quarter",)), "restricted internal tier"),
    (table(geo_levels=("commune",), periods=("year",), tier="public"), "public tier"),
    (table(dimensions=(dataclasses.replace(AGE_GROUP, variable="address"),)), "never a dimension"),
    (table(dimensions=(dataclasses.replace(AGE_GROUP, variable="host"),)), "never a dimension"),
    (table(dimensions=(dataclasses.replace(AGE_GROUP, variable="village"),)), "never a dimension"),
    (table(dimensions=(dataclasses.replace(AGE_GROUP, variable="religion"),)), "not a variable of the catalogue"),
    (table(dimensions=(dataclasses.replace(AGE_GROUP, version=""),)), "has no version"),
    (table(dimensions=(ACT_FORM, AGE_GROUP)), "two-way table is allowed only at national level by year"),
    (table(geo_levels=("national",), periods=("year",), dimensions=(ACT_FORM, AGE_GROUP, SEX)), "at most"),
    (table(dimensions=(SEX,)), "by year only"),
    (table(periods=("year",), dimensions=(dataclasses.replace(
        ETHNICITY, categories=(Category("01", "Kinh", "Kinh"), Category("02", "Tày", "Tay"))),)), "Kinh / ethnic"),
    (table(periods=("month",)), "no free ranges"),
    (table(geo_levels=("national", "village")), "only national, province and commune"),
    (table(kind="money", unit="vnd", periods=("year",)), "set pattern_of"),
    (table(kind="excluded", geo_levels=("national", "province"), source="survivors"), "nationally only"),
    (table(kind="excluded", geo_levels=("national",)), "set source"),
])
def test_t20_catalogue_refuses_a_table_that_breaks_a_rule(bad, reason):
    with pytest.raises(CatalogueError, match=reason):
        register_table(bad, Registry())


def test_t20_a_second_grouping_of_one_variable_is_refused():
    registry = Registry()
    register_table(table(id="A", dimensions=(AGE_GROUP,)), registry)
    with pytest.raises(CatalogueError, match="sub-population differencing"):
        register_table(table(id="B", dimensions=(AGE_UNDER_20,)), registry)


def test_t20_the_same_table_registers_twice_and_a_changed_one_does_not():
    registry = Registry()
    t = table(dimensions=(AGE_GROUP,))
    register_table(t, registry)
    register_table(t, registry)  # a second app in the same process registers again: harmless
    assert registry.tables() == (t,)
    with pytest.raises(CatalogueError, match="another definition"):
        register_table(dataclasses.replace(t, title_en="Other"), registry)


def test_t20_the_catalogue_of_the_specification_is_accepted():
    tables = [
        table(id="G1"),
        table(id="G2-act", dimensions=(ACT_FORM,)),
        table(id="G2-age", dimensions=(AGE_GROUP,)),
        table(id="G3", geo_levels=("national",), periods=("year",), dimensions=(ACT_FORM, AGE_GROUP)),
        table(id="G4", geo_levels=("commune",), periods=("year",)),
        table(id="G5-sex", periods=("year",), dimensions=(SEX,)),
        table(id="G5-eth", periods=("year",), dimensions=(ETHNICITY,)),
    ]
    assert check_catalogue(tables) == []


DOMAINS = ("casework.cases.tables", "referral.tables", "livelihood.tables")


def domain_tables() -> list[TableDef]:
    found: list[TableDef] = []
    for name in DOMAINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue  # a domain that contributes no statistics yet
        found += list(getattr(module, "TABLES", ()))
    return found


def test_t20_every_table_the_domains_declare_obeys_the_catalogue_together():
    tables = domain_tables()
    problems = check_catalogue(tables)
    assert problems == []
    # The guard is not vacuous: the same tables plus one commune-level age table are refused.
    bad = table(id="BAD", geo_levels=("commune",), periods=("year",), dimensions=(AGE_GROUP,))
    assert check_catalogue([*tables, bad])
