"""The S3-compatible store, over HTTP against a real local S3-compatible server process (moto's
server mode): an upload in pieces, the served file and thumbnail, the purge — the same code
as on disk, another store."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import boto3
import httpx
import pytest

from api.attachments.storage import S3Store, store_for
from api.config import Settings
from sync.prune import prune
from tests.attachment_support import photo
from tests.helpers import LiveServer, free_port
from tests.sync_support import build_county, phone

BUCKET = "gridlink-media"


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the S3-compatible server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_settings(settings: Settings, s3_endpoint: str) -> Settings:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    url = f"s3://testing:testing@{BUCKET}/county-a?endpoint={s3_endpoint}&region=us-east-1"
    return dataclasses.replace(settings, media_url=url)


def _auth(person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


async def test_attachments_on_an_s3_compatible_store(s3_settings, session_factory) -> None:
    store = store_for(s3_settings)
    assert isinstance(store, S3Store)
    server = LiveServer(s3_settings)
    server.start()
    try:
        county = await build_county(session_factory)
        data = photo(800, 600)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            a = phone(http, county.liaison_a, "a")
            await a.pull()
            tid = a.create(
                "tickets",
                {"title": "Wage notice", "source": "RISK_HAZARD", "gridId": str(county.grid_a.id)},
            )
            pid = a.attach(tid, data)
            a.upload_chunk = len(data) // 3 + 1  # three pieces, each its own object first
            await a.sync()
            assert a.of("ticketAttachments")[pid]["uploaded"] is True
            # In the bucket, under the URL's prefix: the verified file only, no pieces left.
            keys = [key for key, _ in await store.list("objects")]
            assert f"objects/{pid}" in keys
            assert await store.list(f"staging/{pid}") == []
            listed = boto3.client(
                "s3",
                endpoint_url=s3_settings.media_url.split("endpoint=")[1].split("&")[0],
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            ).list_objects_v2(Bucket=BUCKET, Prefix="county-a/objects/")
            assert [o["Key"] for o in listed["Contents"]] == [f"county-a/objects/{pid}"]

            staff = await http.get(f"/attachments/{pid}", headers=_auth(county.dispatcher))
            assert staff.status_code == 200 and staff.content == data
            thumb = await http.get(f"/attachments/{pid}?size=160", headers=_auth(county.liaison_a))
            assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
            assert await store.get(f"derived/{pid}/thumb-160") == thumb.content

            a.delete("tickets", tid)
            await a.push()
        async with session_factory() as session, session.begin():
            await prune(session, older_than=timedelta(0), media=store)
        assert await store.get(f"objects/{pid}") is None
        assert await store.list(f"derived/{pid}") == []
    finally:
        server.stop()
