"""`gridlink doctor`: is this deployment healthy? Each check answers with lines that say what it
found and what to do about it, in Chinese and English.

Checks register themselves (``@check``): the domain's here (database, migrations, worker,
tokens, configuration), the sync layer's in ``sync/health.py`` (Web Push, subscriptions, the
sync log), imported by the edges that run the doctor."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.auth.models import AuthToken, TokenKind
from api.config import Settings
from api.heartbeat import HEARTBEAT_SECONDS, last_beat
from api.members.models import Member
from api.records import utcnow


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


STATUS_ZH = {Status.OK: "正常", Status.WARN: "注意", Status.FAIL: "故障"}


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    zh: str
    en: str
    do_zh: str = ""
    do_en: str = ""

    def lines(self, lang: str = "zh") -> list[str]:
        if lang == "zh":
            found = [f"[{STATUS_ZH[self.status]}] {self.zh}"]
            return found + ([f"    → {self.do_zh}"] if self.do_zh else [])
        found = [f"[{self.status.value}] {self.en}"]
        return found + ([f"    -> {self.do_en}"] if self.do_en else [])


@dataclass
class Checkup:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    now: datetime


CheckFunction = Callable[[Checkup], Awaitable[list[Finding]]]
CHECKS: list[tuple[str, CheckFunction]] = []


def check(name: str) -> Callable[[CheckFunction], CheckFunction]:
    def register(function: CheckFunction) -> CheckFunction:
        CHECKS.append((name, function))
        return function

    return register


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


async def run_doctor(
    settings: Settings, engine: AsyncEngine, *, now: datetime | None = None
) -> list[Finding]:
    """Every check; when the database cannot be reached, only that (the rest would repeat it)."""
    from api.db import session_factory

    checkup = Checkup(settings, session_factory(engine), now or utcnow())
    found = await _database(checkup, engine)
    if any(f.status == Status.FAIL for f in found):
        return found  # unreachable or behind: the other checks would read missing tables
    for name, function in CHECKS:
        try:
            found.extend(await function(checkup))
        except Exception as error:  # noqa: BLE001 - one broken check must not hide the others
            found.append(
                Finding(
                    name,
                    Status.FAIL,
                    f"检查“{name}”出错：{type(error).__name__}",
                    f"the check '{name}' failed: {type(error).__name__}: {error}",
                    "请把这一行报告给维护人员。",
                    "Report this line to the maintainers.",
                )  # fmt: skip
            )
    return found


async def _database(checkup: Checkup, engine: AsyncEngine) -> list[Finding]:
    from api.migrate import current_revision, head_revision, pending_revisions

    shown = engine.url.render_as_string(hide_password=True)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current = await current_revision(engine)
    except Exception as error:  # noqa: BLE001 - any failure to connect is the finding
        reason = str(getattr(error, "orig", None) or error).splitlines()[0][:200]
        return [
            Finding(
                "database",
                Status.FAIL,
                f"无法连接数据库 {shown}：{reason}",
                f"cannot reach the database {shown}: {reason}",
                "检查 GRIDLINK_DATABASE_URL、数据库服务是否运行、网络与口令。",
                "Check GRIDLINK_DATABASE_URL, that the database server runs, network and password.",
            )  # fmt: skip
        ]
    reached = Finding(
        "database", Status.OK, f"数据库可连接：{shown}", f"database reachable: {shown}"
    )
    head = head_revision()
    if current == head:
        return [
            reached,
            Finding(
                "migrations",
                Status.OK,
                f"数据库结构为最新版本 {head}。",
                f"schema at the newest migration {head}.",
            ),  # fmt: skip
        ]
    pending = ", ".join(pending_revisions(current))
    return [
        reached,
        Finding(
            "migrations",
            Status.FAIL,
            f"数据库结构版本 {current or '（空）'}，还有迁移未执行：{pending}。",
            f"schema at {current or '(empty)'}; pending migrations: {pending}.",
            "先备份（gridlink backup），再运行 gridlink migrate；可先用 --sql 查看 SQL。",
            "Back up (gridlink backup), then run gridlink migrate; review with --sql first.",
        ),  # fmt: skip
    ]


@check("worker")
async def _worker(checkup: Checkup) -> list[Finding]:
    async with checkup.sessions() as session:
        beat = await last_beat(session)
    where = (
        "服务进程内（GRIDLINK_RUN_WORKER_IN_PROCESS=true）"
        if checkup.settings.run_worker_in_process
        else "单独的 gridlink worker 进程"
    )
    start = (
        "确认 gridlink serve 在运行" if checkup.settings.run_worker_in_process
        else "启动 gridlink worker（一台机器一个即可）"
    )  # fmt: skip
    if beat is None:
        return [
            Finding(
                "worker",
                Status.FAIL,
                f"定时任务（期限检查、风险等级、推送）从未运行过；应由{where}运行。",
                "the timed jobs (deadlines, risk levels, pushes) have never run.",
                f"{start}。",
                "Start `gridlink worker` (or `gridlink serve` with the in-process worker).",
            )  # fmt: skip
        ]
    age = checkup.now - beat.beat_at
    if age > timedelta(seconds=HEARTBEAT_SECONDS * 4):
        minutes = int(age.total_seconds() // 60)
        return [
            Finding(
                "worker",
                Status.FAIL,
                f"定时任务已停止：最后心跳 {fmt_time(beat.beat_at)}"
                f"（{minutes} 分钟前，{beat.worker}）。",
                f"the timed-job worker stopped: last heartbeat {fmt_time(beat.beat_at)} "
                f"({minutes} min ago, {beat.worker}).",
                f"{start}，并查看其日志中的错误。",
                "Restart the worker and read its log.",
            )  # fmt: skip
        ]
    return [
        Finding(
            "worker",
            Status.OK,
            f"定时任务在运行：{beat.worker} 最后心跳 {fmt_time(beat.beat_at)}。",
            f"timed-job worker alive: {beat.worker}, last heartbeat {fmt_time(beat.beat_at)}.",
        )  # fmt: skip
    ]


TOKEN_WARNING = timedelta(days=14)


@check("tokens")
async def _tokens(checkup: Checkup) -> list[Finding]:
    async with checkup.sessions() as session:
        rows = (
            await session.execute(
                select(AuthToken.name, AuthToken.expires_at, Member.phone)
                .join(Member, Member.id == AuthToken.member_id)
                .where(
                    AuthToken.kind == TokenKind.API,
                    AuthToken.revoked_at.is_(None),
                    AuthToken.expires_at.is_not(None),
                    AuthToken.expires_at > checkup.now,
                    AuthToken.expires_at <= checkup.now + TOKEN_WARNING,
                )
                .order_by(AuthToken.expires_at)
            )
        ).all()
    if not rows:
        return [
            Finding(
                "tokens",
                Status.OK,
                "14 天内没有到期的 API 令牌。",
                "no API token expires within 14 days.",
            )  # fmt: skip
        ]
    listed = "、".join(f"{r.name}（{r.phone}，{fmt_time(r.expires_at)}）" for r in rows[:10])
    listed_en = ", ".join(f"{r.name} ({r.phone}, {fmt_time(r.expires_at)})" for r in rows[:10])
    return [
        Finding(
            "tokens",
            Status.WARN,
            f"{len(rows)} 个 API 令牌将在 14 天内到期：{listed}。",
            f"{len(rows)} API tokens expire within 14 days: {listed_en}.",
            "用 gridlink create-token 签发新令牌，换到对应的前端后再撤销旧令牌。",
            "Issue new ones with gridlink create-token, switch the frontends, revoke the old.",
        )  # fmt: skip
    ]


def cors_origins(settings: Settings) -> object:
    """The CORS setting (interop's GRIDLINK_CORS_ORIGINS), read by name until it is a field."""
    if hasattr(settings, "cors_origins"):
        return settings.cors_origins
    return (os.environ.get("GRIDLINK_CORS_ORIGINS") or "").strip() or None


@check("configuration")
async def _configuration(checkup: Checkup) -> list[Finding]:
    settings = checkup.settings
    found: list[Finding] = []
    if settings.production and not cors_origins(settings):
        found.append(
            Finding(
                "configuration",
                Status.WARN,
                "生产环境未设置 CORS 来源：其他网址上的前端（如县级大屏）无法调用 API。",
                "production without CORS origins: frontends on other origins cannot call the API.",
                "设置 GRIDLINK_CORS_ORIGINS=https://前端网址（多个用逗号分隔）。",
                "Set GRIDLINK_CORS_ORIGINS=https://your-frontend (comma-separated).",
            )  # fmt: skip
        )
    # Insecure push endpoints in production never get this far: Settings refuses them.
    if settings.production:
        found.extend(await _development_secrets(checkup))
    if settings.production and settings.is_sqlite and not settings.run_worker_in_process:
        found.append(
            Finding(
                "configuration",
                Status.WARN,
                "生产环境使用 SQLite 且定时任务单独运行："
                "多进程共享一个 SQLite 文件只适合一台机器。",
                "production on SQLite with a separate worker: one SQLite file suits one machine.",
                "多台机器请改用 PostgreSQL（见 docs/operations.md）。",
                "For several machines use PostgreSQL (docs/operations.md).",
            )  # fmt: skip
        )
    if not found:
        mode = "生产" if settings.production else "开发"
        found.append(
            Finding(
                "configuration",
                Status.OK,
                f"配置未发现问题（{mode}环境）。",
                f"no configuration mistakes found ({settings.env}).",
            )  # fmt: skip
        )
    return found


async def _development_secrets(checkup: Checkup) -> list[Finding]:
    """The demo's well-known password still opens accounts: in production that is a door."""
    from api.auth.passwords import verify_password
    from api.demo import DEMO_PASSWORD, demo_accounts

    phones = [account.phone for account in demo_accounts()]
    async with checkup.sessions() as session:
        members = (
            await session.execute(
                select(Member.phone, Member.password_hash).where(
                    Member.phone.in_(phones), Member.is_active.is_(True)
                )
            )
        ).all()
    open_doors = [m.phone for m in members if verify_password(m.password_hash, DEMO_PASSWORD)]
    if not open_doors:
        return []
    return [
        Finding(
            "configuration",
            Status.FAIL,
            f"生产环境中演示账号仍使用公开的演示密码：{'、'.join(open_doors)}。",
            f"production has demo accounts with the published demo password: "
            f"{', '.join(open_doors)}.",
            "用 gridlink account deactivate 手机号 停用它们（或发放一次性登录码改密码）。",
            "Deactivate them with gridlink account deactivate PHONE (or reset their passwords).",
        )  # fmt: skip
    ]
