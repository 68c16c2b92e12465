"""What a pushed mutation does to each collection: the per-field merge rules (docs/sync-protocol.md
invariant 8) on top of the domain's own functions — one rule, two doors."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.attachments import service as attachments
from api.attachments.models import TicketAttachment
from api.auth.scope import Scope
from api.config import Settings
from api.errors import DomainError, forbidden, invalid, not_found
from api.i18n import _
from api.notifications.models import Notification
from api.records import SyncedRecord, utcnow
from api.row_locks import get_for_update
from api.stations.attendance import record_attendance
from api.stations.evaluations import submit_evaluation
from api.stations.models import Attendance, Evaluation, EvaluatorKind, StationActivity
from api.tickets import lifecycle
from api.tickets.models import Severity, Ticket, TicketSource
from api.tickets.models import TicketStatus as S
from api.times import parse_optional_time
from sync import conflicts as c
from sync import push_rules
from sync.collections import BY_NAME, current_keys, record_data
from sync.models import ChangeKey, ChangeRow, ConflictWinner, SyncConflict

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"
DEFAULT_MAX_ATTACHMENT_BYTES = Settings.max_attachment_bytes
# Fields only the server sets: a client may send them back unchanged; they are ignored.
SERVER_OWNED = frozenset(
    {"id", "version", "createdAt", "updatedAt", "deletedAt", "number", "tier", "authorId"}
)


@dataclass
class Mutation:
    mutation_id: str
    collection: str
    record_id: uuid.UUID
    op: str
    base_version: int | None
    fields: dict[str, Any]
    # A CREATE's id known to name no record (sync.push checks the whole batch's at once).
    new_id: bool = False
    # Written with the CREATEs (or details edits) next to it in one flush (sync.push: the
    # handler adds, the caller flushes the lot).
    together: bool = False


@dataclass
class Outcome:
    status: str  # APPLIED | MERGED | CONFLICT
    record: SyncedRecord | None
    conflicts: list[SyncConflict] = field(default_factory=list)


@dataclass(frozen=True)
class Caller:
    scope: Scope
    origin: c.Origin
    now: datetime
    # GRIDLINK_MAX_ATTACHMENT_BYTES: an attachment record larger than this is refused.
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES


Handler = Callable[[AsyncSession, Caller, Mutation], Awaitable[Outcome]]


# --- shared helpers -------------------------------------------------------------------------


def parse_uuid(value: Any, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        raise invalid(name, _("{name} must be a UUID", name=name)) from None


def optional_uuid(fields: dict[str, Any], name: str) -> uuid.UUID | None:
    """A field that may name a record: absent, null or empty names none."""
    return parse_uuid(fields[name], name) if fields.get(name) else None


def only_fields(fields: dict[str, Any], allowed: frozenset[str] | set[str]) -> dict[str, Any]:
    unknown = sorted(set(fields) - allowed - SERVER_OWNED)
    if unknown:
        raise invalid(unknown[0], _("{unknown} cannot be set through sync", unknown=unknown[0]))
    return {k: v for k, v in fields.items() if k in allowed}


def out_of_scope(field: str = "id", what: str | None = None) -> DomainError:
    # Never "forbidden": a record the caller may not see is answered as one that does not
    # exist, so that no answer tells the two apart (docs/api.md "Visibility").
    return not_found(field, what or _("the record"))


async def was_in_scope(session: AsyncSession, scope: Scope, record_id: uuid.UUID) -> bool:
    """Did the caller ever see this record (its change log carries one of the caller's keys)?"""
    found = await session.scalar(
        select(ChangeRow.seq)
        .join(ChangeKey, sa.and_(ChangeKey.seq == ChangeRow.seq, ChangeKey.txid == ChangeRow.txid))
        .where(ChangeRow.record_id == record_id, ChangeKey.key.in_(sorted(scope.keys())))
        .limit(1)
    )
    return found is not None


async def changed_since(
    session: AsyncSession, record: SyncedRecord, base_version: int, client_id: str
) -> set[str] | None:
    """camelCase fields changed on the server after `base_version` by anyone but this client
    (its own earlier mutations are no news to it); None when the log no longer tells
    (pruned): then every field counts as changed."""
    if base_version >= record.version:
        return set()
    rows = _prefetched(session, record, base_version)
    if rows is None:
        rows = (
            await session.execute(
                select(ChangeRow.version, ChangeRow.fields, ChangeRow.client_id).where(
                    ChangeRow.record_id == record.id, ChangeRow.version > base_version
                )
            )
        ).all()
    versions = {row.version for row in rows}
    if not set(range(base_version + 1, record.version + 1)) <= versions:
        return None
    return {name for row in rows if row.client_id != client_id for name in row.fields}


# session.info: the log rows prefetch_changes read, with the transaction they were read in.
_PREFETCHED = "sync_changes_prefetched"


async def prefetch_changes(
    session: AsyncSession, records: Sequence[tuple[SyncedRecord, int]]
) -> None:
    """The log rows changed_since will ask for, read for a whole batch in one statement:
    (record, baseVersion) of each edit whose base is behind the record (records locked by
    the caller, so that their log cannot grow meanwhile but by this transaction)."""
    behind = {r.id: (r, base) for r, base in records if 0 <= base < r.version}
    if not behind:
        return
    bases = sa.values(
        sa.column("id", sa.Uuid()), sa.column("base", sa.Integer()), name="bases"
    ).data([(record_id, base) for record_id, (_, base) in behind.items()])
    rows = (
        await session.execute(
            select(ChangeRow.record_id, ChangeRow.version, ChangeRow.fields, ChangeRow.client_id)
            .join(bases, sa.and_(ChangeRow.record_id == bases.c.id))
            .where(ChangeRow.version > bases.c.base)
        )
    ).all()
    found: dict[uuid.UUID, list[Any]] = {record_id: [] for record_id in behind}
    for row in rows:
        found[row.record_id].append(row)
    session.info[_PREFETCHED] = (
        session.sync_session.get_transaction(),
        {i: (r.version, base, found[i]) for i, (r, base) in behind.items()},
    )


def _prefetched(session: AsyncSession, record: SyncedRecord, base: int) -> list[Any] | None:
    """The prefetched rows after ``base``, while they are still the whole answer: the record
    has not changed since (same version) and the prefetch reached back as far."""
    read_in, by_record = session.info.get(_PREFETCHED, (None, {}))
    entry = by_record.get(record.id)
    if read_in is not session.sync_session.get_transaction() or entry is None:
        return None
    version, fetched_base, rows = entry
    if version != record.version or base < fetched_base:
        return None
    return [row for row in rows if row.version > base]


def _conflict(
    session: AsyncSession,
    caller: Caller,
    m: Mutation,
    record: SyncedRecord | None,
    name: str,
    client_value: Any,
    server_value: Any,
    rule: str,
    *,
    winner: ConflictWinner = ConflictWinner.SERVER,
    message: str = "",
) -> SyncConflict:
    return c.keep_conflict(
        session,
        origin=caller.origin,
        collection=m.collection,
        record_id=m.record_id,
        field=name,
        client_value=client_value,
        server_value=server_value,
        rule=rule,
        winner=winner,
        message=message,
        base_version=m.base_version,
        server_version=record.version if record is not None else None,
    )


def keep_all_as_conflicts(
    session: AsyncSession,
    caller: Caller,
    m: Mutation,
    record: SyncedRecord | None,
    rule: str,
    message: str,
    *,
    show_server: bool = True,
) -> Outcome:
    """Nothing applied; every value the client sent is kept (nothing is silently lost)."""
    server = _wire(record) if record is not None and show_server else {}
    fields = m.fields or {"deleted": True}
    if m.op == CREATE:
        # A new record is one value: kept whole, resolvable by creating it again.
        fields = {"record": m.fields}
    kept = [
        _conflict(session, caller, m, record, name, value, server.get(name), rule, message=message)
        for name, value in sorted(fields.items())
        if name not in SERVER_OWNED
    ]
    return Outcome("CONFLICT", record if show_server else None, kept)


def _wire(record: SyncedRecord) -> dict[str, Any]:
    return record_data(record)


def require_base(m: Mutation, record: SyncedRecord) -> int:
    if m.base_version is None:
        raise invalid("baseVersion", _("an update or delete needs the version it was made from"))
    if m.base_version > record.version or m.base_version < 1:
        raise invalid(
            "baseVersion",
            _("the server has version {version} of this record", version=record.version),
        )
    return m.base_version


async def reachable(
    session: AsyncSession, caller: Caller, m: Mutation, model: type[SyncedRecord]
) -> tuple[SyncedRecord | None, Outcome | None]:
    """The record an UPDATE or DELETE is about, or the outcome when it cannot be touched:
    deleted on the server or gone from the caller's scope (edits kept as conflicts), never
    visible or unknown (NOT_FOUND, one answer for both)."""
    record = await get_for_update(session, model, m.record_id)
    if record is None:
        raise out_of_scope()
    keys = await current_keys(session, record)
    if not caller.scope.sees_keys(keys):
        if await was_in_scope(session, caller.scope, record.id):
            message = "the record was moved out of your scope before your change reached the server"
            return record, keep_all_as_conflicts(
                session, caller, m, record, c.RULE_LEFT_SCOPE, message, show_server=False
            )
        raise out_of_scope()
    if record.deleted:
        if m.op == DELETE:
            return record, Outcome("APPLIED", record)
        message = "the record was deleted on the server"
        return record, keep_all_as_conflicts(session, caller, m, record, c.RULE_DELETED, message)
    require_base(m, record)
    return record, None


# --- tickets --------------------------------------------------------------------------------

TICKET_CREATE_FIELDS = push_rules.allowed("tickets", CREATE)
TICKET_UPDATE_FIELDS = push_rules.allowed("tickets", UPDATE)
DISPATCH_FIELDS = ("gridId", "assigneeId")


def _enum(kind: type, value: Any, name: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in kind)  # type: ignore[attr-defined]
        raise invalid(
            name, _("{name} must be one of {allowed}", name=name, allowed=allowed)
        ) from None


async def create_ticket(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    f = only_fields(m.fields, TICKET_CREATE_FIELDS)
    if "title" not in f or "source" not in f:
        raise invalid("title" if "title" not in f else "source", _("a new ticket needs it"))
    grid_id = optional_uuid(f, "gridId")
    enterprise_id = optional_uuid(f, "enterpriseId")
    # A grid the caller does not see answers NOT_FOUND, from the domain (as through GraphQL).
    status = _enum(S, f.get("status", S.REPORTED.value), "status")
    ticket = await lifecycle.create_ticket(
        session,
        scope=caller.scope,
        title=str(f["title"]),
        source=_enum(TicketSource, f["source"], "source"),
        grid_id=grid_id,
        enterprise_id=enterprise_id,
        description=str(f.get("description") or ""),
        category=str(f.get("category") or "OTHER"),
        severity=_enum(Severity, f.get("severity", "MEDIUM"), "severity"),
        reporter_name=f.get("reporterName"),
        reporter_phone=f.get("reporterPhone"),
        reported_at=parse_optional_time(f.get("reportedAt"), "reportedAt"),
        ticket_id=m.record_id,
        id_is_new=m.new_id,
        now=caller.now,
        flush=not m.together,
    )
    if status != S.REPORTED:
        # Made and taken offline: the move goes through the lifecycle like any other.
        ticket = await lifecycle.transition_ticket(
            session, scope=caller.scope, ticket_id=ticket.id, to_status=status, now=caller.now
        )
    return Outcome("APPLIED", ticket)


@dataclass
class _TicketPlan:
    clean: dict[str, Any]  # apply as sent
    contested: dict[str, Any]  # changed on both sides to different values
    server_moved: bool


async def update_ticket(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    record, early = await reachable(session, caller, m, Ticket)
    if early is not None:
        return early
    ticket: Ticket = record  # type: ignore[assignment]
    sent = only_fields(m.fields, TICKET_UPDATE_FIELDS)
    if any(name in sent for name in DISPATCH_FIELDS) and not lifecycle.can_dispatch_ticket(
        caller.scope, ticket
    ):
        name = next(n for n in DISPATCH_FIELDS if n in sent)
        if not (name == "assigneeId" and sent[name] == str(caller.scope.member_id)):
            raise forbidden(_("only town or county staff may dispatch tickets"), name)
    edits = sorted(name for name in sent if name in lifecycle.EDITABLE_FIELDS)
    if edits and not await lifecycle.may_edit_details(session, caller.scope, ticket):
        # Judged on the ticket as it is now, whether or not it changed since the phone's base.
        raise forbidden(
            _(
                "only the assignee, union staff, or whoever filed it while it is still REPORTED "
                "may edit this ticket"
            ),
            edits[0],
        )
    server_changed = await changed_since(
        session, ticket, m.base_version or 0, caller.origin.client_id
    )
    current = _wire(ticket)
    plan = _TicketPlan({}, {}, bool(server_changed) or server_changed is None)
    for name, value in sent.items():
        if current.get(name) == value:
            continue
        if server_changed is None or name in server_changed:
            plan.contested[name] = value
        else:
            plan.clean[name] = value
    if not plan.server_moved:
        # A refusal stands as it is: the mutation's own savepoint (sync.push) undoes it.
        return await _apply_ticket_plan(session, caller, m, ticket, plan, current)
    if {*plan.clean, *plan.contested} <= lifecycle.EDITABLE_FIELDS.keys():
        # Details only: lifecycle.update_ticket refuses an edit of a closed ticket before it
        # writes anything, so that refusal becomes conflicts without a savepoint of its own
        # (two round trips of every merged edit). Checked, not assumed: a refusal after a
        # write is rejected whole by the mutation's savepoint instead of half-kept.
        version = ticket.version
        try:
            return await _apply_ticket_plan(session, caller, m, ticket, plan, current)
        except DomainError as refused:
            unwritten = ticket.version == version and not session.new and not session.dirty
            if refused.code != "ILLEGAL_TRANSITION" or not unwritten:
                raise
            return keep_all_as_conflicts(
                session, caller, m, ticket, c.RULE_SERVER_CHANGED_FIRST, refused.message
            )
    try:
        async with session.begin_nested():
            return await _apply_ticket_plan(session, caller, m, ticket, plan, current)
    except DomainError as refused:
        if refused.code == "ILLEGAL_TRANSITION":
            # Possible from the version the phone saw, impossible after a server change
            # (closed meanwhile): the phone's values are kept, not dropped. Who may edit is
            # not such a case: it is judged on the record as it is now, changed or not
            # (the table in docs/sync-protocol.md).
            await session.refresh(ticket)
            return keep_all_as_conflicts(
                session, caller, m, ticket, c.RULE_SERVER_CHANGED_FIRST, refused.message
            )
        raise


async def _apply_ticket_plan(
    session: AsyncSession,
    caller: Caller,
    m: Mutation,
    ticket: Ticket,
    plan: _TicketPlan,
    current: dict[str, Any],
) -> Outcome:
    scope, now = caller.scope, caller.now
    kept: list[SyncConflict] = []
    clean, contested = plan.clean, plan.contested
    if "gridId" in clean:
        ticket = await lifecycle.reassign_to_grid(
            session,
            scope=scope,
            ticket_id=ticket.id,
            grid_id=parse_uuid(clean["gridId"], "gridId"),
            now=now,
        )
    if "assigneeId" in clean:
        if clean["assigneeId"] is None:
            raise invalid("assigneeId", _("a ticket is handed over, not unassigned"))
        ticket = await lifecycle.assign_ticket(
            session,
            scope=scope,
            ticket_id=ticket.id,
            assignee_id=parse_uuid(clean["assigneeId"], "assigneeId"),
            now=now,
        )
    edits = {k: v for k, v in clean.items() if k in lifecycle.EDITABLE_FIELDS}
    if edits:
        # Written with the run's one flush (sync.push), unless a contested field follows: its
        # conflict names the version the edit made, and its log row comes after the edit's.
        ticket = await lifecycle.update_ticket(
            session,
            scope=scope,
            ticket_id=ticket.id,
            changes=edits,
            now=now,
            flush=not m.together or bool(contested),
        )
    note = clean.get("resolutionNote", contested.get("resolutionNote"))
    if "status" in clean and ticket.status.value != clean["status"]:
        ticket = await lifecycle.transition_ticket(
            session,
            scope=scope,
            ticket_id=ticket.id,
            to_status=_enum(S, clean["status"], "status"),
            resolution_note=note,
            now=now,
        )
    elif note is not None and "status" not in contested:
        raise invalid(
            "resolutionNote", _("send the resolution note with the status move it explains")
        )
    for name, value in sorted(contested.items()):
        server_value = current.get(name)
        if name == "status":
            kept.append(await _contested_status(session, caller, m, ticket, value, note))
            ticket = await session.get(Ticket, ticket.id) or ticket
            continue
        rule = c.RULE_DISPATCH if name in DISPATCH_FIELDS else c.RULE_SERVER_WINS
        kept.append(_conflict(session, caller, m, ticket, name, value, server_value, rule))
    status = "CONFLICT" if kept else ("MERGED" if plan.server_moved else "APPLIED")
    if not m.together:
        await session.flush()
    return Outcome(status, ticket, kept)


async def _contested_status(
    session: AsyncSession,
    caller: Caller,
    m: Mutation,
    ticket: Ticket,
    value: Any,
    note: str | None,
) -> SyncConflict:
    """Both sides moved the status: the move further along the lifecycle wins, if the
    lifecycle allows it from where the server is; the other value is kept as a conflict."""
    wanted = _enum(S, value, "status")
    server_status = ticket.status

    def kept(
        rule: str, message: str, winner: ConflictWinner = ConflictWinner.SERVER
    ) -> SyncConflict:
        # Whichever side wins, the two statuses are kept side by side as one conflict.
        return _conflict(
            session,
            caller,
            m,
            ticket,
            "status",
            wanted.value,
            server_status.value,
            rule,
            winner=winner,
            message=message,
        )

    if lifecycle.STATUS_ORDER[wanted] > lifecycle.STATUS_ORDER[server_status]:
        try:
            lifecycle.check_transition(ticket, wanted, caller.scope, resolution_note=note)
        except DomainError as refused:
            if refused.code == "FORBIDDEN":
                raise  # who may move it is one rule, changed meanwhile or not
            return kept(c.RULE_STATUS_LIFECYCLE, refused.message)
        await lifecycle.transition_ticket(
            session,
            scope=caller.scope,
            ticket_id=ticket.id,
            to_status=wanted,
            resolution_note=note,
            now=caller.now,
        )
        return kept(
            c.RULE_STATUS_FURTHER_ALONG,
            _(
                "{wanted} is further along than {server_status}",
                wanted=wanted,
                server_status=server_status,
            ),
            winner=ConflictWinner.CLIENT,
        )
    return kept(
        c.RULE_STATUS_FURTHER_ALONG,
        _("the server's {server_status} is at least as far along", server_status=server_status),
    )


async def delete_ticket(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    record, early = await reachable(session, caller, m, Ticket)
    if early is not None:
        return early
    ticket: Ticket = record  # type: ignore[assignment]
    if await changed_since(session, ticket, m.base_version or 0, caller.origin.client_id):
        message = "the ticket was changed on the server after you deleted it; it is kept"
        return keep_all_as_conflicts(session, caller, m, ticket, c.RULE_DELETE_OF_CHANGED, message)
    ticket = await lifecycle.delete_ticket(
        session, scope=caller.scope, ticket=ticket, now=caller.now
    )
    return Outcome("APPLIED", ticket)


# --- comments, attendances: append-only -----------------------------------------------------


async def ticket_left_scope(
    session: AsyncSession, caller: Caller, m: Mutation, ticket_id: uuid.UUID, what: str
) -> Outcome | None:
    """A record hung on a ticket (comment, attachment) arriving after its ticket left the
    caller's scope: kept whole as a LEFT_SCOPE conflict. None when the ticket is in scope;
    NOT_FOUND or FORBIDDEN when the caller never saw it."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise out_of_scope("ticketId", _("the ticket"))
    if caller.scope.sees(ticket):
        return None
    if await was_in_scope(session, caller.scope, ticket_id):
        message = f"the ticket was moved out of your scope before your {what} reached the server"
        return keep_all_as_conflicts(
            session, caller, m, None, c.RULE_LEFT_SCOPE, message, show_server=False
        )
    raise out_of_scope("ticketId", _("the ticket"))


async def create_comment(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    f = only_fields(m.fields, push_rules.allowed("ticketComments", CREATE))
    ticket_id = parse_uuid(f.get("ticketId"), "ticketId")
    if (gone := await ticket_left_scope(session, caller, m, ticket_id, "comment")) is not None:
        return gone
    comment = await lifecycle.add_comment(
        session,
        scope=caller.scope,
        ticket_id=ticket_id,
        body=str(f.get("body") or ""),
        occurred_at=parse_optional_time(f.get("occurredAt"), "occurredAt"),
        comment_id=m.record_id,
        now=caller.now,
    )
    return Outcome("APPLIED", comment)


async def create_attendance(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    f = only_fields(m.fields, push_rules.allowed("attendances", CREATE))
    activity_id = parse_uuid(f.get("activityId"), "activityId")
    activity = await session.get(StationActivity, activity_id)
    if activity is None or activity.deleted or not caller.scope.sees(activity):
        raise out_of_scope("activityId", _("the activity"))
    if await session.get(Attendance, m.record_id) is not None:
        raise DomainError("DUPLICATE_ID", _("a sign-in with this id already exists"), "id")
    attendance = await record_attendance(
        session,
        scope=caller.scope,
        activity_id=activity_id,
        member_id=optional_uuid(f, "memberId"),
        attendee_name=f.get("attendeeName"),
        enterprise_id=optional_uuid(f, "enterpriseId"),
        signed_in_at=parse_optional_time(f.get("signedInAt"), "signedInAt"),
        attendance_id=m.record_id,
        now=caller.now,
    )
    return Outcome("APPLIED", attendance)


async def create_evaluation(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    f = only_fields(m.fields, push_rules.allowed("evaluations", CREATE))
    if await session.get(Evaluation, m.record_id) is not None:
        raise DomainError("DUPLICATE_ID", _("an evaluation with this id already exists"), "id")
    scores = f.get("scores") or {}
    if not isinstance(scores, dict):
        raise invalid("scores", _("scores are an object of criterion and points"))
    evaluation = await submit_evaluation(
        session,
        scope=caller.scope,
        chair_id=parse_uuid(f.get("chairId"), "chairId"),
        evaluator_kind=_enum(EvaluatorKind, f.get("evaluatorKind"), "evaluatorKind"),
        period=str(f.get("period") or ""),
        scores=scores,
        station_id=optional_uuid(f, "stationId"),
        comment=f.get("comment"),
        evaluation_id=m.record_id,
        now=caller.now,
    )
    return Outcome("APPLIED", evaluation)


# --- attachments: the record only; the bytes come by upload (api/attachments) --------------


async def create_attachment(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    f = only_fields(m.fields, push_rules.allowed("ticketAttachments", CREATE))
    ticket_id = parse_uuid(f.get("ticketId"), "ticketId")
    if (gone := await ticket_left_scope(session, caller, m, ticket_id, "photo")) is not None:
        return gone
    attachment = await attachments.create_attachment(
        session,
        scope=caller.scope,
        attachment_id=m.record_id,
        new=attachments.NewAttachment(
            ticket_id=ticket_id,
            kind=str(f.get("kind") or ""),
            content_type=str(f.get("contentType") or ""),
            byte_size=f.get("byteSize"),
            sha256=f.get("sha256"),
            width=f.get("width"),
            height=f.get("height"),
            caption=f.get("caption"),
            taken_at=parse_optional_time(f.get("takenAt"), "takenAt"),
            latitude=f.get("latitude"),
            longitude=f.get("longitude"),
        ),
        max_bytes=caller.max_attachment_bytes,
        now=caller.now,
    )
    return Outcome("APPLIED", attachment)


async def update_attachment(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    record, early = await reachable(session, caller, m, TicketAttachment)
    if early is not None:
        return early
    f = only_fields(m.fields, push_rules.allowed("ticketAttachments", UPDATE))
    attachment = await attachments.update_caption(
        session, scope=caller.scope, attachment_id=record.id, caption=f.get("caption")
    )
    return Outcome("APPLIED", attachment)


async def delete_attachment(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    record, early = await reachable(session, caller, m, TicketAttachment)
    if early is not None:
        return early
    attachment = await attachments.delete_attachment(
        session, scope=caller.scope, attachment_id=record.id, now=caller.now
    )
    return Outcome("APPLIED", attachment)


# --- notifications: only "read" -------------------------------------------------------------


async def update_notification(session: AsyncSession, caller: Caller, m: Mutation) -> Outcome:
    record, early = await reachable(session, caller, m, Notification)
    if early is not None:
        return early
    notification: Notification = record  # type: ignore[assignment]
    f = only_fields(m.fields, push_rules.allowed("notifications", UPDATE))
    if notification.recipient_id != caller.scope.member_id:
        raise forbidden(_("only the recipient marks a notification read"), "readAt")
    read_at = parse_optional_time(f.get("readAt"), "readAt")
    if read_at is None:
        raise invalid("readAt", _("give the time it was read"))
    if notification.read_at is None:
        notification.read_at = read_at
        await session.flush()
        return Outcome("APPLIED", notification)
    # Read on two devices: the first time stands; the same fact, so not a conflict.
    return Outcome("MERGED", notification)


def _refusal(collection: str) -> DomainError:
    """Why a push with no handler for its op is refused: append-only records are never changed
    once written; the other collections are not written through sync at all."""
    if push_rules.append_only(collection):
        return DomainError(
            "APPEND_ONLY",
            _(
                "{collection} are never changed or deleted once written; add a new one instead",
                collection=collection,
            ),
            "op",
        )
    return DomainError(
        "READ_ONLY_COLLECTION",
        _(
            "{collection} cannot be changed through sync; use the GraphQL API",
            collection=collection,
        ),
        "collection",
    )


def _refusing(collection: str) -> Handler:
    # The refusal is made when the mutation runs, in the pushing caller's language.
    async def refuse(_session: AsyncSession, _caller: Caller, _m: Mutation) -> Outcome:
        raise _refusal(collection)

    return refuse


HANDLERS: dict[tuple[str, str], Handler] = {
    ("tickets", CREATE): create_ticket,
    ("tickets", UPDATE): update_ticket,
    ("tickets", DELETE): delete_ticket,
    ("ticketComments", CREATE): create_comment,
    ("ticketAttachments", CREATE): create_attachment,
    ("ticketAttachments", UPDATE): update_attachment,
    ("ticketAttachments", DELETE): delete_attachment,
    ("attendances", CREATE): create_attendance,
    ("evaluations", CREATE): create_evaluation,
    ("notifications", UPDATE): update_notification,
}


def handler_for(collection: str, op: str) -> Handler:
    if collection not in BY_NAME:
        known = ", ".join(sorted(BY_NAME))
        raise DomainError(
            "UNKNOWN_COLLECTION",
            _(
                "unknown collection {collection!r}; known: {known}",
                collection=collection,
                known=known,
            ),
            "collection",
        )
    if (collection, op) in HANDLERS:
        return HANDLERS[(collection, op)]
    return _refusing(collection)


__all__ = ["CREATE", "DELETE", "UPDATE", "Caller", "Mutation", "Outcome", "handler_for", "utcnow"]
