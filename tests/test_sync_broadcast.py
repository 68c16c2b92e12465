"""Events of a push reach listeners once, at the batch's commit, in one statement on
PostgreSQL (sync/broadcast.py): those of a mutation rolled back in its savepoint never, and
none of a batch whose transaction rolls back."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from sync.broadcast import CHANNEL
from sync.push import MutationInput, push_in
from tests.sync_support import build_county


def _create(grid_id: object) -> MutationInput:
    fields = {"title": "wages unpaid", "source": "WORKER_REQUEST", "gridId": str(grid_id)}
    return MutationInput(uuid.uuid4().hex, "tickets", str(uuid.uuid4()), "CREATE", None, fields)


@pytest.mark.postgres_only
async def test_a_push_notifies_once_at_commit(engine, session_factory, database_url):
    county = await build_county(session_factory)
    scope = county.liaison_a.scope
    heard: list[dict] = []
    listener = await asyncpg.connect(
        make_url(database_url).set(drivername="postgresql").render_as_string(False)
    )
    await listener.add_listener(CHANNEL, lambda *args: heard.append(json.loads(args[3])))
    notifies: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if "pg_notify" in statement:
            notifies.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        good = [_create(county.grid_a.id), _create(uuid.uuid4()), _create(county.grid_a.id)]
        async with session_factory() as session, session.begin():
            out = await push_in(session, scope=scope, client_id="phone", mutations=good)
        assert [r["status"] for r in out] == ["APPLIED", "REJECTED", "APPLIED"]
        lost = [_create(county.grid_a.id)]
        with pytest.raises(RuntimeError):
            async with session_factory() as session, session.begin():
                await push_in(session, scope=scope, client_id="phone2", mutations=lost)
                raise RuntimeError("the batch's transaction fails after the push")
        for _ in range(50):
            if len(heard) >= 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)
        await listener.close()
    assert len(notifies) == 1  # one statement for the committed batch, none for the lost one
    created = {good[0].id, good[2].id}
    assert {item["ticketId"] for item in heard} == created
    assert len(heard) == 2
