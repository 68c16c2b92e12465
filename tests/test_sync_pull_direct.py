"""A pull's page read straight from the driver (PostgreSQL: sync/pull.py _PAGE_PG reads the
tickets' records in the page's own statement and makes their wire changes from asyncpg's rows)
gives, change for change and byte for byte, what the ORM makes of the same records: the record
loaded as an instance, its keys and data by current_views, deleted:true when it is gone, soft
deleted or outside the caller's scope. SQLite runs the general path and is held to the same."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from api.auth.scope import Scope
from api.db import DRIVER_LISTENERS as LISTENERS
from api.tickets import lifecycle
from api.tickets.models import Ticket
from sync.checkpoint import Checkpoint, scope_fingerprint
from sync.collections import BY_NAME, current_views
from sync.pull import pull
from sync.push import MutationInput, push_in
from tests.sync_support import build_county, server_ticket


async def _by_orm(session: Any, scope: Scope, change: dict[str, Any]) -> dict[str, Any]:
    """The change the ORM path makes of the record now."""
    collection, record_id = change["collection"], uuid.UUID(change["id"])
    record: Any = await session.get(BY_NAME[collection], record_id, populate_existing=True)

    def gone(version: int) -> dict[str, Any]:
        return {
            "collection": collection,
            "id": change["id"],
            "deleted": True,
            "version": version,
            "data": None,
        }

    if record is None:
        return gone(0)
    keys, data = (await current_views(session, [record]))[record.id]
    if record.deleted_at is not None or not scope.sees_keys(keys):
        return gone(record.version)
    return {
        "collection": collection,
        "id": change["id"],
        "deleted": False,
        "version": record.version,
        "data": data,
    }


async def _log_without_record(session: Any, grid_id: uuid.UUID) -> uuid.UUID:
    """A ticket's change in the log whose record is no longer there (deleted:true, version 0)."""
    record_id = uuid.uuid4()
    postgres = session.get_bind().dialect.name == "postgresql"
    txid = 0  # SQLite's writers are serialised
    if postgres:
        txid = await session.scalar(sa.text("SELECT pg_current_xact_id()::text::bigint"))
    keys = json.dumps(["all", f"grid:{grid_id}"])
    seq = await session.scalar(
        sa.text(
            "INSERT INTO sync_change (txid, collection, record_id, version, deleted, keys_after,"
            " keys_before, fields, at) VALUES (:txid, 'tickets', :record, 3, false, :keys,"
            " :keys, '[]', :at) RETURNING seq"
        ),
        {
            "txid": txid,
            "record": record_id if postgres else record_id.hex,
            "keys": keys,
            "at": datetime.now(UTC),
        },
    )
    for key in ("all", f"grid:{grid_id}"):
        await session.execute(
            sa.text("INSERT INTO sync_change_key (key, txid, seq) VALUES (:key, :txid, :seq)"),
            {"key": key, "txid": txid, "seq": seq},
        )
    return record_id


async def test_a_pulled_page_is_what_the_orm_makes_of_its_records(session_factory) -> None:
    county = await build_county(session_factory)
    a, d = county.liaison_a, county.dispatcher
    titles = ["水管漏水 — leaking pipe", "Unpaid overtime", "Blocked exit", "Moved away", "Gone"]
    ids = [await server_ticket(session_factory, d, county.grid_a, title) for title in titles]
    kept, moved, deleted = ids[1], ids[3], ids[4]
    async with session_factory() as session, session.begin():
        # Assigned (a notification, an assignee, more times set), then edited from a phone.
        await lifecycle.assign_ticket(
            session, scope=d.scope, ticket_id=kept, assignee_id=a.member.id
        )
        await lifecycle.reassign_to_grid(
            session, scope=d.scope, ticket_id=moved, grid_id=county.grid_b.id
        )
        ticket = await session.get(Ticket, deleted)
        assert ticket is not None
        await lifecycle.delete_ticket(
            session, scope=county.admin.scope, ticket=ticket, now=datetime.now(UTC)
        )
    grid = str(county.grid_a.id)
    comment = {"ticketId": str(kept), "body": "called the foreman"}
    made = {"title": "from the phone", "source": "RISK_HAZARD", "gridId": grid}
    mutations = [
        MutationInput("1", "ticketComments", str(uuid.uuid4()), "CREATE", None, comment),
        MutationInput("2", "tickets", str(kept), "UPDATE", 1, {"description": "二楼 second floor"}),
        MutationInput("3", "tickets", str(uuid.uuid4()), "CREATE", None, made),
    ]
    async with session_factory() as session, session.begin():
        results = await push_in(session, scope=a.scope, client_id="direct", mutations=mutations)
        assert {r["status"] for r in results} <= {"APPLIED", "MERGED"}, [
            r.get("error") for r in results
        ]
        await _log_without_record(session, county.grid_a.id)
    heard: list[str] = []
    LISTENERS.append(heard.append)
    try:
        for scope in (a.scope, d.scope, county.admin.scope, county.liaison_b.scope):
            start = Checkpoint(0, 0, scope_fingerprint(scope)).encode()
            whole = await _pages(session_factory, scope, start, 500)
            assert whole, "every scope here has changes"
            for size in (1, 3):
                assert await _pages(session_factory, scope, start, size) == whole
            async with session_factory() as session:
                expected = [await _by_orm(session, scope, change) for change in whole]
            # Equal as values, and as JSON (key order; str, not UUID, for ids: json.dumps
            # refuses a UUID).
            assert whole == expected
            assert json.dumps(whole, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)
    finally:
        LISTENERS.remove(heard.append)
    pulled = await _pages(
        session_factory, a.scope, Checkpoint(0, 0, scope_fingerprint(a.scope)).encode(), 500
    )
    states = {(c["collection"], c["deleted"], c["version"] == 0) for c in pulled}
    # What the page holds covers each case: whole tickets and others, deleted, gone, moved.
    assert {("tickets", False, False), ("tickets", True, False), ("tickets", True, True)} <= states
    assert {"ticketComments", "notifications"} <= {c["collection"] for c in pulled}
    async with session_factory() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
    # On PostgreSQL the pages were read by the driver-direct statement.
    assert bool(heard) == postgres


async def _pages(
    session_factory: Any, scope: Scope, checkpoint: str, limit: int
) -> list[dict[str, Any]]:
    """Every change from `checkpoint` on, pulled in pages of `limit`."""
    changes: list[dict[str, Any]] = []
    for _ in range(200):
        async with session_factory() as session, session.begin():
            page = await pull(session, scope=scope, checkpoint=checkpoint, limit=limit)
        changes += page.changes
        checkpoint = page.checkpoint
        if not page.has_more:
            return changes
    raise AssertionError("the pages did not end")
