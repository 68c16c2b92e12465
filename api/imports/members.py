"""Importing people: liaisons, staff, chairs and members with their roles and the grids they
serve. Matched by phone; a new member gets a one-time sign-in code (never a password in a file)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import AccountAction, CodePurpose
from api.accounts.service import Actor, change_access, issue_code, record
from api.enterprises.codes import normalize_phone
from api.errors import DomainError
from api.grids.models import Grid
from api.imports.columns import MEMBERS, split_list
from api.imports.report import ImportReport, IssuedCode, RowOutcome
from api.imports.run import Cells, RowByRow
from api.imports.sheets import Header
from api.members.models import Member, Role
from api.members.service import create_member, served_grids

# Role names as a county writes them, and the English names.
ROLE_WORDS: dict[str, Role] = {
    "管理员": Role.ADMIN,
    "系统管理员": Role.ADMIN,
    "县总工会": Role.COUNTY_STAFF,
    "县总工会工作人员": Role.COUNTY_STAFF,
    "县级工作人员": Role.COUNTY_STAFF,
    "镇工会": Role.TOWN_STAFF,
    "镇工会工作人员": Role.TOWN_STAFF,
    "镇级工作人员": Role.TOWN_STAFF,
    "网格员": Role.LIAISON,
    "网格联络员": Role.LIAISON,
    "工会主席": Role.CHAIR,
    "主席": Role.CHAIR,
    "会员": Role.MEMBER,
    "工会会员": Role.MEMBER,
    **{role.value.lower(): role for role in Role},
    **{role.value.lower().replace("_", " "): role for role in Role},
}
ROLE_ZH = {
    Role.ADMIN: "管理员",
    Role.COUNTY_STAFF: "县总工会",
    Role.TOWN_STAFF: "镇工会",
    Role.LIAISON: "网格员",
    Role.CHAIR: "工会主席",
    Role.MEMBER: "会员",
}

MayManage = Callable[[list[str], list[uuid.UUID]], bool]


class MemberImporter(RowByRow):
    kind = MEMBERS

    def __init__(self, *, actor: Actor, may_manage: MayManage | None = None) -> None:
        self.actor = actor
        self.may_manage = may_manage
        self.seen: dict[str, int] = {}

    async def start(self, session: AsyncSession, header: Header) -> None:
        self.header = header
        rows = await session.execute(
            select(Grid.id, Grid.code, Grid.name).where(Grid.deleted_at.is_(None))
        )
        self.grids: dict[str, uuid.UUID] = {}
        for row in rows:
            self.grids[row.code.lower()] = row.id
            self.grids.setdefault(row.name.lower(), row.id)

    async def row(
        self, session: AsyncSession, number: int, values: dict[str, str], report: ImportReport
    ) -> None:
        cells = Cells(self.kind, self.header, number, values, report)
        name = cells.text("name")
        phone = self._phone(cells, number)
        roles = self._roles(cells)
        grid_ids = self._grids(cells)
        if cells.failed or phone is None:
            return
        if self.may_manage is not None and not self.may_manage(roles, grid_ids):
            words = "、".join(ROLE_ZH[Role(r)] for r in roles)
            cells.fail("roles", "ROLE_NOT_ALLOWED", value=words)
            return
        existing = await session.scalar(select(Member).where(Member.phone == phone))
        try:
            if existing is None:
                await self._create(session, number, name, phone, roles, grid_ids, report)
                return
            await self._update(cells, session, existing, name, roles, grid_ids)
        except DomainError as error:
            cells.fail("name", "REFUSED", reason=error.message)

    async def _create(
        self,
        session: AsyncSession,
        number: int,
        name: str,
        phone: str,
        roles: list[str],
        grid_ids: list[uuid.UUID],
        report: ImportReport,
    ) -> None:
        member = await create_member(
            session, name=name, phone=phone, roles=roles, grid_ids=grid_ids
        )
        await record(session, member.id, AccountAction.IMPORTED, self.actor, roles=roles)
        issued = await issue_code(session, member, CodePurpose.NEW_MEMBER, self.actor)
        report.codes.append(IssuedCode(name, phone, issued.code))
        report.created += 1
        report.record(RowOutcome(number, "CREATED", phone))

    async def _update(
        self,
        cells: Cells,
        session: AsyncSession,
        member: Member,
        name: str,
        roles: list[str],
        grid_ids: list[uuid.UUID],
    ) -> None:
        report, number = cells.report, cells.number
        if self.may_manage is not None and not self.may_manage(
            list(member.roles), list(await served_grids(session, member.id))
        ):
            cells.fail("phone", "OUT_OF_SCOPE", value=member.phone)
            return
        same_grids = set(grid_ids) == await served_grids(session, member.id)
        if member.name == name and set(member.roles) == set(roles) and same_grids:
            report.unchanged += 1
            return
        if member.name != name:
            member.name = name
        await change_access(session, member.id, self.actor, roles=roles, grid_ids=grid_ids)
        report.updated += 1
        report.record(RowOutcome(number, "UPDATED", member.phone))

    def _phone(self, cells: Cells, number: int) -> str | None:
        raw = cells.text("phone")
        if not raw:
            return None
        try:
            phone = normalize_phone(raw)
        except DomainError:
            cells.fail("phone", "PHONE_INVALID", value=raw)
            return None
        if phone in self.seen:
            cells.fail("phone", "PHONE_DUPLICATE", phone=phone, first=self.seen[phone])
            return None
        self.seen[phone] = number
        return phone

    def _roles(self, cells: Cells) -> list[str]:
        roles: list[str] = []
        for word in split_list(cells.text("roles")):
            role = ROLE_WORDS.get(word.lower())
            if role is None:
                known = "、".join(ROLE_ZH.values())
                cells.fail("roles", "ROLE_UNKNOWN", value=word, known=known)
            elif role.value not in roles:
                roles.append(role.value)
        return roles

    def _grids(self, cells: Cells) -> list[uuid.UUID]:
        found: list[uuid.UUID] = []
        for word in split_list(cells.text("grids")):
            grid_id = self.grids.get(word.lower())
            if grid_id is None:
                cells.fail("grids", "GRID_UNKNOWN", value=word)
            elif grid_id not in found:
                found.append(grid_id)
        return found
