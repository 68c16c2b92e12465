"""The scope matrix: every role × every operation × every record. What GraphQL answers must
match the one scope function (api.auth.scope) record by record: node, nodes, the root lists
and nested lists never show a foreign record, and mutations on one answer as not found."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from api.auth.scope import Scope, scope_for
from api.auth.tokens import authenticate
from api.enterprises.models import Enterprise
from api.grids.models import Grid
from api.members.models import Member, MemberGrid
from api.stations.models import (
    Attendance,
    Evaluation,
    Room,
    Station,
    StationActivity,
)
from api.tickets.models import Ticket, TicketComment, TicketEvent
from schema.ids import to_global_id
from tests.graphql_world import ROLES, build_world
from tests.helpers import gql


@pytest.fixture
def settings(settings):
    # This matrix walks every nested list of a small world in one query; the query cost limit
    # (tests/test_query_cost.py) would refuse that shape, so it is lifted here only.
    return dataclasses.replace(settings, max_query_cost=10**10)


MODELS: dict[str, Any] = {
    "Grid": Grid,
    "Enterprise": Enterprise,
    "Member": Member,
    "Ticket": Ticket,
    "TicketEvent": TicketEvent,
    "TicketComment": TicketComment,
    "Station": Station,
    "Room": Room,
    "StationActivity": StationActivity,
    "Attendance": Attendance,
    "Evaluation": Evaluation,
}
LISTS = {
    "Grid": "grids",
    "Enterprise": "enterprises",
    "Member": "members",
    "Ticket": "tickets",
    "Station": "stations",
    "StationActivity": "stationActivities",
}


def expected(scope: Scope, type_name: str, record: Any, everything: dict[str, Any]) -> bool:
    """Visibility per the scope function, computed in Python from the records."""
    if type_name in {"TicketEvent", "TicketComment"}:
        return scope.sees(everything["tickets"][record.ticket_id])
    if type_name == "Member":
        served = everything["served"].get(record.id, [])
        works_at = everything["enterprises"].get(record.enterprise_id)
        return (
            scope.everything
            or (scope.personal and record.id == scope.member_id)
            or any(scope.sees_grid(g) for g in served)
            or (works_at is not None and scope.sees(works_at))
        )
    return scope.sees(record)


@pytest.fixture
async def matrix(session_factory):
    world = await build_world(session_factory)
    async with session_factory() as session:
        records = {
            name: list(await session.scalars(select(model))) for name, model in MODELS.items()
        }
        everything = {
            "tickets": {t.id: t for t in records["Ticket"]},
            "enterprises": {e.id: e for e in records["Enterprise"]},
            "served": {},
        }
        for row in await session.execute(select(MemberGrid.member_id, MemberGrid.grid_id)):
            everything["served"].setdefault(row.member_id, []).append(row.grid_id)
        scopes = {}
        for role in ROLES:
            member, token = await authenticate(session, world.tokens[role])
            scopes[role] = await scope_for(session, member, token)
    return world, records, everything, scopes


@pytest.mark.parametrize("role", ROLES)
async def test_no_record_leaks(client, matrix, role) -> None:
    world, records, everything, scopes = matrix
    scope, token = scopes[role], world.tokens[role]
    all_ids = []
    for type_name, rows in records.items():
        for record in rows:
            all_ids.append((type_name, record, to_global_id(type_name, record.id)))

    # node(id), one by one.
    for type_name, record, global_id in all_ids:
        body = await gql(
            client, "query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, token=token
        )
        visible = expected(scope, type_name, record, everything)
        assert (body["data"]["node"] is not None) == visible, (role, type_name, record)

    # nodes(ids), in pages.
    for start in range(0, len(all_ids), 50):
        chunk = all_ids[start : start + 50]
        body = await gql(
            client,
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            {"ids": [g for _, _, g in chunk]},
            token=token,
        )
        got = [n is not None for n in body["data"]["nodes"]]
        assert got == [expected(scope, t, r, everything) for t, r, _ in chunk], role

    # Root lists: exactly the visible records.
    for type_name, field in LISTS.items():
        body = await gql(client, f"{{ {field}(first: 100) {{ nodes {{ uuid }} }} }}", token=token)
        listed = {n["uuid"] for n in body["data"][field]["nodes"]}
        wanted = {
            str(r.id) for r in records[type_name] if expected(scope, type_name, r, everything)
        }
        assert listed == wanted, (role, type_name)

    # Nested lists never widen the scope.
    body = await gql(
        client,
        """{ grids(first: 100) { nodes { children { uuid } enterprises { uuid
              tickets(first: 100) { nodes { uuid events { uuid } comments { uuid } } } } } }
           stations { nodes { rooms { uuid } } } }""",
        token=token,
    )
    for grid in body["data"]["grids"]["nodes"]:
        for enterprise in grid["enterprises"]:
            for ticket in enterprise["tickets"]["nodes"]:
                record = everything["tickets"][_uuid(ticket["uuid"])]
                assert scope.sees(record), (role, "enterprise.tickets")


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)


MUTATIONS = {
    "transitionTicket": (
        "TransitionTicketInput",
        lambda gid: {"ticketId": gid, "status": "IN_PROGRESS"},
        "ticket { title }",
    ),
    "addTicketComment": (
        "AddTicketCommentInput",
        lambda gid: {"ticketId": gid, "body": "peek"},
        "comment { body } ticket { title }",
    ),
    "updateTicket": (
        "UpdateTicketInput",
        lambda gid: {"id": gid, "title": "X"},
        "ticket { title }",
    ),
    "rateTicket": (
        "RateTicketInput",
        lambda gid: {"ticketId": gid, "rating": 5},
        "ticket { title }",
    ),
}


@pytest.mark.parametrize("role", ROLES)
async def test_mutations_on_foreign_tickets_answer_not_found(client, matrix, role) -> None:
    world, records, everything, scopes = matrix
    scope, token = scopes[role], world.tokens[role]
    foreign = [t for t in records["Ticket"] if not scope.sees(t)]
    if not foreign:
        pytest.skip(f"{role} sees every ticket")
    for ticket in foreign:
        gid = to_global_id("Ticket", ticket.id)
        for name, (input_type, values, fields) in MUTATIONS.items():
            body = await gql(
                client,
                f"mutation($input: {input_type}!) {{ {name}(input: $input) "
                f"{{ errors {{ code message }} {fields} }} }}",
                {"input": values(gid)},
                token=token,
            )
            payload = body["data"][name]
            codes = {e["code"] for e in payload["errors"]}
            # Read-only tokens are refused before the lookup; everyone else gets NOT_FOUND.
            assert codes <= {"NOT_FOUND", "FORBIDDEN"} and codes, (role, name)
            assert "Wages" not in str(payload), (role, name)
    for enterprise in records["Enterprise"]:
        if scope.sees(enterprise):
            continue
        body = await gql(
            client,
            """mutation($input: UpdateEnterpriseInput!) { updateEnterprise(input: $input) {
              errors { code } enterprise { name } placement { reason } } }""",
            {"input": {"id": to_global_id("Enterprise", enterprise.id), "headcount": 999}},
            token=token,
        )
        payload = body["data"]["updateEnterprise"]
        assert payload["enterprise"] is None and payload["placement"] is None
        assert payload["errors"][0]["code"] in {"NOT_FOUND", "FORBIDDEN"}
