"""Invariant 6, property-based: phones of three liaisons and a dispatcher work offline at random
(creates, edits, status moves, comments, deletes), the dispatcher moves tickets between grids
on the server, answers to pushes get lost and batches are replayed. Once everyone has pushed
and pulled: each phone's copy equals the server's view of its scope, every pushed mutation
has exactly one outcome, and every value that did not make it onto the record is in a
conflict record.

Examples: GRIDLINK_SYNC_EXAMPLES (default 100 per database, so 200 in CI with both);
for a long local run:  GRIDLINK_SYNC_EXAMPLES=5000 pytest tests/test_sync_convergence.py
(5000 per database, 10 000 in all)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from sqlalchemy import select

from api.config import Settings
from api.db import create_engine, session_factory
from api.edge.app import create_app
from api.errors import DomainError
from api.tickets import lifecycle
from sync import broadcast
from sync.client import ResponseLost, SyncClient
from sync.models import StoredMutation, SyncConflict
from tests.sync_support import build_county, server_view

EXAMPLES = int(os.environ.get("GRIDLINK_SYNC_EXAMPLES", "100"))
STATUSES = ["IN_PROGRESS", "WAITING_ON_WORKER", "MEDIATING", "RESOLVED", "CLOSED", "WITHDRAWN"]
WORDS = st.sampled_from(["wages", "overtime", "contract", "injury", "dormitory", "heat"])
_worlds = itertools.count(1)


def _run_machine(database_url: str) -> None:
    class Phones(RuleBasedStateMachine):
        """One county per example, in the test's database (counties never see each other)."""

        @initialize()
        def setup(self) -> None:
            self.loop = asyncio.new_event_loop()
            self.engine = create_engine(Settings(database_url=database_url))
            self.sessions = session_factory(self.engine)
            app = create_app(Settings(database_url=database_url), engine=self.engine)
            self.http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            )
            self.county = self.run(build_county(self.sessions, world=next(_worlds)))
            c = self.county
            self.people = [c.liaison_a, c.liaison_a2, c.liaison_b, c.dispatcher]
            self.phones = [
                SyncClient(self.http, token=p.token, client_id=uuid.uuid4().hex)
                for p in self.people
            ]
            self.sent: list[dict[str, Any]] = [{} for _ in self.phones]  # mutationId -> mutation
            for phone in self.phones:
                self.run(phone.pull())

        def run(self, coroutine: Any) -> Any:
            return self.loop.run_until_complete(coroutine)

        def teardown(self) -> None:
            if hasattr(self, "loop"):
                self.run(self.http.aclose())
                self.run(broadcast.close_listeners())  # the app's lifespan would close them
                self.run(self.engine.dispose())
                self.loop.close()

        def _tickets(self, i: int) -> list[str]:
            return sorted(self.phones[i].of("tickets"))

        def _queue(self, i: int) -> None:
            for mutation in self.phones[i].outbox:
                self.sent[i].setdefault(mutation["mutationId"], mutation)

        # --- offline work ---------------------------------------------------------------

        @rule(i=st.integers(0, 3), grid=st.integers(0, 1), word=WORDS, take=st.booleans())
        def create_ticket(self, i: int, grid: int, word: str, take: bool) -> None:
            grids = [self.county.grid_a, self.county.grid_b]
            fields = {
                "title": f"{word} case",
                "source": "WORKER_REQUEST",
                "gridId": str(grids[grid].id),
            }
            if take:
                fields["status"] = "IN_PROGRESS"
            self.phones[i].create("tickets", fields)
            self._queue(i)

        @precondition(lambda self: any(self._tickets(i) for i in range(4)))
        @rule(
            i=st.integers(0, 3),
            pick=st.integers(0, 99),
            word=WORDS,
            field=st.sampled_from(["title", "description", "severity"]),
        )
        def edit(self, i: int, pick: int, word: str, field: str) -> None:
            tickets = self._tickets(i)
            if not tickets:
                return
            value = {
                "title": f"{word} {pick}",
                "description": f"{word} seen {pick}",
                "severity": ["LOW", "MEDIUM", "HIGH", "CRITICAL"][pick % 4],
            }[field]
            self.phones[i].update("tickets", tickets[pick % len(tickets)], {field: value})
            self._queue(i)

        @precondition(lambda self: any(self._tickets(i) for i in range(4)))
        @rule(i=st.integers(0, 3), pick=st.integers(0, 99), to=st.sampled_from(STATUSES))
        def move(self, i: int, pick: int, to: str) -> None:
            tickets = self._tickets(i)
            if not tickets:
                return
            fields: dict[str, Any] = {"status": to}
            if to in {"RESOLVED", "CLOSED"}:
                fields["resolutionNote"] = f"settled {pick}"
            self.phones[i].update("tickets", tickets[pick % len(tickets)], fields)
            self._queue(i)

        @precondition(lambda self: any(self._tickets(i) for i in range(4)))
        @rule(i=st.integers(0, 3), pick=st.integers(0, 99), word=WORDS)
        def comment(self, i: int, pick: int, word: str) -> None:
            tickets = self._tickets(i)
            if tickets:
                ticket = tickets[pick % len(tickets)]
                self.phones[i].create("ticketComments", {"ticketId": ticket, "body": word})
                self._queue(i)

        @precondition(lambda self: any(self._tickets(i) for i in range(4)))
        @rule(i=st.integers(0, 3), pick=st.integers(0, 99))
        def delete(self, i: int, pick: int) -> None:
            tickets = self._tickets(i)
            if tickets:
                self.phones[i].delete("tickets", tickets[pick % len(tickets)])
                self._queue(i)

        # --- the office, on the server ---------------------------------------------------

        @rule(pick=st.integers(0, 99), grid=st.integers(0, 1))
        def dispatcher_moves(self, pick: int, grid: int) -> None:
            tickets = self._tickets(3)
            if not tickets:
                return
            target = [self.county.grid_a, self.county.grid_b][grid]

            async def move() -> None:
                async with self.sessions() as session, session.begin():
                    await lifecycle.reassign_to_grid(
                        session,
                        scope=self.county.dispatcher.scope,
                        ticket_id=uuid.UUID(tickets[pick % len(tickets)]),
                        grid_id=target.id,
                    )

            with contextlib.suppress(DomainError):  # same grid, closed, deleted: it cannot
                self.run(move())

        # --- the network -----------------------------------------------------------------

        @rule(i=st.integers(0, 3), lose=st.booleans())
        def push(self, i: int, lose: bool) -> None:
            with contextlib.suppress(ResponseLost):
                self.run(self.phones[i].push(lose_response=lose))

        @rule(i=st.integers(0, 3))
        def pull(self, i: int) -> None:
            self.run(self.phones[i].pull())

        # --- the end of the day ----------------------------------------------------------

        def teardown_check(self) -> None:
            for phone in self.phones:
                self.run(phone.push())
            for phone in self.phones:
                self.run(phone.pull())
            for phone, person, sent in zip(self.phones, self.people, self.sent, strict=True):
                assert phone.snapshot() == self.run(server_view(self.http, person))
                assert set(phone.results) == set(sent)
                self.run(self._check_outcomes(phone, sent))

        async def _check_outcomes(self, phone: SyncClient, sent: dict[str, Any]) -> None:
            async with self.sessions() as session:
                rows = await session.scalars(
                    select(StoredMutation).where(StoredMutation.client_id == phone.client_id)
                )
                stored = {row.mutation_id: row.result for row in rows}
                kept = {
                    (row.mutation_id, row.field)
                    for row in await session.scalars(
                        select(SyncConflict).where(SyncConflict.client_id == phone.client_id)
                    )
                }
            # Exactly one durable outcome each, and the phone heard that one (also when it
            # only heard a replay's answer).
            assert set(stored) == set(sent)
            for mutation_id, result in stored.items():
                heard = phone.results[mutation_id]
                differ = {
                    k: (heard["data"].get(k), v)
                    for k, v in (result["data"] or {}).items()
                    if heard["data"] and heard["data"].get(k) != v
                }
                assert [heard[k] for k in ("status", "version", "data", "error")] == [
                    result[k] for k in ("status", "version", "data", "error")
                ], differ
            for mutation_id, mutation in sent.items():
                result = phone.results[mutation_id]
                if result["status"] == "REJECTED" or mutation["op"] != "UPDATE":
                    if mutation["op"] == "CREATE" and result["status"] == "CONFLICT":
                        assert (mutation_id, "record") in kept
                    continue
                data = result["data"] or {}
                for field, value in mutation["fields"].items():
                    assert data.get(field) == value or (mutation_id, field) in kept, (
                        mutation,
                        result,
                    )

    Phones.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    original_teardown = Phones.teardown

    def checked_teardown(self: Phones) -> None:
        try:
            if hasattr(self, "loop"):
                self.teardown_check()
        finally:
            original_teardown(self)

    Phones.teardown = checked_teardown  # type: ignore[method-assign]
    Phones.TestCase().runTest()


def test_phones_converge(database_url: str) -> None:
    _run_machine(database_url)
