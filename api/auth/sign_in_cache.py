"""Signed-in tokens remembered per process: a request with a token seen a moment ago skips
the sign-in statement (token, member and scope), the largest part of a small read's cost
after the list itself.

An entry holds only while the process hears every access change (sync/access.py): a token
revoked or expiring sooner, a member's record, grids or stations changed, the grid tree
changed. Changes this process commits are heard at the commit, before the writer answers;
other processes' come by PostgreSQL NOTIFY, which the database delivers at their commit, ahead
of anything their writer answers. Entries are tied to the listening connection they were
heard on (``epoch``): when it drops, nothing cached counts until it listens again. An entry is
also dropped when its token expires, and after ``MAX_AGE`` at the latest (a backstop for
changes made without the session hooks, e.g. plain SQL by an operator: the same bound as an
open WebSocket's recheck, api/edge/socket_auth.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from api.auth.models import AuthToken
from api.auth.scope import Scope
from api.auth.tokens import hash_token
from api.members.models import Member

MAX_AGE = timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    member: Member
    token: AuthToken
    scope: Scope
    epoch: object
    signed_at: datetime


class SignInCache:
    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: dict[str, SignedIn] = {}
        # Counts every change heard: a sign-in that began before one is not remembered.
        self.generation = 0

    def get(self, token: str, *, epoch: object, now: datetime) -> SignedIn | None:
        key = hash_token(token)
        found = self._entries.get(key)
        if found is None:
            return None
        expires_at = found.token.expires_at
        if (
            found.epoch is not epoch
            or now - found.signed_at >= MAX_AGE
            or (expires_at is not None and expires_at <= now)
        ):
            self._entries.pop(key, None)
            return None
        return found

    def put(self, token: str, signed_in: SignedIn, *, generation: int) -> None:
        """Remember a sign-in made since ``generation`` (read before it began)."""
        if generation != self.generation or signed_in.epoch is None:
            return
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[hash_token(token)] = signed_in

    def heard(self, item: dict[str, Any]) -> None:
        """An access change (sync/access.py's announcement): forget what it concerns."""
        self.generation += 1
        token_id, member_id = item.get("tokenId"), item.get("memberId")
        if token_id is None and member_id is None:
            self._entries.clear()
            return
        for key, entry in list(self._entries.items()):
            if str(entry.token.id) == token_id or str(entry.member.id) == member_id:
                self._entries.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
