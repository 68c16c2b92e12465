"""Access changes: a token revoked (logout, revocation) or expiring sooner, a member's roles,
grids, stations or account changed. Announced on the broadcast channel when the transaction
commits (PostgreSQL NOTIFY: every process), so that whatever holds on to a token — an open
WebSocket (api/edge/socket_auth.py), a cache of signed-in tokens — checks it again at once.

Noted by a session hook, so every write path (GraphQL, CLI, admin tools) announces without
knowing about it; ``announce_access_change`` is the one function that does it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from api.auth.models import AuthToken
from api.members.models import Member, MemberGrid, MemberStation
from sync.broadcast import Event, publish_on_commit

ACCESS = "access"
# A member's columns that change what its tokens may do.
_MEMBER_ACCESS = ("roles", "is_active", "deleted_at")
_TOKEN_ACCESS = ("revoked_at", "expires_at", "grants")


def announce_access_change(
    session: Session, *, token_id: uuid.UUID | None = None, member_id: uuid.UUID | None = None
) -> None:
    """Tell every process, when this transaction commits, that what ``token_id`` (or every
    token of ``member_id``) may do has changed: check it again before using it."""
    publish_on_commit(
        session,
        {
            "type": ACCESS,
            "tokenId": str(token_id) if token_id else None,
            "memberId": str(member_id) if member_id else None,
        },
    )


def concerns(item: Event, *, token_id: uuid.UUID, member_id: uuid.UUID) -> bool:
    """Is ``item`` an access change of this token or of its member?"""
    return item.get("type") == ACCESS and (
        item.get("tokenId") == str(token_id) or item.get("memberId") == str(member_id)
    )


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush")
def _note_access_changes(session: Session, _context: Any) -> None:
    members: set[uuid.UUID] = set()
    for obj in session.dirty:
        if isinstance(obj, AuthToken) and _changed(obj, _TOKEN_ACCESS):
            announce_access_change(session, token_id=obj.id, member_id=None)
        elif isinstance(obj, Member) and _changed(obj, _MEMBER_ACCESS):
            members.add(obj.id)
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, MemberGrid | MemberStation):
            members.add(obj.member_id)
        elif isinstance(obj, AuthToken) and obj in session.deleted:
            announce_access_change(session, token_id=obj.id)
    for member_id in sorted(members, key=str):
        announce_access_change(session, member_id=member_id)
