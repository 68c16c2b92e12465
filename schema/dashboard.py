"""dashboard(gridId): the figures of a grid, a town or the county (api.dashboard)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.dashboard.service import Dashboard, dashboard
from api.errors import DomainError
from api.i18n import _
from api.rules.risk import risk_rules_in_force
from api.times import optional_with_offset
from api.warnings.service import riskiest_enterprises
from schema.context import Info
from schema.enums import EvaluatorKind, Severity, TicketStatus
from schema.errors import query_error
from schema.grids import GridType
from schema.ids import parse_id
from schema.mutations import reload
from schema.warnings import RiskType, to_risk

if TYPE_CHECKING:
    from schema.enterprises import EnterpriseType
    from schema.members import MemberType


@strawberry.type(description="How many open tickets are in one status.")
class StatusCount:
    status: TicketStatus
    count: int


@strawberry.type(description="How many open tickets are of one severity.")
class SeverityCount:
    severity: Severity
    count: int


@strawberry.type(description="How one kind of evaluator rates a chair.")
class ChairStanding:
    chair_id: strawberry.Private[uuid.UUID]
    evaluator_kind: EvaluatorKind
    evaluations: int
    average_total: float

    @strawberry.field
    async def chair(
        self, info: Info
    ) -> Annotated[MemberType, strawberry.lazy("schema.members")] | None:
        return await reload(info, "Member", self.chair_id)


@strawberry.type(description="An enterprise among the riskiest of a dashboard's grids.")
class EnterpriseRisk:
    enterprise_id: strawberry.Private[uuid.UUID]
    risk: RiskType

    @strawberry.field
    async def enterprise(
        self, info: Info
    ) -> Annotated[EnterpriseType, strawberry.lazy("schema.enterprises")] | None:
        return await reload(info, "Enterprise", self.enterprise_id)


@strawberry.type(description="The figures of a grid and every grid below it, as you may see.")
class DashboardType:
    board: strawberry.Private[Dashboard]
    open_by_status: list[StatusCount]
    open_by_severity: list[SeverityCount]
    chairs: list[ChairStanding] = strawberry.field(
        description="Evaluations per chair at the stations in the grid, by evaluator kind."
    )

    @strawberry.field(
        description="The enterprises at the highest early-warning levels, highest first "
        "(those with no points left out)."
    )
    async def riskiest_enterprises(self, info: Info, limit: int = 10) -> list[EnterpriseRisk]:
        if not 1 <= limit <= 50:
            raise query_error(DomainError("INVALID", _("limit is between 1 and 50"), "limit"))
        async with info.context.sessions() as session:
            ranked = await riskiest_enterprises(
                session,
                self.board.grid_ids,
                limit,
                info.context.now,
                rules=await risk_rules_in_force(session, info.context.settings.risk_rules),
            )
        return [
            EnterpriseRisk(enterprise_id=r.enterprise_id, risk=to_risk(r.assessment))
            for r in ranked
        ]

    @strawberry.field
    async def grid(self, info: Info) -> GridType:
        return await reload(info, "Grid", self.board.grid_id)

    @strawberry.field(description="The period start, when one was given.")
    def since(self) -> datetime | None:
        return self.board.since

    @strawberry.field
    def open_tickets(self) -> int:
        return self.board.open_total

    @strawberry.field(description="Open tickets past a first-response or resolution time.")
    def overdue_tickets(self) -> int:
        return self.board.overdue

    @strawberry.field
    def closed_tickets(self) -> int:
        return self.board.closed

    @strawberry.field(description="Closed tickets the worker rated.")
    def rated_tickets(self) -> int:
        return self.board.satisfaction.rated

    @strawberry.field(description="Rated 4 or 5.")
    def satisfied_tickets(self) -> int:
        return self.board.satisfaction.satisfied

    @strawberry.field(description="Satisfied share of rated tickets (0–1); null if none rated.")
    def satisfaction_rate(self) -> float | None:
        return self.board.satisfaction.rate

    @strawberry.field(description="Ratings a liaison recorded on the worker's behalf.")
    def rated_on_behalf(self) -> int:
        return self.board.satisfaction.on_behalf

    @strawberry.field(description="Station activities held.")
    def activities_held(self) -> int:
        return self.board.activities_held

    @strawberry.field(description="Sign-ins to the activities held.")
    def attendances(self) -> int:
        return self.board.attendances


@strawberry.type
class DashboardQuery:
    @strawberry.field(
        name="dashboard",
        description="Figures for a grid, a town or the county (give the county's grid id).",
    )
    async def dashboard(
        self, info: Info, grid_id: strawberry.ID, since: datetime | None = None
    ) -> DashboardType:
        context = info.context
        context.require_member()
        try:
            optional_with_offset(since, "since")
            async with context.sessions() as session:
                board = await dashboard(
                    session,
                    scope=context.scope,
                    grid_id=parse_id(grid_id, "gridId", ["Grid"]),
                    since=since,
                    now=context.now,
                )
        except DomainError as error:
            raise query_error(error) from error
        return DashboardType(
            board=board,
            open_by_status=[
                StatusCount(status=s, count=board.open_by_status[s])
                for s in TicketStatus
                if s in board.open_by_status
            ],
            open_by_severity=[
                SeverityCount(severity=s, count=board.open_by_severity[s])
                for s in Severity
                if s in board.open_by_severity
            ],
            chairs=[
                ChairStanding(
                    chair_id=c.chair_id,
                    evaluator_kind=c.evaluator_kind,
                    evaluations=c.evaluations,
                    average_total=c.average_total,
                )
                for c in board.chairs
            ],
        )
