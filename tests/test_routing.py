"""URL builders compiled at first use build exactly what Werkzeug's eager builders build (casework/routing.py)."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

from casework.routing import LazyBuilderRule

VALUES = {"IntegerConverter": 7, "PathConverter": "a/b c", "UUIDConverter": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}


def _value(converter) -> object:
    return VALUES.get(type(converter).__name__, "Ab_9-x y")


def test_every_rule_builds_the_same_url_as_werkzeug_builds(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]  # Flask adds static before us
    assert len(rules) > 100 and all(isinstance(r, LazyBuilderRule) for r in rules)
    plain = Map([Rule(r.rule, endpoint=r.endpoint, defaults=r.defaults, methods=r.methods) for r in rules],
                converters=app.url_map.converters)
    ours, theirs = app.url_map.bind("tincay.test"), plain.bind("tincay.test")
    built = 0
    for rule in rules:
        values = {name: _value(conv) for name, conv in rule._converters.items()}
        for extra in ({}, {"page": "2", "q": "tìm"}):  # unknown arguments go to the query string
            assert ours.build(rule.endpoint, {**values, **extra}, method=sorted(rule.methods)[0]) == \
                theirs.build(rule.endpoint, {**values, **extra}, method=sorted(rule.methods)[0]), rule.rule
            built += 1
    assert built == 2 * len(rules)


def test_a_builder_is_compiled_once_on_first_use(app):
    rule = next(r for r in app.url_map.iter_rules() if r.arguments)
    calls = []
    original = Rule._compile_builder

    def counting(self, append_unknown=True):
        calls.append(append_unknown)
        return original(self, append_unknown)

    Rule._compile_builder = counting
    try:
        fresh = LazyBuilderRule(rule.rule, endpoint="probe")
        Map([fresh], converters=app.url_map.converters)
        assert calls == []  # adding the rule compiles nothing
        values = {name: _value(conv) for name, conv in fresh._converters.items()}
        first = fresh.build(values, append_unknown=False)
        second = fresh.build(values, append_unknown=False)
    finally:
        Rule._compile_builder = original
    assert first == second and first[1].startswith("/") and calls == [False]
