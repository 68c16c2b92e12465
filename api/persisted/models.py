"""Automatic persisted queries: query texts by their sha256, shared by every API process."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.records import time_column, utcnow


class PersistedQuery(SQLModel, table=True):
    __tablename__ = "persisted_query"

    sha256: str = Field(primary_key=True, max_length=64)
    query: str = Field(sa_type=sa.Text)
    # Oldest out first when the store is full (clients register a query again when told).
    created_at: datetime = time_column(nullable=False, default_factory=utcnow, index=True)
