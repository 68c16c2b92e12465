"""Automatic persisted queries: query texts by their sha256, shared by every API process."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import time_column, utcnow


class PersistedQuery(SQLModel, table=True):
    __tablename__ = "persisted_query"

    sha256: str = Field(primary_key=True, max_length=64)
    query: str = Field(sa_type=sa.Text)
    created_at: datetime = time_column(nullable=False, default_factory=utcnow, index=True)
    # The member who registered it: each member holds a bounded share of the store, so that
    # one caller cannot push everybody else's queries out (docs/api.md, "Automatic persisted
    # queries").
    owner_id: uuid.UUID | None = Field(default=None, index=True)
    # Least recently used out first when a share or the whole store is full.
    used_at: datetime = time_column(nullable=False, default_factory=utcnow, index=True)
