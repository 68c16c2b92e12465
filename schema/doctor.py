"""The admin-only `doctor` field: the same checks as `gridlink doctor`."""

from __future__ import annotations

import strawberry

import sync.health  # noqa: F401  (registers the sync layer's checks)
from api.doctor import run_doctor
from api.i18n import EN, ZH_CN, _, current_language
from schema.context import Info
from schema.errors import forbidden


@strawberry.type(description="One finding of the health check, with what to do about it.")
class DoctorFinding:
    check: str = strawberry.field(description="database, migrations, worker, push, ...")
    status: str = strawberry.field(description="OK, WARN or FAIL.")
    message: str = strawberry.field(description="What was found (Accept-Language).")
    action: str | None = strawberry.field(description="What to do about it.")
    message_zh: str
    message_en: str


@strawberry.type
class DoctorQuery:
    @strawberry.field(description="Is this deployment healthy? Admins only.")
    async def doctor(self, info: Info) -> list[DoctorFinding]:
        context = info.context
        context.require_member()
        if not context.scope.is_admin:
            raise forbidden(_("only admins run the health check"))
        engine = context.sessions.kw["bind"]
        language = current_language()
        return [
            DoctorFinding(
                check=f.check,
                status=f.status.value,
                message=f.message(language),
                action=f.action(language) or None,
                message_zh=f.message(ZH_CN),
                message_en=f.message(EN),
            )
            for f in await run_doctor(context.settings, engine)
        ]
