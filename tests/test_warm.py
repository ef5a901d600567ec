"""A production web process is warmed before it serves (casework/warm.py, issue 18)."""

from casework.geo import data, legacy
from casework.warm import warm_up


def test_warm_up_reads_the_geography_and_compiles_every_template(app):
    legacy._communes_by_district.cache_clear()
    data._communes_by_province.cache_clear()
    languages = app.jinja_env.language_environments()
    for env in languages:
        env.cache.clear()
    warm_up(app)
    assert legacy._communes_by_district.cache_info().currsize == 1
    assert data._communes_by_province.cache_info().currsize == 1
    assert len(languages) == 2  # Vietnamese and English
    for env in languages:
        compiled = {key[1] for key in env.cache.keys()}
        assert set(app.jinja_env.list_templates(extensions=("html",))) <= compiled
