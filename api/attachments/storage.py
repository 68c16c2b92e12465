"""Where attachment bytes live: a directory on disk (one server), or an S3-compatible object
store by URL (several servers share it). Both hold the same keys:

  staging/<id>/<start>-<length>   pieces of an upload still in progress (never served)
  objects/<id>                    the verified file, written only once it is complete
  derived/<id>/<name>             made from it once and cached (thumbnails, GPS stripped)

A key is written whole or not at all (a temporary file renamed; an S3 PUT), so a reader
never sees half a file."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from api.config import Settings


class Store(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...
    async def get(self, key: str) -> bytes | None: ...
    async def list(self, prefix: str) -> list[tuple[str, int]]: ...
    async def delete_prefix(self, prefix: str) -> None: ...


class DiskStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, key, data)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        partial.write_bytes(data)
        os.replace(partial, path)

    async def get(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            return None

    async def list(self, prefix: str) -> list[tuple[str, int]]:
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> list[tuple[str, int]]:
        folder = self._path(prefix)
        if not folder.is_dir():
            return []
        return sorted(
            (f"{prefix.rstrip('/')}/{p.name}", p.stat().st_size)
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".")
        )

    async def delete_prefix(self, prefix: str) -> None:
        await asyncio.to_thread(self._delete, prefix)

    def _delete(self, prefix: str) -> None:
        path = self._path(prefix)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


class S3Store:
    """An S3-compatible bucket through boto3 (its calls run in worker threads)."""

    def __init__(self, url: str) -> None:
        import boto3  # only deployments with a store by URL need it loaded
        from botocore.config import Config

        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.bucket = parts.hostname or ""
        self.prefix = parts.path.strip("/")
        self.client = boto3.client(
            "s3",
            endpoint_url=query.get("endpoint"),
            region_name=query.get("region", "us-east-1"),
            aws_access_key_id=unquote(parts.username) if parts.username else None,
            aws_secret_access_key=unquote(parts.password) if parts.password else None,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data
        )

    async def get(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except self.client.exceptions.NoSuchKey:
                return None
            return answer["Body"].read()

        return await asyncio.to_thread(read)

    async def list(self, prefix: str) -> list[tuple[str, int]]:
        def read() -> list[tuple[str, int]]:
            found: list[tuple[str, int]] = []
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix.rstrip("/") + "/")
            )
            strip = len(self.prefix) + 1 if self.prefix else 0
            for page in pages:
                found += [(o["Key"][strip:], o["Size"]) for o in page.get("Contents", [])]
            return sorted(found)

        return await asyncio.to_thread(read)

    async def delete_prefix(self, prefix: str) -> None:
        keys = [key for key, _ in await self.list(prefix)]

        def delete() -> None:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(prefix))
            for start in range(0, len(keys), 1000):
                batch = [{"Key": self._key(k)} for k in keys[start : start + 1000]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

        await asyncio.to_thread(delete)


def store_for(settings: Settings) -> Store:
    if settings.media_url:
        return S3Store(settings.media_url)
    return DiskStore(settings.media_dir)
