"""The suite's guard (tests/conftest.py): no test counts over the national geography unless marked ``national``."""

import pytest

from casework.stats import service


def test_an_unmarked_test_that_reaches_the_national_geography_fails():
    with pytest.raises(AssertionError, match="national geography"):
        service.geography()  # outside an app nothing configures the test geography: the national one


def test_a_test_with_the_app_counts_over_the_test_geography(app):
    with app.app_context():
        assert len(service.geography().provinces) < 34
