"""Every domain package has the same rooms (issue 14, STYLE rule 2, docs/architecture.md "The rooms of a
domain"): a reader finds the scoped queries, the presenters or the demo data in the same file everywhere."""

from __future__ import annotations

import importlib
import importlib.util
import inspect

import pytest

DOMAINS = ("casework.cases", "referral", "livelihood")
ROOMS = ("models", "schemas", "codes", "policy", "services", "presenters", "views", "api", "tables", "demo")


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_domain_package_has_every_room(domain):
    missing = [room for room in ROOMS if importlib.util.find_spec(f"{domain}.{room}") is None]
    assert not missing, f"{domain} has no {', '.join(missing)}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_domain_policy_holds_its_scoped_queries_and_loaders(domain):
    policy = importlib.import_module(f"{domain}.policy")
    names = {name for name, value in vars(policy).items()
             if inspect.isfunction(value) and value.__module__ == policy.__name__}
    assert any(name.endswith("_visible_to") for name in names), names
    assert any(name.startswith("get_") and name.endswith("_or_404") for name in names), names


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_services_package_still_reaches_the_policy_names(domain):
    """Views, tests and the other domains read ``services.get_<thing>_or_404`` as before the move."""
    policy = importlib.import_module(f"{domain}.policy")
    services = importlib.import_module(f"{domain}.services")
    loaders = [name for name in vars(policy) if name.startswith("get_") and name.endswith("_or_404")]
    assert loaders and all(getattr(services, name, None) is getattr(policy, name) for name in loaders), loaders
