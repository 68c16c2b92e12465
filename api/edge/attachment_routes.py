"""HTTP doors of attachments: PUT /attachments/{id} (resumable upload), HEAD and GET (the file,
a thumbnail with ?size=, ETag and ranges). The rules are in api/attachments/service.py; this
edge reads headers and bodies and writes answers (docs/sync-protocol.md, Attachments)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.attachments import service
from api.attachments.storage import Store, store_for
from api.auth import tokens
from api.auth.scope import Scope, sign_in
from api.edge.graphql_view import bearer_token
from api.errors import DomainError
from api.i18n import _

PREFIX = "/attachments/"
_CONTENT_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _error(
    request: Request,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    extensions: dict[str, Any] = {"code": code}
    if field:
        extensions["field"] = field
    body = {"errors": [{"message": str(message), "extensions": extensions}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _store(request: Request) -> Store:
    state = request.app.state
    if getattr(state, "attachment_store", None) is None:
        state.attachment_store = store_for(state.settings)
    return state.attachment_store


async def _caller(request: Request) -> Scope | JSONResponse:
    token = bearer_token(request)
    refused: str = _("sign in first: send Authorization: Bearer <token>")
    if token:
        async with request.app.state.sessions() as session:
            try:
                _member, _token, scope = await sign_in(session, token)
                return scope
            except tokens.TokenRejected as rejected:
                refused = rejected.reason
    return _error(request, 401, "UNAUTHENTICATED", refused, headers={"WWW-Authenticate": "Bearer"})


def _state_headers(state: service.UploadState) -> dict[str, str]:
    headers = {"Upload-Offset": str(state.offset), "Upload-Length": str(state.byte_size)}
    if state.offset > 0:
        headers["Range"] = f"bytes=0-{state.offset - 1}"
    if state.uploaded:
        headers["ETag"] = f'"{state.sha256}"'
    return headers


def _state_body(attachment_id: uuid.UUID, state: service.UploadState) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(attachment_id),
        "uploaded": state.uploaded,
        "offset": state.offset,
        "byteSize": state.byte_size,
    }
    if state.uploaded:
        body.update(sha256=state.sha256, etag=f'"{state.sha256}"')
    return body


async def attachment(request: Request) -> Response:
    try:
        attachment_id = uuid.UUID(request.path_params["attachment_id"])
    except ValueError:
        return _error(request, 400, "INVALID", _("the attachment id must be a UUID"), "id")
    scope = await _caller(request)
    if isinstance(scope, JSONResponse):
        return scope
    try:
        if request.method == "PUT":
            return await _put(request, scope, attachment_id)
        return await _get(request, scope, attachment_id)
    except service.UploadRefused as refused:
        headers = None if refused.offset is None else {"Upload-Offset": str(refused.offset)}
        return _error(
            request, refused.status, refused.code, refused.message, refused.field, headers
        )
    except DomainError as error:
        status = {"NOT_FOUND": 404, "FORBIDDEN": 403}.get(error.code, 400)
        return _error(request, status, error.code, error.message, error.field)


async def _read_body(request: Request, limit: int) -> tuple[bytes, bool]:
    """The body, up to `limit` bytes (more: TOO_LARGE); False when the client went away
    mid-body — the bytes that came are kept (the upload resumes after them)."""
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise service.UploadRefused(
                    413, "TOO_LARGE", _("at most {limit} bytes", limit=limit)
                )
    except ClientDisconnect:
        return bytes(body), False
    return bytes(body), True


async def _put(request: Request, scope: Scope, attachment_id: uuid.UUID) -> Response:
    settings = request.app.state.settings
    store = _store(request)
    header = request.headers.get("content-range")
    start: int | None = 0
    end: int | None = None
    total: int | None = None
    if header is not None:
        found = _CONTENT_RANGE.match(header.strip())
        if not found:
            return _error(
                request,
                400,
                "INVALID",
                _("Content-Range is 'bytes START-END/TOTAL' or 'bytes */TOTAL'"),
                "Content-Range",
            )
        total = int(found.group(3))
        if found.group(1) is None:
            start = None  # a status query: how far is the upload?
        else:
            start, end = int(found.group(1)), int(found.group(2))
            if end < start or end >= total:
                return _error(
                    request,
                    400,
                    "INVALID",
                    _("Content-Range needs START <= END < TOTAL"),
                    "Content-Range",
                )
    if total is not None and total > settings.max_attachment_bytes:
        return _error(
            request,
            413,
            "TOO_LARGE",
            _("at most {limit} bytes", limit=settings.max_attachment_bytes),
        )
    limit = settings.max_attachment_bytes if end is None or start is None else end - start + 1
    data, whole = await _read_body(request, limit)
    if whole and end is not None and start is not None and len(data) != end - start + 1:
        return _error(
            request,
            400,
            "INVALID",
            _("the body is not as long as Content-Range says"),
            "Content-Range",
        )
    async with request.app.state.sessions() as session, session.begin():
        if start is None:
            record, _ticket = await service.visible_attachment(session, scope, attachment_id)
            state = service.state_of(record, await service.stored_offset(store, record))
        else:
            state = await service.receive_piece(
                session,
                store,
                scope=scope,
                attachment_id=attachment_id,
                start=start,
                total=total,
                data=data,
                whole_request=whole,
                whole_file=header is None,
            )
    status = 201 if state.completed_now else 200 if state.uploaded else 202
    return JSONResponse(
        _state_body(attachment_id, state), status_code=status, headers=_state_headers(state)
    )


async def _get(request: Request, scope: Scope, attachment_id: uuid.UUID) -> Response:
    store = _store(request)
    raw_size = request.query_params.get("size")
    size: int | None = None
    if raw_size is not None:
        if not raw_size.isdigit():
            return _error(request, 400, "INVALID", _("size is a number of pixels"), "size")
        size = int(raw_size)
    async with request.app.state.sessions() as session:
        record, _ticket = await service.visible_attachment(session, scope, attachment_id)
        offset = await service.stored_offset(store, record)
    state = service.state_of(record, offset)
    if not record.uploaded:
        if request.method == "HEAD":
            return Response(status_code=204, headers=_state_headers(state))
        raise service.UploadRefused(
            409, "NOT_UPLOADED", _("the file has not been uploaded completely yet")
        )
    answer = await service.served(store, record, staff=service.is_staff(scope), size=size)
    headers = {
        "ETag": answer.etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=31536000, immutable",
        "Upload-Offset": str(record.byte_size),
        "Upload-Length": str(record.byte_size),
        "Vary": "Authorization",
    }
    if answer.etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    data = answer.data
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if wanted and (if_range is None or if_range.strip() == answer.etag):
        chosen = _byte_range(wanted, len(data))
        if chosen == "unsatisfiable":
            headers["Content-Range"] = f"bytes */{len(data)}"
            return Response(status_code=416, headers=headers)
        if chosen is not None:
            first, last = chosen
            headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
            body = data[first : last + 1]
            return _bytes(request, body, answer.content_type, 206, headers)
    return _bytes(request, data, answer.content_type, 200, headers)


def _bytes(
    request: Request, body: bytes, content_type: str, status: int, headers: dict[str, str]
) -> Response:
    headers["Content-Length"] = str(len(body))
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=content_type)
    return Response(body, status_code=status, headers=headers, media_type=content_type)


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}


def _byte_range(header: str, length: int) -> tuple[int, int] | str | None:
    """One range of 'bytes=a-b', 'a-' or '-n'; None (serve it all) for what is not one."""
    found = _RANGE.match(header.strip())
    if not found or (not found.group(1) and not found.group(2)):
        return None
    first_text, last_text = found.groups()
    if not first_text:
        suffix = int(last_text)
        if suffix == 0:
            return "unsatisfiable"
        return max(0, length - suffix), length - 1
    first = int(first_text)
    last = int(last_text) if last_text else length - 1
    if first >= length or last < first:
        return "unsatisfiable"
    return first, min(last, length - 1)


def attachment_routes() -> list[Route]:
    return [Route(PREFIX + "{attachment_id}", attachment, methods=["GET", "HEAD", "PUT"])]
