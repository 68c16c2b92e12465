"""Queries: lists with filters, keyset paging, nested fields, node/nodes, dashboard."""

from __future__ import annotations

import pytest

from tests.graphql_world import build_world
from tests.helpers import chinese, gql


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


TICKETS = """query($filter: TicketFilter, $first: Int, $after: String, $order: TicketOrder) {
  tickets(filter: $filter, first: $first, after: $after, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    edges { cursor node { id uuid number title status severity overdue
      grid { name kind } enterprise { name headcount } assignee { name } } }
  }
}"""


def numbers(body):
    return [e["node"]["title"] for e in body["data"]["tickets"]["edges"]]


async def test_liaison_sees_its_grid_and_its_assignments(client, world) -> None:
    body = await gql(client, TICKETS, token=world.tokens["liaison1"])
    titles = sorted(numbers(body))
    assert titles == ["Wages unpaid (t1)", "Wages unpaid (t4)"]
    assert body["data"]["tickets"]["totalCount"] == 2
    mine = await gql(
        client, TICKETS, {"filter": {"assignedToMe": True}}, token=world.tokens["liaison1"]
    )
    assert sorted(numbers(mine)) == titles
    town = await gql(client, TICKETS, token=world.tokens["town1"])
    assert sorted(numbers(town)) == ["Wages unpaid (t1)", "Wages unpaid (t2)"]
    county = await gql(client, TICKETS, token=world.tokens["county"])
    assert county["data"]["tickets"]["totalCount"] == 4


async def test_ticket_filters(client, world) -> None:
    token = world.tokens["county"]

    async def titles(filter):
        return sorted(numbers(await gql(client, TICKETS, {"filter": filter}, token=token)))

    assert await titles({"severity": ["HIGH"]}) == ["Wages unpaid (t1)"]
    assert await titles({"status": ["REPORTED"]}) == ["Wages unpaid (t2)"]
    assert await titles({"open": False}) == []
    assert await titles({"unassigned": True}) == ["Wages unpaid (t2)"]
    assert await titles({"gridId": world.gid("Grid", "g_town2")}) == [
        "Wages unpaid (t3)",
        "Wages unpaid (t4)",
    ]
    assert await titles({"gridId": str(world["g_town1"])}) == [
        "Wages unpaid (t1)",
        "Wages unpaid (t2)",
    ]
    assert await titles({"enterpriseId": world.gid("Enterprise", "e2")}) == ["Wages unpaid (t2)"]
    assert await titles({"assigneeId": world.gid("Member", "liaison2")}) == ["Wages unpaid (t3)"]
    assert await titles({"search": "(T3"}) == ["Wages unpaid (t3)"]
    assert await titles({"search": "Tiqiao"}) == ["Wages unpaid (t2)"]
    assert await titles({"search": "100%_"}) == []
    assert await titles({"tier": ["GRID"], "source": ["WORKER_REQUEST"]}) == [
        f"Wages unpaid (t{i})" for i in range(1, 5)
    ]
    assert await titles({"overdue": True}) == []
    assert await titles({"updatedSince": "2000-01-01T00:00:00+00:00"}) == [
        f"Wages unpaid (t{i})" for i in range(1, 5)
    ]


async def test_bad_filter_ids_name_the_field(client, world) -> None:
    body = await gql(
        client,
        TICKETS,
        {"filter": {"gridId": world.gid("Enterprise", "e1")}},
        token=world.tokens["county"],
        expect_errors=True,
    )
    error = body["errors"][0]
    assert error["extensions"] == {"code": "INVALID", "field": "gridId"}
    assert "Grid" in error["message"]
    foreign = await gql(
        client,
        TICKETS,
        {"filter": {"gridId": world.gid("Grid", "g_town2")}},
        token=world.tokens["town1"],
        expect_errors=True,
    )
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_keyset_paging_walks_every_ticket_once(client, world) -> None:
    token = world.tokens["county"]
    seen, after = [], None
    for _ in range(5):
        body = await gql(client, TICKETS, {"first": 1, "after": after}, token=token)
        page = body["data"]["tickets"]
        seen.extend(numbers(body))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert page["edges"][-1]["cursor"] == after
    assert sorted(seen) == [f"Wages unpaid (t{i})" for i in range(1, 5)]
    assert len(seen) == 4
    # Backwards from the end gives the same order.
    last = await gql(
        client,
        "{ tickets(last: 2) { pageInfo { hasPreviousPage } nodes { title } } }",
        token=token,
    )
    assert [n["title"] for n in last["data"]["tickets"]["nodes"]] == seen[2:]
    assert last["data"]["tickets"]["pageInfo"]["hasPreviousPage"] is True
    by_number = await gql(
        client, TICKETS, {"order": {"field": "NUMBER", "direction": "ASC"}}, token=token
    )
    assert numbers(by_number) == [f"Wages unpaid (t{i})" for i in range(1, 5)]


async def test_page_size_and_cursor_errors(client, world, settings) -> None:
    token = world.tokens["county"]
    too_many = await gql(
        client, TICKETS, {"first": settings.max_page_size + 1}, token=token, expect_errors=True
    )
    assert too_many["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"
    bad = await gql(client, TICKETS, {"after": "garbage"}, token=token, expect_errors=True)
    assert bad["errors"][0]["extensions"] == {"code": "INVALID", "field": "after"}
    cursor = (await gql(client, TICKETS, {"first": 1}, token=token))["data"]["tickets"]["pageInfo"][
        "endCursor"
    ]
    other_order = await gql(
        client,
        TICKETS,
        {"after": cursor, "order": {"field": "NUMBER"}},
        token=token,
        expect_errors=True,
    )
    assert other_order["errors"][0]["message"] == chinese(
        "the cursor belongs to another order; page with the same orderBy"
    )


async def test_lists_need_a_signed_in_caller(client, world) -> None:
    body = await gql(client, "{ tickets { totalCount } }", expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


NESTED = """{
  grids(filter: {kind: [TOWN]}) {
    nodes { code parent { code } children { code kind }
      enterprises { name } liaisons { name } }
  }
  enterprises(orderBy: {field: HEADCOUNT, direction: DESC}) {
    nodes { name gridReason grid { kind risk { level } } town { code } risk { level score }
      tickets(first: 5) { totalCount nodes { title
        events { kind actor { name } } comments { body author { name } } } } }
  }
  members(filter: {role: LIAISON}) { totalCount nodes { name roles grids { code }
    enterprise { name } } }
}"""


async def test_nested_fields_in_one_round_trip(client, world) -> None:
    body = await gql(client, NESTED, token=world.tokens["county"])
    data = body["data"]
    towns = {g["code"]: g for g in data["grids"]["nodes"]}
    assert set(towns) == {"SY-T01", "SY-T02"}
    assert towns["SY-T01"]["parent"] == {"code": "SY"}
    assert {c["kind"] for c in towns["SY-T01"]["children"]} == {"JOINT", "INDEPENDENT"}
    enterprises = data["enterprises"]["nodes"]
    assert [e["name"] for e in enterprises] == [
        "Tiqiao Textile",
        "Tengfei Garments",
        "Linhai Garments",
    ]
    assert "450" in enterprises[0]["gridReason"]  # the rule's reason names the headcount
    assert enterprises[0]["risk"]["level"] == "GREEN" and enterprises[0]["risk"]["score"] >= 0
    assert enterprises[0]["grid"]["risk"] == {"level": "GREEN"}
    tengfei = enterprises[1]["tickets"]
    assert tengfei["totalCount"] == 1
    ticket = tengfei["nodes"][0]
    assert [e["kind"] for e in ticket["events"]] == ["REPORTED", "ASSIGNED"]
    assert ticket["comments"] == [{"body": "Called the owner.", "author": {"name": "Admin Person"}}]
    liaisons = data["members"]["nodes"]
    assert data["members"]["totalCount"] == 2
    assert {m["name"] for m in liaisons} == {"Liaison1 Person", "Liaison2 Person"}
    assert all(m["roles"] == ["LIAISON"] for m in liaisons)
    joint = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Grid {"
        " liaisons { name } enterprises { name } } } }",
        {"id": world.gid("Grid", "grid_e1")},
        token=world.tokens["county"],
    )
    assert joint["data"]["node"] == {
        "liaisons": [{"name": "Liaison1 Person"}],
        "enterprises": [{"name": "Tengfei Garments"}],
    }


async def test_node_and_nodes(client, world) -> None:
    query = """query($id: ID!, $ids: [ID!]!) {
      node(id: $id) { id ... on Ticket { uuid title } }
      nodes(ids: $ids) { __typename id }
    }"""
    ids = [
        world.gid("Ticket", "t1"),
        world.gid("Ticket", "t3"),
        world.gid("Enterprise", "e1"),
        world.gid("Grid", "grid_e1"),
        world.gid("Member", "liaison1"),
        "not-an-id",
    ]
    body = await gql(
        client, query, {"id": world.gid("Ticket", "t1"), "ids": ids}, token=world.tokens["liaison1"]
    )
    node = body["data"]["node"]
    assert node == {
        "id": world.gid("Ticket", "t1"),
        "uuid": str(world["t1"]),
        "title": "Wages unpaid (t1)",
    }
    types = [n and n["__typename"] for n in body["data"]["nodes"]]
    # t3 is in Linhai and assigned to the other liaison: not found.
    assert types == ["Ticket", None, "Enterprise", "Grid", "Member", None]


async def test_stations_and_activities(client, world) -> None:
    query = """query($station: ID!) {
      stations { nodes { name grid { code } rooms { kind name } } }
      stationActivities(filter: {stationId: $station, kind: [LEGAL_AID],
                                 startsFrom: "2000-01-01T00:00:00Z"}) {
        totalCount
        nodes { title status attendanceCount room { kind } station { name }
          attendances { attendeeName member { name } } }
      }
      members(filter: {search: "Chair"}) { nodes { evaluations { total evaluatorKind
        evaluator { name } station { name } } } }
    }"""
    body = await gql(
        client, query, {"station": world.gid("Station", "station")}, token=world.tokens["county"]
    )
    data = body["data"]
    assert data["stations"]["nodes"] == [
        {
            "name": "Linhai guidance station",
            "grid": {"code": "SY-T02"},
            "rooms": [{"kind": "RIGHTS_PROTECTION", "name": "Rights room"}],
        }
    ]
    activity = data["stationActivities"]["nodes"][0]
    assert activity["attendanceCount"] == 1
    assert activity["attendances"] == [
        {"attendeeName": "Chair Person", "member": {"name": "Chair Person"}}
    ]
    assert data["members"]["nodes"][0]["evaluations"][0]["total"] == 4.0
    hede = await gql(
        client, query, {"station": world.gid("Station", "station")}, token=world.tokens["town1"]
    )
    assert hede["data"]["stations"]["nodes"] == []
    assert hede["data"]["stationActivities"]["totalCount"] == 0


DASHBOARD = """query($grid: ID!) { dashboard(gridId: $grid) {
  grid { code } openTickets overdueTickets closedTickets satisfactionRate
  openByStatus { status count } openBySeverity { severity count }
  activitiesHeld attendances chairs { chair { name } evaluatorKind evaluations averageTotal }
} }"""


async def test_dashboard_for_county_town_and_grid(client, world) -> None:
    county = await gql(
        client, DASHBOARD, {"grid": world.gid("Grid", "g_county")}, token=world.tokens["county"]
    )
    board = county["data"]["dashboard"]
    assert board["openTickets"] == 4
    assert board["openByStatus"] == [
        {"status": "REPORTED", "count": 1},
        {"status": "ASSIGNED", "count": 3},
    ]
    assert {"severity": "HIGH", "count": 1} in board["openBySeverity"]
    assert board["satisfactionRate"] is None
    assert board["activitiesHeld"] == 1 and board["attendances"] == 1
    assert board["chairs"] == [
        {
            "chair": {"name": "Chair Person"},
            "evaluatorKind": "TOWN_UNION",
            "evaluations": 1,
            "averageTotal": 4.0,
        }
    ]
    town = await gql(
        client, DASHBOARD, {"grid": world.gid("Grid", "g_town1")}, token=world.tokens["town1"]
    )
    assert town["data"]["dashboard"]["openTickets"] == 2
    assert town["data"]["dashboard"]["activitiesHeld"] == 0
    grid = await gql(
        client, DASHBOARD, {"grid": world.gid("Grid", "grid_e1")}, token=world.tokens["liaison1"]
    )
    assert grid["data"]["dashboard"]["openTickets"] == 1
    foreign = await gql(
        client,
        DASHBOARD,
        {"grid": world.gid("Grid", "g_county")},
        token=world.tokens["town1"],
        expect_errors=True,
    )
    assert foreign["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "gridId"}


async def test_overdue_agrees_with_the_deadline_rule(client, world, session_factory) -> None:
    """The SQL behind `overdue` (lists, filters, dashboard) is api.tickets.deadlines.is_overdue."""
    from datetime import timedelta

    from sqlalchemy import select

    from api.records import utcnow
    from api.tickets.deadlines import is_overdue
    from api.tickets.models import Ticket, TicketStatus

    now = utcnow()
    cases = [
        (TicketStatus.REPORTED, -1, None),
        (TicketStatus.ASSIGNED, None, -1),
        (TicketStatus.IN_PROGRESS, -1, 1),
        (TicketStatus.WAITING_ON_WORKER, -1, -1),
    ]
    async with session_factory() as session, session.begin():
        tickets = list(await session.scalars(select(Ticket).order_by(Ticket.number)))
        for ticket, (status, first, resolution) in zip(tickets, cases, strict=True):
            ticket.status = status
            ticket.first_response_due_at = now + timedelta(hours=first) if first else None
            ticket.resolution_due_at = now + timedelta(hours=resolution) if resolution else None
    async with session_factory() as session:
        expected = {str(t.id): is_overdue(t, now) for t in await session.scalars(select(Ticket))}
    body = await gql(client, "{ tickets { nodes { uuid overdue } } }", token=world.tokens["county"])
    got = {n["uuid"]: n["overdue"] for n in body["data"]["tickets"]["nodes"]}
    assert got == expected
    assert sorted(expected.values()) == [False, False, True, True]
