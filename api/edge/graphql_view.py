"""The GraphQL endpoint over HTTP and graphql-transport-ws: authentication, GraphQL-over-HTTP
status codes and media types, automatic persisted queries, JSON errors for bad requests."""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api.auth import tokens
from api.auth.scope import sign_in
from api.auth.sign_in_cache import SignedIn, SignInCache
from api.config import Settings
from api.edge import graphiql
from api.edge.graphql_messages import translated, translated_errors
from api.edge.graphql_request import (
    check_operation,
    decode_json,
    operation_problem,
    request_members,
)
from api.edge.socket_auth import TokenBoundHandler
from api.i18n import _
from api.ops.requests import note_operation
from schema.arguments import argument_error
from schema.build import build_schema
from schema.context import Context
from schema.fastpath import FastPath, Unplanned
from schema.library_internals import core_schema
from schema.persisted import PersistedQueries, PersistedQueryError, requested_hash
from sync import access, broadcast

logger = logging.getLogger(__name__)
GRAPHQL_RESPONSE = "application/graphql-response+json"
# Codes of the errors answered before GraphQL runs, by HTTP status.
HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    return _bearer(header)


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class SignIns:
    """The process's remembered sign-ins (api/auth/sign_in_cache.py), kept in step with the
    access changes it hears: its own commits at once (sync.access.on_access_change), other
    processes' by the PostgreSQL listener (sync.broadcast.hear). PostgreSQL only: on SQLite
    several server processes would not hear each other, so every request signs in."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cache = SignInCache()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: Callable[[], None] | None = None
        cache = weakref.ref(self.cache)

        def heard(item: dict[str, Any]) -> None:
            found = cache()
            if found is not None:
                found.heard(item)

        self._heard = heard
        weakref.finalize(self.cache, access.on_access_change(heard))

    async def epoch(self) -> object | None:
        """What entries are valid for now (None: nothing cached counts): hearing changes
        starts with the first request on an event loop, and again after the listening
        connection dropped."""
        loop = asyncio.get_running_loop()
        try:
            if self._loop is not loop:
                if self._stop is not None:
                    self._stop()
                    self._stop = None
                self.cache.clear()
                self._stop = await broadcast.hear(self.url, self._filtered)
                self._loop = loop
            else:
                current = broadcast.listening(self.url)
                if current is not None:
                    return current  # the usual case: asked once per request
                self.cache.clear()
                await broadcast.hear_again(self.url)
        except (OSError, asyncpg.PostgresError) as error:
            # Not listening: every request signs in until the connection can be made.
            logger.warning("sign-ins not remembered: cannot listen (%s)", type(error).__name__)
            return None
        return broadcast.listening(self.url)

    def _filtered(self, item: dict[str, Any]) -> None:
        if item.get("type") == access.ACCESS:
            self._heard(item)


async def resolve_caller(
    token: str | None, context: Context, sign_ins: SignIns | None = None
) -> None:
    """Fill the context with the member, token and scope behind a bearer token: remembered
    (``sign_ins``), or one statement on the request's own read connection. Sign-in is then a
    request's first statement: on a pooled connection the database closed meanwhile (a
    restart), it runs once more on a new one (the engine does not ping connections at
    checkout, api/db.py)."""
    if not token:
        return
    epoch = generation = None
    if sign_ins is not None:
        epoch = await sign_ins.epoch()
        if epoch is not None:
            found = sign_ins.cache.get(token, epoch=epoch, now=context.now)
            if found is not None:
                context.member, context.token, context.scope = (
                    found.member,
                    found.token,
                    found.scope,
                )
                context.bearer = token
                return
            generation = sign_ins.cache.generation
    try:
        await _sign_in(token, context)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        await context.reader.close()
        await _sign_in(token, context)
    if generation is not None and context.member is not None and context.token is not None:
        assert sign_ins is not None
        signed_in = SignedIn(context.member, context.token, context.scope, epoch, context.now)
        sign_ins.cache.put(token, signed_in, generation=generation)


async def _sign_in(token: str, context: Context) -> None:
    async with context.reader.session() as session:
        try:
            context.member, context.token, context.scope = await sign_in(session, token)
            context.bearer = token
        except tokens.TokenRejected as rejected:
            context.auth_error = rejected.reason


def _is_request_error(result: ExecutionResult) -> bool:
    """The document could not be parsed or validated: no data and no error with a path."""
    return result.data is None and bool(result.errors) and all(not e.path for e in result.errors)


# graphql-core's wording for a variable value that does not coerce to its type.
_VARIABLE_VALUE = re.compile(r"^Variable '\$\w+' has invalid value")


def _request_error_code(error: GraphQLError) -> str:
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if _VARIABLE_VALUE.match(error.message):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


class TextFrameWebSocket(ASGIWebSocketAdapter):
    """graphql-transport-ws messages go out as text frames, as the protocol requires (every
    standard client refuses binary ones); the view's JSON encoder gives bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(self.view.encode_json_string(message))
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class CheckedTransportWS(TokenBoundHandler):
    """graphql-transport-ws `subscribe` messages follow the operation rule of HTTP requests: a
    document with several operations needs an operationName that names one (an `error`
    message for that subscription, the socket stays open)."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload") or {}
        query, name = payload.get("query"), payload.get("operationName")
        if self.connection_acknowledged and isinstance(query, str) and isinstance(name, str | None):
            settings = self.view.settings  # type: ignore[attr-defined]
            problem = operation_problem(query, name, settings.max_tokens)
            if problem is not None:
                error = {"message": problem, "extensions": {"code": "BAD_REQUEST"}}
                await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
                return
            variables = payload.get("variables")
            refused = argument_error(
                core_schema(self.view.schema),  # type: ignore[attr-defined]
                query,
                variables if isinstance(variables, dict) else None,
                settings.max_tokens,
            )
            if refused is not None:
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [refused.formatted]}
                )
                return
        await super().handle_subscribe(message)

    async def send_message(self, message: Any) -> None:
        # Errors in the language of the upgrade request, as over HTTP (graphql_messages).
        payload = message.get("payload")
        if message.get("type") == "error" and isinstance(payload, list):
            translated_errors(payload)
        elif message.get("type") == "next" and isinstance(payload, dict) and payload.get("errors"):
            translated_errors(payload["errors"])
        await super().send_message(message)


class GridlinkGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = TextFrameWebSocket  # type: ignore[assignment]
    graphql_transport_ws_handler_class = CheckedTransportWS

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        **kwargs: Any,
    ) -> None:
        super().__init__(build_schema(settings), **kwargs)
        self.settings = settings
        self.sessions = sessions
        self.persisted = PersistedQueries(engine)
        self.fast_path = FastPath(self.schema) if settings.graphql_fast_path else None
        self.sign_ins = None if settings.is_sqlite else SignIns(settings.database_url)

    # --- context and authentication -----------------------------------------------------

    async def get_context(self, request: Any, response: Any) -> Context:
        context = Context(
            request=request,
            response=response,
            settings=self.settings,
            sessions=self.sessions,
            long_lived=request.scope["type"] == "websocket",
        )
        # Kept on the request so that __call__ gives the read connection back whatever happens
        # after sign-in (a refused body never reaches execute_single).
        request.state.gridlink_context = context
        await resolve_caller(bearer_token(request), context, self.sign_ins)
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        """graphql-transport-ws: the token comes in connection_init's payload
        ({"authorization": "Bearer ..."}); a missing or refused token closes with 4403."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        header = params.get("authorization") or params.get("Authorization") or ""
        token = _bearer(header) if isinstance(header, str) else None
        if context.member is None:
            await resolve_caller(token, context)
        if context.member is None:
            raise ConnectionRejectionError(
                {"message": context.auth_error or _("send authorization: Bearer <token>")}
            )
        return None

    def is_websocket_origin_allowed(self, request: Any, origin: str) -> bool:
        allowed = super().is_websocket_origin_allowed(request, origin)
        if not allowed:
            logger.warning("WebSocket from %r refused: not in GRIDLINK_CORS_ORIGINS", origin)
        return allowed

    # --- HTTP ---------------------------------------------------------------------------

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def get_sub_response(self, request: Request) -> Response:
        sub_response = await super().get_sub_response(request)
        accept = request.headers.get("accept", "")
        sub_response.graphql_response = GRAPHQL_RESPONSE in accept  # type: ignore[attr-defined]
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if getattr(sub_response, "graphql_response", False):
            response.headers["content-type"] = GRAPHQL_RESPONSE
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page()

    def should_render_graphql_ide(self, request: Any) -> bool:
        # Only for a browser (text/html); a GET by hash alone (persisted query) has no query.
        params = request.query_params
        return (
            request.method == "GET"
            and params.get("query") is None
            and params.get("extensions") is None
            and "text/html" in request.headers.get("accept", "")
        )

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)

    async def parse_http_body(self, request: Any) -> GraphQLRequestData:
        if request.method == "GET":
            data: object = self.parse_query_params(request.query_params)
        else:
            content_type, _params = parse_content_type(request.content_type or "")
            if content_type not in ("application/json", GRAPHQL_RESPONSE) and not (
                content_type.endswith("+json")
            ):
                raise HTTPException(
                    415,
                    _(
                        "unsupported content type {type!r}: send the request as application/json",
                        type=content_type or "(none)",
                    ),
                )
            data = self.decode_json(await request.get_body())
        query, variables, operation_name, extensions = request_members(data)
        # Only graphql-transport-ws is offered for subscriptions: no streaming HTTP protocol.
        return GraphQLRequestData(
            query=query,
            variables=variables,
            operation_name=operation_name,
            extensions=extensions,
            protocol="http",
        )

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        registering = None
        try:
            digest = requested_hash(request_data.extensions)
            if digest is not None and request_data.query is None:
                request_data.query = await self.persisted.find(digest)
            elif digest is not None:
                self.persisted.check(digest, request_data.query)
                registering = digest
        except PersistedQueryError as error:
            sub_response.status_code = error.status
            return ExecutionResult(
                data=None,
                errors=[GraphQLError(error.message, extensions={"code": error.code})],
            )
        if request_data.query:
            refused = argument_error(
                core_schema(self.schema),
                request_data.query,
                request_data.variables,
                self.settings.max_tokens,
            )
            if refused is not None:
                sub_response.status_code = 400
                return ExecutionResult(data=None, errors=[refused])
        result = await self._execute(request, request_adapter, context, root_value, request_data)
        # Kept for everyone only what a signed-in caller sent and what parsed and validated
        # (schema/persisted.py); an anonymous caller's query ran, and is not kept.
        if registering and context.member is not None and not _is_request_error(result):
            assert request_data.query is not None
            await self.persisted.register(registering, request_data.query, context.member.id)
        if _is_request_error(result):
            for error in result.errors or ():
                error.extensions = {"code": _request_error_code(error), **(error.extensions or {})}
            if not sub_response.status_code:
                sub_response.status_code = 400
        return result

    async def _execute(
        self,
        request: Any,
        request_adapter: Any,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        if request_data.query:
            check_operation(
                request_data.query, request_data.operation_name, self.settings.max_tokens
            )
        note_operation(request_data.operation_name, request_data.query)
        if self.fast_path is not None:
            planned = await self._planned(request_data, context, root_value)
            if planned is not None:
                return planned
        try:
            result = await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=OperationType.from_http(request_adapter.method),
                operation_extensions=request_data.extensions,
            )
        except MissingQueryError as error:
            raise HTTPException(400, _("no GraphQL query found in the request")) from error
        except InvalidOperationTypeError as error:
            reason = translated(error.as_http_error_reason(request_adapter.method))
            raise HTTPException(405, _("{reason}: use POST", reason=reason)) from error
        except CannotGetOperationTypeError as error:
            # A document of type definitions only: nothing to run.
            raise HTTPException(400, translated(error.as_http_error_reason())) from error
        finally:
            await context.close()
        if self.fast_path is not None and not result.errors and request_data.query:
            self.fast_path.learn(request_data.query, request_data.operation_name)
        return result

    async def _planned(
        self, request_data: GraphQLRequestData, context: Context, root_value: Any
    ) -> ExecutionResult | None:
        """The answer by the document's plan (schema/fastpath.py), or None: the executor's."""
        assert self.fast_path is not None
        plan = self.fast_path.plan(request_data.query, request_data.operation_name)
        if plan is None or getattr(context.request.state, "gridlink_unplanned", False):
            return None
        try:
            data = await self.fast_path.run(
                plan,
                context=context,
                root_value=root_value,
                variables=request_data.variables,
                extensions=request_data.extensions,
            )
        except Unplanned:
            # Start the executor afresh: nothing of the planned attempt may leak into it.
            context.fresh()
            return None
        await context.close()
        return ExecutionResult(data=data, errors=None)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        if "errors" in processed:
            translated_errors(processed["errors"])  # type: ignore[arg-type]
        if _is_request_error(result):
            # GraphQL-over-HTTP: a request that never ran has no "data" entry at all.
            processed.pop("data", None)
        return processed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            await self._respond(request, scope, receive, send)
        finally:
            context = getattr(request.state, "gridlink_context", None)
            if context is not None:
                await context.close()

    async def _answer_planned(self, request: Request) -> Response | None:
        """The answer to a POST of a document with a plan, made without Strawberry's request
        machinery (its body parsing, hooks and result processing cost more than the rest of
        a planned answer), by the same steps as the long way: the body's members checked as
        ``parse_http_body`` checks them, the argument values as ``execute_single`` does, the
        operation noted, the caller signed in by ``get_context``, the answer made by
        ``create_response``. None: anything else (another media type, a body or request the
        long way refuses, persisted-query extensions, a document without a plan, an answer
        the plan cannot give), which the long way then answers as it always has."""
        assert self.fast_path is not None
        content_type, _params = parse_content_type(request.headers.get("content-type", ""))
        if content_type != "application/json":
            return None
        try:
            query, variables, operation_name, extensions = request_members(
                decode_json(await request.body())
            )
        except HTTPException:
            return None
        if extensions is not None or query is None:
            return None
        plan = self.fast_path.plan(query, operation_name)
        if plan is None:
            return None
        settings = self.settings
        if argument_error(core_schema(self.schema), query, variables, settings.max_tokens):
            return None
        try:
            check_operation(query, operation_name, settings.max_tokens)
        except HTTPException:
            return None
        note_operation(operation_name, query)
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        try:
            data = await self.fast_path.run(
                plan,
                context=context,
                root_value=await self.get_root_value(request),
                variables=variables,
                extensions=None,
            )
        except Unplanned:
            # The long way starts afresh: a context of its own, and no second planned attempt.
            request.state.gridlink_unplanned = True
            request.state.gridlink_context = None
            await context.close()
            return None
        await context.close()
        return self.create_response({"data": data}, sub_response)

    async def _respond(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = None
            if self.fast_path is not None and request.method == "POST":
                response = await self._answer_planned(request)
            if response is None:
                response = await self.run(request)
        except ClientDisconnect:
            return  # the client went away before sending its request; nobody to answer
        except HTTPException as error:
            response = JSONResponse(
                {
                    "errors": [
                        {
                            "message": translated(error.reason),
                            "extensions": {
                                "code": HTTP_CODES.get(error.status_code, "BAD_REQUEST")
                            },
                        }
                    ]
                },
                status_code=error.status_code,
                headers={"allow": "GET, POST"} if error.status_code == 405 else None,
            )
        await response(scope, receive, send)
