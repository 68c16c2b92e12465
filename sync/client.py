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
import hashlib
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
    # Attachment bytes waiting for upload (by attachment id), and uploads the server refused.
    blobs: dict[str, bytes] = field(default_factory=dict)
    upload_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    upload_chunk: int = 1024 * 1024

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

    def attach(
        self,
        ticket_id: str,
        data: bytes,
        *,
        kind: str = "PHOTO",
        content_type: str = "image/jpeg",
        **fields: Any,
    ) -> str:
        """A photo (document, voice note) taken offline: the record goes in the outbox, the
        bytes wait for upload() once the record has reached the server. `fields`: caption,
        takenAt, latitude, longitude, width, height."""
        record = {
            "ticketId": ticket_id,
            "kind": kind,
            "contentType": content_type,
            "byteSize": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            **fields,
        }
        attachment_id = self.create("ticketAttachments", record)
        self.blobs[attachment_id] = data
        return attachment_id

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
        if mutation["op"] == "CREATE" and (
            result["status"] == "REJECTED" or (result["status"] == "CONFLICT" and not data)
        ):
            # Never made on the server (refused, or its ticket left the phone's scope and the
            # record is kept in a conflict): the local draft goes, and any file waiting for it.
            self.records.pop(key, None)
            if self.blobs.pop(mutation["id"], None) is not None:
                self.upload_errors[mutation["id"]] = result.get("error") or {
                    "extensions": {"code": result["status"]}
                }
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
        """Push what is waiting, upload the files of pushed attachments, then pull."""
        await self.push()
        await self.upload()
        await self.pull()

    # --- attachment bytes: resumable upload --------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def upload_offset(self, attachment_id: str) -> int | None:
        """How many bytes the server holds (None: complete)."""
        response = await self.http.head(f"/attachments/{attachment_id}", headers=self._auth())
        if response.status_code == 200:
            return None
        if response.status_code == 204:
            return int(response.headers["Upload-Offset"])
        error = response.json()["errors"][0]
        raise SyncFailed(error["extensions"]["code"], error["message"])

    async def upload(self, *, attempts: int = 5) -> dict[str, str]:
        """Upload every waiting file whose record the server has, in pieces of upload_chunk
        bytes; after a dropped connection ask the server how far it got and go on from
        there. Returns attachment id -> "UPLOADED" or the refusal's code."""
        pushed = {m["id"] for m in self.outbox}
        done: dict[str, str] = {}
        for attachment_id in [a for a in self.blobs if a not in pushed]:
            if ("ticketAttachments", attachment_id) not in self.records:
                self.blobs.pop(attachment_id)  # its CREATE was refused or it was deleted
                continue
            done[attachment_id] = await self._upload_one(attachment_id, attempts)
        return done

    async def _upload_one(self, attachment_id: str, attempts: int) -> str:
        data = self.blobs[attachment_id]
        for _ in range(attempts):
            try:
                offset = await self.upload_offset(attachment_id)
                while offset is not None:
                    end = min(offset + self.upload_chunk, len(data)) - 1
                    response = await self.http.put(
                        f"/attachments/{attachment_id}",
                        content=data[offset : end + 1],
                        headers={
                            **self._auth(),
                            "Content-Type": "application/octet-stream",
                            "Content-Range": f"bytes {offset}-{end}/{len(data)}",
                        },
                    )
                    if response.status_code == 202:
                        offset = int(response.headers["Upload-Offset"])
                    elif response.status_code in (200, 201):
                        offset = None
                    else:
                        error = response.json()["errors"][0]
                        code = error["extensions"]["code"]
                        if code == "UPLOAD_OFFSET_MISMATCH":
                            break  # ask again where the server is
                        self.upload_errors[attachment_id] = error
                        self.blobs.pop(attachment_id)
                        return code
                else:
                    self.blobs.pop(attachment_id)
                    return "UPLOADED"
            except httpx.TransportError:
                continue  # the link dropped: ask the server how far it got
            except SyncFailed as refused:  # e.g. NOT_FOUND: the record (or ticket) is gone
                self.upload_errors[attachment_id] = {"extensions": {"code": refused.code}}
                self.blobs.pop(attachment_id)
                return refused.code
        return "PENDING"

    # --- reading the copy ----------------------------------------------------------------

    def snapshot(self) -> dict[tuple[str, str], Any]:
        return {key: record.data for key, record in self.records.items()}

    def of(self, collection: str) -> dict[str, dict[str, Any]]:
        return {rid: r.data for (c, rid), r in self.records.items() if c == collection}
