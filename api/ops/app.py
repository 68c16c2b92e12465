"""What api/edge/app.py mounts for operations: request telemetry (ids, logs, metrics) outermost,
then compression; the /metrics route when metrics are on."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette_compress import CompressMiddleware, add_compress_type

from api.config import Settings
from api.ops.metrics import metrics_endpoint, process_exited
from api.ops.requests import RequestTelemetry

# The GraphQL-over-HTTP media type is JSON too; the library does not know it by name.
add_compress_type("application/graphql-response+json")

# Fast levels: JSON compresses to a seventh or less at these and a 1 MB pull page costs a
# few milliseconds of CPU (bench/transfer_bench.py); higher levels gain a few percent more.
ZSTD_LEVEL = 3
BROTLI_QUALITY = 4
GZIP_LEVEL = 5


def ops_middleware(settings: Settings) -> list[Middleware]:
    """Compressed answers negotiated by Accept-Encoding (zstd, then br, then gzip) for bodies
    of at least GRIDLINK_COMPRESS_MIN_BYTES; a client that sends no Accept-Encoding gets the
    plain body. (WebSocket messages are compressed by permessage-deflate, which uvicorn's
    websockets protocol negotiates with the client: `ws_per_message_deflate`, on by default.)"""
    middleware = [
        Middleware(RequestTelemetry, slow_ms=settings.slow_ms, count=settings.metrics_enabled)
    ]
    if settings.compression:
        middleware.append(
            Middleware(
                CompressMiddleware,
                minimum_size=settings.compress_min_bytes,
                zstd_level=ZSTD_LEVEL,
                brotli_quality=BROTLI_QUALITY,
                gzip_level=GZIP_LEVEL,
            )
        )
    return middleware


def ops_routes(settings: Settings, engine: AsyncEngine) -> list[Route]:
    if not settings.metrics_enabled:
        return []
    return [Route("/metrics", metrics_endpoint(engine), methods=["GET"])]


def ops_stopped() -> None:
    process_exited()
