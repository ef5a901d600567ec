"""The header's menu (casework.nav.menu): its labels and URLs are worked out once per process (issue 18), yet each
page shows them in its own language, marks the page it is on and folds what does not fit in sight."""

from __future__ import annotations

import re


def _menu(page: str) -> str:
    found = re.search(r'<nav aria-label="[^"]+">(.*?)</nav>', page, re.S)
    assert found, "no menu"
    return found.group(1)


def test_the_menu_speaks_the_language_of_each_page(client, make_user, make_address, login):
    host = make_user("host", address_ids=(make_address().id,))
    login(client, host)
    menu = _menu(client.get("/account").text)
    assert '<a href="/cases">Hồ sơ</a>' in menu and "Tài khoản của tôi" in menu
    client.post("/language", data={"lang": "en", "next": "/account"})
    menu = _menu(client.get("/account").text)
    assert '<a href="/cases">Cases</a>' in menu and "My account" in menu and "Hồ sơ" not in menu
    client.post("/language", data={"lang": "vi", "next": "/account"})
    assert '<a href="/cases">Hồ sơ</a>' in _menu(client.get("/account").text)


def test_the_menu_marks_the_page_it_is_on_and_folds_beyond_four_entries(client, make_user, make_address, login):
    host = make_user("host", address_ids=(make_address().id,))
    login(client, host)
    menu = _menu(client.get("/account").text)
    in_sight, folded = menu.split('<details class="menu-more">')
    assert re.findall(r'href="([^"]+)"', in_sight) == ["/work/", "/notifications/"]
    assert '<a href="/account" aria-current="page">' in folded and '"/cases"' in folded
    assert menu.count('aria-current="page"') == 1
    menu = _menu(client.get("/cases").text)
    assert '<a href="/cases" aria-current="page">' in menu and '<a href="/account">' in menu


def test_a_menu_of_four_entries_or_fewer_folds_nothing(client, make_user, login):
    auditor = make_user("auditor")
    login(client, auditor)
    menu = _menu(client.get("/account").text)
    assert "menu-more" not in menu
    assert re.findall(r'href="([^"]+)"', menu) == ["/audit/", "/account"]


def test_the_headers_fixed_urls_follow_the_mount_point_of_each_request(client, make_user, make_address, login):
    # casework.nav.fixed_url keeps each URL once per process: one kept under "/" must not leak to "/tincay".
    host = make_user("host", address_ids=(make_address().id,))
    login(client, host)
    assert 'href="/static/css/app.css"' in client.get("/account").text
    page = client.get("/account", base_url="http://localhost/tincay").text
    assert 'href="/tincay/static/css/app.css"' in page and 'action="/tincay/language"' in page
    assert 'href="/tincay/"' in page and '<a href="/tincay/cases">' in _menu(page)
    page = client.get("/account").text
    assert 'href="/static/css/app.css"' in page and 'action="/language"' in page
