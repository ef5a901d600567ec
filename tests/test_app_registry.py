"""Each application owns what the domains contribute to it (issue 14): API routes, statistics tables, the case
page's timeline kinds and actions. Two applications in one process share none of it."""

from __future__ import annotations

from casework import api
from casework.cases.extensions import case_page, register_case_action, register_timeline_kind
from casework.stats.catalogue import catalogue, register_table
from casework.stats.service import tables


def test_two_applications_get_the_same_contributions_in_objects_of_their_own(app, make_app):
    other = make_app()
    assert [r.endpoint for r in api.routes(app)] == [r.endpoint for r in api.routes(other)]
    assert len(api.routes(app)) > 50 and "api.openapi" in {r.endpoint for r in api.routes(app)}
    assert api.session_endpoints(app) == api.session_endpoints(other) != frozenset()
    assert catalogue(app) is not catalogue(other)
    assert [t.id for t in catalogue(app).tables()] == [t.id for t in catalogue(other).tables()]
    assert case_page(app) is not case_page(other)
    assert case_page(app).timeline_kinds.keys() == case_page(other).timeline_kinds.keys() >= {"intake", "referral_sent"}
    assert {e for e, _label, _roles in case_page(app).actions} == {"referral.new", "transfers.new"}


def test_every_module_that_declares_api_routes_gives_them_to_the_application(app):
    """A module whose routes nobody contributes would answer 404 on every one of them."""
    declared = set(api._DECLARED)
    given = {module.__name__ for module in api._api(app).modules}
    assert declared == given, declared ^ given
    assert {"livelihood.children", "casework.offline.api", "referral.api"} <= given


def test_what_one_application_is_given_the_other_does_not_see(app, make_app):
    other = make_app()
    register_timeline_kind(other, "planted_kind", "Planted")
    register_case_action(other, "planted.action", "Planted", ("host",))
    assert "planted_kind" not in case_page(app).timeline_kinds
    assert "planted.action" not in {e for e, _label, _roles in case_page(app).actions}
    first = catalogue(app).tables()[0]
    before = len(catalogue(app).tables())
    # a table registered in the other's catalogue only (a copy of an existing one under a new id)
    import dataclasses

    register_table(dataclasses.replace(first, id=first.id + "_PLANTED"), catalogue(other))
    assert len(catalogue(other).tables()) == before + 1
    assert len(catalogue(app).tables()) == before == len(tables())  # the current application is `app`


def test_each_application_answers_its_own_openapi_document(app, make_app):
    other = make_app()
    first = app.test_client().get("/api/v1/openapi.json").get_json()
    second = other.test_client().get("/api/v1/openapi.json").get_json()
    assert first == second and len(first["paths"]) > 40
