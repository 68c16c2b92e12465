"""GraphQL view of the guidance stations: Station, Room, StationActivity, Attendance,
Evaluation, CoachingRequest; the stations and stationActivities lists."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry
from strawberry.scalars import JSON

from api.errors import DomainError
from api.stations.activities import create_activity, update_activity
from api.stations.attendance import record_attendance
from api.stations.coaching import request_coaching
from api.stations.evaluations import submit_evaluation
from api.stations.models import ActivityKind as ActivityKindValue
from api.stations.models import (
    Attendance,
    CoachingRequest,
    Evaluation,
    Room,
    Station,
    StationActivity,
)
from api.stations.models import EvaluatorKind as EvaluatorKindValue
from api.times import with_offset
from schema.context import Info
from schema.enums import ActivityKind, ActivityStatus, CoachingStatus, EvaluatorKind, RoomKind
from schema.errors import UserError, query_error
from schema.grids import GridType, in_grid_subtree
from schema.ids import parse_client_uuid, parse_id, parse_optional_id
from schema.lists import list_connection, relay_args
from schema.mutations import mutate
from schema.nodes import Node
from schema.pagination import Connection, OrderDirection, SortKey
from schema.views import ToOne, View, bind, register

if TYPE_CHECKING:
    from schema.enterprises import EnterpriseType
    from schema.members import MemberType

Enterprise_ = Annotated["EnterpriseType", strawberry.lazy("schema.enterprises")]
Member_ = Annotated["MemberType", strawberry.lazy("schema.members")]


def _through_station(model: type) -> View:
    return register(
        View(
            name=model.__name__,
            model=model,
            to_one={"station": ToOne("station_id", "Station")},
        )
    )


STATION = register(
    View(
        name="Station",
        model=Station,
        to_one={
            "grid": ToOne("grid_id", "Grid"),
            "hostEnterprise": ToOne("host_enterprise_id", "Enterprise"),
        },
    )
)
ROOM = _through_station(Room)
ACTIVITY = _through_station(StationActivity)
ACTIVITY.to_one.update(
    room=ToOne("room_id", "Room"), coachingRequest=ToOne("coaching_request_id", "CoachingRequest")
)
ACTIVITY.computed["attendanceCount"] = lambda _context: (
    sa.select(sa.func.count())
    .where(
        Attendance.__table__.c.activity_id == StationActivity.__table__.c.id,
        Attendance.__table__.c.deleted_at.is_(None),
    )
    .scalar_subquery()
)
ATTENDANCE = _through_station(Attendance)
ATTENDANCE.to_one.update(
    activity=ToOne("activity_id", "StationActivity"),
    member=ToOne("member_id", "Member"),
    enterprise=ToOne("enterprise_id", "Enterprise"),
    recordedBy=ToOne("recorded_by_id", "Member"),
)
COACHING = _through_station(CoachingRequest)
COACHING.to_one.update(
    enterprise=ToOne("enterprise_id", "Enterprise"),
    requestedBy=ToOne("requested_by_id", "Member"),
)
EVALUATION = register(
    View(
        name="Evaluation",
        model=Evaluation,
        to_one={
            "chair": ToOne("chair_id", "Member"),
            "evaluator": ToOne("evaluator_id", "Member"),
            "station": ToOne("station_id", "Station"),
        },
    )
)


@bind("Station")
@strawberry.type(name="Station", description="A practice guidance station for union chairs.")
class StationType(Node):
    uuid: strawberry.ID
    name: str
    town_name: str
    address: str
    area_m2: int | None
    founded_on: str | None
    grid: GridType | None
    host_enterprise: Enterprise_ | None = strawberry.field(
        description="The enterprise that provides the premises."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="The station's rooms (one station, six rooms).")
    def rooms(self, info: Info) -> list[RoomType]:
        return info.context.loaders.children(
            "station.rooms", "Room", "station_id", order_by=("kind", "id")
        ).load(self.id)


@bind("Room")
@strawberry.type(name="Room", description="One of a station's rooms.")
class RoomType(Node):
    uuid: strawberry.ID
    station: StationType
    kind: RoomKind
    name: str
    version: int


@bind("CoachingRequest")
@strawberry.type(name="CoachingRequest", description="A 'small stove' on-site coaching request.")
class CoachingRequestType(Node):
    uuid: strawberry.ID
    station: StationType
    enterprise: Enterprise_ | None
    requested_by: Member_ | None
    topic: str
    description: str
    status: CoachingStatus
    requested_at: datetime
    visited_at: datetime | None
    visit_note: str | None
    version: int
    created_at: datetime
    updated_at: datetime


@bind("StationActivity")
@strawberry.type(name="StationActivity", description="An activity held at a station.")
class StationActivityType(Node):
    uuid: strawberry.ID
    station: StationType
    room: RoomType | None
    kind: ActivityKind
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    capacity: int | None
    allow_overbooking: bool
    status: ActivityStatus
    outcome: str | None
    loans_issued_yuan: int | None
    coaching_request: CoachingRequestType | None
    attendance_count: int = strawberry.field(description="How many signed in.")
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Who signed in, in order of arrival.")
    def attendances(self, info: Info) -> list[AttendanceType]:
        return info.context.loaders.children(
            "activity.attendances", "Attendance", "activity_id", order_by=("signed_in_at", "id")
        ).load(self.id)


@bind("Attendance")
@strawberry.type(name="Attendance", description="One attendee's sign-in to an activity.")
class AttendanceType(Node):
    uuid: strawberry.ID
    activity: StationActivityType
    station: StationType
    member: Member_ | None
    attendee_name: str
    enterprise: Enterprise_ | None
    recorded_by: Member_ | None
    signed_in_at: datetime
    version: int


@bind("Evaluation")
@strawberry.type(name="Evaluation", description="One evaluator's scores of a chair for a period.")
class EvaluationType(Node):
    uuid: strawberry.ID
    chair: Member_
    evaluator: Member_
    evaluator_kind: EvaluatorKind
    station: StationType | None
    period: str
    scores: JSON
    total: float
    comment: str | None
    version: int
    created_at: datetime


@strawberry.input(description="Which stations to list.")
class StationFilter:
    grid_id: strawberry.ID | None = strawberry.field(
        default=None, description="In this grid or any grid below it."
    )
    search: str | None = None


@strawberry.input(description="Which activities to list; all conditions must hold.")
class StationActivityFilter:
    station_id: strawberry.ID | None = None
    room_id: strawberry.ID | None = None
    kind: list[ActivityKind] | None = None
    status: list[ActivityStatus] | None = None
    starts_from: datetime | None = strawberry.field(
        default=None, description="Starting at or after this time."
    )
    starts_before: datetime | None = strawberry.field(
        default=None, description="Starting before this time."
    )


@strawberry.enum(description="What activities are sorted by.")
class StationActivityOrderField(Enum):
    STARTS_AT = "STARTS_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input(description="Soonest first unless told otherwise.")
class StationActivityOrder:
    field: StationActivityOrderField = StationActivityOrderField.STARTS_AT
    direction: OrderDirection = OrderDirection.ASC


_s = Station.__table__.c
_a = StationActivity.__table__.c
ACTIVITY_KEYS = {
    StationActivityOrderField.STARTS_AT: SortKey("startsAt", _a.starts_at, datetime),
    StationActivityOrderField.UPDATED_AT: SortKey("updatedAt", _a.updated_at, datetime),
}


def _aware(value: datetime, field: str) -> datetime:
    try:
        return with_offset(value, field)
    except DomainError as error:
        raise query_error(error) from error


@strawberry.type
class StationQuery:
    @strawberry.field(description="The stations you may see.")
    async def stations(
        self,
        info: Info,
        filter: StationFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[StationType]:
        info.context.require_member()
        args = relay_args(info, first, after, last, before)
        where: list[sa.ColumnElement[bool]] = []
        if filter is not None:
            if filter.grid_id is not None:
                where.append(await in_grid_subtree(info, _s.grid_id, filter.grid_id))
            if filter.search:
                where.append(_s.name.icontains(filter.search.strip(), autoescape=True))
        return await list_connection(
            info, STATION, where=where, key=SortKey("name", _s.name), ascending=True, args=args
        )

    @strawberry.field(description="Station activities you may see, soonest first by default.")
    async def station_activities(
        self,
        info: Info,
        filter: StationActivityFilter | None = None,
        order_by: StationActivityOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[StationActivityType]:
        info.context.require_member()
        args = relay_args(info, first, after, last, before)
        where: list[sa.ColumnElement[bool]] = []
        if filter is not None:
            try:
                if filter.station_id is not None:
                    where.append(
                        _a.station_id == parse_id(filter.station_id, "stationId", ["Station"])
                    )
                if filter.room_id is not None:
                    where.append(_a.room_id == parse_id(filter.room_id, "roomId", ["Room"]))
            except DomainError as error:
                raise query_error(error) from error
            if filter.kind:
                where.append(_a.kind.in_([k.value for k in filter.kind]))
            if filter.status:
                where.append(_a.status.in_([s.value for s in filter.status]))
            if filter.starts_from is not None:
                where.append(_a.starts_at >= _aware(filter.starts_from, "startsFrom"))
            if filter.starts_before is not None:
                where.append(_a.starts_at < _aware(filter.starts_before, "startsBefore"))
        order = order_by or StationActivityOrder()
        return await list_connection(
            info,
            ACTIVITY,
            where=where,
            key=ACTIVITY_KEYS[order.field],
            ascending=order.direction == OrderDirection.ASC,
            args=args,
        )


# --- mutations: the station rules live in api/stations/ (one module per area) -----------


@strawberry.input(description="A new activity at a station.")
class CreateStationActivityInput:
    station_id: strawberry.ID
    kind: ActivityKind
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    room_id: strawberry.ID | None = None
    description: str = ""
    capacity: int | None = None
    allow_overbooking: bool = False
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A UUID chosen by the client (idempotency key)."
    )
    client_mutation_id: str | None = None


@strawberry.input(description="Changes to an activity; omitted fields stay as they are.")
class UpdateStationActivityInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    room_id: strawberry.ID | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    capacity: int | None = strawberry.UNSET
    allow_overbooking: bool | None = strawberry.UNSET
    status: ActivityStatus | None = strawberry.UNSET
    outcome: str | None = strawberry.UNSET
    loans_issued_yuan: int | None = strawberry.UNSET
    client_mutation_id: str | None = None


@strawberry.input(description="One attendee's sign-in: a member, or a name for a visitor.")
class RecordAttendanceInput:
    activity_id: strawberry.ID
    member_id: strawberry.ID | None = None
    attendee_name: str | None = None
    enterprise_id: strawberry.ID | None = None
    signed_in_at: datetime | None = None
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A UUID chosen by the client (idempotency key)."
    )
    client_mutation_id: str | None = None


@strawberry.input(description="One evaluator's scores of a chair for a period.")
class SubmitEvaluationInput:
    chair_id: strawberry.ID
    evaluator_kind: EvaluatorKind
    period: str = strawberry.field(description='A year ("2026") or a quarter ("2026-Q3").')
    scores: JSON = strawberry.field(description='Criterion → score, e.g. {"care": 5}.')
    station_id: strawberry.ID | None = None
    comment: str | None = None
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A UUID chosen by the client (idempotency key)."
    )
    client_mutation_id: str | None = None


@strawberry.input(description="Ask a station for on-site coaching ('small stove').")
class RequestCoachingInput:
    station_id: strawberry.ID
    topic: str
    description: str = ""
    enterprise_id: strawberry.ID | None = None
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A UUID chosen by the client (idempotency key)."
    )
    client_mutation_id: str | None = None


@strawberry.type
class StationActivityPayload:
    activity: StationActivityType | None
    errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.type
class AttendancePayload:
    attendance: AttendanceType | None
    activity: StationActivityType | None
    errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.type
class EvaluationPayload:
    evaluation: EvaluationType | None
    errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.type
class CoachingRequestPayload:
    coaching_request: CoachingRequestType | None
    errors: list[UserError]
    client_mutation_id: str | None = None


def _changes(values: dict[str, Any]) -> dict[str, Any]:
    """Only the fields the client sent, with enums as their values."""
    return {
        key: (value.value if isinstance(value, Enum) else value)
        for key, value in values.items()
        if value is not strawberry.UNSET
    }


@strawberry.type
class StationMutation:
    @strawberry.mutation(description="Plan an activity at a station you serve.")
    async def create_station_activity(
        self, info: Info, input: CreateStationActivityInput
    ) -> StationActivityPayload:
        async def work(session: Any) -> uuid.UUID:
            activity = await create_activity(
                session,
                scope=info.context.scope,
                station_id=parse_id(input.station_id, "stationId", ["Station"]),
                kind=ActivityKindValue(input.kind.value),
                title=input.title,
                starts_at=input.starts_at,
                ends_at=input.ends_at,
                room_id=parse_optional_id(input.room_id, "roomId", ["Room"]),
                description=input.description,
                capacity=input.capacity,
                allow_overbooking=input.allow_overbooking,
                activity_id=parse_client_uuid(input.id),
            )
            return activity.id

        return await mutate(
            info, StationActivityPayload, work, input.client_mutation_id, activity="StationActivity"
        )

    @strawberry.mutation(description="Change an activity, or record that it was held.")
    async def update_station_activity(
        self, info: Info, input: UpdateStationActivityInput
    ) -> StationActivityPayload:
        async def work(session: Any) -> uuid.UUID:
            changes = _changes(
                {
                    "title": input.title,
                    "description": input.description,
                    "roomId": input.room_id,
                    "startsAt": input.starts_at,
                    "endsAt": input.ends_at,
                    "capacity": input.capacity,
                    "allowOverbooking": input.allow_overbooking,
                    "status": input.status,
                    "outcome": input.outcome,
                    "loansIssuedYuan": input.loans_issued_yuan,
                }
            )
            if changes.get("roomId") is not None:
                changes["roomId"] = parse_id(changes["roomId"], "roomId", ["Room"])
            activity = await update_activity(
                session,
                scope=info.context.scope,
                activity_id=parse_id(input.id, "id", ["StationActivity"]),
                changes=changes,
            )
            return activity.id

        return await mutate(
            info, StationActivityPayload, work, input.client_mutation_id, activity="StationActivity"
        )

    @strawberry.mutation(description="Sign an attendee in to an activity.")
    async def record_attendance(
        self, info: Info, input: RecordAttendanceInput
    ) -> AttendancePayload:
        async def work(session: Any) -> tuple[uuid.UUID, uuid.UUID]:
            attendance = await record_attendance(
                session,
                scope=info.context.scope,
                activity_id=parse_id(input.activity_id, "activityId", ["StationActivity"]),
                member_id=parse_optional_id(input.member_id, "memberId", ["Member"]),
                attendee_name=input.attendee_name,
                enterprise_id=parse_optional_id(
                    input.enterprise_id, "enterpriseId", ["Enterprise"]
                ),
                signed_in_at=input.signed_in_at,
                attendance_id=parse_client_uuid(input.id),
            )
            return attendance.id, attendance.activity_id

        return await mutate(
            info,
            AttendancePayload,
            work,
            input.client_mutation_id,
            attendance="Attendance",
            activity="StationActivity",
        )

    @strawberry.mutation(description="Rate a union chair for a period.")
    async def submit_evaluation(
        self, info: Info, input: SubmitEvaluationInput
    ) -> EvaluationPayload:
        async def work(session: Any) -> uuid.UUID:
            evaluation = await submit_evaluation(
                session,
                scope=info.context.scope,
                chair_id=parse_id(input.chair_id, "chairId", ["Member"]),
                evaluator_kind=EvaluatorKindValue(input.evaluator_kind.value),
                period=input.period,
                scores=input.scores,
                station_id=parse_optional_id(input.station_id, "stationId", ["Station"]),
                comment=input.comment,
                evaluation_id=parse_client_uuid(input.id),
            )
            return evaluation.id

        return await mutate(
            info, EvaluationPayload, work, input.client_mutation_id, evaluation="Evaluation"
        )

    @strawberry.mutation(description="Ask a station for on-site coaching.")
    async def request_coaching(
        self, info: Info, input: RequestCoachingInput
    ) -> CoachingRequestPayload:
        async def work(session: Any) -> uuid.UUID:
            request = await request_coaching(
                session,
                scope=info.context.scope,
                station_id=parse_id(input.station_id, "stationId", ["Station"]),
                topic=input.topic,
                description=input.description,
                enterprise_id=parse_optional_id(
                    input.enterprise_id, "enterpriseId", ["Enterprise"]
                ),
                request_id=parse_client_uuid(input.id),
            )
            return request.id

        return await mutate(
            info,
            CoachingRequestPayload,
            work,
            input.client_mutation_id,
            coaching_request="CoachingRequest",
        )
