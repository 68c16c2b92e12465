"""Risk levels recomputed a moment after a ticket changes, not only by the 5-minute job.

A flush that writes a ticket notes its enterprise and grid (before and after the change) on
the session; when the transaction commits they go to the process's RiskRefresher, which
waits ``delay`` seconds for more changes (a sync push of 500 tickets is one recompute, not
500) and then recomputes and stores the levels of those enterprises and grids, notifying a rise
like the timed job. Rolled-back changes are forgotten. A process without a refresher started
(a CLI command) leaves the levels to the timed job. docs/rules.md, "Risk levels"."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from api.tickets.models import Ticket
from api.warnings.rules import DEFAULT_RULES, RiskRules

log = logging.getLogger("gridlink.risk")

_TOUCHED = "risk_touched"
DELAY_SECONDS = 1.0


class RiskRefresher:
    """Debounced recompute of the enterprises and grids whose tickets changed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        fallback: RiskRules = DEFAULT_RULES,
        delay: float = DELAY_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.fallback = fallback
        self.delay = delay
        self.loop = asyncio.get_running_loop()
        self._enterprises: set[uuid.UUID] = set()
        self._grids: set[uuid.UUID] = set()
        self._task: asyncio.Task[None] | None = None

    def schedule(self, enterprises: set[uuid.UUID], grids: set[uuid.UUID]) -> None:
        """From any thread: note the subjects and start a recompute unless one is waiting."""
        try:
            self.loop.call_soon_threadsafe(self._add, enterprises, grids)
        except RuntimeError:
            # The serving loop has ended: a commit never fails for it; the timed job catches up.
            log.warning("risk recompute not scheduled: the refresher's event loop is closed")

    def _add(self, enterprises: set[uuid.UUID], grids: set[uuid.UUID]) -> None:
        self._enterprises |= enterprises
        self._grids |= grids
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run(), name="gridlink-risk-refresh")

    async def _run(self) -> None:
        from api.rules.risk import risk_rules_in_force
        from api.warnings.service import refresh_risk_after_change

        while self._enterprises or self._grids:
            await asyncio.sleep(self.delay)
            enterprises, self._enterprises = self._enterprises, set()
            grids, self._grids = self._grids, set()
            try:
                async with self.sessions() as session, session.begin():
                    rules = await risk_rules_in_force(session, self.fallback)
                    for enterprise_id in sorted(enterprises):
                        await refresh_risk_after_change(
                            session, enterprise_id=enterprise_id, rules=rules
                        )
                    for grid_id in sorted(grids):
                        await refresh_risk_after_change(session, grid_id=grid_id, rules=rules)
            except Exception:  # noqa: BLE001 - the timed job catches up within 5 minutes
                log.exception("risk recompute after a ticket change failed")

    async def stop(self) -> None:
        global _refresher
        if _refresher is self:
            _refresher = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


_refresher: RiskRefresher | None = None


def start_refresher(
    sessions: async_sessionmaker[AsyncSession],
    *,
    fallback: RiskRules = DEFAULT_RULES,
    delay: float = DELAY_SECONDS,
) -> RiskRefresher:
    """The process's refresher (one per process: the last started wins)."""
    global _refresher
    _refresher = RiskRefresher(sessions, fallback=fallback, delay=delay)
    return _refresher


def _values(obj: Ticket, name: str) -> set[Any]:
    history = inspect(obj).attrs[name].history
    return {v for v in (*history.added, *history.unchanged, *history.deleted) if v is not None}


def note_tickets(session: Session, _context: Any) -> None:
    if _refresher is None:
        return
    tickets = [o for o in (*session.new, *session.dirty, *session.deleted) if isinstance(o, Ticket)]
    if not tickets:
        return
    enterprises, grids = session.info.setdefault(_TOUCHED, (set(), set()))
    for ticket in tickets:
        # Before and after: a ticket moved to another enterprise or grid changes both.
        enterprises |= _values(ticket, "enterprise_id")
        grids |= _values(ticket, "grid_id")


def committed(session: Session) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if touched is not None and _refresher is not None:
        _refresher.schedule(*touched)


def rolled_back(session: Session, _transaction: Any) -> None:
    # A savepoint rolled back inside a transaction that goes on keeps what it noted: a
    # recompute too many costs little, one too few leaves a level stale for minutes.
    if not session.in_transaction():
        session.info.pop(_TOUCHED, None)
