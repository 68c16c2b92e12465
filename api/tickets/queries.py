"""SQL conditions over tickets shared by lists, counts and the dashboard."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa

from api.tickets.deadlines import AWAITING_RESPONSE
from api.tickets.models import OPEN_STATUSES, Ticket, TicketStatus

# The clocks stop while a ticket waits on the worker (see api.tickets.deadlines).
_RUNNING = sorted(s.value for s in OPEN_STATUSES if s != TicketStatus.WAITING_ON_WORKER)
_AWAITING = sorted(s.value for s in AWAITING_RESPONSE)


@functools.cache  # a constant: built once
def open_condition() -> sa.ColumnElement[bool]:
    return Ticket.__table__.c.status.in_(sorted(s.value for s in OPEN_STATUSES))


def overdue_condition(now: datetime) -> sa.ColumnElement[bool]:
    """api.tickets.deadlines.is_overdue as SQL: a running deadline due at or before ``now``."""
    c = Ticket.__table__.c
    first_response = sa.and_(
        c.first_response_due_at.is_not(None),
        sa.or_(c.status.in_(_AWAITING), c.assignee_id.is_(None)),
        c.first_response_due_at <= now,
    )
    resolution = sa.and_(c.resolution_due_at.is_not(None), c.resolution_due_at <= now)
    return sa.and_(c.status.in_(_RUNNING), sa.or_(first_response, resolution))


def overdue_column(now: datetime) -> sa.ColumnElement[bool]:
    """overdue_condition as a selectable true/false column."""
    return sa.type_coerce(sa.case((overdue_condition(now), True), else_=False), sa.Boolean)
