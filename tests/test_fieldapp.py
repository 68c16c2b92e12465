"""The field app's files at /app: the shell, the service worker, immutable versioned files,
and the size budget of a first load (≤ 250 KB compressed)."""

from __future__ import annotations

import gzip
import json
import re

import httpx

from api.edge.fieldapp import IMMUTABLE, scan

SHELL_BUDGET = 250 * 1024


async def test_shell_worker_and_versioned_files(client: httpx.AsyncClient) -> None:
    release = scan()
    shell = await client.get("/app")
    assert shell.status_code == 200
    assert shell.headers["cache-control"] == "no-cache"
    assert f'src="{release.prefix}/app/main.js"' in shell.text
    assert (await client.get("/app/", follow_redirects=False)).headers["location"] == "/app"

    worker = await client.get("/app/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/app"
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", worker.text).group(1))
    assert f"{release.prefix}/app/main.js" in precache
    assert f"{release.prefix}/sync/engine.js" in precache
    assert f'import {{ SyncEngine }} from "{release.prefix}/sync/engine.js"' in worker.text

    main = await client.get(f"{release.prefix}/app/main.js")
    assert main.status_code == 200
    assert main.headers["cache-control"] == IMMUTABLE
    assert main.headers["content-type"].startswith("text/javascript")
    manifest = await client.get(f"{release.prefix}/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    for icon in manifest.json()["icons"]:
        assert (await client.get(f"{release.prefix}/{icon['src']}")).status_code == 200


async def test_only_the_apps_files_are_served(client: httpx.AsyncClient) -> None:
    prefix = scan().prefix
    for name in ("package.json", "test/engine.test.js", "../api/config.py", "sw.js", "index.html"):
        assert (await client.get(f"{prefix}/{name}")).status_code == 404, name
    # A page of an older release still gets the file, but not cached for good.
    old = await client.get("/app/v/000000000000/app/main.js")
    assert old.status_code == 200
    assert old.headers["cache-control"] == "no-cache"


async def test_first_load_fits_the_budget(client: httpx.AsyncClient) -> None:
    release = scan()
    total = len(gzip.compress((await client.get("/app")).content))
    total += len(gzip.compress((await client.get("/app/sw.js")).content))
    for name in release.files:
        body = (await client.get(f"{release.prefix}/{name}")).content
        total += len(gzip.compress(body, compresslevel=6))
    assert total <= SHELL_BUDGET, total
