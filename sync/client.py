"""A reference sync client: a local copy and an outbox, speaking only the public protocol over
HTTP (docs/sync-protocol.md). The tests drive phones with it; it is also an example for anyone
scripting the API:

    async with httpx.AsyncClient(base_url="https://gridlink.example") as http:
        phone = SyncClient(http, token=token, client_id="field-laptop-7")
        await phone.pull()                                  # first sync: your scope, in pages
        ticket_id = phone.create("tickets", {"title": "No contracts signed", "gridId": grid,
                                             "source": "RISK_HAZARD"})
        phone.update("tickets", ticket_id, {"description": "Seen at the gate"})
        await phone.sync()                                  # push the outbox, then pull
        for result in phone.results.values(): print(result["status"])

It keeps nothing but plain dicts, so a script can save `state()` to a file between runs."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

PROTOCOL_VERSION = 1
PROTOCOL_HEADER = "X-Gridlink-Sync-Protocol"

PULL = """query($checkpoint: String, $limit: Int, $clientId: String) {
  syncPull(checkpoint: $checkpoint, limit: $limit, clientId: $clientId) {
    changes { collection id deleted version data } checkpoint hasMore resetRequired
  }
}"""
PUSH = """mutation($clientId: String!, $mutations: [SyncMutationInput!]!) {
  syncPush(clientId: $clientId, mutations: $mutations) {
    results {
      mutationId status version data
      error { code message field }
      conflicts { id collection recordId field clientValue serverValue rule winner message }
    }
  }
}"""


class SyncFailed(Exception):
    """The server refused the whole request (e.g. CLIENT_TOO_OLD); `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class ResponseLost(Exception):
    """Raised by push(lose_response=True): the server got the batch, the phone never heard."""


@dataclass
class Record:
    version: int
    data: dict[str, Any]


@dataclass
class SyncClient:
    http: httpx.AsyncClient
    token: str
    client_id: str
    protocol_version: int = PROTOCOL_VERSION
    page_size: int = 500
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: str | None = None
    # Every result the server gave, by mutationId (a replay must give the same).
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    resets: int = 0

    # --- offline work: change the local copy, queue a mutation ---------------------------

    def _queue(
        self,
        collection: str,
        record_id: str,
        op: str,
        fields: dict[str, Any] | None,
        base: int | None,
    ) -> str:
        mutation_id = uuid.uuid4().hex
        self.outbox.append(
            {
                "mutationId": mutation_id,
                "collection": collection,
                "id": record_id,
                "op": op,
                "baseVersion": base,
                "fields": fields,
            }
        )
        return mutation_id

    def create(self, collection: str, fields: dict[str, Any], record_id: str | None = None) -> str:
        record_id = record_id or str(uuid.uuid4())
        self.records[(collection, record_id)] = Record(0, {"id": record_id, **fields})
        self._queue(collection, record_id, "CREATE", dict(fields), None)
        return record_id

    def update(self, collection: str, record_id: str, fields: dict[str, Any]) -> str:
        """An edit from the version the phone holds (its baseVersion)."""
        record = self.records[(collection, record_id)]
        record.data.update(fields)
        base = record.version or None
        return self._queue(collection, record_id, "UPDATE", dict(fields), base)

    def delete(self, collection: str, record_id: str) -> str:
        record = self.records.pop((collection, record_id))
        return self._queue(collection, record_id, "DELETE", None, record.version or None)

    # --- the wire ----------------------------------------------------------------------

    async def _call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={
                "Authorization": f"Bearer {self.token}",
                PROTOCOL_HEADER: str(self.protocol_version),
            },
        )
        body = response.json()
        if body.get("errors"):
            error = body["errors"][0]
            raise SyncFailed(error.get("extensions", {}).get("code", "ERROR"), error["message"])
        return body["data"]

    async def push(self, *, lose_response: bool = False, batch_size: int = 500) -> list[dict]:
        """Send the outbox (in batches, in order). With lose_response the server applies the
        batch but the phone behaves as if the answer never came: the outbox is kept."""
        answered: list[dict[str, Any]] = []
        while self.outbox:
            batch = self.outbox[:batch_size]
            data = await self._call(PUSH, {"clientId": self.client_id, "mutations": batch})
            if lose_response:
                raise ResponseLost(f"{len(batch)} mutations sent, answer lost")
            results = data["syncPush"]["results"]
            for mutation, result in zip(batch, results, strict=True):
                self._take_result(mutation, result)
            del self.outbox[: len(batch)]
            answered.extend(results)
        return answered

    def _take_result(self, mutation: dict[str, Any], result: dict[str, Any]) -> None:
        self.results[mutation["mutationId"]] = result
        key = (mutation["collection"], mutation["id"])
        data = result.get("data")
        if result["status"] == "REJECTED" and mutation["op"] == "CREATE":
            self.records.pop(key, None)  # never made on the server: the local draft goes
            return
        if not data:
            return
        if data.get("deletedAt"):
            self.records.pop(key, None)
            return
        local = self.records.get(key)
        if local is None:
            # A refused delete puts the record back; otherwise a result never brings back
            # a record a pull removed (a replayed answer may be older than the phone's copy).
            if mutation["op"] == "DELETE" and result["status"] != "APPLIED":
                self.records[key] = Record(result["version"], dict(data))
            return
        # Only a version at least as new replaces the copy (local edits sit on their base).
        if (result["version"] or 0) >= local.version:
            self.records[key] = Record(result["version"], dict(data))

    async def pull(self, *, max_rounds: int = 10_000) -> int:
        """Pull until the server has nothing more; returns how many changes arrived."""
        received = idle = resets_here = 0
        for _ in range(max_rounds):
            data = await self._call(
                PULL,
                {
                    "checkpoint": self.checkpoint,
                    "limit": self.page_size,
                    "clientId": self.client_id,
                },
            )
            page = data["syncPull"]
            if page["resetRequired"]:
                # History is gone (or the scope changed): start over; the outbox is kept.
                self.resets += 1
                resets_here += 1
                if resets_here > 3:
                    raise SyncFailed("RESET_LOOP", "the server keeps asking for a reset")
                self.records.clear()
                self.checkpoint = None
                continue
            for change in page["changes"]:
                key = (change["collection"], change["id"])
                if change["deleted"]:
                    self.records.pop(key, None)
                else:
                    self.records[key] = Record(change["version"], change["data"])
            received += len(page["changes"])
            self.checkpoint = page["checkpoint"]
            if not page["hasMore"]:
                return received
            # hasMore without changes: committed changes wait behind a transaction still
            # running on the server; give it a moment.
            idle = idle + 1 if not page["changes"] else 0
            if idle:
                await asyncio.sleep(min(0.01 * idle, 0.2))
        raise SyncFailed("TOO_MANY_ROUNDS", "the server kept saying hasMore")

    async def sync(self) -> None:
        """Push what is waiting, then pull: the usual reconnect."""
        await self.push()
        await self.pull()

    # --- reading the copy ----------------------------------------------------------------

    def snapshot(self) -> dict[tuple[str, str], Any]:
        return {key: record.data for key, record in self.records.items()}

    def of(self, collection: str) -> dict[str, dict[str, Any]]:
        return {rid: r.data for (c, rid), r in self.records.items() if c == collection}
