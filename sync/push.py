"""syncPush: each mutation gets exactly one durable outcome (invariant 1), a replay returns the
stored one (2), a failing mutation is rolled back alone in its savepoint (3)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.scope import Scope
from api.db import keep_savepoints
from api.errors import DomainError, invalid
from api.grids.models import Grid
from api.i18n import _
from api.records import utcnow
from api.row_locks import lock_rows
from api.tickets import lifecycle
from api.tickets.models import Ticket, TicketStatus
from api.tickets.numbers import reserve_numbers
from sync import conflicts as c
from sync import ledger
from sync.changelog import LOG_ORDER, ORIGIN
from sync.collections import BY_NAME, current_keys, current_views, record_data
from sync.handlers import (
    CREATE,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    HANDLERS,
    SERVER_OWNED,
    UPDATE,
    Caller,
    Mutation,
    Outcome,
    handler_for,
    prefetch_changes,
)
from sync.models import MutationStatus, StoredMutation

log = logging.getLogger(__name__)
MAX_BATCH = 500
# A device's clientId and a mutation's mutationId: made up by the client, stable, short. The
# GraphQL edge holds every argument of these names to it (schema/arguments.py).
CLIENT_ID_MAX = 100
OPS = frozenset({"CREATE", "UPDATE", "DELETE"})
# A batch that lost a deadlock or a serialization race is run again from the start, up to
# this many times in all: the phone never sees the database's trouble.
ATTEMPTS = 6
# Collections whose records hang off a ticket: their pushes lock that ticket.
TICKET_CHILDREN = frozenset({"ticketComments", "ticketAttachments"})
# SQLSTATEs of a transaction the database gave up on and that succeeds when run again.
_RETRYABLE = frozenset({"40P01", "40001", "55P03"})


@dataclass(frozen=True)
class MutationInput:
    """A mutation as it came over the wire, before any checking."""

    mutation_id: str
    collection: str
    id: str
    op: str
    base_version: int | None
    fields: Any


def _error(mutation_id: str, error: DomainError) -> dict[str, Any]:
    return {
        "mutationId": mutation_id,
        "status": MutationStatus.REJECTED.value,
        "version": None,
        "data": None,
        "conflict": None,
        "conflicts": [],
        "error": {"code": error.code, "message": error.message, "field": error.field},
    }


def _outcome(mutation_id: str, outcome: Outcome) -> dict[str, Any]:
    record = outcome.record
    conflicts = [record_data(conflict) for conflict in outcome.conflicts]
    return {
        "mutationId": mutation_id,
        "status": outcome.status,
        "version": record.version if record is not None else None,
        "data": record_data(record) if record is not None else None,
        "conflict": conflicts[0] if conflicts else None,
        "conflicts": conflicts,
        "error": None,
    }


def _parse(raw: MutationInput) -> Mutation:
    if raw.op not in OPS:
        raise invalid("op", _("op is CREATE, UPDATE or DELETE"))
    try:
        record_id = uuid.UUID(str(raw.id))
    except ValueError:
        raise invalid("id", _("id must be a UUID (the client makes it for a CREATE)")) from None
    fields = raw.fields if raw.fields is not None else {}
    if not isinstance(fields, dict):
        raise invalid("fields", _("fields must be an object of camelCase field names and values"))
    if raw.op != "DELETE" and not fields:
        raise invalid("fields", _("a CREATE or UPDATE needs fields"))
    return Mutation(raw.mutation_id, raw.collection, record_id, raw.op, raw.base_version, fields)


async def _rejected_creates(
    session: AsyncSession, client_id: str, record_ids: list[str]
) -> set[str]:
    """Records whose CREATE from this client was rejected in an earlier batch."""
    if not record_ids:
        return set()
    rows = await session.scalars(
        select(StoredMutation.record_id).where(
            StoredMutation.client_id == client_id,
            StoredMutation.record_id.in_(record_ids),
            StoredMutation.op == CREATE,
            StoredMutation.status == MutationStatus.REJECTED,
        )
    )
    return set(rows)


async def _own_creation(
    session: AsyncSession, caller: Caller, m: Mutation, created_here: set[str]
) -> int | None:
    """An edit of a record the phone created offline carries no baseVersion (the phone never
    saw a server version): it is based on the client's own CREATE, i.e. version 1 — later
    changes by the same client are not news to it (sync.handlers.changed_since). The CREATE
    is in this batch (created_here) or stored from an earlier one."""
    if str(m.record_id) in created_here:
        return 1
    created = await session.scalar(
        select(StoredMutation.id).where(
            StoredMutation.client_id == caller.origin.client_id,
            StoredMutation.record_id == str(m.record_id),
            StoredMutation.op == CREATE,
            StoredMutation.status != MutationStatus.REJECTED,
        )
    )
    return 1 if created is not None else None


async def push_in(
    session: AsyncSession,
    *,
    scope: Scope,
    client_id: str,
    mutations: list[MutationInput],
    now: datetime | None = None,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> list[dict[str, Any]]:
    """Apply a batch inside the caller's transaction; one result per mutation, in order."""
    now = now or utcnow()
    if scope.member_id is None:
        raise DomainError("UNAUTHENTICATED", _("sign in before pushing changes"))
    if not client_id.strip() or len(client_id) > CLIENT_ID_MAX:
        raise invalid(
            "clientId",
            _(
                "clientId is 1 to {CLIENT_ID_MAX} characters, stable per device",
                CLIENT_ID_MAX=CLIENT_ID_MAX,
            ),
        )
    if len(mutations) > MAX_BATCH:
        raise invalid(
            "mutations", _("send at most {MAX_BATCH} mutations per push", MAX_BATCH=MAX_BATCH)
        )
    ids = [m.mutation_id for m in mutations]
    if any(not i or len(i) > CLIENT_ID_MAX for i in ids):
        raise invalid(
            "mutationId",
            _("every mutationId is 1 to {CLIENT_ID_MAX} characters", CLIENT_ID_MAX=CLIENT_ID_MAX),
        )
    # One savepoint per mutation (at most MAX_BATCH): left open, one round trip fewer each.
    keep_savepoints((await session.connection()).sync_connection)
    locked = await _lock_tickets(session, mutations)
    await prefetch_changes(session, _edits_of(locked, mutations))
    await ledger.touch(session, client_id=client_id, member_id=scope.member_id, now=now)
    stored = {
        row.mutation_id: row
        for row in await session.scalars(
            select(StoredMutation).where(
                StoredMutation.client_id == client_id, StoredMutation.mutation_id.in_(ids)
            )
        )
    }
    rejected_creates = await _rejected_creates(
        session, client_id, sorted({m.id for m in mutations if m.op != CREATE})
    )
    fresh, _held = await _absent_for_creates(session, mutations)
    _grids = await _grids_named(session, mutations)
    caller = Caller(scope, c.Origin(client_id, "", scope.member_id), now, max_attachment_bytes)
    results: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    created_here: set[str] = set()
    outcomes: list[dict[str, Any]] = []
    index = 0
    while index < len(mutations):
        raw = mutations[index]
        if raw.mutation_id in stored:
            results.append(stored[raw.mutation_id].result)
            index += 1
            continue
        if raw.mutation_id in seen:  # the same id twice in one batch: one outcome
            results.append(seen[raw.mutation_id])
            index += 1
            continue
        run = _new_tickets(mutations, index, caller, (stored, seen), fresh, created_here)
        together = _create_together
        if len(run) < 2:
            run = _ticket_edits(mutations, index, caller, (stored, seen), rejected_creates)
            together = _edit_together
        answered = await together(session, caller, run) if len(run) > 1 else None
        # Not written together (a single mutation, or a run one of which was refused): one
        # at a time, each seeing what the ones before it wrote.
        run = run if len(run) > 1 else [raw]
        for place, raw in enumerate(run):
            if answered is not None:
                result = answered[place]
            else:
                result = await _one(session, caller, raw, rejected_creates, created_here, fresh)
            if raw.op == CREATE:
                rejected = result["status"] == MutationStatus.REJECTED.value
                (rejected_creates if rejected else created_here).add(str(raw.id))
            outcomes.append(
                {
                    "id": uuid.uuid4(),
                    "client_id": client_id,
                    "mutation_id": raw.mutation_id,
                    "member_id": scope.member_id,
                    "collection": raw.collection[:32],
                    "record_id": str(raw.id)[:64],
                    "op": raw.op[:8],
                    "status": MutationStatus(result["status"]),
                    "result": result,
                    "at": now,
                }
            )
            seen[raw.mutation_id] = result
            results.append(result)
        index += len(run)
    if outcomes:
        # Every outcome in one multi-row INSERT, in the batch's transaction: durable together
        # with the changes they describe. A batch racing the same one from another request
        # fails here on (client_id, mutation_id) and is run again by push().
        await session.execute(insert(StoredMutation), outcomes)
        await ledger.pushed(
            session, client_id=client_id, last_mutation_id=ids[-1], count=len(outcomes), now=now
        )
    await session.flush()
    return results


async def _absent_for_creates(
    session: AsyncSession, mutations: list[MutationInput]
) -> tuple[set[uuid.UUID], list[Any]]:
    """The ids of the batch's CREATEs that no record has yet — one statement per collection
    for the whole batch instead of one per CREATE. The records found stay in the session
    (returned, so that they are held) for the per-mutation checks to find without a query."""
    wanted: dict[str, set[uuid.UUID]] = {}
    for raw in mutations:
        if raw.op != CREATE or raw.collection not in BY_NAME:
            continue
        try:
            wanted.setdefault(raw.collection, set()).add(uuid.UUID(str(raw.id)))
        except ValueError:
            continue  # refused with a clear error by the mutation itself
    absent: set[uuid.UUID] = set()
    held: list[Any] = []
    for collection, ids in wanted.items():
        model: Any = BY_NAME[collection]
        found = list(await session.scalars(select(model).where(model.id.in_(sorted(ids)))))
        held.extend(found)
        absent |= ids - {record.id for record in found}
    return absent, held


async def _grids_named(session: AsyncSession, mutations: list[MutationInput]) -> list[Grid]:
    """The grids the batch's tickets name, read in one statement and returned so that they
    are held: the session's identity map keeps only what is referenced, and each new ticket's
    check of its grid would read it again."""
    ids: set[uuid.UUID] = set()
    for raw in mutations:
        if raw.collection == Ticket.sync_collection and isinstance(raw.fields, dict):
            try:
                ids.add(uuid.UUID(str(raw.fields.get("gridId"))))
            except ValueError:
                continue  # none, or not a UUID: the mutation itself answers
    if not ids:
        return []
    return list(await session.scalars(select(Grid).where(Grid.id.in_(sorted(ids)))))


async def _lock_tickets(session: AsyncSession, mutations: list[MutationInput]) -> list[Ticket]:
    """Take the row locks of every ticket the batch touches up front, in id order. Two batches
    that touch the same tickets in crossing orders then queue instead of deadlocking
    (a comment's insert locks its ticket's key, an UPDATE the whole row). The tickets are
    loaded with their locks (returned, so that they are held): each mutation's own read of
    its ticket for update then costs no statement (api/row_locks.py)."""
    if session.get_bind().dialect.name != "postgresql":
        return []  # SQLite has one writer at a time
    ids: set[uuid.UUID] = set()
    for raw in mutations:
        candidate: Any = None
        if raw.collection == Ticket.sync_collection and raw.op != CREATE:
            candidate = raw.id
        elif raw.collection in TICKET_CHILDREN and isinstance(raw.fields, dict):
            candidate = raw.fields.get("ticketId")
        try:
            ids.add(uuid.UUID(str(candidate)))
        except ValueError:
            continue  # not a UUID: the mutation itself is refused with a clear error
    return await lock_rows(session, Ticket, ids)


def _edits_of(locked: list[Ticket], mutations: list[MutationInput]) -> list[tuple[Ticket, int]]:
    """(ticket, baseVersion) of the batch's ticket edits and deletes, for their merge checks."""
    by_id = {str(t.id): t for t in locked}
    return [
        (by_id[str(raw.id)], raw.base_version)
        for raw in mutations
        if raw.collection == Ticket.sync_collection
        and raw.op != CREATE
        and isinstance(raw.base_version, int)
        and str(raw.id) in by_id
    ]


def _retryable(error: DBAPIError) -> bool:
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if code in _RETRYABLE:
        return True
    return "database is locked" in str(error.orig)  # SQLite's busy writer


async def _one(
    session: AsyncSession,
    caller: Caller,
    raw: MutationInput,
    rejected_creates: set[str],
    created_here: set[str],
    fresh: set[uuid.UUID] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Any]:
    caller = _caller_of(caller, raw)
    try:
        mutation = _parse(raw)
        if mutation.op != CREATE and str(mutation.record_id) in rejected_creates:
            raise DomainError(
                "CREATE_REJECTED",
                _(
                    "this record's CREATE was rejected, so the change cannot apply; "
                    "fix the record and create it again"
                ),
                "id",
            )
        if mutation.op != CREATE and mutation.base_version is None:
            mutation.base_version = await _own_creation(session, caller, mutation, created_here)
        handler = handler_for(mutation.collection, mutation.op)
        if caller.scope.read_only:
            raise DomainError("FORBIDDEN", _("this token is read-only"))
        if mutation.op == CREATE and (mutation.collection, CREATE) in HANDLERS:
            # Known absent when the batch began and not created by it since: nothing to ask.
            absent = mutation.record_id in fresh and str(mutation.record_id) not in created_here
            await _check_new_id(session, caller, mutation, known_absent=absent)
            mutation.new_id = absent
        session.info[ORIGIN] = caller.origin.client_id
        try:
            async with session.begin_nested():
                outcome = await handler(session, caller, mutation)
                await session.flush()
        finally:
            session.info.pop(ORIGIN, None)
    except DomainError as error:
        return await _with_current(session, caller, raw, _error(raw.mutation_id, error))
    except IntegrityError:
        # The database's own words name tables and statements: never shown to a client.
        refused = _error(
            raw.mutation_id,
            DomainError("INVALID", _("cannot be stored: it clashes with a record already stored")),
        )
        return await _with_current(session, caller, raw, refused)
    return _outcome(raw.mutation_id, outcome)


def _caller_of(caller: Caller, raw: MutationInput) -> Caller:
    """The batch's caller as the origin of this one mutation (its conflicts name it)."""
    origin = c.Origin(caller.origin.client_id, raw.mutation_id, caller.origin.member_id)
    return Caller(caller.scope, origin, caller.now, caller.max_attachment_bytes)


def _run_of(
    mutations: list[MutationInput],
    start: int,
    caller: Caller,
    answered: tuple[dict[str, Any], ...],
    fits: Callable[[MutationInput, uuid.UUID], bool],
) -> list[MutationInput]:
    """The run of ticket mutations from `start` on that may be written at once: each one that
    `fits` (given its record id), not answered yet (its mutation id in none of `answered`, nor
    twice in the run), about a ticket no other mutation of the run is about, by a caller that
    may write."""
    run: list[MutationInput] = []
    if caller.scope.read_only:
        return run
    ids: set[uuid.UUID] = set()
    mutation_ids: set[str] = set()
    for raw in mutations[start:]:
        if (
            raw.collection != Ticket.sync_collection
            or any(raw.mutation_id in outcomes for outcomes in answered)
            or raw.mutation_id in mutation_ids
            or not isinstance(raw.fields, dict)
        ):
            break
        try:
            record_id = uuid.UUID(str(raw.id))
        except ValueError:
            break
        if record_id in ids or not fits(raw, record_id):
            break
        run.append(raw)
        ids.add(record_id)
        mutation_ids.add(raw.mutation_id)
    return run


def _new_tickets(
    mutations: list[MutationInput],
    start: int,
    caller: Caller,
    answered: tuple[dict[str, Any], ...],
    fresh: set[uuid.UUID],
    created_here: set[str],
) -> list[MutationInput]:
    """The run (_run_of) of ticket CREATEs that _create_together may write at once: each id
    a new random one known absent when the batch began and not created since, made REPORTED
    (a status further on goes through the lifecycle: _one)."""

    def fits(raw: MutationInput, record_id: uuid.UUID) -> bool:
        return (
            raw.op == CREATE
            and raw.fields.get("status", TicketStatus.REPORTED.value) == TicketStatus.REPORTED.value
            and record_id in fresh
            and not {str(raw.id), str(record_id)} & created_here
            and record_id.version in _NEW_ID_VERSIONS
        )

    return _run_of(mutations, start, caller, answered, fits)


async def _create_together(
    session: AsyncSession, caller: Caller, run: list[MutationInput]
) -> list[dict[str, Any]] | None:
    """A run of new tickets (_new_tickets) written under one savepoint in one flush: one
    multi-row INSERT each for the tickets, their events and their change-log rows, the
    session hooks once for the run and the run's numbers in one statement, instead of a
    savepoint, a number, a flush and the hooks per ticket (~2 ms of Python each). Each ticket
    is checked and made by the very handler _one runs, in batch order (its number the one it
    would have drawn). None when any of them is refused or the
    flush fails: the savepoint is rolled back with everything the run did (its numbers too),
    and the run goes one mutation at a time through _one, which answers each refusal, so the
    outcomes and the log are what they would have been."""
    return await _write_together(session, caller, run, CREATE)


# What a ticket edit in a run may send: details only (lifecycle.update_ticket, which changes
# nothing but the ticket and adds nothing but its event), and the fields the server ignores.
_DETAILS = frozenset(lifecycle.EDITABLE_FIELDS) | SERVER_OWNED


def _ticket_edits(
    mutations: list[MutationInput],
    start: int,
    caller: Caller,
    answered: tuple[dict[str, Any], ...],
    rejected_creates: set[str],
) -> list[MutationInput]:
    """The run (_run_of) of ticket edits that _edit_together may write at once: each an
    UPDATE of details only (a dispatch or a status move may open savepoints and touch other
    records: _one) with its baseVersion (the base of an edit without one is looked up: _one),
    of a ticket whose CREATE was not rejected. Never two edits of one ticket: each edit's
    merge check and outcome see the ticket as the edits before it in the batch left it."""

    def fits(raw: MutationInput, record_id: uuid.UUID) -> bool:
        return (
            raw.op == UPDATE
            and bool(raw.fields)
            and raw.fields.keys() <= _DETAILS
            and type(raw.base_version) is int
            and not {str(raw.id), str(record_id)} & rejected_creates
        )

    return _run_of(mutations, start, caller, answered, fits)


async def _edit_together(
    session: AsyncSession, caller: Caller, run: list[MutationInput]
) -> list[dict[str, Any]] | None:
    """A run of ticket edits (_ticket_edits) written under one savepoint in one flush: the
    UPDATEs, their events and their change-log rows (in batch order: sync.changelog
    LOG_ORDER) together, the session hooks once, instead of a savepoint, a flush and the hooks
    per edit. Each edit is checked and merged by the very handler _one runs, in batch order;
    an edit kept as conflicts (CONFLICT) is an outcome like any other, stored in the same
    savepoint as _one would store it. None when any of them is refused or the flush fails:
    the savepoint is rolled back and the run goes one mutation at a time through _one."""
    return await _write_together(session, caller, run, UPDATE)


def _places(run: list[MutationInput]) -> Callable[[Any], int]:
    """Which mutation of the run wrote a record (sync.changelog.LOG_ORDER): the one about it,
    or, for a conflict kept, the one about the record it is kept for."""
    places = {uuid.UUID(str(raw.id)): place for place, raw in enumerate(run)}
    last = len(run)

    def place(record: Any) -> int:
        found = places.get(record.id)
        return found if found is not None else places.get(getattr(record, "record_id", None), last)

    return place


async def _write_together(
    session: AsyncSession, caller: Caller, run: list[MutationInput], op: str
) -> list[dict[str, Any]] | None:
    handler = handler_for(Ticket.sync_collection, op)
    made: list[Outcome] = []
    session.info[ORIGIN] = caller.origin.client_id
    session.info[LOG_ORDER] = _places(run)
    numbers: Any = (
        reserve_numbers(session, caller.now, len(run)) if op == CREATE else contextlib.nullcontext()
    )
    try:
        async with session.begin_nested():
            with session.no_autoflush:  # the run's writes wait for its one flush
                async with numbers:
                    for raw in run:
                        mutation = _parse(raw)
                        mutation.new_id = op == CREATE
                        mutation.together = True
                        made.append(await handler(session, _caller_of(caller, raw), mutation))
            await session.flush()
    except (DomainError, IntegrityError):
        return None
    finally:
        session.info.pop(ORIGIN, None)
        session.info.pop(LOG_ORDER, None)
    return [_outcome(raw.mutation_id, outcome) for raw, outcome in zip(run, made, strict=True)]


# Ids a client may choose for a new record: random ones (UUID version 4, or 7).
_NEW_ID_VERSIONS = frozenset({4, 7})


def _unusable_id() -> DomainError:
    return invalid(
        "id", _("this id cannot be used for a new record; create it with a new random id")
    )


async def _check_new_id(
    session: AsyncSession, caller: Caller, m: Mutation, *, known_absent: bool = False
) -> None:
    """A CREATE's id is new, or taken by a record the caller sees (then the handler answers
    DUPLICATE_ID). One taken by a record the caller may not see gets the very answer an id
    that cannot name a new record gets (not a random UUID): the answer never confirms that
    someone else's record exists."""
    model = BY_NAME[m.collection]
    existing = None if known_absent else await session.get(model, m.record_id)
    if existing is not None:
        keys = await current_keys(session, existing)
        if caller.scope.sees_keys(keys):
            return
        raise _unusable_id()
    if m.record_id.version not in _NEW_ID_VERSIONS:
        raise _unusable_id()


async def _with_current(
    session: AsyncSession, caller: Caller, raw: MutationInput, result: dict[str, Any]
) -> dict[str, Any]:
    """A refused edit or delete carries the record as the server holds it (when the caller
    may see it), so that the phone can put its copy back."""
    model = BY_NAME.get(raw.collection)
    if raw.op == CREATE or model is None:
        return result
    try:
        record = await session.get(model, uuid.UUID(str(raw.id)))
    except ValueError:
        return result
    if record is None or record.deleted:
        return result
    keys, data = (await current_views(session, [record]))[record.id]
    if caller.scope.sees_keys(keys):
        result["version"], result["data"] = record.version, data
    return result


async def push(
    sessions: async_sessionmaker[AsyncSession],
    *,
    scope: Scope,
    client_id: str,
    mutations: list[MutationInput],
    now: datetime | None = None,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> list[dict[str, Any]]:
    """One transaction per batch. When the same batch arrives twice at once (a retry while
    the first is still running), the second loses the race on the unique (clientId,
    mutationId) and is run again: it then finds and returns the first one's results. A batch
    the database chose as a deadlock victim (or serialization loser) is run again too."""
    for attempt in range(ATTEMPTS):
        last = attempt == ATTEMPTS - 1
        try:
            async with sessions() as session, session.begin():
                return await push_in(
                    session,
                    scope=scope,
                    client_id=client_id,
                    mutations=mutations,
                    now=now,
                    max_attachment_bytes=max_attachment_bytes,
                )
        except IntegrityError:
            if last:
                raise busy() from None
        except DBAPIError as error:
            if last or not _retryable(error):
                log.exception("sync push failed in the database")
                raise busy() from None
            await asyncio.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")


def busy() -> DomainError:
    return DomainError("SERVER_BUSY", _("the server could not store this batch now; push it again"))
