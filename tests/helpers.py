"""Helpers for tests: a GraphQL call, a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn

from api.config import Settings
from api.edge.app import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The app served by uvicorn on a real socket, in a thread of its own."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def gql(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    expect_errors: bool = False,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    if not expect_errors:
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
    return body


def english(text: str) -> str:
    """A message as an English reader gets it (the server answers in Chinese by default): for
    the few tests that check which sentence a rule chose, where no code tells them apart."""
    from api.i18n import EN, render

    return render(text, EN)


def chinese(msgid: str, **args: object) -> str:
    """The catalogue message ``msgid`` as a Chinese reader (the default) gets it."""
    from api.i18n import ZH_CN, Message

    return Message(msgid, None, **args).render(ZH_CN)
