"""Python's gql 4 against a real `gridlink serve`: the aiohttp transport for a query and a
mutation, the websockets transport (graphql-transport-ws) for a subscription."""

from __future__ import annotations

import asyncio

import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.websockets import WebsocketsTransport

from tests.interop.conftest import DemoServer

pytestmark = pytest.mark.interop

MY_TICKETS = gql("{ tickets(first: 1, filter: {assignedToMe: true, open: true}) { nodes { id } } }")
ME = gql("{ me { id } }")
ASSIGN = """mutation($input: AssignTicketInput!) {
  assignTicket(input: $input) { errors { code message } ticket { id assignee { id } } } }"""


def assign(ticket: str, assignee: str) -> GraphQLRequest:
    request = gql(ASSIGN)
    request.variable_values = {"input": {"ticketId": ticket, "assigneeId": assignee}}
    return request


def http_client(server: DemoServer, token: str) -> Client:
    transport = AIOHTTPTransport(
        url=f"{server.url}/graphql", headers={"authorization": f"Bearer {token}"}
    )
    return Client(transport=transport)


async def test_gql_query_mutation_and_subscription(demo_server: DemoServer) -> None:
    liaison = demo_server.sign_in("13800000003")
    admin = demo_server.sign_in("13800000000")
    town = demo_server.sign_in("13800000002")
    async with http_client(demo_server, liaison) as session:
        ticket = (await session.execute(MY_TICKETS))["tickets"]["nodes"][0]["id"]
        liaison_id = (await session.execute(ME))["me"]["id"]
    async with http_client(demo_server, town) as session:
        town_id = (await session.execute(ME))["me"]["id"]

    socket = WebsocketsTransport(
        url=demo_server.url.replace("http", "ws", 1) + "/graphql",
        init_payload={"authorization": f"Bearer {liaison}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=socket) as live, http_client(demo_server, admin) as session:
        events = live.subscribe(
            gql("subscription { myAssignments { kind ticket { id } } }")
        ).__aiter__()
        waiting = asyncio.ensure_future(events.__anext__())
        # The subscription starts listening asynchronously: reassign (away and back) until
        # the event arrives; each round is a real change.
        for _ in range(20):
            for assignee in (town_id, liaison_id):
                done = await session.execute(assign(ticket, assignee))
                assert done["assignTicket"]["errors"] == []
            finished, _ = await asyncio.wait({waiting}, timeout=0.5)
            if finished:
                break
        event = await asyncio.wait_for(waiting, 1)
        assert done["assignTicket"]["ticket"]["assignee"]["id"] == liaison_id
    assert event["myAssignments"]["ticket"] == {"id": ticket}
    assert event["myAssignments"]["kind"] in {"ASSIGNED", "REASSIGNED"}
