"""The liaison's field app (web/) served at /app: an HTML shell, a service worker, and the
app's files under an immutable versioned path, /app/v/<hash of every file>/..., so a phone
caches them for good and a new release is a new path (docs/fieldapp.md)."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from api.i18n import _

WEB = Path(__file__).resolve().parents[2] / "web"  # api/edge/ -> the repository
# What the phone gets: the app, the sync engine, vendored libraries, icons and the manifest.
SERVED_DIRS = ("app", "sync", "vendor", "icons")
SERVED_FILES = ("manifest.webmanifest",)
SERVED_SUFFIXES = {".js", ".css", ".png", ".svg", ".webmanifest", ".json", ".txt"}
IMMUTABLE = "public, max-age=31536000, immutable"
# The shell and the worker are looked at on every start so that a new release is found.
REVALIDATE = "no-cache"

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")


@dataclass(frozen=True)
class Release:
    version: str
    files: tuple[str, ...]  # paths relative to web/

    @property
    def prefix(self) -> str:
        return f"/app/v/{self.version}"


def scan(root: Path = WEB) -> Release:
    """Every served file and one hash over their paths and bytes."""
    files: list[str] = []
    for name in SERVED_DIRS:
        for path in sorted((root / name).rglob("*")):
            if path.is_file() and path.suffix in SERVED_SUFFIXES:
                files.append(path.relative_to(root).as_posix())
    files.extend(name for name in SERVED_FILES if (root / name).is_file())
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return Release(digest.hexdigest()[:12], tuple(sorted(files)))


def shell_html(release: Release, root: Path = WEB) -> str:
    return (root / "index.html").read_text(encoding="utf-8").replace("{{V}}", release.prefix)


def worker_js(release: Release, root: Path = WEB) -> str:
    # The worker precaches exactly this release's files, then the shell.
    precache = [f"{release.prefix}/{name}" for name in release.files]
    header = (
        f"const VERSION = {json.dumps(release.version)};\n"
        f"const PREFIX = {json.dumps(release.prefix)};\n"
        f"const PRECACHE = {json.dumps(precache)};\n"
    )
    body = (root / "sw.js").read_text(encoding="utf-8")
    body = body.replace(
        "./sync-engine-path-is-replaced-by-the-server.js", f"{release.prefix}/sync/engine.js"
    ).replace("./i18n-path-is-replaced-by-the-server.js", f"{release.prefix}/app/i18n.js")
    # Imports first (an ES module), then the release's constants, then the worker.
    imports, _, rest = body.partition("\nconst CACHE")
    return imports + "\n" + header + "const CACHE" + rest


def fieldapp_routes(root: Path = WEB) -> list[BaseRoute]:
    """The /app routes; the release is read once at start-up."""
    if not (root / "index.html").is_file():
        return []
    release = scan(root)
    shell = shell_html(release, root)
    worker = worker_js(release, root)
    served = set(release.files)

    async def app_shell(_request: Request) -> Response:
        return Response(
            shell,
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": REVALIDATE, "X-Gridlink-App-Version": release.version},
        )

    async def service_worker(_request: Request) -> Response:
        return Response(
            worker,
            media_type="text/javascript; charset=utf-8",
            # Scope "/app" (the shell without a slash too), wider than the worker's folder.
            headers={"Cache-Control": REVALIDATE, "Service-Worker-Allowed": "/app"},
        )

    async def versioned(request: Request) -> Response:
        version = request.path_params["version"]
        name = request.path_params["path"]
        if name not in served:
            return PlainTextResponse(_("not found"), status_code=404)
        if version != release.version:
            # An old page asking for a file of another release: the current bytes, not cached.
            return FileResponse(root / name, headers={"Cache-Control": REVALIDATE})
        return FileResponse(root / name, headers={"Cache-Control": IMMUTABLE})

    async def slash(_request: Request) -> Response:
        return RedirectResponse("/app", status_code=308)

    return [
        Route("/app", app_shell, methods=["GET", "HEAD"]),
        Route("/app/", slash, methods=["GET", "HEAD"]),
        Route("/app/sw.js", service_worker, methods=["GET", "HEAD"]),
        Route("/app/v/{version}/{path:path}", versioned, methods=["GET", "HEAD"]),
    ]
