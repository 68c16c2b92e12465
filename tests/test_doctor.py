"""`gridlink doctor` and the admin-only doctor field: each check finds what it should, and says
what to do, in Chinese and English."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import sync.health  # noqa: F401
from api.auth.models import TokenKind
from api.auth.tokens import issue_token
from api.config import Settings
from api.db import create_engine
from api.demo import DEMO_PASSWORD
from api.doctor import Status, run_doctor
from api.heartbeat import Heartbeat
from api.members.service import create_member
from api.migrate import upgrade
from api.records import utcnow
from sync.push_models import PushSubscription
from tests.admin_support import cli
from tests.graphql_world import build_world
from tests.helpers import free_port, gql
from tests.test_cli import run


def _by_check(findings) -> dict[str, list]:
    found: dict[str, list] = {}
    for finding in findings:
        found.setdefault(finding.check, []).append(finding)
    return found


RANK = {"OK": 0, "WARN": 1, "FAIL": 2}


def _status(findings) -> dict[str, str]:
    """The worst status of each check."""
    return {
        name: max((f.status.value for f in items), key=RANK.__getitem__)
        for name, items in _by_check(findings).items()
    }


async def test_a_fresh_database_and_then_a_troubled_one(
    settings: Settings, engine: AsyncEngine, session_factory
) -> None:
    found = await run_doctor(settings, engine)
    assert _status(found) == {
        "database": "OK", "migrations": "OK", "worker": "FAIL", "tokens": "OK",
        "configuration": "OK", "push": "WARN", "subscriptions": "OK", "sync-log": "OK",
    }  # fmt: skip
    for finding in found:
        assert finding.zh and finding.en
        if finding.status != Status.OK:
            assert finding.do_zh and finding.do_en  # every problem says what to do

    beat = Heartbeat("check_deadlines")
    await beat(session_factory, utcnow())
    assert _status(await run_doctor(settings, engine))["worker"] == "OK"
    later = await run_doctor(settings, engine, now=utcnow() + timedelta(minutes=10))
    assert _status(later)["worker"] == "FAIL"

    async with session_factory() as session, session.begin():
        member = await create_member(
            session, name="演示管理员", phone="13800000000", roles=["ADMIN"],
            password=DEMO_PASSWORD,
        )  # fmt: skip
        await issue_token(
            session, member=member, kind=TokenKind.API, lifetime=timedelta(days=3),
            name="county-dashboard",
        )  # fmt: skip
        session.add(
            PushSubscription(
                member_id=member.id, endpoint="https://push.example/abc", p256dh="x", auth="y",
                failure_count=9,
            )
        )  # fmt: skip
    production = Settings(
        database_url=settings.database_url, env="production", vapid_private_key="configured",
    )  # fmt: skip
    found = await run_doctor(production, engine)
    status = _status(found)
    assert status["tokens"] == "WARN" and "county-dashboard" in _by_check(found)["tokens"][0].en
    assert status["subscriptions"] == "WARN" and status["push"] == "OK"
    assert status["configuration"] == "FAIL"
    config = {f.en.split(":")[0] for f in _by_check(found)["configuration"]}
    assert config == {
        "production without CORS origins",
        "production has demo accounts with the published demo password",
    }


async def test_pending_migrations_and_an_unreachable_database(
    backend: str, empty_database_url: str
) -> None:
    engine = create_engine(Settings(database_url=empty_database_url))
    try:
        await upgrade(engine, "0005")
        found = await run_doctor(Settings(database_url=empty_database_url), engine)
        assert [(f.check, f.status) for f in found] == [
            ("database", Status.OK), ("migrations", Status.FAIL)
        ]  # fmt: skip
        assert "gridlink migrate" in found[1].do_zh
    finally:
        await engine.dispose()
    if backend != "sqlite":
        return
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    engine = create_engine(Settings(database_url=nowhere))
    try:
        found = await run_doctor(Settings(database_url=nowhere), engine)
    finally:
        await engine.dispose()
    assert [(f.check, f.status) for f in found] == [("database", Status.FAIL)]
    assert "GRIDLINK_DATABASE_URL" in found[0].do_zh


def test_doctor_command(database_url: str) -> None:
    done = run(database_url, "doctor")
    assert done.returncode == 1  # the worker never ran
    assert "[故障]" in done.stdout and "→" in done.stdout and "[正常]" in done.stdout
    english = cli(database_url, "doctor", "--lang", "en")
    assert "[FAIL] the timed jobs" in english.stdout


@pytest.fixture
async def world(session_factory):
    return await build_world(session_factory)


async def test_doctor_field_is_for_admins(client, world) -> None:
    query = "{ doctor { check status message action messageZh messageEn } }"
    found = await gql(client, query, token=world.tokens["admin"])
    checks = {f["check"]: f for f in found["data"]["doctor"]}
    assert checks["worker"]["status"] == "FAIL" and checks["worker"]["action"]
    english = await client.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {world.tokens['admin']}", "Accept-Language": "en"},
    )
    worker = next(f for f in english.json()["data"]["doctor"] if f["check"] == "worker")
    assert worker["message"] == worker["messageEn"]
    denied = await gql(client, query, token=world.tokens["county"], expect_errors=True)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
