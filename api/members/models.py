"""People: liaisons, staff, chairs and members, with the grids and stations they serve."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import SyncedRecord


class Role(StrEnum):
    ADMIN = "ADMIN"
    COUNTY_STAFF = "COUNTY_STAFF"
    TOWN_STAFF = "TOWN_STAFF"
    LIAISON = "LIAISON"
    CHAIR = "CHAIR"
    MEMBER = "MEMBER"


class Member(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "members"

    name: str = Field(max_length=100)
    phone: str = Field(max_length=20, unique=True, index=True)
    roles: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    enterprise_id: uuid.UUID | None = Field(default=None, foreign_key="enterprise.id", index=True)
    # Never synced or exposed; null for members who cannot sign in.
    password_hash: str | None = Field(default=None, max_length=200)
    is_active: bool = Field(default=True)

    def has_role(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)


class MemberGrid(SQLModel, table=True):
    """A member serves a grid (liaisons, town staff); indexed both ways for grid.liaisons."""

    __tablename__ = "member_grid"

    member_id: uuid.UUID = Field(foreign_key="member.id", primary_key=True)
    grid_id: uuid.UUID = Field(foreign_key="grid.id", primary_key=True, index=True)


class MemberStation(SQLModel, table=True):
    __tablename__ = "member_station"

    member_id: uuid.UUID = Field(foreign_key="member.id", primary_key=True)
    station_id: uuid.UUID = Field(foreign_key="station.id", primary_key=True, index=True)
