"""Rule sets officers change without a developer, kept as versions: each change is a new row
(who, when, what changed) and the newest row of a kind is the rule in force from its
``effective_from``. Rows are never updated: the history is the table."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import enum_column, time_column, utcnow


class RuleKind(StrEnum):
    DEADLINES = "DEADLINES"
    RISK = "RISK"
    STATION_CRITERIA = "STATION_CRITERIA"


class RuleVersion(SQLModel, table=True):
    __tablename__ = "rule_version"
    # Two officers saving at once: the second insert of the same number fails (CONFLICT).
    __table_args__ = (sa.UniqueConstraint("kind", "version"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: RuleKind = enum_column(RuleKind)
    version: int
    # The whole rule set as it reads from this version on (api/rules/*.py say the shape).
    content: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    # [{"field": "policies.GRID.HIGH.ANY.resolutionHours", "before": 120, "after": 96}, ...]
    changes: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    # Null for the seed (version 1) and for changes made by a command rather than a person.
    author_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    author_label: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=500)
    effective_from: datetime = time_column(nullable=False, default_factory=utcnow)
