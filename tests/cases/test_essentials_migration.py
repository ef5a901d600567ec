"""Migration c3e9a7d1f5b2: a shelter stay's six yes/no essentials become one list of codes, and back."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from casework.cases import services
from casework.cases.models import ShelterStay
from casework.extensions import db
from tests.cases.conftest import user_of

BEFORE = "b5d1e8f2a6c3"
ESSENTIALS = ("food", "water", "clothes", "personal_items", "first_aid", "money")


def _flags() -> dict[str, set[str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, {', '.join(ESSENTIALS)} FROM shelter_stay")).all()  # noqa: S608
    return {row[0]: {name for name, on in zip(ESSENTIALS, row[1:], strict=True) if on} for row in rows}


def test_the_essentials_become_one_list_in_the_catalogues_order_and_go_back(world, make_case, req):
    from flask_migrate import downgrade, upgrade

    given = [{"money", "food"}, set(), set(ESSENTIALS)]
    stays = {}
    for ticked in given:
        case = db.session.get(services.Case, make_case(world.host_a, world.addr_a))
        stay = services.add_shelter_stay(user_of(world.host_a), case, services.ShelterData(
            start_on=services.local_today(), essentials=frozenset(ticked), money_vnd=1_000 if ticked else None))
        stays[stay.id] = ticked
    db.session.commit()
    db.session.remove()
    try:
        downgrade(revision=BEFORE)
        assert _flags() == stays
    finally:
        upgrade()
    kept = dict(db.session.execute(select(ShelterStay.id, ShelterStay.essentials)).all())
    assert kept == {i: [name for name in ESSENTIALS if name in ticked] for i, ticked in stays.items()}
    assert sorted(map(len, kept.values())) == [0, 2, 6]


def test_a_code_list_keeps_its_order_and_refuses_a_plain_string():
    from casework.models import CodeList

    kind = CodeList(80)
    assert kind.process_bind_param(["water", "food"], None) == "water,food"
    assert kind.process_result_value("water,food", None) == ["water", "food"]
    assert kind.process_bind_param([], None) == "" and kind.process_result_value("", None) == []
    with pytest.raises(TypeError):  # joined letter by letter, it would read back as f,o,o,d
        kind.process_bind_param("food,water", None)
