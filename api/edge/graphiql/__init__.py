"""GraphiQL served by gridlink itself, in development: the page, its start script and the
vendored GraphiQL and React builds (vendor/, pinned, refreshed by vendor/refresh.sh). Nothing is
loaded from another host, so the page works on a network without internet."""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "vendor"
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# The files may change with a gridlink upgrade; an hour's cache is enough for a developer tool.
CACHE = "public, max-age=3600"


def page() -> HTMLResponse:
    return HTMLResponse((HERE / "page.html").read_text(encoding="utf-8"))


@cache
def _compressed(name: str) -> bytes | None:
    """The gzip-compressed file of a served name, or None for a name that is not served."""
    if name == "start.js":
        return gzip.compress((HERE / name).read_bytes(), mtime=0)
    path = VENDOR / f"{name}.gz"
    if "/" in name or Path(name).suffix not in MEDIA_TYPES or not path.is_file():
        return None
    return path.read_bytes()


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    body = _compressed(name)
    if body is None:
        return Response(status_code=404)
    headers = {"cache-control": CACHE, "vary": "accept-encoding"}
    media_type = MEDIA_TYPES[Path(name).suffix]
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["content-encoding"] = "gzip"
        return Response(body, media_type=media_type, headers=headers)
    return Response(gzip.decompress(body), media_type=media_type, headers=headers)


routes = [Route("/graphiql/{name}", asset, methods=["GET"])]
