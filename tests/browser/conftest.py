"""Browser tests of the field app: Playwright for Python driving Debian's Chromium at a
phone's size (360 × 740) against a real `gridlink serve` with the demo county."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.demo_server import ROOT

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = ROOT / "var" / "screenshots"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real Chromium (tests/browser/)")


def _missing(message: str) -> None:
    # In CI a missing browser is a failure: the browser half must not be skipped silently.
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def chromium(database_url: str) -> Iterator[Any]:
    # Function-scoped and after the database: Playwright's sync API keeps an event loop
    # running in this thread, and the database fixtures need asyncio.run() before it starts.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    executable = shutil.which("chromium")
    if executable is None:
        _missing("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone_context(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        has_touch=True,
        is_mobile=True,
    )
    # The page's console and errors go to the test's output (shown when a test fails).
    context.on("console", lambda message: print(f"console.{message.type}: {message.text}"))
    context.on("weberror", lambda error: print(f"page error: {error.error}"))
    yield context
    context.close()


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
