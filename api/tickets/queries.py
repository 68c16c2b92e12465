"""SQL conditions over tickets shared by lists, counts and the dashboard."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from api.tickets.models import OPEN_STATUSES, Ticket, TicketStatus

# The clocks stop while a ticket waits on the worker (lifecycle._enter pushes the due times
# back when it resumes), so a waiting ticket is never overdue.
_RUNNING = sorted(s.value for s in OPEN_STATUSES if s != TicketStatus.WAITING_ON_WORKER)


def open_condition() -> sa.ColumnElement[bool]:
    return Ticket.__table__.c.status.in_(sorted(s.value for s in OPEN_STATUSES))


def overdue_condition(now: datetime) -> sa.ColumnElement[bool]:
    """Open, the clock running, and past its resolution time or its unmet first-response time."""
    c = Ticket.__table__.c
    return sa.and_(
        c.status.in_(_RUNNING),
        sa.or_(
            sa.and_(c.resolution_due_at.is_not(None), c.resolution_due_at < now),
            sa.and_(
                c.first_responded_at.is_(None),
                c.first_response_due_at.is_not(None),
                c.first_response_due_at < now,
            ),
        ),
    )


def overdue_column(now: datetime) -> sa.ColumnElement[bool]:
    """overdue_condition as a selectable true/false column."""
    return sa.type_coerce(sa.case((overdue_condition(now), True), else_=False), sa.Boolean)
