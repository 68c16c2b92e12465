"""Ticket.allowedMoves (the server) and the phone's allowedMoves (web/sync/lifecycle.js, from
the ticketRules the server declares) agree for every status × role × standing."""

from __future__ import annotations

import json
import subprocess

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.models import TokenKind
from api.auth.tokens import issue_token
from api.members.models import Member
from api.members.service import create_member
from api.tickets.models import TicketSource, TicketStatus
from api.tickets.service import report_ticket
from tests.demo_server import ROOT, need
from tests.factories import phone, town_world
from tests.helpers import gql

QUERY = """{ ticketRules tickets(first: 100) { nodes {
  uuid status allowedMoves grid { uuid } assignee { uuid } reporter { uuid } } } }"""

JS = """
import { allowedMoves } from %s;
let input = "";
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
console.log(JSON.stringify(cases.map((c) => allowedMoves(c.rules, c.ticket))));
"""


async def _world(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    """Tickets in every status, assigned to the liaison (reported by the worker) and
    unassigned; a token per role (and a read-only one)."""
    async with sessions() as session, session.begin():
        world = await town_world(session)
        admin = await create_member(session, name="Admin", phone=phone(), roles=["ADMIN"])
        for status in TicketStatus:
            for assigned in (True, False):
                ticket = await report_ticket(
                    session,
                    title=f"{status.value} {assigned}",
                    source=TicketSource.WORKER_REQUEST,
                    grid_id=world.grid.id,
                    reporter_id=world.worker.member_id if assigned else None,
                )
                ticket.status = status
                ticket.assignee_id = world.liaison.member_id if assigned else None
        members = {
            "admin": admin.id,
            "county_staff": world.county_staff.member_id,
            "town_staff": world.town_staff.member_id,
            "liaison": world.liaison.member_id,
            "worker": world.worker.member_id,
            "chair": world.chair.member_id,
        }
        tokens = {}
        for role, member_id in members.items():
            member = await session.get(Member, member_id)
            issued = await issue_token(
                session, member=member, kind=TokenKind.SESSION, lifetime=None
            )
            tokens[role] = issued.token
        member = await session.get(Member, world.liaison.member_id)
        issued = await issue_token(
            session, member=member, kind=TokenKind.API, lifetime=None, grants={"readOnly": True}
        )
        tokens["liaison_read_only"] = issued.token
    return tokens


async def test_phone_computes_the_servers_allowed_moves(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    node = need("node")
    tokens = await _world(session_factory)
    cases, expected, seen = [], [], set()
    for role, token in tokens.items():
        data = (await gql(client, QUERY, token=token))["data"]
        for t in data["tickets"]["nodes"]:
            ticket = {
                "status": t["status"],
                "gridId": t["grid"]["uuid"],
                "assigneeId": t["assignee"] and t["assignee"]["uuid"],
                "reporterId": t["reporter"] and t["reporter"]["uuid"],
            }
            cases.append({"rules": data["ticketRules"], "ticket": ticket})
            expected.append(t["allowedMoves"])
            seen.add((role, t["status"], t["assignee"] is not None))
    # Every role that sees the grid's tickets saw every status, both ways.
    for role in ("admin", "county_staff", "town_staff", "liaison", "liaison_read_only"):
        for status in TicketStatus:
            assert (role, status.value, True) in seen and (role, status.value, False) in seen
    assert any(role == "worker" for role, *_ in seen), "the reporter sees its own tickets"
    module = json.dumps((ROOT / "web" / "sync" / "lifecycle.js").as_uri())
    run = subprocess.run(
        [node, "--input-type=module", "-e", JS % module],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
    )
    computed = json.loads(run.stdout)
    mismatches = [
        (c["ticket"], c["rules"]["caller"], e, got)
        for c, e, got in zip(cases, expected, computed, strict=True)
        if e != got
    ]
    assert not mismatches, mismatches[:5]
    # The rule is not trivial: some callers may move, some may not.
    assert any(expected) and not all(expected)
    assert all(
        e == [] for c, e in zip(cases, expected, strict=True) if c["rules"]["caller"]["readOnly"]
    )
