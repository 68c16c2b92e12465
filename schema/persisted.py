"""Automatic persisted queries (Apollo's protocol): a client sends
``extensions.persistedQuery = {version: 1, sha256Hash}`` without the query; an unknown hash
answers PERSISTED_QUERY_NOT_FOUND and the client sends hash and query once. Known queries are
kept in a small in-process LRU in front of the shared table (api.persisted), so every API
process learns a query registered with any of them."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from api.i18n import _
from api.persisted.service import find_query, store_query

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


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
    if not isinstance(digest, str) or len(digest) != 64:
        raise PersistedQueryError(
            _("persistedQuery.sha256Hash must be 64 hex characters"), "PERSISTED_QUERY_INVALID", 400
        )
    return digest.lower()


class PersistedQueries:
    def __init__(self, engine: AsyncEngine, *, limit: int = 10_000, local: int = 1_000) -> None:
        self.engine = engine
        self.limit = limit
        self.local_limit = local
        self._local: OrderedDict[str, str] = OrderedDict()

    def _remember(self, digest: str, query: str) -> None:
        self._local[digest] = query
        self._local.move_to_end(digest)
        while len(self._local) > self.local_limit:
            self._local.popitem(last=False)

    async def resolve(self, digest: str, query: str | None) -> str:
        """The query text for a request naming ``digest``: registers ``query`` when given
        (after checking its hash), else looks the hash up."""
        if query is not None:
            if hashlib.sha256(query.encode()).hexdigest() != digest:
                raise PersistedQueryError(
                    _("provided sha does not match query"), "PERSISTED_QUERY_HASH_MISMATCH", 400
                )
            if digest not in self._local:
                async with self.engine.begin() as connection:
                    await store_query(connection, digest, query, limit=self.limit)
            self._remember(digest, query)
            return query
        known = self._local.get(digest)
        if known is None:
            async with self.engine.connect() as connection:
                known = await find_query(connection, digest)
            if known is None:
                raise PersistedQueryError("PersistedQueryNotFound", NOT_FOUND, 200)  # not a message
        self._remember(digest, known)
        return known


__all__ = ["NOT_FOUND", "PersistedQueries", "PersistedQueryError", "requested_hash"]
