"""The grid tree: county → towns → (parks) → independent and joint grids."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from api.records import SyncedRecord, enum_column


class GridKind(StrEnum):
    COUNTY = "COUNTY"
    TOWN = "TOWN"
    PARK = "PARK"
    INDEPENDENT = "INDEPENDENT"
    JOINT = "JOINT"


class Grid(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "grids"
    # One joint grid per parent and industry (null industry on other kinds never collides).
    __table_args__ = (sa.UniqueConstraint("parent_id", "industry"),)

    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    kind: GridKind = enum_column(GridKind, index=True)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="grid.id", index=True)
    # The town a grid lies in (null for the county and for towns themselves): town scope in
    # one indexed comparison instead of a walk up the tree.
    town_id: uuid.UUID | None = Field(default=None, foreign_key="grid.id", index=True)
    # Joint grids group enterprises of one industry; null for the other kinds.
    industry: str | None = Field(default=None, max_length=100)
