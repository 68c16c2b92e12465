"""Compose the schema from the areas' query and mutation types, with the request limits."""

from __future__ import annotations

import re

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule, ValidationContext, ValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from api.config import Settings
from schema.accounts import AccountMutation, AccountQuery
from schema.auth import AuthMutation, AuthQuery
from schema.cost import cost_rule
from schema.dashboard import DashboardQuery
from schema.doctor import DoctorQuery
from schema.enterprises import EnterpriseMutation, EnterpriseQuery
from schema.errors import CodedMaskErrors, database_failure
from schema.grids import GridMutation, GridQuery
from schema.imports import ImportMutation
from schema.language import LanguageMutation, LanguageQuery
from schema.library_internals import aliases_rule, core_schema, depth_rule
from schema.members import MemberMutation, MemberQuery
from schema.nodes import NodeQuery
from schema.notifications import NotificationMutation, NotificationQuery
from schema.reports import ReportMutation
from schema.rules import RulesMutation, RulesQuery
from schema.stations import StationMutation, StationQuery
from schema.subscriptions import Subscription
from schema.sync import SyncMutation, SyncQuery
from schema.tickets import TicketMutation, TicketQuery
from schema.views import VIEWS, install_fast_resolvers


@strawberry.type
class Query(
    NodeQuery,
    AuthQuery,
    GridQuery,
    EnterpriseQuery,
    MemberQuery,
    TicketQuery,
    StationQuery,
    DashboardQuery,
    NotificationQuery,
    SyncQuery,
    AccountQuery,
    DoctorQuery,
    LanguageQuery,
    RulesQuery,
):
    pass


@strawberry.type
class Mutation(
    AuthMutation,
    GridMutation,
    EnterpriseMutation,
    MemberMutation,
    TicketMutation,
    StationMutation,
    NotificationMutation,
    SyncMutation,
    AccountMutation,
    ImportMutation,
    LanguageMutation,
    ReportMutation,
    RulesMutation,
):
    pass


def _expected_error(error: GraphQLError) -> bool:
    # Coded errors are written for clients, and so is every error of the request itself (no
    # path: the document or a variable's value, e.g. an unknown enum value); anything else is a
    # bug and gets masked.
    extensions = error.extensions or {}
    return error.original_error is None or "code" in extensions or not error.path


# graphql-core appends " Did you mean 'x'?" to validation and coercion messages.
_SUGGESTION = re.compile(r" Did you mean [^?]*\?$")


class ProductionErrors(CodedMaskErrors):
    """Production: unexpected errors masked, and no "Did you mean" suggestions, which would
    spell out the schema that introspection keeps to itself."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not _expected_error(error))

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            error.message = _SUGGESTION.sub("", error.message)
        return processed


def _depth_rule(max_depth: int) -> type[ValidationRule]:
    """Strawberry's depth rule, which fails with a KeyError on a spread of an unknown fragment
    (the client read only "'Name'"): such a document is left to graphql-core's
    KnownFragmentNamesRule ("Unknown fragment 'Name'.")."""
    checked = depth_rule(max_depth, None, None)

    class DepthRule(checked):  # type: ignore[misc, valid-type]
        def __init__(self, context: ValidationContext) -> None:
            try:
                super().__init__(context)
            except KeyError:
                ValidationRule.__init__(self, context)

    return DepthRule


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories: Strawberry builds fresh extensions per request; the caches live at module
    # level and are bounded, so a flood of distinct documents cannot grow memory without limit.
    # The depth and alias rules are made once: QueryDepthLimiter and MaxAliasesLimiter would
    # make a new rule class per request, and the validation cache, keyed by the rules, would
    # then never hit (every request validated its document again).
    rules = [
        _depth_rule(settings.max_query_depth),
        aliases_rule(settings.max_aliases),
        cost_rule(settings.max_query_cost, settings.max_page_size),
    ]
    if settings.production:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
    ]
    if settings.production:
        extensions.append(ProductionErrors)
    else:
        extensions.append(lambda: CodedMaskErrors(should_mask_error=database_failure))
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Every node type, also those reached only through node(id).
        types=[view.cls for view in VIEWS.values() if view.cls is not None],
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )
    install_fast_resolvers(core_schema(schema))
    return schema
