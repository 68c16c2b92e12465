"""Enterprises and the record of each move between grids."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlmodel import Field, SQLModel

from api.records import SyncedRecord, time_column, utcnow


class Enterprise(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "enterprises"

    name: str = Field(max_length=200, index=True)
    # 统一社会信用代码: 18 characters with a check character (GB 32100-2015).
    credit_code: str = Field(max_length=18, unique=True, index=True)
    headcount: int = Field(ge=0)
    industry: str = Field(max_length=100)
    town_id: uuid.UUID = Field(foreign_key="grid.id", index=True)
    park_id: uuid.UUID | None = Field(default=None, foreign_key="grid.id", index=True)
    address: str = Field(default="", max_length=300)
    has_union: bool = Field(default=False)
    is_direct_report_point: bool = Field(default=False)
    grid_id: uuid.UUID = Field(foreign_key="grid.id", index=True)
    grid_reason: str = Field(default="", max_length=500)


class GridMove(SQLModel, table=True):
    """Why and when an enterprise entered a grid (classification history)."""

    __tablename__ = "grid_move"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    enterprise_id: uuid.UUID = Field(foreign_key="enterprise.id", index=True)
    from_grid_id: uuid.UUID | None = Field(default=None, foreign_key="grid.id")
    to_grid_id: uuid.UUID = Field(foreign_key="grid.id")
    reason: str = Field(max_length=500)
    headcount: int
    moved_by_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    moved_at: datetime = time_column(nullable=False, default_factory=utcnow)
