"""The guidance station: six rooms, activities, sign-ins, evaluations of chairs, coaching."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from api.records import SyncedRecord, enum_column, time_column, utcnow


class RoomKind(StrEnum):
    FINANCE_FOR_FARMERS = "FINANCE_FOR_FARMERS"  # 金融助农
    RIGHTS_PROTECTION = "RIGHTS_PROTECTION"  # 权益维护
    GRID_SERVICE = "GRID_SERVICE"  # 网格服务
    WOMEN_WORKERS = "WOMEN_WORKERS"  # 女工保护
    IDEOLOGICAL_GUIDANCE = "IDEOLOGICAL_GUIDANCE"  # 思想引领
    TECH_TRAINING = "TECH_TRAINING"  # 科技培训


class ActivityKind(StrEnum):
    BIG_POT_TRAINING = "BIG_POT_TRAINING"  # 大锅: one common lesson a quarter
    SMALL_STOVE_COACHING = "SMALL_STOVE_COACHING"  # 小灶: on-site coaching on request
    LEGAL_AID = "LEGAL_AID"
    COUNSELLING = "COUNSELLING"
    LOANS = "LOANS"
    READING = "READING"
    HEALTH_TALK = "HEALTH_TALK"
    MODEL_WORKER_TALK = "MODEL_WORKER_TALK"
    TECH_GUIDANCE = "TECH_GUIDANCE"
    JOB_FAIR = "JOB_FAIR"
    PUBLICITY = "PUBLICITY"


class ActivityStatus(StrEnum):
    PLANNED = "PLANNED"
    HELD = "HELD"
    CANCELLED = "CANCELLED"


class EvaluatorKind(StrEnum):
    TOWN_UNION = "TOWN_UNION"  # against the union standardisation criteria
    MEMBER = "MEMBER"  # against the "model workers' home" criteria


class CoachingStatus(StrEnum):
    OPEN = "OPEN"
    SCHEDULED = "SCHEDULED"
    VISITED = "VISITED"
    CANCELLED = "CANCELLED"


class Station(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "stations"

    name: str = Field(max_length=200)
    town_name: str = Field(max_length=100)
    grid_id: uuid.UUID | None = Field(default=None, foreign_key="grid.id", index=True)
    address: str = Field(default="", max_length=300)
    area_m2: int | None = None
    host_enterprise_id: uuid.UUID | None = Field(default=None, foreign_key="enterprise.id")
    founded_on: str | None = Field(default=None, max_length=10)


class Room(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "rooms"
    __table_args__ = (sa.UniqueConstraint("station_id", "kind"),)

    station_id: uuid.UUID = Field(foreign_key="station.id", index=True)
    kind: RoomKind = enum_column(RoomKind)
    name: str = Field(max_length=100)


class StationActivity(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "stationActivities"
    __tablename__ = "station_activity"
    __table_args__ = (sa.Index("ix_activity_station_starts", "station_id", "starts_at"),)

    station_id: uuid.UUID = Field(foreign_key="station.id")
    room_id: uuid.UUID | None = Field(default=None, foreign_key="room.id", index=True)
    kind: ActivityKind = enum_column(ActivityKind, index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    starts_at: datetime = time_column(nullable=False)
    ends_at: datetime | None = time_column()
    capacity: int | None = Field(default=None, ge=1)
    allow_overbooking: bool = Field(default=False)
    status: ActivityStatus = enum_column(ActivityStatus, default=ActivityStatus.PLANNED)
    outcome: str | None = Field(default=None, sa_type=sa.Text)
    loans_issued_yuan: int | None = Field(default=None, ge=0)
    coaching_request_id: uuid.UUID | None = Field(default=None, foreign_key="coaching_request.id")


class Attendance(SyncedRecord, table=True):
    """Append-only sign-in of one attendee to one activity."""

    sync_collection: ClassVar[str] = "attendances"
    __table_args__ = (sa.UniqueConstraint("activity_id", "member_id"),)

    activity_id: uuid.UUID = Field(foreign_key="station_activity.id", index=True)
    station_id: uuid.UUID = Field(foreign_key="station.id", index=True)
    member_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    attendee_name: str = Field(max_length=100)
    enterprise_id: uuid.UUID | None = Field(default=None, foreign_key="enterprise.id")
    recorded_by_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    # The client's time of sign-in.
    signed_in_at: datetime = time_column(nullable=False, default_factory=utcnow)


class Evaluation(SyncedRecord, table=True):
    """One evaluator's scores of one chair for one period."""

    sync_collection: ClassVar[str] = "evaluations"
    __table_args__ = (sa.UniqueConstraint("chair_id", "evaluator_id", "evaluator_kind", "period"),)

    chair_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    evaluator_id: uuid.UUID = Field(foreign_key="member.id")
    evaluator_kind: EvaluatorKind = enum_column(EvaluatorKind)
    station_id: uuid.UUID | None = Field(default=None, foreign_key="station.id", index=True)
    period: str = Field(max_length=16)  # e.g. "2026" or "2026-Q3"
    scores: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    total: float = Field(default=0.0)
    comment: str | None = Field(default=None, max_length=1000)


class CoachingRequest(SyncedRecord, table=True):
    """A "small stove" request: an enterprise union asks for on-site coaching."""

    sync_collection: ClassVar[str] = "coachingRequests"
    __tablename__ = "coaching_request"

    station_id: uuid.UUID = Field(foreign_key="station.id", index=True)
    enterprise_id: uuid.UUID | None = Field(default=None, foreign_key="enterprise.id")
    requested_by_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    topic: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    status: CoachingStatus = enum_column(CoachingStatus, default=CoachingStatus.OPEN)
    requested_at: datetime = time_column(nullable=False, default_factory=utcnow)
    visited_at: datetime | None = time_column()
    visit_note: str | None = Field(default=None, sa_type=sa.Text)
