"""Early warning: the risk level last computed for each enterprise and grid."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import enum_column, time_column


class RiskLevel(StrEnum):
    GREEN = "GREEN"
    YELLOW = "YELLOW"
    ORANGE = "ORANGE"
    RED = "RED"

    @property
    def rank(self) -> int:
        return RISK_RANK[self]


RISK_RANK = {RiskLevel.GREEN: 0, RiskLevel.YELLOW: 1, RiskLevel.ORANGE: 2, RiskLevel.RED: 3}


class RiskSubject(StrEnum):
    ENTERPRISE = "ENTERPRISE"
    GRID = "GRID"


class RiskLevelRecord(SQLModel, table=True):
    """The stored level: a change is seen against it, and a rise notifies once (the row is
    updated only from the level it was read at, so a second worker's update finds nothing)."""

    __tablename__ = "risk_level"
    __table_args__ = (
        sa.UniqueConstraint("subject_kind", "subject_id"),
        sa.Index("ix_risk_level_kind_level", "subject_kind", "level"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subject_kind: RiskSubject = enum_column(RiskSubject)
    # An enterprise id or a grid id, as subject_kind says.
    subject_id: uuid.UUID
    level: RiskLevel = enum_column(RiskLevel, default=RiskLevel.GREEN)
    score: int = Field(default=0)
    # [{"text": "3 open wage-arrears requests, 1 overdue", "points": 9}, ...]
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    computed_at: datetime = time_column(nullable=False)
    # When the level last rose to what it is now (null while GREEN since the start).
    raised_at: datetime | None = time_column()
