"""The field app on a thin link: shell size, time to open offline, and the time of a first sync
for the demo liaison and the county officer on Chromium's "Slow 3G" profile, each against the
same step on an unthrottled loopback in the same run (the ratio).

    .venv/bin/python bench/fieldapp_bench.py [--database-url URL] [--repeat 3]

Without --database-url a fresh SQLite file is migrated and loaded with the demo county.
Needs Debian's chromium and Playwright for Python (the test extra)."""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from api.edge.fieldapp import scan  # noqa: E402
from tests.browser.conftest import LAUNCH_ARGS, PHONE  # noqa: E402
from tests.browser.phone import open_app, sign_in, wait_controlled  # noqa: E402
from tests.demo_server import GRIDLINK, demo_server  # noqa: E402

# Chromium DevTools' "Slow 3G" preset: 400 kbit/s down and up, 2 s round-trip latency.
SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 500 * 1000 / 8 * 0.8,
    "uploadThroughput": 500 * 1000 / 8 * 0.8,
}
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
LIAISON, OFFICER = "13800000003", "13800000001"


def shell_bytes(url: str) -> tuple[int, int]:
    """(gzip bytes, raw bytes) of everything a first open downloads: the shell, the worker
    and every precached file."""
    release = scan()
    paths = ["/app", "/app/sw.js", *(f"{release.prefix}/{name}" for name in release.files)]
    raw = compressed = 0
    with httpx.Client(base_url=url) as http:
        for path in paths:
            body = http.get(path).content
            raw += len(body)
            compressed += len(gzip.compress(body, compresslevel=6))
    return compressed, raw


def first_sync(browser: Any, url: str, phone: str, network: dict[str, Any]) -> float:
    """Seconds from pressing "sign in" to the end of the first sync (the shell already
    installed by the service worker, so only the sync's own traffic is timed)."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    open_app(page, url)
    wait_controlled(page)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", network)
    started = time.monotonic()
    sign_in(page, phone, timeout=600_000)
    elapsed = time.monotonic() - started
    context.close()
    return elapsed


def open_offline(browser: Any, url: str, repeat: int) -> list[float]:
    """Seconds from reload to the ticket list, with the network off (service worker)."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    open_app(page, url)
    sign_in(page, LIAISON)
    wait_controlled(page)
    context.set_offline(True)
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        page.reload()
        page.wait_for_selector("[data-testid=ticket-list]")
        times.append(time.monotonic() - started)
    context.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a migrated, empty database (default: SQLite)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database_url = args.database_url or f"sqlite:///{folder}/bench.db"
        env = {**os.environ, "GRIDLINK_DATABASE_URL": database_url}
        subprocess.run([str(GRIDLINK), "migrate"], env=env, check=True, capture_output=True)
        with demo_server(database_url) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=LAUNCH_ARGS
            )
            compressed, raw = shell_bytes(url)
            offline = open_offline(browser, url, args.repeat * 3)
            rows = []
            for name, phone in (("liaison 13800000003", LIAISON), ("officer 13800000001", OFFICER)):
                fast = [first_sync(browser, url, phone, UNTHROTTLED) for _ in range(args.repeat)]
                slow = [first_sync(browser, url, phone, SLOW_3G) for _ in range(args.repeat)]
                rows.append((name, statistics.median(fast), statistics.median(slow)))
            browser.close()
    print(f"shell, first load: {compressed / 1024:.1f} KB gzip ({raw / 1024:.1f} KB raw)")
    print(
        f"open offline (service worker), median of {len(offline)}: "
        f"{statistics.median(offline) * 1000:.0f} ms (min {min(offline) * 1000:.0f} ms)"
    )
    print()
    print("| first sync (sign-in to synced) | loopback s | Slow 3G s | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, fast, slow in rows:
        print(f"| {name} | {fast:.2f} | {slow:.2f} | {slow / fast:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
