"""Node's standard clients against a real `gridlink serve`: graphql-ws (with ws) receives an
assignment on myAssignments; Apollo Client runs a query through automatic persisted queries
(miss, registration, hit by hash over GET) and a mutation."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.interop.conftest import HERE, DemoServer

pytestmark = pytest.mark.interop


def run_node(node: str, script: str, server: DemoServer) -> dict:
    done = subprocess.run(
        [node, str(HERE / "node" / script)],
        env={"GRIDLINK_URL": server.url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_graphql_ws_subscription(node: str, demo_server: DemoServer) -> None:
    result = run_node(node, "subscribe.mjs", demo_server)
    event = result["event"]
    assert event is not None and not event.get("errors"), result
    assignment = event["data"]["myAssignments"]
    assert assignment["ticket"]["id"] == result["ticket"]["id"]
    assert assignment["kind"] in {"ASSIGNED", "REASSIGNED"}


def test_apollo_client_with_persisted_queries(node: str, demo_server: DemoServer) -> None:
    result = run_node(node, "apollo.mjs", demo_server)
    miss, register = result["firstRequests"]
    assert (miss["method"], miss["sentQuery"], miss["codes"]) == (
        "GET",
        False,
        ["PERSISTED_QUERY_NOT_FOUND"],
    )
    assert register["sentQuery"] and register["status"] == 200 and not register["codes"]
    [hit] = result["secondRequests"]
    assert (hit["method"], hit["sentQuery"], hit["status"], hit["codes"]) == ("GET", False, 200, [])
    assert result["first"] == result["second"]
    assert result["first"]["tickets"]["totalCount"] >= 1
    assert [r["method"] for r in result["mutationRequests"]] == ["POST", "POST"]
    comment = result["mutation"]["addTicketComment"]
    assert comment["errors"] == [] and comment["comment"]["body"].startswith("Apollo Client")
