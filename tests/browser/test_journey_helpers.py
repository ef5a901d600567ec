"""The issue-13 journeys check axe-core on JavaScript-off pages through a JavaScript-on twin
(tests/browser/journey.py). These tests show that check can fail: a violation on the JavaScript-off page is
found, and a twin that shows another page than hers is refused."""

from __future__ import annotations

import pytest

from tests.browser.journey import axe_without_javascript

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Thử</title></head>
<body><main><h1>{h1}</h1>{body}<script>document.querySelector('h1').textContent = 'JS';</script></main></body></html>"""


def _serve(page, url: str, html: str) -> None:
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
    page.goto(url)


def test_a_violation_on_a_page_without_javascript_is_found(live_server, new_page):
    page, twin = new_page(javascript=False), new_page(javascript=True)
    url = f"{live_server}/__axe_probe"
    _serve(page, url, PAGE.format(h1="Một trang", body='<img src="/static/x.png">'))  # an image without alt
    assert page.locator("h1").inner_text() == "Một trang"  # its script did not run
    with pytest.raises(AssertionError, match="image-alt"):
        axe_without_javascript(page, twin)


def test_a_clean_page_passes_and_the_twin_does_not_run_its_scripts(live_server, new_page):
    page, twin = new_page(javascript=False), new_page(javascript=True)
    url = f"{live_server}/__axe_probe"
    _serve(page, url, PAGE.format(h1="Một trang", body="<p>Nội dung</p>"))
    axe_without_javascript(page, twin)  # the scripts removed, the twin's h1 is the page's, not "JS"
    assert twin.locator("h1").inner_text() == "Một trang"
