"""Attachments end to end over real HTTP (issue 11): a photo taken offline on a ticket made
offline, uploaded in three pieces with the connection dropped between them; the refusals
(wrong hash, a lie about the type, too large, someone else's id, outside one's scope); what
is served (GPS stripped for non-staff, thumbnails made once, ETag, ranges); deletion."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import re
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from api.attachments.models import TicketAttachment
from api.attachments.service import purge_files
from api.attachments.storage import store_for
from api.config import Settings
from sync.prune import prune
from tests.attachment_support import has_gps, photo, png
from tests.helpers import LiveServer
from tests.sync_support import build_county, phone

MB = 1024 * 1024


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(dataclasses.replace(settings, max_attachment_bytes=8 * MB))
    server.settings = dataclasses.replace(settings, max_attachment_bytes=8 * MB)  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


def _auth(person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


def _ticket(a, county, title="Fire exit blocked") -> str:
    return a.create(
        "tickets", {"title": title, "source": "RISK_HAZARD", "gridId": str(county.grid_a.id)}
    )


def _dropped_put(url: str, path: str, token: str, start: int, end: int, total: int, body: bytes):
    """A PUT whose connection dies mid-body: the headers promise more than is sent."""
    parts = urlsplit(url)
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Range: bytes {start}-{end}/{total}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {end - start + 1}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(head.encode() + body)
    # Closed without the rest of the body.


async def _offset(http, person, attachment_id) -> int:
    response = await http.head(f"/attachments/{attachment_id}", headers=_auth(person))
    return int(response.headers["Upload-Offset"])


async def test_a_photo_taken_offline_arrives_in_three_pieces_across_drops(
    live, session_factory
) -> None:
    county = await build_county(session_factory)
    data = photo(1600, 1200, pad_to=5 * MB)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        a = phone(http, county.liaison_a, "a")
        await a.pull()
        # Offline: a new ticket and a photo of it; neither has reached the server.
        tid = _ticket(a, county)
        pid = a.attach(tid, data, caption="消防通道堵塞", takenAt="2026-11-30T09:12:00+08:00")
        results = await a.push()
        assert [r["status"] for r in results] == ["APPLIED", "APPLIED"]
        assert results[1]["data"]["uploaded"] is False

        # Piece 1 of 3, then the link drops.
        first = data[: 2 * MB]
        response = await http.put(
            f"/attachments/{pid}",
            content=first,
            headers={**_auth(county.liaison_a), "Content-Range": f"bytes 0-{2 * MB - 1}/{5 * MB}"},
        )
        assert response.status_code == 202 and response.headers["Upload-Offset"] == str(2 * MB)
        # Piece 2 of 3 dies half-way: what came is kept.
        await asyncio.to_thread(
            _dropped_put,
            live.url,
            f"/attachments/{pid}",
            county.liaison_a.token,
            2 * MB,
            4 * MB - 1,
            5 * MB,
            data[2 * MB : 3 * MB],
        )
        for _ in range(100):
            held = await _offset(http, county.liaison_a, pid)
            if held > 2 * MB:
                break
            await asyncio.sleep(0.05)
        assert 2 * MB < held <= 3 * MB
        # Nothing of an incomplete upload is served.
        response = await http.get(f"/attachments/{pid}", headers=_auth(county.dispatcher))
        assert response.status_code == 409
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_UPLOADED"

        # Piece 3: the reference client asks where the server is and sends the rest.
        a.upload_chunk = 8 * MB
        assert await a.upload() == {pid: "UPLOADED"}
        # Idempotent: the same bytes again give the same answer, nothing written.
        again = await http.put(f"/attachments/{pid}", content=data, headers=_auth(county.liaison_a))
        assert again.status_code == 200 and again.json()["uploaded"] is True

        await a.pull()
        record = a.of("ticketAttachments")[pid]
        assert record["uploaded"] is True and (record["width"], record["height"]) == (1600, 1200)
        assert record["sha256"] == hashlib.sha256(data).hexdigest()

        # Staff get the original; the liaison gets it without the GPS position.
        staff = await http.get(f"/attachments/{pid}", headers=_auth(county.dispatcher))
        assert staff.status_code == 200 and staff.content == data
        assert staff.headers["etag"] == f'"{record["sha256"]}"'
        own = await http.get(f"/attachments/{pid}", headers=_auth(county.liaison_a))
        assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg"
        assert has_gps(data) and not has_gps(own.content)
        assert Image.open(io.BytesIO(own.content)).size == (1600, 1200)

        # ETag and ranges.
        etag = own.headers["etag"]
        cached = await http.get(
            f"/attachments/{pid}", headers={**_auth(county.liaison_a), "If-None-Match": etag}
        )
        assert cached.status_code == 304
        part = await http.get(
            f"/attachments/{pid}", headers={**_auth(county.dispatcher), "Range": "bytes=100-199"}
        )
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        tail = await http.get(
            f"/attachments/{pid}", headers={**_auth(county.dispatcher), "Range": "bytes=-10"}
        )
        assert tail.content == data[-10:]
        beyond = await http.get(
            f"/attachments/{pid}",
            headers={**_auth(county.dispatcher), "Range": f"bytes={len(data)}-"},
        )
        assert beyond.status_code == 416

        # A thumbnail, made once and cached.
        thumb = await http.get(f"/attachments/{pid}?size=320", headers=_auth(county.liaison_a))
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        picture = Image.open(io.BytesIO(thumb.content))
        assert max(picture.size) == 320 and not has_gps(thumb.content)
        made = Path(live.settings.media_dir) / "derived" / pid / "thumb-320"
        stamp = made.stat().st_mtime_ns
        second = await http.get(f"/attachments/{pid}?size=320", headers=_auth(county.liaison_a))
        assert second.content == thumb.content and made.stat().st_mtime_ns == stamp
        odd = await http.get(f"/attachments/{pid}?size=333", headers=_auth(county.liaison_a))
        assert odd.status_code == 400 and odd.json()["errors"][0]["extensions"]["field"] == "size"


async def test_refused_uploads_and_reads(live, session_factory) -> None:
    county = await build_county(session_factory)
    data = photo(320, 240)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        a = phone(http, county.liaison_a, "a")
        await a.pull()
        tid = _ticket(a, county)
        wrong_hash = a.create(
            "ticketAttachments",
            {
                "ticketId": tid,
                "kind": "PHOTO",
                "contentType": "image/jpeg",
                "byteSize": len(data),
                "sha256": "0" * 64,
            },
        )
        liar = a.attach(tid, png(), kind="PHOTO", content_type="image/jpeg")
        good = a.attach(tid, data)
        a.blobs.clear()  # this test sends the bytes by hand
        too_big = a.create(
            "ticketAttachments",
            {
                "ticketId": tid,
                "kind": "PHOTO",
                "contentType": "image/jpeg",
                "byteSize": 9 * MB,
                "sha256": "a" * 64,
            },
        )
        results = await a.push()
        by_id = {m: r for m, r in zip([tid, wrong_hash, liar, good, too_big], results, strict=True)}
        assert by_id[too_big]["status"] == "REJECTED"
        assert by_id[too_big]["error"]["code"] == "INVALID"
        assert by_id[too_big]["error"]["field"] == "byteSize"
        assert {by_id[k]["status"] for k in (tid, wrong_hash, liar, good)} == {"APPLIED"}

        def put(who, attachment_id, body, **headers):
            return http.put(
                f"/attachments/{attachment_id}", content=body, headers={**_auth(who), **headers}
            )

        def code(response) -> str:
            return response.json()["errors"][0]["extensions"]["code"]

        # A wrong hash: refused, nothing kept, nothing served.
        response = await put(county.liaison_a, wrong_hash, data)
        assert (response.status_code, code(response)) == (422, "HASH_MISMATCH")
        assert re.search(r"[\u4e00-\u9fff]", response.json()["errors"][0]["message"])
        response = await put(county.liaison_a, wrong_hash, data, **{"Accept-Language": "en"})
        assert "SHA-256" in response.json()["errors"][0]["message"]
        assert await _offset(http, county.liaison_a, wrong_hash) == 0
        response = await http.get(f"/attachments/{wrong_hash}", headers=_auth(county.admin))
        assert response.status_code == 409
        # A PNG said to be a JPEG.
        response = await put(county.liaison_a, liar, png())
        assert (response.status_code, code(response)) == (415, "TYPE_MISMATCH")
        assert response.json()["errors"][0]["extensions"]["field"] == "contentType"
        # More bytes than the record says, and more than the server takes.
        response = await put(county.liaison_a, good, data + b"extra")
        assert (response.status_code, code(response)) == (413, "TOO_LARGE")
        response = await put(
            county.liaison_a, good, b"x", **{"Content-Range": f"bytes 0-0/{9 * MB}"}
        )
        assert response.status_code == 413
        # A piece that starts beyond what the server has.
        response = await put(
            county.liaison_a, good, data[10:20], **{"Content-Range": f"bytes 10-19/{len(data)}"}
        )
        assert (response.status_code, code(response)) == (409, "UPLOAD_OFFSET_MISMATCH")
        assert response.headers["Upload-Offset"] == "0"
        # Someone else's attachment: a colleague of the same grid may not upload it; a liaison
        # of another grid does not even learn that it exists.
        response = await put(county.liaison_a2, good, data)
        assert (response.status_code, code(response)) == (403, "FORBIDDEN")
        response = await put(county.liaison_b, good, data)
        assert (response.status_code, code(response)) == (404, "NOT_FOUND")
        response = await http.put(f"/attachments/{good}", content=data)
        assert (response.status_code, code(response)) == (401, "UNAUTHENTICATED")
        response = await put(county.liaison_a, "not-a-uuid", data)
        assert (response.status_code, code(response)) == (400, "INVALID")
        # The id taken by someone else's record cannot be created again.
        other = phone(http, county.liaison_a2, "a2")
        await other.pull()
        other.create(
            "ticketAttachments",
            {
                "ticketId": tid,
                "kind": "PHOTO",
                "contentType": "image/jpeg",
                "byteSize": 10,
                "sha256": "b" * 64,
            },
            record_id=good,
        )
        [taken] = await other.push()
        assert (taken["status"], taken["error"]["code"]) == ("REJECTED", "DUPLICATE_ID")

        # The owner uploads it; a wrong whole file afterwards is refused.
        response = await put(county.liaison_a, good, data)
        assert response.status_code == 201
        response = await put(county.liaison_a, good, photo(320, 240, seed=2))
        assert (response.status_code, code(response)) == (409, "ALREADY_UPLOADED")

        # Reading outside one's scope: the file and its thumbnail are not there.
        for path in (f"/attachments/{good}", f"/attachments/{good}?size=160"):
            response = await http.get(path, headers=_auth(county.liaison_c))
            assert (response.status_code, code(response)) == (404, "NOT_FOUND")
        response = await http.get(f"/attachments/{good}", headers=_auth(county.liaison_a2))
        assert response.status_code == 200 and not has_gps(response.content)
        # And a pull of liaison_c never carries the record.
        c = phone(http, county.liaison_c, "c")
        await c.pull()
        assert c.of("ticketAttachments") == {}


async def test_deleting_a_ticket_deletes_its_attachments_and_later_their_files(
    live, session_factory
) -> None:
    county = await build_county(session_factory)
    data = photo(200, 100)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        a = phone(http, county.liaison_a, "a")
        await a.pull()
        tid = _ticket(a, county)
        pid = a.attach(tid, data)
        await a.sync()
        assert a.of("ticketAttachments")[pid]["uploaded"] is True
        media = Path(live.settings.media_dir)
        assert (media / "objects" / pid).read_bytes() == data
        a.delete("tickets", tid)
        [deleted] = await a.push()
        assert deleted["status"] == "APPLIED"
        await a.pull()
        assert a.of("ticketAttachments") == {}
        response = await http.get(f"/attachments/{pid}", headers=_auth(county.admin))
        assert response.status_code == 404
        # Files go once the tombstone is older than the sync horizon (gridlink sync-prune).
        store = store_for(live.settings)
        async with session_factory() as session, session.begin():
            assert await purge_files(session, store, older_than=timedelta(days=1)) == 0
        assert (media / "objects" / pid).exists()
        async with session_factory() as session, session.begin():
            await prune(session, older_than=timedelta(0), media=store)
        assert not (media / "objects" / pid).exists()
        async with session_factory() as session:
            assert await session.get(TicketAttachment, uuid.UUID(pid)) is None
