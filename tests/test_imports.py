"""The import graph of casework, referral and livelihood (issue 14): no new import circle, and the core
(``casework`` outside ``casework.cases``) imports no domain except in ``create_app`` (``casework/__init__.py``).

A ratchet: today's circles and core→domain imports are listed below; a change may remove them (then delete
the line) but never add one. Imports inside functions count too: they hide a circle, they do not break it.
"""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp", reason="grimp is in the test extra: run make install (pip install -e '.[test]')")

PACKAGES = ("casework", "referral", "livelihood")
# casework.offline (issue 17) records cases through the casework domain's services: it is a domain too.
DOMAINS = ("casework.cases", "casework.offline", "referral", "livelihood")

# Today's circles (strongly connected groups of modules), to be removed one by one.
KNOWN_CIRCLES = {
}
# Today's imports of a domain by the core, outside create_app: none left (issue 14).
KNOWN_CORE_TO_DOMAIN: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    modules = set(graph.modules)
    return {m: set(graph.find_modules_directly_imported_by(m)) & modules for m in modules}


def circles(imports: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(sorted(imports[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.add(frozenset(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(imports[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_circle_finder_finds_a_circle_and_ignores_a_chain():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset({"a", "b", "c"})}
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == set()


def test_no_new_import_circle(imports):
    new = [sorted(c) for c in circles(imports) if c not in KNOWN_CIRCLES]
    assert not new, f"new import circles: {new}"


def test_the_core_imports_no_new_domain_module_outside_create_app(imports):
    core = [m for m in imports if m.startswith("casework") and m != "casework" and not m.startswith(DOMAINS)]
    new = sorted((m, d) for m in core for d in imports[m]
                 if d.startswith(DOMAINS) and (m, d) not in KNOWN_CORE_TO_DOMAIN)
    assert not new, f"core modules importing a domain: {new}"
