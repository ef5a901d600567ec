"""Rules of issue 15 not covered elsewhere: the commune-notice hours of Law 13/2022 Art. 36 as a province setting
(the law sets no hours; the project's default is 24), in the flag and in the work queue; the lists of
communes labelled "Xã/Phường/Đặc khu" (the 2025 units include wards and special zones)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.cases import codes, services
from casework.cases.work import _notice_delay
from casework.errors import NotFound, ValidationError
from casework.extensions import db
from casework.models import utcnow
from tests.cases.conftest import user_of


def test_law_13_2022_art_36_the_notice_hours_are_a_province_setting_with_default_24(world, make_case):
    """Art. 36 sets no hours: 24 is the project's default, and a province may choose its own."""
    assert codes.NOTICE_HOURS == 24
    case_id = make_case(world.host_a, world.addr_a, intake_at=utcnow() - timedelta(hours=30))
    case = db.session.get(services.Case, case_id)
    assert services.notice_hours("19") == 24 and services.notice_overdue(case)
    services.set_notice_hours(user_of(world.province_19), "19", 48)
    db.session.commit()
    assert services.notice_hours("19") == 48 and not services.notice_overdue(case)
    assert services.notice_hours("11") == 24  # another province keeps the default


def test_law_13_2022_art_36_the_work_queue_uses_the_provinces_hours(world):
    services.set_notice_hours(user_of(world.province_19), "19", 36)
    db.session.commit()
    assert _notice_delay(user_of(world.province_19)) == timedelta(hours=36)
    assert _notice_delay(user_of(world.province_11)) == timedelta(hours=24)


def test_law_13_2022_art_36_only_the_provinces_own_officer_sets_its_hours_within_the_limit(world):
    with pytest.raises(ValidationError) as e:
        services.set_notice_hours(user_of(world.province_19), "19", 0)
    assert "notice_hours" in e.value.fields
    with pytest.raises(NotFound):  # another province's setting
        services.set_notice_hours(user_of(world.province_11), "19", 48)


def test_commune_lists_are_labelled_xa_phuong_dac_khu_not_xa(world, signed_in):
    """Resolution 202/2025/QH15 and the commune resolutions: the level holds communes, wards and special zones."""
    page = signed_in(world.host_a).get("/cases/new").text
    assert "Xã/Phường/Đặc khu nơi chị ấy sống" in page
    assert ">Xã nơi chị ấy sống<" not in page
