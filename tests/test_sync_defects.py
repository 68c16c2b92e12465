"""Defects an independent client found (issue 11), each as a test on both databases:
crossing pushes deadlocking on PostgreSQL, a phone editing a ticket it created offline, a
deleted ticket's comments living on, and syncPull limits out of range."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from api.tickets import lifecycle
from api.tickets.models import Ticket, TicketComment
from tests.helpers import gql
from tests.sync_support import PULL, PUSH, build_county, do, phone, server_ticket


def _update(tid: str, version: int, **fields) -> dict:
    return {
        "mutationId": uuid.uuid4().hex,
        "collection": "tickets",
        "id": tid,
        "op": "UPDATE",
        "baseVersion": version,
        "fields": fields,
    }


def _comment(tid: str, body: str) -> dict:
    return {
        "mutationId": uuid.uuid4().hex,
        "collection": "ticketComments",
        "id": str(uuid.uuid4()),
        "op": "CREATE",
        "baseVersion": None,
        "fields": {"ticketId": tid, "body": body},
    }


async def _version(session_factory, tid: str) -> int:
    async with session_factory() as session:
        return (await session.get(Ticket, uuid.UUID(tid))).version


# --- 1. crossing pushes never deadlock, and no error ever carries SQL -------------------------


async def test_crossing_pushes_never_fail(client, session_factory) -> None:
    county = await build_county(session_factory)
    admin = county.admin
    a = str(await server_ticket(session_factory, admin, county.grid_a, "A"))
    b = str(await server_ticket(session_factory, admin, county.grid_b, "B"))
    failed: list[dict] = []
    for run in range(20):
        va, vb = await _version(session_factory, a), await _version(session_factory, b)

        def batch(first: str, v1: int, second: str, v2: int, run: int = run) -> list[dict]:
            return [
                _update(first, v1, description=f"run {run} first"),
                *[_comment(first, f"note {i}") for i in range(8)],
                _update(second, v2, category=f"RUN{run}"),
            ]

        answers = await asyncio.gather(
            gql(
                client,
                PUSH,
                {"clientId": f"left-{run}", "mutations": batch(a, va, b, vb)},
                token=admin.token,
                expect_errors=True,
            ),
            gql(
                client,
                PUSH,
                {"clientId": f"right-{run}", "mutations": batch(b, vb, a, va)},
                token=admin.token,
                expect_errors=True,
            ),
        )
        for answer in answers:
            for error in answer.get("errors") or []:
                failed.append(error)
                # A top-level failure is coded and never shows the database's words.
                assert error.get("extensions", {}).get("code"), error
                for word in ("SELECT", "UPDATE ", "INSERT", "deadlock", "[SQL"):
                    assert word not in error["message"], error
            for result in (answer.get("data") or {}).get("syncPush", {}).get("results", []):
                if result["error"]:
                    for word in ("SELECT", "INSERT", "[SQL", "constraint"):
                        assert word not in result["error"]["message"], result
    assert failed == []


# --- 2. a phone edits the ticket it created offline --------------------------------------------


@pytest.mark.parametrize("same_batch", [True, False])
async def test_a_phone_edits_a_ticket_it_created_offline(
    client, session_factory, same_batch
) -> None:
    county = await build_county(session_factory)
    a = phone(client, county.liaison_a, "a")
    tid = a.create(
        "tickets",
        {"title": "Gate locked", "source": "RISK_HAZARD", "gridId": str(county.grid_a.id)},
    )
    if not same_batch:
        await a.push()
    a.update("tickets", tid, {"description": "fire exit chained shut", "title": "Exit locked"})
    results = await a.push()
    assert [r["status"] for r in results][-1] == "APPLIED", results
    assert results[-1]["data"]["description"] == "fire exit chained shut"
    assert results[-1]["data"]["title"] == "Exit locked"


async def test_the_filer_edits_its_new_ticket_through_update_ticket(
    client, session_factory
) -> None:
    county = await build_county(session_factory)
    a = phone(client, county.liaison_a, "a")
    tid = a.create(
        "tickets",
        {"title": "Gate locked", "source": "RISK_HAZARD", "gridId": str(county.grid_a.id)},
    )
    await a.push()
    mutation = """mutation($id: ID!) { updateTicket(input: {id: $id, description: "chained"}) {
        ticket { description } errors { code field } } }"""
    body = await gql(client, mutation, {"id": tid}, token=county.liaison_a.token)
    payload = body["data"]["updateTicket"]
    assert payload["errors"] == [] and payload["ticket"]["description"] == "chained"
    # Another liaison of the same grid, who did not file it, still may not.
    body = await gql(client, mutation, {"id": tid}, token=county.liaison_a2.token)
    assert [e["code"] for e in body["data"]["updateTicket"]["errors"]] == ["FORBIDDEN"]


async def test_an_edit_of_a_ticket_not_yours_is_refused_whether_or_not_it_changed(
    client, session_factory
) -> None:
    """One rule: may the caller edit this ticket? — not "only if nothing changed meanwhile"."""
    county = await build_county(session_factory)
    tid = str(await server_ticket(session_factory, county.dispatcher, county.grid_a, "T"))
    await do(
        session_factory,
        lifecycle.assign_ticket,
        scope=county.dispatcher.scope,
        ticket_id=uuid.UUID(tid),
        assignee_id=county.liaison_a.member.id,
    )
    other = phone(client, county.liaison_a2, "a2")
    await other.pull()
    base = other.records[("tickets", tid)].version
    other.update("tickets", tid, {"description": "not mine"})
    [quiet] = await other.push()
    await do(
        session_factory,
        lifecycle.update_ticket,
        scope=county.dispatcher.scope,
        ticket_id=uuid.UUID(tid),
        changes={"title": "office edit"},
    )
    moved = {**_update(tid, base, description="not mine either")}
    body = await gql(
        client, PUSH, {"clientId": other.client_id, "mutations": [moved]}, token=other.token
    )
    [busy] = body["data"]["syncPush"]["results"]
    assert (quiet["status"], quiet["error"]["code"]) == ("REJECTED", "FORBIDDEN")
    assert (busy["status"], busy["error"]["code"]) == ("REJECTED", "FORBIDDEN")


# --- 3. a deleted ticket takes its comments with it ------------------------------------------


async def test_a_deleted_tickets_comments_are_deleted_with_it(client, session_factory) -> None:
    county = await build_county(session_factory)
    a = phone(client, county.liaison_a, "a")
    tid = a.create(
        "tickets",
        {"title": "Gate locked", "source": "RISK_HAZARD", "gridId": str(county.grid_a.id)},
    )
    cid = a.create("ticketComments", {"ticketId": tid, "body": "seen at 9"})
    await a.sync()
    assert ("ticketComments", cid) in a.records
    admin = phone(client, county.admin, "admin")
    await admin.pull()
    admin.delete("tickets", tid)
    [deleted] = await admin.push()
    assert deleted["status"] == "APPLIED"
    # The phone that held the comment gets its tombstone.
    await a.pull()
    assert ("tickets", tid) not in a.records and ("ticketComments", cid) not in a.records
    for person in (county.liaison_a, county.admin):
        fresh = phone(client, person, "fresh")
        await fresh.pull()
        assert ("ticketComments", cid) not in fresh.records
    async with session_factory() as session:
        assert (await session.get(TicketComment, uuid.UUID(cid))).deleted_at is not None


# --- 5. limits out of range are refused --------------------------------------------------------


@pytest.mark.parametrize("limit", [0, -5])
async def test_a_pull_limit_below_one_is_refused(client, session_factory, limit) -> None:
    county = await build_county(session_factory)
    body = await gql(
        client,
        PULL,
        {"checkpoint": None, "limit": limit},
        token=county.admin.token,
        expect_errors=True,
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID" and error["extensions"]["field"] == "limit"
