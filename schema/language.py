"""GraphQL for the caller's language: the one their notifications and push messages use.
(Answers to requests follow the request's Accept-Language; see api/i18n.)"""

from __future__ import annotations

import strawberry

from api.i18n import LANGUAGES
from api.members.language import choose_language, language_of
from schema.context import Info
from schema.errors import UserError
from schema.mutations import run_mutation


@strawberry.type
class SetMyLanguagePayload:
    language: str | None = strawberry.field(description="The language now stored.")
    errors: list[UserError]


@strawberry.type
class LanguageQuery:
    @strawberry.field(
        description="The language of the caller's notifications and push messages: "
        + " or ".join(LANGUAGES)
        + "."
    )
    async def my_language(self, info: Info) -> str:
        member = info.context.require_member()
        async with info.context.reader.session() as session:
            return await language_of(session, member.id)

    @strawberry.field(description="The languages the server writes in, the default first.")
    def languages(self) -> list[str]:
        return list(LANGUAGES)


@strawberry.type
class LanguageMutation:
    @strawberry.mutation(
        description="Choose the language of your notifications and push messages "
        "(zh-CN or en; any member may change their own)."
    )
    async def set_my_language(self, info: Info, language: str) -> SetMyLanguagePayload:
        member = info.context.require_member()
        chosen, errors = await run_mutation(
            info, lambda session: choose_language(session, member.id, language)
        )
        return SetMyLanguagePayload(language=chosen, errors=errors)
