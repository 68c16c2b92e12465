"""node(id) and nodes(ids) take either form of an id, as every id argument does: the global id
and the record's UUID (the sync layer's form); a UUID outside the caller's scope is null."""

from __future__ import annotations

import pytest

from tests.graphql_world import build_world
from tests.helpers import gql


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


async def test_node_and_nodes_by_uuid(client, world) -> None:
    query = """query($id: ID!, $ids: [ID!]!) {
      node(id: $id) { id ... on Ticket { uuid } }
      nodes(ids: $ids) { __typename id }
    }"""
    ids = [
        str(world["t1"]),
        str(world["t3"]),  # another liaison's ticket in another grid: not yours
        str(world["e1"]),
        world.gid("Grid", "grid_e1"),
        str(world["liaison1"]).upper(),
        "00000000-0000-4000-8000-000000000000",
    ]
    body = await gql(
        client, query, {"id": str(world["t1"]), "ids": ids}, token=world.tokens["liaison1"]
    )
    assert body["data"]["node"] == {"id": world.gid("Ticket", "t1"), "uuid": str(world["t1"])}
    nodes = body["data"]["nodes"]
    assert [n and n["__typename"] for n in nodes] == [
        "Ticket",
        None,
        "Enterprise",
        "Grid",
        "Member",
        None,
    ]
    assert nodes[2]["id"] == world.gid("Enterprise", "e1")
