"""GraphQL imports for county staff: send the spreadsheet (base64), read the report, apply. The
same importers as `gridlink import`, limited to what the caller manages."""

from __future__ import annotations

import base64
import binascii
from enum import Enum

import strawberry

from api.accounts.service import Actor
from api.i18n import EN, ZH_CN, _, current_language
from api.imports.enterprises import EnterpriseImporter
from api.imports.grids import GridImporter
from api.imports.members import MemberImporter
from api.imports.report import ImportReport
from api.imports.run import run_import
from api.members.service import may_manage_people
from schema.context import Info
from schema.errors import forbidden


@strawberry.enum(description="What a spreadsheet holds.")
class ImportKind(Enum):
    GRIDS = "grids"
    ENTERPRISES = "enterprises"
    MEMBERS = "members"


@strawberry.type(description="One problem of an import: row and column as Excel shows them.")
class ImportProblem:
    row: int | None
    column: str | None
    code: str
    message: str = strawberry.field(description="The sentence (Accept-Language, Chinese first).")
    message_zh: str
    message_en: str


@strawberry.type(description="A row created, updated or moved, and where the grid rule put it.")
class ImportOutcome:
    row: int
    action: str
    key: str
    grid: str
    reason: str


@strawberry.type(description="One-time sign-in code of a new member (only when applied).")
class ImportedCode:
    name: str
    phone: str
    code: str


@strawberry.type(description="What an import did (applied) or would do (dry run).")
class ImportReportType:
    kind: ImportKind
    applied: bool = strawberry.field(description="True when the changes were written.")
    rows: int
    created: int
    updated: int
    moved: int
    unchanged: int
    grids_created: list[str]
    new_industries: list[str]
    problem_count: int
    problems: list[ImportProblem]
    warnings: list[ImportProblem]
    outcomes: list[ImportOutcome]
    codes: list[ImportedCode]
    summary: list[str] = strawberry.field(description="The report as lines (Accept-Language).")

    @classmethod
    def of(cls, kind: ImportKind, report: ImportReport) -> ImportReportType:
        english = current_language() == EN

        def problems(found: list) -> list[ImportProblem]:
            return [
                ImportProblem(
                    row=p.row,
                    column=p.column,
                    code=p.code,
                    message=p.en if english else p.zh,
                    message_zh=p.zh,
                    message_en=p.en,
                )  # fmt: skip
                for p in found
            ]

        return cls(
            kind=kind,
            applied=report.written,
            rows=report.rows,
            created=report.created,
            updated=report.updated,
            moved=report.moved,
            unchanged=report.unchanged,
            grids_created=report.grids_created,
            new_industries=report.new_industries,
            problem_count=report.problem_count,
            problems=problems(report.all_problems()),
            warnings=problems(report.warnings),
            outcomes=[
                ImportOutcome(row=o.row, action=o.action, key=o.key, grid=o.grid, reason=o.reason)
                for o in report.outcomes
            ],
            codes=[ImportedCode(name=c.name, phone=c.phone, code=c.code) for c in report.codes]
            if report.written
            else [],
            summary=report.lines(EN if english else ZH_CN),
        )


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Import a spreadsheet (XLSX or CSV in UTF-8/GBK, base64). A dry run unless "
        "apply is true; applied all or nothing. Grids: county staff; enterprises and members: "
        "staff, within the grids they manage."
    )
    async def import_spreadsheet(
        self,
        info: Info,
        kind: ImportKind,
        file_base64: str,
        apply: bool = False,
        allow_new_industries: bool = False,
    ) -> ImportReportType:
        context = info.context
        member = context.require_member()
        scope = context.scope
        if not scope.can_write or not scope.can_dispatch:
            raise forbidden(_("imports are for county and town staff"))
        try:
            data = base64.b64decode(file_base64, validate=True)
        except (binascii.Error, ValueError):
            from schema.errors import coded_error

            raise coded_error(_("fileBase64 is not valid base64"), "INVALID") from None
        if kind == ImportKind.GRIDS:
            if not scope.manages_county:
                raise forbidden(_("only county staff import the grid tree"))
            importer: object = GridImporter(may_use=lambda parent: scope.manages_county)
        elif kind == ImportKind.ENTERPRISES:
            importer = EnterpriseImporter(
                actor_id=member.id,
                allow_new_industries=allow_new_industries,
                may_use=scope.manages_grid,
            )
        else:
            importer = MemberImporter(
                actor=Actor(member.id),
                may_manage=lambda roles, grids: may_manage_people(scope, roles, grids),
            )
        report = await run_import(context.sessions, importer, data, apply=apply)  # type: ignore[arg-type]
        context.fresh()
        return ImportReportType.of(kind, report)
