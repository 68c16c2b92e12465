"""Risk levels from the database: computed live for GraphQL, stored by the timed job so that a
rise to ORANGE or RED notifies the grid's liaisons and the town staff once."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.enterprises.models import Enterprise
from api.grids.models import Grid, GridKind
from api.grids.service import descendants, grid_tree, town_of
from api.i18n import _
from api.members.models import Role
from api.members.service import members_serving, members_with_role
from api.notifications.models import NotificationKind
from api.notifications.service import notify
from api.records import utcnow
from api.rules.risk import risk_rules_in_force
from api.tickets.models import OPEN_STATUSES, Ticket
from api.warnings.models import RiskLevel, RiskLevelRecord, RiskSubject
from api.warnings.rules import (
    DEFAULT_RULES,
    GREEN,
    RiskAssessment,
    RiskReason,
    RiskRules,
    TicketFacts,
    assess,
    with_worst_enterprise,
)

CHUNK = 500
_FACT_COLUMNS = (
    Ticket.id,
    Ticket.enterprise_id,
    Ticket.grid_id,
    Ticket.source,
    Ticket.severity,
    Ticket.category,
    Ticket.status,
    Ticket.tier,
    Ticket.assignee_id,
    Ticket.first_response_due_at,
    Ticket.resolution_due_at,
    Ticket.paused_seconds,
    Ticket.reported_at,
)


@dataclass(frozen=True)
class EnterpriseRisk:
    enterprise_id: uuid.UUID
    name: str
    grid_id: uuid.UUID
    assessment: RiskAssessment


def _chunks(ids: Iterable[uuid.UUID]) -> list[list[uuid.UUID]]:
    items = list(dict.fromkeys(ids))
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


async def _facts(
    session: AsyncSession, now: datetime, rules: RiskRules, *, column=None, ids=None
) -> list[TicketFacts]:
    """Open tickets and tickets reported inside the longest window (optionally only those whose
    ``column`` is in ``ids``)."""
    base = select(*_FACT_COLUMNS).where(
        Ticket.deleted_at.is_(None),
        or_(Ticket.status.in_(OPEN_STATUSES), Ticket.reported_at > now - rules.longest_window),
    )
    if column is None:
        return [TicketFacts(*row) for row in await session.execute(base)]
    facts: list[TicketFacts] = []
    for chunk in _chunks(ids or ()):
        rows = await session.execute(base.where(column.in_(chunk)))
        facts.extend(TicketFacts(*row) for row in rows)
    return facts


async def _names(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    names: dict[uuid.UUID, str] = {}
    for chunk in _chunks(ids):
        rows = await session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(chunk))
        )
        names.update({row.id: row.name for row in rows})
    return names


# --- live levels (what GraphQL shows) -----------------------------------------------------


async def risk_for_enterprises(
    session: AsyncSession,
    enterprise_ids: Collection[uuid.UUID],
    now: datetime | None = None,
    *,
    rules: RiskRules = DEFAULT_RULES,
) -> dict[uuid.UUID, RiskAssessment]:
    """Each enterprise's level and reasons (GREEN with no reasons when nothing counts)."""
    now = now or utcnow()
    facts = await _facts(session, now, rules, column=Ticket.enterprise_id, ids=enterprise_ids)
    grouped: dict[uuid.UUID, list[TicketFacts]] = {}
    for fact in facts:
        grouped.setdefault(fact.enterprise_id, []).append(fact)  # type: ignore[arg-type]
    return {
        eid: assess(grouped[eid], now, rules) if eid in grouped else GREEN for eid in enterprise_ids
    }


async def risk_for_enterprise(
    session: AsyncSession,
    enterprise_id: uuid.UUID,
    now: datetime | None = None,
    *,
    rules: RiskRules = DEFAULT_RULES,
) -> RiskAssessment:
    return (await risk_for_enterprises(session, [enterprise_id], now, rules=rules))[enterprise_id]


async def risk_for_grids(
    session: AsyncSession,
    grid_ids: Collection[uuid.UUID],
    now: datetime | None = None,
    *,
    rules: RiskRules = DEFAULT_RULES,
) -> dict[uuid.UUID, RiskAssessment]:
    """Each grid's level over its own and its sub-grids' tickets, at least as high as its
    riskiest enterprise."""
    now = now or utcnow()
    tree = await grid_tree(session)
    wanted = set(grid_ids)
    facts = await _facts(
        session, now, rules, column=Ticket.grid_id, ids=descendants(tree, set(wanted))
    )
    per_grid: dict[uuid.UUID, list[TicketFacts]] = {g: [] for g in wanted}
    for fact in facts:
        node: uuid.UUID | None = fact.grid_id
        while node is not None:  # a ticket counts in its grid and every grid above it
            if node in per_grid:
                per_grid[node].append(fact)
            node = tree.get(node)
    enterprise_ids = {f.enterprise_id for f in facts if f.enterprise_id is not None}
    names = await _names(session, enterprise_ids)
    enterprises = await risk_for_enterprises(session, enterprise_ids, now, rules=rules)
    result: dict[uuid.UUID, RiskAssessment] = {}
    for grid_id, grid_facts in per_grid.items():
        own = assess(
            grid_facts, now, rules, thresholds=rules.grid_thresholds, enterprise_names=names
        )
        members = {f.enterprise_id for f in grid_facts if f.enterprise_id is not None}
        worst = max(
            ((names.get(e, "an enterprise"), enterprises[e]) for e in members),
            key=lambda pair: (pair[1].level.rank, pair[1].score),
            default=None,
        )
        result[grid_id] = with_worst_enterprise(own, worst)
    return result


async def risk_for_grid(
    session: AsyncSession,
    grid_id: uuid.UUID,
    now: datetime | None = None,
    *,
    rules: RiskRules = DEFAULT_RULES,
) -> RiskAssessment:
    return (await risk_for_grids(session, [grid_id], now, rules=rules))[grid_id]


async def riskiest_enterprises(
    session: AsyncSession,
    grid_ids: Collection[uuid.UUID] | None,
    limit: int = 10,
    now: datetime | None = None,
    *,
    rules: RiskRules = DEFAULT_RULES,
) -> list[EnterpriseRisk]:
    """The enterprises of these grids (None: the whole county) with the highest levels, then
    points; enterprises with no points at all are left out."""
    now = now or utcnow()
    statement = select(Enterprise.id, Enterprise.name, Enterprise.grid_id).where(
        Enterprise.deleted_at.is_(None)
    )
    if grid_ids is not None:
        if not grid_ids:
            return []
        statement = statement.where(
            or_(Enterprise.grid_id.in_(list(grid_ids)), Enterprise.town_id.in_(list(grid_ids)))
        )
    enterprises = {row.id: row for row in await session.execute(statement)}
    with_tickets = {
        f.enterprise_id
        for f in await _facts(
            session, now, rules, column=Ticket.enterprise_id, ids=enterprises.keys()
        )
    }
    levels = await risk_for_enterprises(session, with_tickets, now, rules=rules)
    ranked = sorted(
        (
            EnterpriseRisk(eid, enterprises[eid].name, enterprises[eid].grid_id, a)
            for eid, a in levels.items()
            if a.score > 0 or a.level != RiskLevel.GREEN
        ),
        key=lambda r: (-r.assessment.level.rank, -r.assessment.score, r.name),
    )
    return ranked[: max(0, limit)]


async def stored_risk_levels(
    session: AsyncSession, subject_kind: RiskSubject, subject_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, RiskLevelRecord]:
    """The levels the timed job last stored, for long lists (one query per 500 ids)."""
    found: dict[uuid.UUID, RiskLevelRecord] = {}
    for chunk in _chunks(subject_ids):
        rows = await session.scalars(
            select(RiskLevelRecord).where(
                RiskLevelRecord.subject_kind == subject_kind,
                RiskLevelRecord.subject_id.in_(chunk),
            )
        )
        found.update({row.subject_id: row for row in rows})
    return found


# --- stored levels and the notification on a rise ------------------------------------------


async def _stored_rows(
    session: AsyncSession, subject_kind: RiskSubject, subject_ids: Collection[uuid.UUID] | None
) -> dict[uuid.UUID, Row]:
    """(level, score, reasons) as stored, by subject (all of the kind when ids is None)."""
    statement = select(
        RiskLevelRecord.subject_id,
        RiskLevelRecord.level,
        RiskLevelRecord.score,
        RiskLevelRecord.reasons,
    ).where(RiskLevelRecord.subject_kind == subject_kind)
    if subject_ids is not None:
        statement = statement.where(RiskLevelRecord.subject_id.in_(list(subject_ids)))
    return {row.subject_id: row for row in await session.execute(statement)}


async def store_risk(
    session: AsyncSession,
    *,
    subject_kind: RiskSubject,
    subject_id: uuid.UUID,
    assessment: RiskAssessment,
    now: datetime,
    rules: RiskRules = DEFAULT_RULES,
    stored: dict[uuid.UUID, Row] | None = None,
) -> bool:
    """Store a computed level; True when the stored level changed. A rise to ``notify_at`` or
    above notifies, once: the row is written only from the level it was read at (or inserted
    only if absent), so of two workers storing the same rise only one changes anything.
    ``stored`` is what _stored_rows read for many subjects at once (the timed job)."""
    if stored is None:
        stored = await _stored_rows(session, subject_kind, [subject_id])
    current = stored.get(subject_id)
    new = assessment.level
    old = current.level if current is not None else RiskLevel.GREEN
    rose = new.rank > old.rank
    values = {
        "level": new,
        "score": assessment.score,
        "reasons": assessment.reasons_json(),
        "computed_at": now,
    }
    if rose:
        values["raised_at"] = now
    if current is None:
        if new == RiskLevel.GREEN and assessment.score == 0:
            return False  # nothing to remember: no row means GREEN
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        written = await session.scalar(
            insert(RiskLevelRecord)
            .values(id=uuid.uuid4(), subject_kind=subject_kind, subject_id=subject_id, **values)
            .on_conflict_do_nothing()
            .returning(RiskLevelRecord.id)
        )
        changed = written is not None
    else:
        if (current.level, current.score, current.reasons) == (
            new,
            assessment.score,
            values["reasons"],
        ):
            return False
        result = await session.execute(
            update(RiskLevelRecord)
            .where(
                RiskLevelRecord.subject_kind == subject_kind,
                RiskLevelRecord.subject_id == subject_id,
                RiskLevelRecord.level == old,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed = result.rowcount == 1
    if changed and rose and new.rank >= rules.notify_at.rank:
        await _notify_rise(session, subject_kind, subject_id, assessment, now)
    return changed and new != old


async def risk_recipients(
    session: AsyncSession, subject_kind: RiskSubject, subject_id: uuid.UUID
) -> tuple[str, uuid.UUID | None, uuid.UUID | None, list[uuid.UUID]]:
    """(name, enterprise id, grid id, people): the grid's liaisons and its town's staff; for a
    town, its staff; for the county, the county staff."""
    if subject_kind == RiskSubject.ENTERPRISE:
        enterprise = await session.get(Enterprise, subject_id)
        if enterprise is None:
            return ("", None, None, [])
        people = await members_serving(session, [enterprise.grid_id], {Role.LIAISON})
        people += await members_serving(session, [enterprise.town_id], {Role.TOWN_STAFF})
        return (enterprise.name, enterprise.id, enterprise.grid_id, list(dict.fromkeys(people)))
    grid = await session.get(Grid, subject_id)
    if grid is None:
        return ("", None, None, [])
    if grid.kind == GridKind.COUNTY:
        people = await members_with_role(session, Role.COUNTY_STAFF)
    else:
        people = await members_serving(session, [grid.id], {Role.LIAISON})
        people += await members_serving(session, [town_of(grid)], {Role.TOWN_STAFF})
    return (grid.name, None, grid.id, list(dict.fromkeys(people)))


async def _notify_rise(
    session: AsyncSession,
    subject_kind: RiskSubject,
    subject_id: uuid.UUID,
    assessment: RiskAssessment,
    now: datetime,
) -> None:
    name, enterprise_id, grid_id, people = await risk_recipients(session, subject_kind, subject_id)
    body = "; ".join(r.text for r in assessment.reasons)
    for recipient in people:
        await notify(
            session,
            recipient_id=recipient,
            kind=NotificationKind.RISK_RAISED,
            title=_("{name} is now {level}", name=name, level=assessment.level),
            body=body,
            enterprise_id=enterprise_id,
            grid_id=grid_id,
            dedup_key=f"risk:{subject_id}:{assessment.level.value}:{now.isoformat()}:{recipient}",
        )


async def refresh_risk_after_change(
    session: AsyncSession,
    *,
    enterprise_id: uuid.UUID | None = None,
    grid_id: uuid.UUID | None = None,
    now: datetime | None = None,
    rules: RiskRules = DEFAULT_RULES,
) -> dict[uuid.UUID, RiskAssessment]:
    """Recompute and store one enterprise and the grid chain above a ticket's grid, in the
    caller's transaction (GraphQL calls it after a ticket changes). Returns what it computed."""
    now = now or utcnow()
    computed: dict[uuid.UUID, RiskAssessment] = {}
    if enterprise_id is not None:
        assessment = await risk_for_enterprise(session, enterprise_id, now, rules=rules)
        await store_risk(
            session,
            subject_kind=RiskSubject.ENTERPRISE,
            subject_id=enterprise_id,
            assessment=assessment,
            now=now,
            rules=rules,
        )
        computed[enterprise_id] = assessment
    if grid_id is not None:
        tree = await grid_tree(session)
        chain: list[uuid.UUID] = []
        node: uuid.UUID | None = grid_id
        while node is not None and node not in chain:
            chain.append(node)
            node = tree.get(node)
        for gid, assessment in (await risk_for_grids(session, chain, now, rules=rules)).items():
            await store_risk(
                session,
                subject_kind=RiskSubject.GRID,
                subject_id=gid,
                assessment=assessment,
                now=now,
                rules=rules,
            )
            computed[gid] = assessment
    return computed


async def refresh_all_risk_levels(
    session: AsyncSession, *, now: datetime | None = None, rules: RiskRules = DEFAULT_RULES
) -> int:
    """Recompute every enterprise with something that counts (or a stored level above GREEN)
    and every grid; store them; returns how many stored levels changed."""
    now = now or utcnow()
    active = {f.enterprise_id for f in await _facts(session, now, rules) if f.enterprise_id}
    stored = await session.execute(
        select(RiskLevelRecord.subject_kind, RiskLevelRecord.subject_id).where(
            RiskLevelRecord.level != RiskLevel.GREEN
        )
    )
    stored_enterprises = {sid for kind, sid in stored if kind == RiskSubject.ENTERPRISE}
    enterprises = await risk_for_enterprises(
        session, sorted(active | stored_enterprises), now, rules=rules
    )
    grid_ids = sorted((await grid_tree(session)).keys())
    grids = await risk_for_grids(session, grid_ids, now, rules=rules)
    changed = 0
    # Sorted ids: two workers lock rows in the same order, so they cannot deadlock.
    for kind, levels in ((RiskSubject.ENTERPRISE, enterprises), (RiskSubject.GRID, grids)):
        stored = await _stored_rows(session, kind, None)
        for subject_id in sorted(levels):
            changed += await store_risk(
                session,
                subject_kind=kind,
                subject_id=subject_id,
                assessment=levels[subject_id],
                now=now,
                rules=rules,
                stored=stored,
            )
    return changed


async def refresh_risk_levels(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime | None = None,
    *,
    rules: RiskRules | None = None,
    fallback: RiskRules = DEFAULT_RULES,
) -> int:
    """The timed job: every level recomputed and stored in one transaction, by ``rules`` or
    else by the rules in force (api/rules/risk.py; ``fallback`` before any version exists)."""
    async with sessions() as session, session.begin():
        rules = rules or await risk_rules_in_force(session, fallback)
        return await refresh_all_risk_levels(session, now=now, rules=rules)


__all__ = [
    "EnterpriseRisk",
    "RiskAssessment",
    "RiskReason",
    "refresh_all_risk_levels",
    "refresh_risk_after_change",
    "refresh_risk_levels",
    "risk_for_enterprise",
    "risk_for_enterprises",
    "risk_for_grid",
    "risk_for_grids",
    "riskiest_enterprises",
    "store_risk",
    "stored_risk_levels",
]
