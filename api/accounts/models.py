"""The account audit log and one-time sign-in codes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import enum_column, time_column, utcnow


class AccountAction(StrEnum):
    CREATED = "CREATED"
    DEACTIVATED = "DEACTIVATED"
    REACTIVATED = "REACTIVATED"
    CODE_ISSUED = "CODE_ISSUED"
    CODE_REDEEMED = "CODE_REDEEMED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    DEVICE_REVOKED = "DEVICE_REVOKED"
    ROLES_CHANGED = "ROLES_CHANGED"
    GRIDS_CHANGED = "GRIDS_CHANGED"
    IMPORTED = "IMPORTED"


class AccountEvent(SQLModel, table=True):
    """One change to an account, with who made it (null actor: the command line)."""

    __tablename__ = "account_event"
    __table_args__ = (sa.Index("ix_account_event_member_at", "member_id", "at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id")
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    # Who acted when there is no member behind it, e.g. "cli:root@host".
    actor_label: str = Field(default="", max_length=100)
    action: AccountAction = enum_column(AccountAction)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    at: datetime = time_column(nullable=False, default_factory=utcnow)


class CodePurpose(StrEnum):
    NEW_MEMBER = "NEW_MEMBER"
    PASSWORD_RESET = "PASSWORD_RESET"


class SignInCode(SQLModel, table=True):
    """A one-time code that lets a member set a password; stored as sha256, shown once."""

    __tablename__ = "sign_in_code"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    member_id: uuid.UUID = Field(foreign_key="member.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    purpose: CodePurpose = enum_column(CodePurpose)
    created_at: datetime = time_column(nullable=False, default_factory=utcnow)
    expires_at: datetime = time_column(nullable=False)
    used_at: datetime | None = time_column()
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
