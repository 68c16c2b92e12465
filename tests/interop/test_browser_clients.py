"""A web frontend on another origin, in a real Chromium: `fetch` and a graphql-ws subscription
work when its origin is listed in GRIDLINK_CORS_ORIGINS and are refused when it is not; and
GraphiQL, served by gridlink itself with no other host reachable, renders and runs a query."""

from __future__ import annotations

import json
import time
from urllib.parse import quote, urlencode

import pytest

from tests.interop.browser import chromium_browser
from tests.interop.conftest import NODE_MODULES, DemoServer

pytestmark = [pytest.mark.interop, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser(chromium: str):
    with chromium_browser(chromium) as browser:
        yield browser


def _open_frontend(browser, origin: str, server: DemoServer, token: str):
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    query = urlencode({"api": server.url, "token": token})
    page.goto(f"{origin}/page/index.html?{query}")
    outcome = page.evaluate("window.outcome")
    return page, outcome


def test_frontend_on_a_listed_origin(browser, demo_server: DemoServer) -> None:
    if not (NODE_MODULES / "graphql-ws").is_dir():
        pytest.skip("needs the Node packages: `npm ci` in tests/interop (`make test` runs it)")
    liaison = demo_server.sign_in("13800000003")
    town = demo_server.sign_in("13800000002")
    page, outcome = _open_frontend(browser, demo_server.allowed_origin, demo_server, liaison)
    assert outcome["fetch"]["status"] == 200, outcome
    liaison_id = outcome["fetch"]["body"]["data"]["me"]["id"]
    assert outcome["socket"] == {"connected": True}, outcome

    ticket = demo_server.data(
        liaison, "{ tickets(first: 1, filter: {assignedToMe: true, open: true}) { nodes { id } } }"
    )["tickets"]["nodes"][0]["id"]
    town_id = demo_server.data(town, "{ me { id } }")["me"]["id"]

    def received(seconds: float) -> list:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if events := page.evaluate("window.events"):
                return events
            time.sleep(0.05)
        return []

    events = demo_server.reassign_until(ticket, [town_id, liaison_id], received)
    assert events[0]["data"]["myAssignments"]["ticket"]["id"] == ticket, events
    page.close()


def test_frontend_on_an_unlisted_origin(browser, demo_server: DemoServer) -> None:
    if not (NODE_MODULES / "graphql-ws").is_dir():
        pytest.skip("needs the Node packages: `npm ci` in tests/interop (`make test` runs it)")
    liaison = demo_server.sign_in("13800000003")
    page, outcome = _open_frontend(browser, demo_server.refused_origin, demo_server, liaison)
    # The browser blocks the call (no CORS grant) and the server refuses the handshake.
    assert "error" in outcome["fetch"], outcome
    assert outcome["socket"].get("connected") is not True, outcome
    page.close()


def test_graphiql_without_internet(browser, demo_server: DemoServer) -> None:
    token = demo_server.sign_in("13800000003")
    context = browser.new_context()
    outside: list[str] = []

    def only_gridlink(route) -> None:
        # Every request to another host fails, as on a network without internet.
        if route.request.url.startswith(demo_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_gridlink)
    page = context.new_page()
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    page.goto(f"{demo_server.url}/graphql?q={quote('{ me { name } }')}&headers={quote(headers)}")
    page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20000)
    page.click(".graphiql-execute-button")
    # A locator, not wait_for_function: the page's CSP (script-src 'self') forbids eval.
    page.locator(".result-window", has_text='"name"').wait_for(timeout=20000)
    result = page.inner_text(".result-window")
    assert '"me"' in result and "null" not in result.split('"me"')[1][:10], result
    assert outside == []
    context.close()
