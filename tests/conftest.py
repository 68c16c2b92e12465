"""Shared fixtures: every database test runs on a real SQLite file and, when
GRIDLINK_TEST_POSTGRES_URL is set, again on a real PostgreSQL; each test gets a clean database."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api import db
from api.config import Settings
from api.db import create_engine
from api.edge import session_hooks
from api.edge.app import create_app
from api.migrate import upgrade
from sync import broadcast
from tests.helpers import LiveServer

POSTGRES_URL = os.environ.get("GRIDLINK_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
ROOT = Path(__file__).resolve().parent.parent
_ran: dict[str, int] = {"sqlite": 0, "postgresql": 0}
# Tests that need more than Python: counted passed and skipped, for .ci/run to check.
HALVES = ("interop", "browser")
_halves: dict[str, dict[str, int]] = {h: {"passed": 0, "skipped": 0} for h in HALVES}
_half_tests: dict[str, set[str]] = {h: set() for h in HALVES}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres_only: needs PostgreSQL (skipped on SQLite)")
    config.addinivalue_line(
        "markers", "interop: standard clients against a real server (tests/interop)"
    )
    config.addinivalue_line("markers", "browser: drives Chromium (tests/browser, tests/interop)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # Every test of tests/browser/ drives Chromium, whether or not it says so.
        if "/tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)
        for half in HALVES:
            if item.get_closest_marker(half):
                _half_tests[half].add(item.nodeid)
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        if item.get_closest_marker("postgres_only") and backend == "sqlite":
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only behaviour"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for backend in _ran:
            if f"[{backend}" in report.nodeid or f"-{backend}]" in report.nodeid:
                _ran[backend] += 1
    outcome = "passed" if report.when == "call" and report.passed else None
    if report.skipped:
        outcome = "skipped"
    if outcome is not None:
        for half in HALVES:
            if report.nodeid in _half_tests[half]:
                _halves[half][outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # .ci/run reads this to prove that the PostgreSQL half really ran.
    out = ROOT / "var" / "test-backends.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({**_ran, **_halves}))
    terminalreporter.write_line(
        f"database tests passed: sqlite={_ran['sqlite']} postgresql={_ran['postgresql']}; "
        + "; ".join(
            f"{h} tests passed={c['passed']} skipped={c['skipped']}" for h, c in _halves.items()
        )
    )


# --- PostgreSQL: one migrated template per run, a fresh database per test ------------------


def _pg_admin_dsn() -> str:
    assert POSTGRES_URL
    return make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)


def _pg_url(database: str) -> str:
    assert POSTGRES_URL
    return make_url(POSTGRES_URL).set(database=database).render_as_string(False)


async def _pg_exec(sql: str) -> None:
    connection = await asyncpg.connect(_pg_admin_dsn())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


_RUN_ID = uuid.uuid4().hex[:8]
PG_TEMPLATE = f"gl_tpl_{_RUN_ID}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    async def make() -> None:
        await _pg_exec(f'CREATE DATABASE "{PG_TEMPLATE}"')
        engine = create_engine(Settings(database_url=_pg_url(PG_TEMPLATE)))
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(make())
    yield PG_TEMPLATE
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)'))


@pytest.fixture(scope="session", autouse=True)
def installed_session_hooks() -> None:
    """As the app, the CLI and the worker do at start: every test's writes are versioned,
    logged for phones and broadcast (tests/test_session_hooks.py checks a process without)."""
    session_hooks.install()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def make() -> None:
        engine = create_engine(Settings(database_url=f"sqlite:///{path}"))
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(make())
    return path


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, for migration tests (parametrised by `backend`)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"gl_empty_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_exec(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """A clean, migrated database of the test's backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "gridlink.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"gl_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        env="development",
        push_allow_insecure_endpoints=True,
        run_worker_in_process=False,
        media_dir=str(tmp_path / "media"),
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.session_factory(engine)


@pytest.fixture
async def client(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client on the real app (ASGI, no socket)."""
    app = create_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    # The app's lifespan would close this loop's LISTEN connections (remembered sign-ins on
    # PostgreSQL); an ASGI client does not run it, and each test has a loop of its own.
    await broadcast.close_listeners()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()
