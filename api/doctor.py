"""`gridlink doctor`: is this deployment healthy? Each check answers with lines that say what it
found and what to do about it, in Chinese and English.

Checks register themselves (``@check``): the domain's here (database, migrations, worker,
tokens, configuration), the sync layer's in ``sync/health.py`` (Web Push, subscriptions, the
sync log), imported by the edges that run the doctor."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.auth.models import AuthToken, TokenKind
from api.config import Settings
from api.heartbeat import HEARTBEAT_SECONDS, last_beat
from api.i18n import EN, N_, ZH_CN, Message, _, render
from api.members.models import Member
from api.records import utcnow


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


STATUS_WORDS = {Status.OK: N_("OK"), Status.WARN: N_("WARN"), Status.FAIL: N_("FAIL")}


@dataclass(frozen=True)
class Finding:
    """What a check found and what to do about it: catalogue messages (api.i18n), so that the
    command and the GraphQL field give them in the reader's language."""

    check: str
    status: Status
    text: Message
    do: Message | None = None

    def message(self, language: str) -> str:
        return self.text.render(language)

    def action(self, language: str) -> str:
        return self.do.render(language) if self.do is not None else ""

    @property
    def zh(self) -> str:
        return self.message(ZH_CN)

    @property
    def en(self) -> str:
        return self.message(EN)

    @property
    def do_zh(self) -> str:
        return self.action(ZH_CN)

    @property
    def do_en(self) -> str:
        return self.action(EN)

    def lines(self, language: str = ZH_CN) -> list[str]:
        status = render(STATUS_WORDS[self.status], language)
        action = self.action(language)
        return [f"[{status}] {self.message(language)}"] + ([f"    → {action}"] if action else [])


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


def fmt_time(value: datetime | None) -> datetime | str:
    """A time for a message, which shows it in Beijing time (api/i18n); stored times are UTC."""
    if value is None:
        return "—"
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


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
                    _(
                        "the check '{name}' failed: {kind}: {error}",
                        name=name,
                        kind=type(error).__name__,
                        error=str(error),
                    ),
                    _("Report this line to the maintainers."),
                )
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
                _("cannot reach the database {url}: {reason}", url=shown, reason=reason),
                _(
                    "Check GRIDLINK_DATABASE_URL, that the database server runs, network and "
                    "password."
                ),
            )
        ]
    reached = Finding("database", Status.OK, _("database reachable: {url}", url=shown))
    head = head_revision()
    if current == head:
        return [
            reached,
            Finding(
                "migrations", Status.OK, _("schema at the newest migration {head}.", head=head)
            ),
        ]
    pending = ", ".join(pending_revisions(current))
    return [
        reached,
        Finding(
            "migrations",
            Status.FAIL,
            _(
                "schema at {current}; pending migrations: {pending}.",
                current=current or _("(empty)"),
                pending=pending,
            ),
            _("Back up (gridlink backup), then run gridlink migrate; review with --sql first."),
        ),
    ]


@check("worker")
async def _worker(checkup: Checkup) -> list[Finding]:
    async with checkup.sessions() as session:
        beat = await last_beat(session)
    start = (
        _("Check that gridlink serve runs (it runs the timed jobs in-process)")
        if checkup.settings.run_worker_in_process
        else _("Start gridlink worker (one per installation is enough)")
    )
    if beat is None:
        return [
            Finding(
                "worker",
                Status.FAIL,
                _("the timed jobs (deadlines, risk levels, pushes) have never run."),
                _("{start}.", start=start),
            )
        ]
    age = checkup.now - beat.beat_at
    if age > timedelta(seconds=HEARTBEAT_SECONDS * 4):
        minutes = int(age.total_seconds() // 60)
        return [
            Finding(
                "worker",
                Status.FAIL,
                _(
                    "the timed-job worker stopped: last heartbeat {at} ({minutes} min ago, "
                    "{worker}).",
                    at=fmt_time(beat.beat_at),
                    minutes=minutes,
                    worker=beat.worker,
                ),
                _("{start}, and read its log for errors.", start=start),
            )
        ]
    return [
        Finding(
            "worker",
            Status.OK,
            _(
                "timed-job worker alive: {worker}, last heartbeat {at}.",
                worker=beat.worker,
                at=fmt_time(beat.beat_at),
            ),
        )
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
        return [Finding("tokens", Status.OK, _("no API token expires within 14 days."))]
    listed = [
        _("{name} ({phone}, {at})", name=r.name, phone=r.phone, at=fmt_time(r.expires_at))
        for r in rows[:10]
    ]
    return [
        Finding(
            "tokens",
            Status.WARN,
            _(
                "{count} API tokens expire within 14 days: {tokens}.",
                count=len(rows),
                tokens=listed,
            ),
            _("Issue new ones with gridlink create-token, switch the frontends, revoke the old."),
        )
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
                _(
                    "production without CORS origins: frontends on other origins cannot call "
                    "the API."
                ),
                _("Set GRIDLINK_CORS_ORIGINS=https://your-frontend (comma-separated)."),
            )
        )
    # Insecure push endpoints in production never get this far: Settings refuses them.
    if settings.production:
        found.extend(await _development_secrets(checkup))
    if settings.production and settings.is_sqlite and not settings.run_worker_in_process:
        found.append(
            Finding(
                "configuration",
                Status.WARN,
                _(
                    "production on SQLite with a separate worker: one SQLite file suits one "
                    "machine."
                ),
                _("For several machines use PostgreSQL (docs/operations.md)."),
            )
        )
    if not found:
        mode = _("production") if settings.production else _("development")
        found.append(
            Finding(
                "configuration",
                Status.OK,
                _("no configuration mistakes found ({mode}).", mode=mode),
            )
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
            _(
                "production has demo accounts with the published demo password: {phones}.",
                phones=open_doors,
            ),
            _(
                "Deactivate them with gridlink account deactivate PHONE (or reset their "
                "passwords with a one-time code)."
            ),
        )
    ]
