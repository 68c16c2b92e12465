"""Fan-out of committed events to live subscribers, across API processes.

Writers do nothing special: a session hook (sync/session_hooks.py) notes every new TicketEvent
and Notification, and publishes them when the transaction commits.

* PostgreSQL: ``SELECT pg_notify('gridlink_events', payload)`` is issued inside the writing
  transaction, so PostgreSQL delivers it only if and when the transaction commits, to every
  process that LISTENs (each process keeps one asyncpg connection with ``add_listener``).
* SQLite (one machine): delivered in-process after the commit, to the subscribers of the same
  database file, whatever thread or event loop they run on.

Payloads are small (ids and routing keys); subscribers read the record itself, within their
own scope, when an event concerns them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from api.notifications.models import Notification
from api.tickets.models import Ticket, TicketEvent

CHANNEL = "gridlink_events"
_PENDING = "gridlink_broadcast"
log = logging.getLogger("gridlink.broadcast")

Event = dict[str, Any]


def _event_of(session: Session, obj: Any) -> Event | None:
    if isinstance(obj, TicketEvent):
        ticket = session.identity_map.get(identity_key(Ticket, obj.ticket_id))
        return {
            "type": "ticketEvent",
            "id": str(obj.id),
            "ticketId": str(obj.ticket_id),
            "gridId": str(ticket.grid_id) if ticket is not None else None,
        }
    if isinstance(obj, Notification):
        return {
            "type": "notification",
            "id": str(obj.id),
            "recipientId": str(obj.recipient_id),
            "kind": obj.kind.value if hasattr(obj.kind, "value") else str(obj.kind),
            "ticketId": str(obj.ticket_id) if obj.ticket_id else None,
        }
    return None


def publish_on_commit(session: Session, item: Event) -> None:
    """Deliver ``item`` to every subscriber, in every process, if and when the session's
    transaction commits."""
    session.info.setdefault(_PENDING, []).append(item)


def collect(session: Session, _context: Any) -> None:
    for obj in session.new:
        found = _event_of(session, obj)
        if found is not None:
            publish_on_commit(session, found)


# Items of savepoints released so far, with the root transaction they belong to: sent at the
# real commit, in one statement (a push of 500 mutations has 500 savepoints, each a new
# ticket event: one round trip per batch instead of one per mutation).
_SETTLED = "gridlink_broadcast_settled"
_NOTIFY_ALL = text(
    "SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"
)


def notify_in_transaction(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    session.flush()  # objects added since the last flush are noted by collect
    pending = session.info.pop(_PENDING, None) or []
    root = session.get_transaction()
    settled_root, settled = session.info.pop(_SETTLED, (None, []))
    if settled_root is not root:
        settled = []  # left over from a transaction rolled back with a savepoint open
    if session.in_nested_transaction():
        # A savepoint released: its items stand or fall with the enclosing transaction.
        session.info[_SETTLED] = (root, settled + pending)
        return
    items = settled + pending
    if not items:
        return
    session.connection().execute(
        _NOTIFY_ALL,
        {"channel": CHANNEL, "payloads": [json.dumps(i, separators=(",", ":")) for i in items]},
    )


def deliver_locally(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return
    for item in pending:
        LOCAL.deliver(_database_key(bind.url), item)


def forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
    if not session.in_nested_transaction():
        session.info.pop(_SETTLED, None)  # a savepoint's rollback keeps those released before


# Both read on every request (listening(), by the sign-in cache): a URL is parsed once.
@functools.lru_cache(maxsize=64)
def _database_key(url: Any) -> str:
    return (
        make_url(str(url))
        .set(drivername=make_url(str(url)).get_backend_name())
        .render_as_string(hide_password=True)
    )


@functools.lru_cache(maxsize=64)
def _on_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


# --- subscribers -------------------------------------------------------------------------


@dataclass(eq=False)
class Subscriber:
    accepts: Callable[[Event], bool]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))

    def offer(self, item: Event) -> None:
        if not self.accepts(item):
            return

        def put() -> None:
            if self.queue.full():
                log.warning("a subscriber is not keeping up; an event was dropped")
                return
            self.queue.put_nowait(item)

        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            put()
        else:
            self.loop.call_soon_threadsafe(put)


class LocalHub:
    """Subscribers by database, for SQLite and for what the PostgreSQL listener receives."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._lock = threading.Lock()

    def add(self, database: str, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.setdefault(database, set()).add(subscriber)

    def remove(self, database: str, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.get(database, set()).discard(subscriber)

    def deliver(
        self, database: str, item: Event, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """Offer ``item`` to the database's subscribers (of one event loop when given: each
        loop has its own PostgreSQL listener, which must not deliver for the others)."""
        with self._lock:
            subscribers = list(self._subscribers.get(database, ()))
        for subscriber in subscribers:
            if loop is None or subscriber.loop is loop:
                subscriber.offer(item)

    def count(self, database: str) -> int:
        with self._lock:
            return len(self._subscribers.get(database, ()))


LOCAL = LocalHub()


class PostgresListener:
    """One LISTEN connection per process and database, opened with the first subscriber."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.database = _database_key(url)
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None

    async def ensure(self) -> None:
        async with self._lock:
            if self._connection is not None and not self._connection.is_closed():
                return
            dsn = make_url(self.url).set(drivername="postgresql").render_as_string(False)
            connection = await asyncpg.connect(dsn)
            self.loop = asyncio.get_running_loop()
            try:
                await connection.add_listener(CHANNEL, self._received)
            except BaseException:
                await connection.close()
                raise
            # Only now an epoch (``epoch``): what is remembered from here on was heard.
            self._connection = connection

    def epoch(self) -> object | None:
        """The open LISTEN connection (what was heard on it counts), or None."""
        connection = self._connection
        return connection if connection is not None and not connection.is_closed() else None

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            item = json.loads(payload)
        except ValueError:
            return
        LOCAL.deliver(self.database, item, self.loop)

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                with contextlib.suppress(Exception):
                    await connection.close()


# One per database and event loop: asyncpg connections belong to the loop that made them.
# Keyed by the loop itself (an id could be given again to a later loop).
_LISTENERS: dict[tuple[str, asyncio.AbstractEventLoop], PostgresListener] = {}


def _listener(url: str) -> PostgresListener:
    key = (_database_key(url), asyncio.get_running_loop())
    listener = _LISTENERS.get(key)
    if listener is None:
        # A loop that closed without close_listeners (a test's, a worker thread's) leaves its
        # listener behind: dropped here, so closed loops do not pile up.
        for stale in [k for k in _LISTENERS if k[1].is_closed()]:
            del _LISTENERS[stale]
        listener = _LISTENERS[key] = PostgresListener(url)
    return listener


async def hear(url: str, callback: Callable[[Event], None]) -> Callable[[], None]:
    """Call ``callback`` (on this event loop) with every committed event of ``url``'s database
    from now on, without a queue; returns the function that stops it. For caches that only
    need to forget: ``callback`` must be quick and must not block."""
    database = _database_key(url)

    def accepts(item: Event) -> bool:
        callback(item)
        return False  # nothing to queue

    subscriber = Subscriber(accepts=accepts, loop=asyncio.get_running_loop())
    LOCAL.add(database, subscriber)
    try:
        if _on_postgres(url):
            await _listener(url).ensure()
    except BaseException:
        LOCAL.remove(database, subscriber)
        raise
    return lambda: LOCAL.remove(database, subscriber)


async def hear_again(url: str) -> None:
    """Open this event loop's listening connection again after it dropped."""
    if _on_postgres(url):
        await _listener(url).ensure()


def listening(url: str) -> object | None:
    """While this process hears every committed event of ``url``'s database on this event loop
    (a PostgreSQL LISTEN connection is open): an object that stays the same until the
    connection drops. None otherwise, and on SQLite (whose events reach this process only)."""
    listener = _LISTENERS.get((_database_key(url), asyncio.get_running_loop()))
    return listener.epoch() if listener is not None else None


async def close_listeners() -> None:
    """Close this event loop's LISTEN connections (app shutdown)."""
    running = asyncio.get_running_loop()
    for key in [k for k in _LISTENERS if k[1] is running]:
        await _LISTENERS.pop(key).close()


@contextlib.asynccontextmanager
async def subscribe(
    url: str, accepts: Callable[[Event], bool]
) -> AsyncIterator[asyncio.Queue[Event]]:
    """A queue of the committed events ``accepts`` lets through, for as long as the block runs."""
    database = _database_key(url)
    subscriber = Subscriber(accepts=accepts, loop=asyncio.get_running_loop())
    LOCAL.add(database, subscriber)
    try:
        if _on_postgres(url):
            await _listener(url).ensure()
        yield subscriber.queue
    finally:
        LOCAL.remove(database, subscriber)
