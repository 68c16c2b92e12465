"""Running accounts: deactivate and reactivate, one-time sign-in codes (new members, password
resets), a member's tokens, roles and grids. Every change is written to the account audit log
with who made it, in the transaction that made it."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import AccountAction, AccountEvent, CodePurpose, SignInCode
from api.auth.models import AuthToken
from api.enterprises.codes import normalize_phone
from api.errors import DomainError, invalid, not_found
from api.i18n import _
from api.members.models import Member
from api.members.service import parse_roles, served_grids, update_member
from api.records import utcnow
from api.tickets.models import OPEN_STATUSES, Ticket

# Unambiguous characters only (no 0/O, 1/I/L): read out over the phone or copied from paper.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # 31^10 ≈ 8·10^14: not guessable within a code's lifetime
CODE_LIFETIME = {
    CodePurpose.NEW_MEMBER: timedelta(days=14),
    CodePurpose.PASSWORD_RESET: timedelta(days=1),
}
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in member, or the command line (a label such as cli:root)."""

    id: uuid.UUID | None
    label: str = ""


async def record(
    session: AsyncSession, member_id: uuid.UUID, action: AccountAction, actor: Actor, **detail: Any
) -> None:
    session.add(
        AccountEvent(
            member_id=member_id,
            actor_id=actor.id,
            actor_label=actor.label[:100],
            action=action,
            detail=detail,
        )
    )


async def get_member(session: AsyncSession, member_id: uuid.UUID) -> Member:
    member = await session.get(Member, member_id)
    if member is None or member.deleted:
        raise not_found("memberId", _("the member"))
    return member


async def member_by_phone(session: AsyncSession, phone: str, field: str = "phone") -> Member:
    normalized = normalize_phone(phone, field)
    member = await session.scalar(
        select(Member).where(Member.phone == normalized, Member.deleted_at.is_(None))
    )
    if member is None:
        raise not_found(field, _("the member with phone {normalized}", normalized=normalized))
    return member


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalize_code(raw: str) -> str:
    return "".join(c for c in raw.upper() if c.isalnum())


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime


async def issue_code(
    session: AsyncSession, member: Member, purpose: CodePurpose, actor: Actor
) -> IssuedCode:
    """A fresh one-time code; earlier unused codes of the member stop working."""
    if not member.is_active:
        raise invalid("memberId", _("the account is deactivated; reactivate it first"))
    now = utcnow()
    await session.execute(
        update(SignInCode)
        .where(SignInCode.member_id == member.id, SignInCode.used_at.is_(None))
        .values(used_at=now)
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + CODE_LIFETIME[purpose]
    session.add(
        SignInCode(
            member_id=member.id,
            code_hash=_hash(code),
            purpose=purpose,
            created_at=now,
            expires_at=expires_at,
            created_by_id=actor.id,
        )
    )
    await record(
        session, member.id, AccountAction.CODE_ISSUED, actor, purpose=purpose.value,
        expiresAt=expires_at.isoformat(),
    )  # fmt: skip
    return IssuedCode(f"{code[:5]}-{code[5:]}", expires_at)


def bad_code() -> DomainError:
    # One answer for every wrong case: the code cannot be probed for which part was wrong.
    return DomainError(
        "INVALID_CODE", _("the phone number or one-time code is wrong or expired"), "code"
    )


async def redeem_code(session: AsyncSession, *, phone: str, code: str, new_password: str) -> Member:
    """Set the member's password with a one-time code; the code is used up, older sessions
    are revoked (a reset after a lost phone locks the finder out)."""
    if len(new_password) < MIN_PASSWORD:
        raise invalid(
            "newPassword", _("a password has at least {count} characters", count=MIN_PASSWORD)
        )
    try:
        normalized = normalize_phone(phone)
    except DomainError:
        raise bad_code() from None
    now = utcnow()
    found = (
        await session.execute(
            select(SignInCode, Member)
            .join(Member, Member.id == SignInCode.member_id)
            .where(SignInCode.code_hash == _hash(normalize_code(code)), Member.phone == normalized)
        )
    ).first()
    if found is None:
        raise bad_code()
    row, member = found
    if row.used_at is not None or row.expires_at <= now or not member.is_active or member.deleted:
        raise bad_code()
    row.used_at = now
    await update_member(session, member_id=member.id, password=new_password)
    revoked = await revoke_tokens(session, member.id, now=now)
    await record(
        session, member.id, AccountAction.CODE_REDEEMED, Actor(member.id, "self"),
        purpose=row.purpose.value, tokensRevoked=revoked,
    )  # fmt: skip
    return member


async def revoke_tokens(
    session: AsyncSession, member_id: uuid.UUID, *, now: datetime | None = None
) -> int:
    result = await session.execute(
        update(AuthToken)
        .where(AuthToken.member_id == member_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class Deactivation:
    member: Member
    tokens_revoked: int
    open_tickets: list[Ticket]


async def open_tickets_of(session: AsyncSession, member_id: uuid.UUID) -> list[Ticket]:
    """Open tickets assigned to the member: what someone must take over."""
    found = await session.scalars(
        select(Ticket)
        .where(
            Ticket.assignee_id == member_id,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.deleted_at.is_(None),
        )
        .order_by(Ticket.number)
    )
    return list(found)


async def deactivate(session: AsyncSession, member_id: uuid.UUID, actor: Actor) -> Deactivation:
    member = await get_member(session, member_id)
    if actor.id == member.id:
        raise invalid("memberId", _("you cannot deactivate your own account"))
    if not member.is_active:
        raise invalid("memberId", _("the account is already deactivated"))
    await update_member(session, member_id=member.id, is_active=False)
    revoked = await revoke_tokens(session, member.id)
    await session.execute(
        update(SignInCode)
        .where(SignInCode.member_id == member.id, SignInCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    tickets = await open_tickets_of(session, member.id)
    await record(
        session, member.id, AccountAction.DEACTIVATED, actor, tokensRevoked=revoked,
        openTickets=[t.number for t in tickets],
    )  # fmt: skip
    return Deactivation(member, revoked, tickets)


async def reactivate(session: AsyncSession, member_id: uuid.UUID, actor: Actor) -> Member:
    member = await get_member(session, member_id)
    if member.is_active:
        raise invalid("memberId", _("the account is already active"))
    await update_member(session, member_id=member.id, is_active=True)
    await record(session, member.id, AccountAction.REACTIVATED, actor)
    return member


async def member_tokens(session: AsyncSession, member_id: uuid.UUID) -> list[AuthToken]:
    await get_member(session, member_id)
    found = await session.scalars(
        select(AuthToken)
        .where(AuthToken.member_id == member_id)
        .order_by(AuthToken.created_at.desc(), AuthToken.id)
    )
    return list(found)


async def revoke_member_token(
    session: AsyncSession, member_id: uuid.UUID, token_id: uuid.UUID, actor: Actor
) -> AuthToken:
    token = await session.get(AuthToken, token_id)
    if token is None or token.member_id != member_id:
        raise not_found("tokenId", _("the token"))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await record(
            session, member_id, AccountAction.TOKEN_REVOKED, actor, tokenId=str(token.id),
            name=token.name, kind=token.kind.value,
        )  # fmt: skip
    return token


async def change_access(
    session: AsyncSession,
    member_id: uuid.UUID,
    actor: Actor,
    *,
    roles: Iterable[str] | None = None,
    grid_ids: Iterable[uuid.UUID] | None = None,
) -> Member:
    """New roles and/or grids; each actual change is logged with before and after."""
    member = await get_member(session, member_id)
    new_roles = parse_roles(roles) if roles is not None else None
    before_grids = await served_grids(session, member_id)
    wanted_grids = list(dict.fromkeys(grid_ids)) if grid_ids is not None else None
    before_roles = list(member.roles)
    await update_member(session, member_id=member_id, roles=new_roles, grid_ids=wanted_grids)
    if new_roles is not None and set(new_roles) != set(before_roles):
        await record(
            session, member_id, AccountAction.ROLES_CHANGED, actor, before=before_roles,
            after=new_roles,
        )  # fmt: skip
    if wanted_grids is not None and set(wanted_grids) != before_grids:
        await record(
            session, member_id, AccountAction.GRIDS_CHANGED, actor,
            before=sorted(str(g) for g in before_grids),
            after=sorted(str(g) for g in wanted_grids),
        )  # fmt: skip
    return member


async def account_events(session: AsyncSession, member_id: uuid.UUID) -> list[AccountEvent]:
    found = await session.scalars(
        select(AccountEvent)
        .where(AccountEvent.member_id == member_id)
        .order_by(AccountEvent.at.desc(), AccountEvent.id)
    )
    return list(found)
