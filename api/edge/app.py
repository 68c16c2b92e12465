"""create_app(settings) -> Starlette: /graphql (HTTP and graphql-transport-ws) and /healthz."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.config import Settings
from api.db import create_engine, session_factory
from api.edge import graphiql, session_hooks
from api.edge.attachment_routes import PREFIX as ATTACHMENTS
from api.edge.attachment_routes import attachment_routes
from api.edge.cors import cors_middleware
from api.edge.downloads import ROUTES as DOWNLOAD_ROUTES
from api.edge.fieldapp import fieldapp_routes
from api.edge.graphql_view import GridlinkGraphQL
from api.edge.http_limits import BodySizeLimit
from api.edge.security_headers import security_middleware
from api.edge.worker import InProcessWorker, registered_jobs
from api.i18n.http import RequestLanguage
from api.ops.app import ops_middleware, ops_routes, ops_stopped
from api.ops.heap import settle_after_start
from api.rules.seed import seed_at_start
from api.warnings.recompute import start_refresher
from sync.broadcast import close_listeners


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    session_hooks.install()
    engine = engine or create_engine(settings)
    sessions = session_factory(engine)
    graphql = GridlinkGraphQL(
        settings=settings,
        sessions=sessions,
        engine=engine,
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=True,
        subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
        allowed_origins=settings.cors_origins,
    )

    async def healthz(_request: Request) -> JSONResponse:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
            return JSONResponse(
                {"status": "unavailable", "database": f"unreachable: {type(error).__name__}"},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # One machine: the timed jobs run beside the API (GRIDLINK_RUN_WORKER_IN_PROCESS).
        jobs = None
        if settings.run_worker_in_process:
            jobs = InProcessWorker(sessions, registered_jobs(settings))
        await seed_at_start(sessions, settings.risk_rules)
        risk = start_refresher(sessions, fallback=settings.risk_rules)
        settle_after_start()
        try:
            if jobs is not None:
                jobs.start()
            yield
        finally:
            if jobs is not None:
                await jobs.stop()
            await risk.stop()
            await close_listeners()
            await engine.dispose()
            ops_stopped()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *attachment_routes(),
            *([] if settings.production else graphiql.routes),
            *fieldapp_routes(),
            *ops_routes(settings, engine),
            *DOWNLOAD_ROUTES,
        ],
        middleware=[
            cors_middleware(settings),
            *ops_middleware(settings),
            *security_middleware(settings),
            Middleware(RequestLanguage),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, exempt=(ATTACHMENTS,)),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.graphql = graphql
    return app
