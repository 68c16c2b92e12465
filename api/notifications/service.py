"""Writing notifications (the outbox) from domain operations, and reading them back."""

from __future__ import annotations

import base64
import contextlib
import contextvars
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import DomainError, invalid
from api.i18n import Message, _, render
from api.members.language import language_of
from api.notifications.models import Notification, NotificationKind
from api.records import utcnow

_muted: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "gridlink_notifications_muted", default=False
)


@contextlib.contextmanager
def notifications_muted() -> Iterator[None]:
    """Inside the block ``notify`` writes nothing: for replaying moves of the past through the
    domain (the demo county's history), which must not tell anybody anything today."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


async def notify(
    session: AsyncSession,
    *,
    recipient_id: uuid.UUID,
    kind: NotificationKind,
    title: str | Message,
    body: str | Message = "",
    ticket_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    grid_id: uuid.UUID | None = None,
    dedup_key: str | None = None,
) -> Notification | None:
    """Add a notification to the caller's transaction; None when its dedup_key already exists
    (a re-run of a timed job must not notify twice). Catalogue messages are written in the
    recipient's language, whoever caused the notification."""
    if _muted.get():
        return None
    if dedup_key is not None:
        existing = await session.scalar(
            select(Notification.id).where(Notification.dedup_key == dedup_key)
        )
        if existing is not None:
            return None
    language = await language_of(session, recipient_id)
    notification = Notification(
        recipient_id=recipient_id,
        kind=kind,
        title=render(title, language)[:200],
        body=render(body, language)[:1000],
        ticket_id=ticket_id,
        enterprise_id=enterprise_id,
        grid_id=grid_id,
        dedup_key=dedup_key,
    )
    session.add(notification)
    return notification


MAX_MARK_READ = 500


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    end_cursor: str | None
    has_next_page: bool


def encode_cursor(notification: Notification) -> str:
    raw = f"{notification.created_at.isoformat()}|{notification.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _sep, ident = raw.partition("|")
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:
            raise ValueError("naive")
        # In UTC: a forged "9999-12-31T23:59:59-14:00" overflows here, not in the driver.
        return at.astimezone(UTC), uuid.UUID(ident)
    except (ValueError, OverflowError):
        raise invalid("after", _("the cursor is not one this server gave out")) from None


async def list_notifications(
    session: AsyncSession,
    *,
    recipient_id: uuid.UUID,
    visible: Any = True,
    unread_only: bool = False,
    first: int = 20,
    after: str | None = None,
) -> NotificationPage:
    """A member's own notifications, newest first, in keyset pages (recipient, created_at);
    ``visible``: the caller's visibility condition (a token limited to grids sees none)."""
    query = select(Notification).where(
        Notification.recipient_id == recipient_id, Notification.deleted_at.is_(None), visible
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if after is not None:
        at, ident = decode_cursor(after)
        query = query.where(
            or_(
                Notification.created_at < at,
                and_(Notification.created_at == at, Notification.id < ident),
            )
        )
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(first + 1)
    rows = list(await session.scalars(query))
    items = rows[:first]
    return NotificationPage(
        items=items,
        end_cursor=encode_cursor(items[-1]) if items else None,
        has_next_page=len(rows) > first,
    )


async def mark_read(
    session: AsyncSession,
    *,
    recipient_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    now: datetime | None = None,
) -> list[Notification]:
    """Mark the member's own notifications read (already read ones keep their time). Another
    member's notification, or an unknown id, refuses the whole call: nothing is half-done."""
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > MAX_MARK_READ:
        raise invalid(
            "ids",
            _("mark at most {MAX_MARK_READ} notifications at once", MAX_MARK_READ=MAX_MARK_READ),
        )
    found = {
        n.id: n
        for n in await session.scalars(
            select(Notification).where(
                Notification.id.in_(wanted),
                Notification.recipient_id == recipient_id,
                Notification.deleted_at.is_(None),
            )
        )
    }
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise DomainError(
            "NOT_FOUND",
            _("you have no notification with id {value}", value=", ".join(missing)),
            "ids",
        )
    now = now or utcnow()
    for notification in found.values():
        if notification.read_at is None:
            notification.read_at = now
    await session.flush()
    return [found[i] for i in wanted]


async def unread_count(
    session: AsyncSession, *, recipient_id: uuid.UUID, visible: Any = True
) -> int:
    return (
        await session.scalar(
            select(func.count()).where(
                visible,
                Notification.recipient_id == recipient_id,
                Notification.read_at.is_(None),
                Notification.deleted_at.is_(None),
            )
        )
        or 0
    )
