"""Which other web origins may call the API from a browser: GRIDLINK_CORS_ORIGINS, answered by
Starlette's CORSMiddleware for HTTP (the WebSocket handshake checks the same list,
api/edge/app.py)."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from api.config import Settings

# Browsers cap the preflight cache at two hours (Chromium); one preflight per origin per period.
PREFLIGHT_MAX_AGE = 7200


def cors_middleware(settings: Settings) -> Middleware:
    # Tokens travel in the Authorization header, never in cookies: no credentials mode.
    return Middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type", "accept", "accept-language"],
        max_age=PREFLIGHT_MAX_AGE,
    )
