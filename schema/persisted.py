"""Automatic persisted queries (Apollo's protocol): a client sends
``extensions.persistedQuery = {version: 1, sha256Hash}`` without the query; an unknown hash
answers PERSISTED_QUERY_NOT_FOUND and the client sends hash and query once. Known queries are
kept in a small in-process LRU in front of the shared table (api.persisted), so every API
process learns a query registered with any of them.

The store is shared by everyone, so writing to it is guarded: only signed-in callers register,
only documents that parsed and validated, each member within a share of the store (least
recently used out first); an anonymous caller's query runs but is not kept."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from api.i18n import _
from api.persisted.service import find_query, store_query, touch_query

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
# Entries one member may hold: far more documents than a client in this repository sends, far
# fewer than the store holds (limit), so a single account cannot flush the others' queries.
PER_CALLER = 500
# A use is noted in the shared table at most this often per process (a write per hit would
# make every persisted GET a write).
TOUCH_SECONDS = 600.0
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryError(Exception):
    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The sha256 a request names, or None when it does not use persisted queries."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(
            _("persistedQuery must be an object with version 1 and sha256Hash"),
            "PERSISTED_QUERY_INVALID",
            400,
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise PersistedQueryError(
            _("persistedQuery.sha256Hash must be 64 hex characters"), "PERSISTED_QUERY_INVALID", 400
        )
    return digest.lower()


class PersistedQueries:
    """The store seen from one API process: a small LRU of known queries in front of the
    shared table. Anyone may use a registered hash; only a signed-in caller registers, only a
    document that parsed and validated (``register`` is called after it ran), and each member
    holds at most ``per_caller`` entries of the ``limit``."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        limit: int = 10_000,
        per_caller: int = PER_CALLER,
        local: int = 1_000,
    ) -> None:
        self.engine = engine
        self.limit = limit
        self.per_caller = per_caller
        self.local_limit = local
        # digest -> (query, when this process last noted its use in the table)
        self._local: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def _remember(self, digest: str, query: str, touched: float) -> None:
        self._local[digest] = (query, touched)
        self._local.move_to_end(digest)
        while len(self._local) > self.local_limit:
            self._local.popitem(last=False)

    @staticmethod
    def check(digest: str, query: str) -> None:
        """A query sent with its hash must match it."""
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            raise PersistedQueryError(
                _("provided sha does not match query"), "PERSISTED_QUERY_HASH_MISMATCH", 400
            )

    async def find(self, digest: str) -> str:
        """The query registered under ``digest`` (PERSISTED_QUERY_NOT_FOUND when none is)."""
        now = time.monotonic()
        known = self._local.get(digest)
        if known is not None and now - known[1] < TOUCH_SECONDS:
            self._local.move_to_end(digest)
            return known[0]
        # Unknown here, or its last use was noted long ago: read (and note the use) in the table.
        async with self.engine.begin() as connection:
            query = await find_query(connection, digest)
            if query is not None:
                await touch_query(connection, digest)
        if query is None:
            self._local.pop(digest, None)
            raise PersistedQueryError("PersistedQueryNotFound", NOT_FOUND, 200)  # not a message
        self._remember(digest, query, now)
        return query

    async def register(self, digest: str, query: str, owner: uuid.UUID) -> None:
        """Keep a query that ran (its hash checked) for every process, under ``owner``'s share."""
        if digest in self._local:
            return
        async with self.engine.begin() as connection:
            await store_query(
                connection,
                digest,
                query,
                owner=owner,
                per_owner=self.per_caller,
                limit=self.limit,
            )
        self._remember(digest, query, time.monotonic())


__all__ = ["NOT_FOUND", "PersistedQueries", "PersistedQueryError", "requested_hash"]
