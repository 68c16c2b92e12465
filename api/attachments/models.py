"""TicketAttachment: the record a phone makes when it takes a photo, offline or not. The bytes
live in the media store (api/attachments/storage.py), never in the database or a push."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

import sqlalchemy as sa
from sqlmodel import Field

from api.records import SyncedRecord, enum_column, time_column
from api.tickets.models import TICKET_CHILDREN, Ticket


class AttachmentKind(StrEnum):
    PHOTO = "PHOTO"
    DOCUMENT = "DOCUMENT"
    AUDIO = "AUDIO"


class TicketAttachment(SyncedRecord, table=True):
    sync_collection: ClassVar[str] = "ticketAttachments"
    __tablename__ = "ticket_attachment"

    ticket_id: uuid.UUID = Field(foreign_key="ticket.id", index=True)
    kind: AttachmentKind = enum_column(AttachmentKind)
    content_type: str = Field(max_length=100)
    byte_size: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64)
    width: int | None = Field(default=None)
    height: int | None = Field(default=None)
    caption: str | None = Field(default=None, max_length=500)
    taken_at: datetime | None = time_column()
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)
    uploaded_by_id: uuid.UUID | None = Field(default=None, foreign_key="member.id")
    # True once the whole file is stored and verified; only then is it served.
    uploaded: bool = Field(default=False)
    uploaded_at: datetime | None = time_column()
    # Seen exactly where its ticket is, like a comment: the sync layer gives it its ticket's
    # scope keys (api/auth/visibility.py declares it seen with its ticket).


# Deleting a ticket deletes its attachments (api/tickets/models.py).
TICKET_CHILDREN.append(TicketAttachment)

__all__ = ["AttachmentKind", "Ticket", "TicketAttachment"]
