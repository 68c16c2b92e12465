"""Soak: N minutes of mixed load on one server process, counting errors and sampling the
server's memory.

    .venv/bin/python bench/soak.py [--minutes 10] [--url postgresql://postgres@127.0.0.1/postgres]

The server is a real uvicorn process on a scratch database with the demo county (SQLite by
default; with --url a scratch PostgreSQL database, dropped afterwards). Against it, at once:
the liaison (13800000003) lists open tickets and creates tickets through GraphQL mutations;
the liaison's phone (sync/client.py) creates and edits tickets offline and syncs (push, pull);
the county officer's (13800000001) phone pulls what changed, and every 20th round starts over
with a whole first sync (pages of 500); two WebSocket subscribers follow ticketEvents of the
liaison's grid and reconnect every minute. Every answer is checked: a transport error, a
status other than 200 or a GraphQL error counts as an error.

Prints the server's resident memory (VmRSS from /proc) every --sample seconds with the
requests and errors so far, then the growth of memory between the end of the first quarter
(caches warm) and the end: flat means within a few MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.graphql_bench import Server  # noqa: E402
from bench.transfer_bench import LOGIN, OFFICER, PASSWORD, demo_server  # noqa: E402
from sync.client import SyncClient  # noqa: E402

LIAISON = "13800000003"
LIST = """query OpenTickets { tickets(first: 20, filter: {open: true}) {
  nodes { id number title status severity grid { name } assignee { name } } } }"""
GRIDS = "query MyGrids { me { grids { id } } }"
CREATE = """mutation Report($input: CreateTicketInput!) { createTicket(input: $input) {
  ticket { id } errors { code message } } }"""
EVENTS = "subscription Events($grid: ID!) { ticketEvents(gridId: $grid) { kind ticket { id } } }"


class Soak:
    def __init__(self, base_url: str, deadline: float) -> None:
        self.base_url = base_url
        self.deadline = deadline
        self.requests = 0
        self.errors: Counter[str] = Counter()
        self.events = 0

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def error(self, where: str, what: object) -> None:
        if self.errors[where] < 3:
            print(f"error in {where}: {str(what)[:300]}", file=sys.stderr)
        self.errors[where] += 1

    async def post(self, http: httpx.AsyncClient, token: str, query: str, variables=None) -> Any:
        self.requests += 1
        answer = await http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {token}"},
        )
        body = answer.json()
        if answer.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{answer.status_code}: {body.get('errors')}")
        return body["data"]

    async def loop(self, where: str, step) -> None:  # noqa: ANN001
        while self.running():
            try:
                await step()
            except Exception as error:  # noqa: BLE001 - every failure is counted
                self.error(where, repr(error))
                await asyncio.sleep(0.5)
            await asyncio.sleep(0.02)

    # --- the users ---------------------------------------------------------------------

    async def lister(self, token: str) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as http:

            async def step() -> None:
                await self.post(http, token, LIST)

            await self.loop("list", step)

    async def reporter(self, token: str, grid: str) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=60) as http:

            async def step() -> None:
                data = await self.post(
                    http,
                    token,
                    CREATE,
                    {"input": {"title": "浸泡测试工单", "source": "DIRECT_REPORT", "gridId": grid}},
                )
                if data["createTicket"]["errors"]:
                    raise RuntimeError(data["createTicket"]["errors"])
                await asyncio.sleep(0.3)

            await self.loop("mutation", step)

    async def phone(self, token: str, grid_uuid: str) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=120) as http:
            phone = SyncClient(http, token=token, client_id=f"soak-{uuid.uuid4().hex[:6]}")
            await phone.pull()

            async def step() -> None:
                tid = phone.create(
                    "tickets",
                    {"title": "离线工单", "source": "WORKER_REQUEST", "gridId": grid_uuid},
                )
                # Taking it (IN_PROGRESS) makes the liaison its assignee, who may then edit.
                phone.update("tickets", tid, {"status": "IN_PROGRESS"})
                phone.update("tickets", tid, {"description": "现场已核实"})
                phone.create("ticketComments", {"ticketId": tid, "body": "已约谈企业负责人"})
                self.requests += 2
                await phone.sync()
                rejected = [r for r in phone.results.values() if r["status"] == "REJECTED"]
                phone.results.clear()
                if rejected:
                    raise RuntimeError(f"push rejected: {rejected[0].get('error')}")
                await asyncio.sleep(0.5)

            await self.loop("push", step)

    async def officer(self, token: str) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=300) as http:
            phone = SyncClient(http, token=token, client_id=f"soak-{uuid.uuid4().hex[:6]}")
            rounds = 0

            async def step() -> None:
                nonlocal phone, rounds
                rounds += 1
                if rounds % 20 == 1:  # a phone set up anew: the whole first sync
                    phone = SyncClient(http, token=token, client_id=phone.client_id)
                before = self.requests
                await phone.pull()
                self.requests = before + 1
                await asyncio.sleep(0.5)

            await self.loop("pull", step)

    async def subscriber(self, token: str, grid: str) -> None:
        url = self.base_url.replace("http", "ws", 1) + "/graphql"

        async def step() -> None:
            async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send(
                    json.dumps(
                        {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                    )
                )
                ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if ack["type"] != "connection_ack":
                    raise RuntimeError(ack)
                await ws.send(
                    json.dumps(
                        {
                            "id": "1",
                            "type": "subscribe",
                            "payload": {"query": EVENTS, "variables": {"grid": grid}},
                        }
                    )
                )
                until = min(self.deadline, time.monotonic() + 60)
                while time.monotonic() < until:
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    except TimeoutError:
                        continue
                    if message["type"] != "next" or message["payload"].get("errors"):
                        raise RuntimeError(message)
                    self.events += 1

        await self.loop("subscription", step)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run(server: Server, args: argparse.Namespace) -> tuple[Soak, list[tuple]]:
    base_url = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        tokens = {}
        for phone in (LIAISON, OFFICER):
            answer = await http.post(
                "/graphql",
                json={"query": LOGIN, "variables": {"phone": phone, "password": PASSWORD}},
            )
            tokens[phone] = answer.json()["data"]["login"]["token"]
        grids = await http.post(
            "/graphql",
            json={"query": GRIDS},
            headers={"authorization": f"Bearer {tokens[LIAISON]}"},
        )
        grid = grids.json()["data"]["me"]["grids"][0]["id"]
        scout = SyncClient(http, token=tokens[LIAISON], client_id="soak-scout")
        await scout.pull()
        grid_uuid = next(r["gridId"] for (c, _), r in scout.snapshot().items() if c == "tickets")
    soak = Soak(base_url, time.monotonic() + args.minutes * 60)
    users = [
        soak.lister(tokens[LIAISON]),
        soak.lister(tokens[OFFICER]),
        soak.reporter(tokens[LIAISON], grid),
        soak.phone(tokens[LIAISON], grid_uuid),
        soak.officer(tokens[OFFICER]),
        soak.subscriber(tokens[LIAISON], grid),
        soak.subscriber(tokens[OFFICER], grid),
    ]
    samples: list[tuple] = []

    async def sample() -> None:
        started = time.monotonic()
        while soak.running():
            samples.append(
                (
                    time.monotonic() - started,
                    rss_mb(server.process.pid),
                    soak.requests,
                    sum(soak.errors.values()),
                )
            )
            await asyncio.sleep(args.sample)
        samples.append((time.monotonic() - started, rss_mb(server.process.pid), soak.requests, 0))

    await asyncio.gather(sample(), *users)
    return soak, samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--sample", type=float, default=30, help="seconds between RSS samples")
    parser.add_argument("--url", help="PostgreSQL base URL (default: a scratch SQLite file)")
    parser.add_argument("--port", type=int, default=18751)
    args = parser.parse_args()
    with demo_server(args.url, args.port, worker=True) as server:
        soak, samples = asyncio.run(run(server, args))
    samples[-1] = (*samples[-1][:3], sum(soak.errors.values()))
    backend = "PostgreSQL" if args.url else "SQLite"
    print()
    print(f"soak, {args.minutes:g} minutes, one server process ({backend})")
    print()
    print("| minute | server RSS MB | requests | errors |")
    print("| ---: | ---: | ---: | ---: |")
    for elapsed, rss, requests, errors in samples:
        print(f"| {elapsed / 60:.1f} | {rss:.1f} | {requests:,} | {errors} |")
    warm = samples[len(samples) // 4][1]
    growth = samples[-1][1] - warm
    print()
    print(
        f"errors: {sum(soak.errors.values())} {dict(soak.errors) or ''}; "
        f"subscription events: {soak.events}; requests: {soak.requests:,}"
    )
    print(
        f"memory after the first quarter {warm:.1f} MB, at the end {samples[-1][1]:.1f} MB "
        f"({growth:+.1f} MB)"
    )
    return 1 if soak.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
