"""The language switch sends the browser back only to a path of this site (no open redirect)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest


@pytest.mark.parametrize("target", ["/cases", "/cases/new", "/livelihood/", "/cases?status=open", "/", "/tìm"])
def test_language_switch_returns_to_a_path_of_this_site(client, target):
    response = client.post("/language", data={"lang": "en", "next": target})
    assert response.status_code == 303
    assert unquote(response.headers["Location"]) == target


@pytest.mark.parametrize("target", [
    "//evil.example/",
    "/\\evil.example/",
    "/x\\..\\evil",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/cases\x00",
    "/cases\x7f",
    "/\u2028/evil.example",
    "/\u200b/evil.example",
    "/ /evil.example",
    "/" + "a" * 3000,
])
def test_language_switch_sends_anything_else_to_the_home_path(client, target):
    response = client.post("/language", data={"lang": "vi", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_language_switch_still_sets_the_language(client):
    response = client.post("/language", data={"lang": "en", "next": "//evil.example"})
    assert "lang=en" in response.headers["Set-Cookie"]
