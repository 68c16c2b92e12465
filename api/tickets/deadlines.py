"""Time limits per severity and tier: which deadlines a ticket has, when they are due, and
whether one is running or missed. The timed check that warns and escalates is
api/tickets/deadline_checks.py; the rules in words are in docs/rules.md.

- Both clocks start when a ticket is reported at a tier: when it is created, when it changes
  tier (escalation or de-escalation) and when it is reopened (apply_deadlines).
- First response is met when someone at the current tier works the ticket: it has an assignee
  and has left REPORTED/ASSIGNED/REOPENED (taking it, mediating, waiting on the worker or
  resolving all count). A comment alone does not: the status is what a dispatcher sees.
- Resolution is met when the ticket leaves the open states (RESOLVED, CLOSED, WITHDRAWN).
- While a ticket waits on the worker no clock runs; the lifecycle pushes both deadlines back
  by the time waited when it resumes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from api.records import utcnow
from api.tickets.deadline_models import ANY_SOURCE, DeadlineKind, DeadlinePolicy
from api.tickets.models import OPEN_STATUSES, Severity, Ticket, TicketSource, TicketStatus, Tier

S = TicketStatus
HOUR = 3600
DAY = 24 * HOUR

# States in which the current tier has not yet picked the ticket up.
AWAITING_RESPONSE = frozenset({S.REPORTED, S.ASSIGNED, S.REOPENED})
# Sources that report a risk rather than a request: their critical cases run on shorter clocks.
HAZARD_SOURCES = frozenset({TicketSource.RISK_HAZARD, TicketSource.DIRECT_REPORT})


@dataclass(frozen=True)
class Policy:
    first_response: timedelta
    resolution: timedelta
    warning_percent: int = 25
    auto_escalate: bool = False

    def duration(self, kind: DeadlineKind) -> timedelta:
        return self.first_response if kind == DeadlineKind.FIRST_RESPONSE else self.resolution

    def warning_lead(self, kind: DeadlineKind) -> timedelta:
        return self.duration(kind) * self.warning_percent / 100


PolicyKey = tuple[Tier, Severity, str]


def _defaults() -> dict[PolicyKey, Policy]:
    """The built-in table (docs/rules.md shows it). Lower tiers escalate by themselves when a
    resolution deadline is missed; the county station and court-linked mediation do not, as
    moving a dispute to court is a person's decision."""
    # (first response, resolution) in seconds, per tier: LOW, MEDIUM, HIGH, CRITICAL.
    any_source = {
        Tier.GRID: [(3 * DAY, 30 * DAY), (DAY, 10 * DAY), (8 * HOUR, 5 * DAY), (4 * HOUR, 2 * DAY)],
        Tier.TOWN: [(3 * DAY, 30 * DAY), (DAY, 15 * DAY), (8 * HOUR, 7 * DAY), (4 * HOUR, 3 * DAY)],
        Tier.COUNTY_STATION: [
            (5 * DAY, 45 * DAY),
            (2 * DAY, 30 * DAY),
            (DAY, 15 * DAY),
            (8 * HOUR, 7 * DAY),
        ],
        Tier.COURT_MEDIATION: [
            (7 * DAY, 60 * DAY),
            (5 * DAY, 60 * DAY),
            (3 * DAY, 30 * DAY),
            (DAY, 15 * DAY),
        ],
    }
    # Risk hazards and direct reports: "known first, handled first".
    hazards = {
        (Tier.GRID, Severity.HIGH): (4 * HOUR, 3 * DAY),
        (Tier.GRID, Severity.CRITICAL): (2 * HOUR, DAY),
        (Tier.TOWN, Severity.HIGH): (4 * HOUR, 5 * DAY),
        (Tier.TOWN, Severity.CRITICAL): (2 * HOUR, 2 * DAY),
        (Tier.COUNTY_STATION, Severity.CRITICAL): (4 * HOUR, 5 * DAY),
    }
    auto = {Tier.GRID, Tier.TOWN}
    table: dict[PolicyKey, Policy] = {}
    for tier, rows in any_source.items():
        for severity, (first, resolution) in zip(Severity, rows, strict=True):
            table[(tier, severity, ANY_SOURCE)] = Policy(
                timedelta(seconds=first), timedelta(seconds=resolution), 25, tier in auto
            )
    for (tier, severity), (first, resolution) in hazards.items():
        for source in HAZARD_SOURCES:
            table[(tier, severity, source.value)] = Policy(
                timedelta(seconds=first), timedelta(seconds=resolution), 25, tier in auto
            )
    return table


DEFAULT_POLICIES: dict[PolicyKey, Policy] = _defaults()


class PolicyBook:
    """The policies in force: the built-in defaults overlaid with the county's own rows."""

    def __init__(self, rows: Iterable[DeadlinePolicy] = ()) -> None:
        self.table = dict(DEFAULT_POLICIES)
        for row in rows:
            self.table[(row.tier, row.severity, row.source)] = Policy(
                timedelta(seconds=row.first_response_seconds),
                timedelta(seconds=row.resolution_seconds),
                row.warning_percent,
                row.auto_escalate,
            )

    def lookup(self, tier: Tier, severity: Severity, source: TicketSource | str) -> Policy:
        source = source.value if isinstance(source, TicketSource) else source
        found = self.table.get((tier, severity, source))
        return found or self.table[(tier, severity, ANY_SOURCE)]

    def for_ticket(self, ticket: DeadlineFacts) -> Policy:
        return self.lookup(ticket.tier, ticket.severity, ticket.source)

    def longest_warning_lead(self) -> timedelta:
        return max(p.warning_lead(kind) for p in self.table.values() for kind in DeadlineKind)


# session.info key: the policies read in this transaction (a push of 500 new tickets reads
# the table once). Dropped when a transaction begins or rolls back, and whenever policies are
# written through the session (policies_written, ensure_default_policies).
_BOOK = "deadline_policy_book"


async def load_policies(session: AsyncSession) -> PolicyBook:
    book: PolicyBook | None = session.info.get(_BOOK)
    if book is None:
        # No autoflush: called in the middle of a ticket change, which must flush (and bump
        # the ticket's version) once, not once per read.
        with session.no_autoflush:
            book = PolicyBook(await session.scalars(select(DeadlinePolicy)))
        session.info[_BOOK] = book
    return book


def forget_policies(session: AsyncSession | Session) -> None:
    session.info.pop(_BOOK, None)


def new_transaction(session: Session, transaction: SessionTransaction, _conn: Any) -> None:
    if not transaction.nested:
        forget_policies(session)


def rolled_back(session: Session, _transaction: SessionTransaction) -> None:
    forget_policies(session)


def policies_written(session: Session, _context: Any, _instances: Any) -> None:
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, DeadlinePolicy) for obj in touched):
        forget_policies(session)


async def ensure_default_policies(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Write the built-in defaults as rows for every (tier, severity, source) that has none, so
    that an officer sees the whole table and can change it. Rows already there are kept."""
    now = now or utcnow()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    added = 0
    for (tier, severity, source), policy in DEFAULT_POLICIES.items():
        result = await session.execute(
            insert(DeadlinePolicy)
            .values(
                id=uuid.uuid4(),
                tier=tier,
                severity=severity,
                source=source,
                first_response_seconds=int(policy.first_response.total_seconds()),
                resolution_seconds=int(policy.resolution.total_seconds()),
                warning_percent=policy.warning_percent,
                auto_escalate=policy.auto_escalate,
                updated_at=now,
            )
            .on_conflict_do_nothing()
        )
        added += result.rowcount or 0
    forget_policies(session)
    return added


# --- what a ticket's clocks say ----------------------------------------------------------


class DeadlineFacts(Protocol):
    """The ticket columns the deadline rules read (an ORM Ticket or a selected row)."""

    status: TicketStatus
    tier: Tier
    severity: Severity
    source: TicketSource
    assignee_id: uuid.UUID | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    paused_seconds: int


def first_response_running(ticket: DeadlineFacts) -> bool:
    if ticket.status not in OPEN_STATUSES or ticket.status == S.WAITING_ON_WORKER:
        return False
    return ticket.status in AWAITING_RESPONSE or ticket.assignee_id is None


def resolution_running(ticket: DeadlineFacts) -> bool:
    return ticket.status in OPEN_STATUSES and ticket.status != S.WAITING_ON_WORKER


def running_deadlines(ticket: DeadlineFacts) -> list[tuple[DeadlineKind, datetime]]:
    """The deadlines whose clock is running now, with their due times."""
    running: list[tuple[DeadlineKind, datetime]] = []
    if ticket.first_response_due_at is not None and first_response_running(ticket):
        running.append((DeadlineKind.FIRST_RESPONSE, ticket.first_response_due_at))
    if ticket.resolution_due_at is not None and resolution_running(ticket):
        running.append((DeadlineKind.RESOLUTION, ticket.resolution_due_at))
    return running


def overdue_deadlines(ticket: DeadlineFacts, now: datetime) -> list[DeadlineKind]:
    """The running deadlines already missed: due at or before ``now``."""
    return [kind for kind, due in running_deadlines(ticket) if due <= now]


def is_overdue(ticket: DeadlineFacts, now: datetime) -> bool:
    return bool(overdue_deadlines(ticket, now))


def nominal_due(ticket: DeadlineFacts, due: datetime) -> datetime:
    """The deadline net of every pause: the same for one deadline however often the ticket
    waited on the worker (the lifecycle pushes the deadline and the paused total together)."""
    return due - timedelta(seconds=ticket.paused_seconds or 0)


# --- setting the clocks ------------------------------------------------------------------


def _clock_start(ticket: Ticket, now: datetime) -> datetime:
    # A ticket that changes tier while it waits on the worker starts its clocks when the wait
    # began: the lifecycle adds the whole wait when it resumes, so they run from the resumption.
    if ticket.status == S.WAITING_ON_WORKER and ticket.waiting_since is not None:
        return min(ticket.waiting_since, now)
    return now


def start_clocks(ticket: Ticket, book: PolicyBook, now: datetime) -> Ticket:
    """Both deadlines from ``now`` at the ticket's tier, severity and source."""
    policy = book.for_ticket(ticket)
    start = _clock_start(ticket, now)
    ticket.first_response_due_at = start + policy.first_response
    ticket.resolution_due_at = start + policy.resolution
    return ticket


async def apply_deadlines(
    session: AsyncSession, ticket: Ticket, *, now: datetime | None = None
) -> Ticket:
    """Start both clocks at the ticket's current tier (on creation, tier change, reopening)."""
    return start_clocks(ticket, await load_policies(session), now or utcnow())


async def severity_changed(session: AsyncSession, ticket: Ticket, old: Severity) -> Ticket:
    """Keep the clocks' start and pauses, swap the durations: a hazard found to be critical
    gets the critical deadlines counted from when it was reported at this tier."""
    if old == ticket.severity:
        return ticket
    book = await load_policies(session)
    before = book.lookup(ticket.tier, old, ticket.source)
    after = book.for_ticket(ticket)
    if ticket.first_response_due_at is not None:
        ticket.first_response_due_at += after.first_response - before.first_response
    if ticket.resolution_due_at is not None:
        ticket.resolution_due_at += after.resolution - before.resolution
    return ticket
