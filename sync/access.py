"""Access changes: a token revoked (logout, revocation) or expiring sooner, a member's roles,
grids, stations or account changed. Announced on the broadcast channel when the transaction
commits (PostgreSQL NOTIFY: every process), so that whatever holds on to a token — an open
WebSocket (api/edge/socket_auth.py), a cache of signed-in tokens (api/auth/sign_in_cache.py) —
checks it again at once. In the writing process the announcement is also handed, right at the
commit, to the callbacks registered with ``on_access_change`` (before the writer answers).

Announced too: any other change of a member's record (what a request shows of its caller,
e.g. its name, is read from the sign-in) for that member, and a change of the grid tree or of
a station's grid (scopes reach the grids and stations below the ones served) for everyone
(neither token nor member named).

Noted by a session hook (sync/session_hooks.py), so every write path (GraphQL, CLI, admin
tools) announces without knowing about it; ``announce_access_change`` is the one function
that does it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from api.auth.models import AuthToken
from api.grids.models import Grid
from api.members.models import Member, MemberGrid, MemberStation
from api.stations.models import Station
from sync.broadcast import Event, publish_on_commit

ACCESS = "access"
_TOKEN_ACCESS = ("revoked_at", "expires_at", "grants")
# Columns of the grid tree and of stations that scopes are computed from.
_TREE = {Grid: ("parent_id", "deleted_at"), Station: ("grid_id", "deleted_at")}
_COMMITTED = "gridlink_access_committed"
_CALLBACKS: list[Callable[[Event], None]] = []


def on_access_change(callback: Callable[[Event], None]) -> Callable[[], None]:
    """Call ``callback`` with each access change this process commits, at the commit; returns
    the function that unregisters it. (Other processes' changes come by the broadcast.)"""
    _CALLBACKS.append(callback)
    return lambda: _CALLBACKS.remove(callback) if callback in _CALLBACKS else None


def announce_access_change(
    session: Session, *, token_id: uuid.UUID | None = None, member_id: uuid.UUID | None = None
) -> None:
    """Tell every process, when this transaction commits, that what ``token_id`` (or every
    token of ``member_id``; of everyone when neither is given) may do has changed: check it
    again before using it."""
    item = {
        "type": ACCESS,
        "tokenId": str(token_id) if token_id else None,
        "memberId": str(member_id) if member_id else None,
    }
    publish_on_commit(session, item)
    session.info.setdefault(_COMMITTED, []).append(item)


def concerns(item: Event, *, token_id: uuid.UUID, member_id: uuid.UUID) -> bool:
    """Is ``item`` an access change of this token or of its member?"""
    return item.get("type") == ACCESS and (
        item.get("tokenId") == str(token_id) or item.get("memberId") == str(member_id)
    )


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def note_access_changes(session: Session, _context: Any) -> None:
    members: set[uuid.UUID] = set()
    tree = False
    for obj in session.dirty:
        if isinstance(obj, AuthToken) and _changed(obj, _TOKEN_ACCESS):
            announce_access_change(session, token_id=obj.id, member_id=None)
        elif isinstance(obj, Member) and session.is_modified(obj):
            members.add(obj.id)
        elif isinstance(obj, Grid | Station) and _changed(obj, _TREE[type(obj)]):
            tree = True
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, MemberGrid | MemberStation):
            members.add(obj.member_id)
        elif isinstance(obj, AuthToken) and obj in session.deleted:
            announce_access_change(session, token_id=obj.id)
        elif isinstance(obj, Grid | Station):
            tree = True
    for member_id in sorted(members, key=str):
        announce_access_change(session, member_id=member_id)
    if tree:
        announce_access_change(session)


def tell_this_process(session: Session) -> None:
    for item in session.info.pop(_COMMITTED, ()):
        for callback in list(_CALLBACKS):
            callback(item)


def forget(session: Session) -> None:
    session.info.pop(_COMMITTED, None)
