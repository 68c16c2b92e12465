"""Every example in docs/api.md runs against the demo county on a real `gridlink serve`, so a
doc example cannot rot: each ```graphql block is executed (as the role the example is written
for, with variables taken from the demo) and its `# →` answer compared by codes and fields;
the ```js block runs in Node with graphql-ws and receives an assignment; GraphQL in inline
code is validated against the schema. A block in any other language fails the test."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate

from api.config import Settings
from schema.build import build_schema
from tests.interop.conftest import HERE, DemoServer

pytestmark = pytest.mark.interop

ROOT = HERE.parent.parent
DOCS = [ROOT / "docs" / "api.md", ROOT / "README.md"]
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.S | re.M)
# Fences without a language show a format (a header, a signature), not something to run.
RUN = {"graphql", "js"}
PLAIN = {"", "sh"}
ADMIN, COUNTY, LIAISON, TOWN = "13800000000", "13800000001", "13800000003", "13800000002"


def blocks(language: str) -> list[tuple[Path, str]]:
    found = []
    for doc in DOCS:
        for fence, body in FENCE.findall(doc.read_text(encoding="utf-8")):
            assert fence in RUN | PLAIN, f"{doc.name}: a ```{fence} block that no test runs"
            if fence == language:
                found.append((doc, body))
    return found


def setup_for(server: DemoServer, operation: str | None) -> tuple[str, dict[str, Any]]:
    """The demo account an example is written for, and its variables."""
    if operation == "MyOpenTickets":
        return server.sign_in(LIAISON), {}
    if operation == "County":
        token = server.sign_in(COUNTY)
        grids = server.data(token, "{ grids(filter: {kind: COUNTY}) { nodes { id code } } }")
        [county] = [g["id"] for g in grids["grids"]["nodes"] if g["code"] == "SY"]
        return token, {"county": county}
    if operation == "Resolve":
        token = server.sign_in(LIAISON)
        mine = server.data(
            token,
            "{ tickets(first: 1, filter: {assignedToMe: true, status: [IN_PROGRESS]}) "
            "{ nodes { id } } }",
        )
        return token, {"ticket": mine["tickets"]["nodes"][0]["id"]}
    assert operation is None, f"docs example {operation}: say in this test how it runs"
    return server.sign_in(ADMIN), {}


def _without_messages(value: Any) -> Any:
    # Messages are for people (and translated); codes and fields are the contract.
    if isinstance(value, dict):
        return {k: _without_messages(v) for k, v in value.items() if k != "message"}
    if isinstance(value, list):
        return [_without_messages(v) for v in value]
    return value


def test_graphql_examples(demo_server: DemoServer) -> None:
    examples = blocks("graphql")
    assert len(examples) >= 4
    for doc, text in examples:
        document = parse(text)
        [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        name = operation.name.value if operation.name else None
        token, variables = setup_for(demo_server, name)
        body = demo_server.post(token, text, variables)
        assert "errors" not in body, (doc.name, name, body)
        answer = re.search(r"^# →(.*)", text, re.S | re.M)
        if answer:
            expected = json.loads(re.sub(r"^#\s*", "", answer.group(1), flags=re.M))
            [result] = body["data"].values()
            assert _without_messages(result) == _without_messages(expected), (name, result)
        else:
            assert all(v is not None for v in body["data"].values()), (name, body)


def test_inline_graphql_is_valid() -> None:
    schema = build_schema(Settings())._schema
    inline = []
    for doc in DOCS:
        text = FENCE.sub("", doc.read_text(encoding="utf-8"))
        inline += re.findall(
            r"`((?:mutation|query|subscription)\b[^`]*\}|\{\s*[a-z_][^`]*\})`", text
        )
    assert any("login(" in snippet for snippet in inline)
    for snippet in inline:
        errors = validate(schema, parse(snippet))
        assert not errors, (snippet, errors)


def test_js_example(node: str, demo_server: DemoServer) -> None:
    [(_, example)] = blocks("js")
    liaison = demo_server.sign_in(LIAISON)
    town = demo_server.sign_in(TOWN)
    ws_url = demo_server.url.replace("http", "ws", 1)
    assert "wss://gridlink.example" in example
    prelude = """
import WebSocket from "ws";
globalThis.WebSocket ??= WebSocket;  // Node 20 has no WebSocket of its own; browsers do
const token = process.env.GRIDLINK_TOKEN;
function showAssignment(assignment) { console.log(JSON.stringify(assignment)); process.exit(0); }
setTimeout(() => { console.error("no assignment arrived"); process.exit(1); }, 60000);
"""
    script = prelude + example.replace("wss://gridlink.example", ws_url)
    process = subprocess.Popen(
        [node, "--input-type=module", "--eval", script],
        cwd=HERE,  # bare imports resolve from tests/interop/node_modules
        env={"GRIDLINK_TOKEN": liaison, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()

    def received(seconds: float) -> dict | None:
        try:
            return json.loads(lines.get(timeout=seconds))
        except queue.Empty:
            assert process.poll() is None, process.stderr.read()
            return None

    try:
        ticket = demo_server.data(
            liaison,
            "{ tickets(first: 1, filter: {assignedToMe: true, open: true}) { nodes { id } } }",
        )["tickets"]["nodes"][0]["id"]
        ids = [demo_server.data(t, "{ me { id } }")["me"]["id"] for t in (town, liaison)]
        assignment = demo_server.reassign_until(ticket, ids, received)
        assert assignment["ticket"]["id"] == ticket, assignment
        assert assignment["kind"] in {"ASSIGNED", "REASSIGNED"}
    finally:
        process.kill()
        process.wait()
