"""The timed deadline check: a warning before each running deadline and a breach at it, each
recorded once, each telling the people who hold the ticket, and a missed resolution deadline
escalating the ticket one tier when its policy says so.

Safe with several workers on one database: a worker first reads which tickets need an alert,
then claims them (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer at a time),
re-reads them under the claim and records each alert under a unique key. A ticket another
worker holds is skipped and seen again at the next run, by which time its alert exists."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import DomainError
from api.i18n import _
from api.notifications.models import NotificationKind
from api.notifications.service import notify
from api.records import utcnow
from api.tickets.deadline_models import AlertStage, DeadlineAlert, DeadlineKind
from api.tickets.deadlines import (
    DeadlineFacts,
    PolicyBook,
    load_policies,
    nominal_due,
    running_deadlines,
)
from api.tickets.lifecycle import SYSTEM_SCOPE, TIERS, escalate_ticket, tier_staff
from api.tickets.models import OPEN_STATUSES, Ticket, TicketStatus, Tier

log = logging.getLogger("gridlink.deadlines")

BATCH_SIZE = 50
KEY_CHUNK = 500
FACT_COLUMNS = (
    Ticket.status,
    Ticket.tier,
    Ticket.severity,
    Ticket.source,
    Ticket.assignee_id,
    Ticket.first_response_due_at,
    Ticket.resolution_due_at,
    Ticket.paused_seconds,
)


@dataclass(frozen=True)
class DueAlert:
    kind: DeadlineKind
    stage: AlertStage
    due_at: datetime
    nominal_due_at: datetime

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.kind.value, self.stage.value, self.nominal_due_at)


def alerts_due(ticket: DeadlineFacts, book: PolicyBook, now: datetime) -> list[DueAlert]:
    """For each running deadline: a breach once it is due (at or after the due time), else a
    warning once inside the policy's warning lead. A warning the check was too late for is
    not sent after the breach."""
    policy = book.for_ticket(ticket)
    alerts: list[DueAlert] = []
    for kind, due in running_deadlines(ticket):
        if now >= due:
            stage = AlertStage.BREACH
        elif now >= due - policy.warning_lead(kind):
            stage = AlertStage.WARNING
        else:
            continue
        alerts.append(DueAlert(kind, stage, due, nominal_due(ticket, due)))
    return alerts


async def check_deadlines(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> int:
    """The timed job: record and act on every warning and breach due at ``now``; returns how
    many alerts this run recorded."""
    now = now or utcnow()
    async with sessions() as session:
        book = await load_policies(session)
        ticket_ids = await _tickets_needing_alerts(session, book, now)
    recorded = 0
    for start in range(0, len(ticket_ids), batch_size):
        async with sessions() as session, session.begin():
            recorded += await _claim_and_alert(
                session, book, ticket_ids[start : start + batch_size], now
            )
    return recorded


async def _tickets_needing_alerts(
    session: AsyncSession, book: PolicyBook, now: datetime
) -> list[uuid.UUID]:
    """Read only: tickets with a warning or breach due that is not recorded yet."""
    horizon = now + book.longest_warning_lead()
    running = OPEN_STATUSES - {TicketStatus.WAITING_ON_WORKER}
    # Plain rows of the columns the rule reads: this runs every minute over the open tickets.
    candidates = await session.execute(
        select(Ticket.id, *FACT_COLUMNS)
        .where(
            Ticket.status.in_(running),
            Ticket.deleted_at.is_(None),
            or_(Ticket.first_response_due_at <= horizon, Ticket.resolution_due_at <= horizon),
        )
        .order_by(Ticket.id)
    )
    wanted = {t.id: alerts_due(t, book, now) for t in candidates}
    wanted = {tid: alerts for tid, alerts in wanted.items() if alerts}
    recorded = await _recorded_keys(session, wanted)
    return [
        tid for tid, alerts in wanted.items() if any(a.key not in recorded[tid] for a in alerts)
    ]


async def _recorded_keys(
    session: AsyncSession, ticket_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, set[tuple[str, str, datetime]]]:
    ids = list(ticket_ids)
    keys: dict[uuid.UUID, set[tuple[str, str, datetime]]] = {tid: set() for tid in ids}
    for start in range(0, len(ids), KEY_CHUNK):
        rows = await session.execute(
            select(
                DeadlineAlert.ticket_id,
                DeadlineAlert.kind,
                DeadlineAlert.stage,
                DeadlineAlert.nominal_due_at,
            ).where(DeadlineAlert.ticket_id.in_(ids[start : start + KEY_CHUNK]))
        )
        for ticket_id, kind, stage, nominal in rows:
            keys[ticket_id].add((kind.value, stage.value, nominal))
    return keys


async def _claim_and_alert(
    session: AsyncSession, book: PolicyBook, ticket_ids: Sequence[uuid.UUID], now: datetime
) -> int:
    statement = (
        select(Ticket)
        .where(Ticket.id.in_(ticket_ids), Ticket.deleted_at.is_(None))
        .order_by(Ticket.id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    tickets = list(await session.scalars(statement))
    recorded = 0
    for ticket in tickets:
        # Re-read under the claim: another worker may have acted since the first read.
        for alert in alerts_due(ticket, book, now):
            try:
                async with session.begin_nested():
                    if await _record(session, book, ticket, alert, now):
                        recorded += 1
            except Exception:  # noqa: BLE001 - one bad ticket must not stop the others
                log.exception("deadline alert for ticket %s failed; retried next run", ticket.id)
    return recorded


async def _record(
    session: AsyncSession, book: PolicyBook, ticket: Ticket, alert: DueAlert, now: datetime
) -> bool:
    """Insert the alert under its unique key; only the insert that wins acts on it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    alert_id = await session.scalar(
        insert(DeadlineAlert)
        .values(
            id=uuid.uuid4(),
            ticket_id=ticket.id,
            kind=alert.kind,
            stage=alert.stage,
            nominal_due_at=alert.nominal_due_at,
            due_at=alert.due_at,
            tier=ticket.tier,
            fired_at=now,
            escalated=False,
        )
        .on_conflict_do_nothing()
        .returning(DeadlineAlert.id)
    )
    if alert_id is None:
        return False
    tier = ticket.tier
    await _notify(session, ticket, alert, alert_id)
    policy = book.for_ticket(ticket)
    breach_escalates = (
        alert.stage == AlertStage.BREACH
        and alert.kind == DeadlineKind.RESOLUTION
        and policy.auto_escalate
        and tier != TIERS[-1]
    )
    if breach_escalates and await _escalate(session, ticket, alert, now):
        record = await session.get(DeadlineAlert, alert_id)
        if record is not None:
            record.escalated = True
    return True


async def _escalate(session: AsyncSession, ticket: Ticket, alert: DueAlert, now: datetime) -> bool:
    reason = _(
        "automatic: the {tier} resolution deadline ({due}) was missed",
        tier=ticket.tier,
        due=alert.due_at,
    )
    try:
        async with session.begin_nested():
            await escalate_ticket(
                session, scope=SYSTEM_SCOPE, ticket_id=ticket.id, reason=reason, now=now
            )
    except DomainError as refused:
        log.warning("ticket %s not escalated after its breach: %s", ticket.id, refused.message)
        return False
    return True


async def deadline_recipients(
    session: AsyncSession, ticket: Ticket, stage: AlertStage
) -> list[uuid.UUID]:
    """The assignee, else whoever holds the tier's queue; on a breach also the town staff."""
    people: list[uuid.UUID] = []
    if ticket.assignee_id is not None:
        people.append(ticket.assignee_id)
    else:
        people.extend(await tier_staff(session, ticket, ticket.tier))
    if stage == AlertStage.BREACH:
        people.extend(await tier_staff(session, ticket, Tier.TOWN))
    return list(dict.fromkeys(people))


async def _notify(
    session: AsyncSession, ticket: Ticket, alert: DueAlert, alert_id: uuid.UUID
) -> None:
    # Messages with their arguments: each recipient reads them in its own language, the
    # time in Beijing time.
    if alert.stage == AlertStage.WARNING:
        kind = NotificationKind.DEADLINE_WARNING
        title = _(
            "{number}: {what} due {due}", number=ticket.number, what=alert.kind, due=alert.due_at
        )
    else:
        kind = NotificationKind.DEADLINE_BREACH
        title = _(
            "{number}: {what} deadline missed ({due})",
            number=ticket.number,
            what=alert.kind,
            due=alert.due_at,
        )
    body = _(
        "{title} — {severity} · {source} · {tier} · {status}",
        title=ticket.title,
        severity=ticket.severity,
        source=ticket.source,
        tier=ticket.tier,
        status=ticket.status,
    )
    for recipient in await deadline_recipients(session, ticket, alert.stage):
        await notify(
            session,
            recipient_id=recipient,
            kind=kind,
            title=title,
            body=body,
            ticket_id=ticket.id,
            enterprise_id=ticket.enterprise_id,
            grid_id=ticket.grid_id,
            dedup_key=f"deadline:{alert_id}:{recipient}",
        )
