"""Attachments: the record's rules (who makes, edits, deletes one), the resumable upload
(pieces, the type, size and hash checks, nothing half-stored ever served) and what is served
(the original, GPS stripped for non-staff, thumbnails made once)."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.attachments.models import AttachmentKind, TicketAttachment
from api.attachments.storage import Store
from api.auth.scope import Scope
from api.errors import DomainError, forbidden, invalid, not_found
from api.i18n import _
from api.records import utcnow
from api.tickets import lifecycle
from api.tickets.models import Ticket

# What each kind may be, and what the file's first bytes must then say (filetype's names).
CONTENT_TYPES: dict[AttachmentKind, dict[str, frozenset[str]]] = {
    AttachmentKind.PHOTO: {
        "image/jpeg": frozenset({"image/jpeg"}),
        "image/png": frozenset({"image/png"}),
        "image/webp": frozenset({"image/webp"}),
    },
    AttachmentKind.DOCUMENT: {
        "application/pdf": frozenset({"application/pdf"}),
        "image/jpeg": frozenset({"image/jpeg"}),
        "image/png": frozenset({"image/png"}),
    },
    AttachmentKind.AUDIO: {
        "audio/mpeg": frozenset({"audio/mpeg"}),
        "audio/mp4": frozenset({"audio/mp4", "video/mp4"}),
        "audio/ogg": frozenset({"audio/ogg"}),
        "audio/webm": frozenset({"video/webm"}),
        "audio/wav": frozenset({"audio/x-wav"}),
    },
}
IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})
THUMBNAIL_SIZES = (64, 160, 320, 640, 1280)
# Enough of the file's start for every signature the type check knows.
MAGIC_BYTES = 262
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GPS_IFD = 0x8825
_ORIENTATION = 0x0112


# --- the record ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewAttachment:
    ticket_id: uuid.UUID
    kind: str
    content_type: str
    byte_size: Any
    sha256: Any
    width: Any = None
    height: Any = None
    caption: Any = None
    taken_at: datetime | None = None
    latitude: Any = None
    longitude: Any = None


def _whole(value: Any, name: str, *, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(
            name, _("{name} is a whole number from {low} to {high}", name=name, low=low, high=high)
        )
    return value


def _degrees(value: Any, name: str, limit: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > limit:
        raise invalid(
            name,
            _("{name} is decimal degrees between -{limit:g} and {limit:g}", name=name, limit=limit),
        )
    return float(value)


def _caption(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > 500:
        raise invalid("caption", _("caption is text of at most 500 characters"))
    return value.strip() or None


async def create_attachment(
    session: AsyncSession,
    *,
    scope: Scope,
    attachment_id: uuid.UUID,
    new: NewAttachment,
    max_bytes: int,
    now: datetime | None = None,
) -> TicketAttachment:
    """Whoever sees the ticket may attach to it; the bytes follow by upload."""
    if scope.read_only:
        raise forbidden(_("this token is read-only"))
    try:
        kind = AttachmentKind(new.kind)
    except ValueError:
        raise invalid("kind", _("kind is PHOTO, DOCUMENT or AUDIO")) from None
    if new.content_type not in CONTENT_TYPES[kind]:
        allowed = ", ".join(CONTENT_TYPES[kind])
        raise invalid("contentType", _("a {kind} is one of: {allowed}", kind=kind, allowed=allowed))
    byte_size = _whole(new.byte_size, "byteSize", low=1, high=max_bytes)
    if byte_size is None:
        raise invalid(
            "byteSize",
            _("byteSize is the file's size, 1 to {max_bytes} bytes", max_bytes=max_bytes),
        )
    if not isinstance(new.sha256, str) or not _SHA256.match(new.sha256):
        raise invalid("sha256", _("sha256 is the file's SHA-256 as 64 lowercase hex characters"))
    ticket = await lifecycle.get_visible_ticket(session, scope, new.ticket_id)
    if await session.get(TicketAttachment, attachment_id) is not None:
        raise DomainError("DUPLICATE_ID", _("an attachment with this id already exists"), "id")
    attachment = TicketAttachment(
        id=attachment_id,
        ticket_id=ticket.id,
        kind=kind,
        content_type=new.content_type,
        byte_size=byte_size,
        sha256=new.sha256,
        width=_whole(new.width, "width", low=1, high=100_000),
        height=_whole(new.height, "height", low=1, high=100_000),
        caption=_caption(new.caption),
        taken_at=new.taken_at,
        latitude=_degrees(new.latitude, "latitude", 90),
        longitude=_degrees(new.longitude, "longitude", 180),
        uploaded_by_id=scope.member_id,
        uploaded=False,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def visible_attachment(
    session: AsyncSession, scope: Scope, attachment_id: uuid.UUID, *, for_update: bool = False
) -> tuple[TicketAttachment, Ticket]:
    """The attachment and its ticket if the caller sees the ticket; else NOT_FOUND (someone
    else's id and an unknown one answer alike)."""
    attachment = await session.get(
        TicketAttachment, attachment_id, with_for_update=for_update or None
    )
    ticket = await session.get(Ticket, attachment.ticket_id) if attachment else None
    if (
        attachment is None
        or attachment.deleted
        or ticket is None
        or ticket.deleted
        or not scope.sees(ticket)
    ):
        raise not_found("id", _("the attachment"))
    return attachment, ticket


def may_manage(scope: Scope, attachment: TicketAttachment, ticket: Ticket) -> bool:
    """The uploader, or union staff whose area holds the ticket (sync/push_rules.py)."""
    if scope.read_only:
        return False
    mine = scope.member_id is not None and attachment.uploaded_by_id == scope.member_id
    return mine or lifecycle.can_dispatch_ticket(scope, ticket)


def is_staff(scope: Scope) -> bool:
    """Who sees where a photo was taken (its EXIF location): union staff."""
    return scope.can_dispatch


async def update_caption(
    session: AsyncSession, *, scope: Scope, attachment_id: uuid.UUID, caption: Any
) -> TicketAttachment:
    attachment, ticket = await visible_attachment(session, scope, attachment_id)
    if not may_manage(scope, attachment, ticket):
        raise forbidden(_("only the uploader or union staff may change the caption"), "caption")
    attachment.caption = _caption(caption)
    await session.flush()
    return attachment


async def delete_attachment(
    session: AsyncSession, *, scope: Scope, attachment_id: uuid.UUID, now: datetime
) -> TicketAttachment:
    attachment, ticket = await visible_attachment(session, scope, attachment_id)
    if not may_manage(scope, attachment, ticket):
        raise forbidden(_("only the uploader or union staff may delete an attachment"))
    attachment.deleted_at = now
    await session.flush()
    return attachment


# --- the upload -----------------------------------------------------------------------------


class UploadRefused(DomainError):
    """A refused upload: its HTTP status beside the code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        offset: int | None = None,
    ) -> None:
        super().__init__(code, message, field)
        self.status = status
        self.offset = offset  # how far the server is, when that is the point


@dataclass(frozen=True)
class UploadState:
    offset: int
    byte_size: int
    uploaded: bool
    sha256: str
    completed_now: bool = False


def _staging(attachment_id: uuid.UUID) -> str:
    return f"staging/{attachment_id}"


def object_key(attachment_id: uuid.UUID) -> str:
    return f"objects/{attachment_id}"


def _derived(attachment_id: uuid.UUID, name: str) -> str:
    return f"derived/{attachment_id}/{name}"


def _pieces(listing: list[tuple[str, int]]) -> list[tuple[int, str, int]]:
    pieces = []
    for key, size in listing:
        start, _, _length = key.rsplit("/", 1)[-1].partition("-")
        if start.isdigit():
            pieces.append((int(start), key, size))
    return sorted(pieces)


def _contiguous(pieces: list[tuple[int, str, int]]) -> int:
    """How many bytes from 0 the pieces cover without a gap."""
    end = 0
    for start, _key, size in pieces:
        if start > end:
            break
        end = max(end, start + size)
    return end


async def stored_offset(store: Store, attachment: TicketAttachment) -> int:
    if attachment.uploaded:
        return attachment.byte_size
    return _contiguous(_pieces(await store.list(_staging(attachment.id))))


def state_of(attachment: TicketAttachment, offset: int, *, now: bool = False) -> UploadState:
    return UploadState(offset, attachment.byte_size, attachment.uploaded, attachment.sha256, now)


def _check_type(attachment: TicketAttachment, head: bytes) -> None:
    detected = filetype.guess_mime(head)
    if detected not in CONTENT_TYPES[attachment.kind][attachment.content_type]:
        raise UploadRefused(
            415,
            "TYPE_MISMATCH",
            _(
                "the file is not {declared} (its first bytes say {detected}); upload discarded",
                declared=attachment.content_type,
                detected=detected or "?",
            ),
            "contentType",
        )


async def receive_piece(
    session: AsyncSession,
    store: Store,
    *,
    scope: Scope,
    attachment_id: uuid.UUID,
    start: int,
    total: int | None,
    data: bytes,
    whole_request: bool,
    whole_file: bool = False,
    now: datetime | None = None,
) -> UploadState:
    """Store a piece of the file from `start` (bytes before the stored offset are skipped);
    the piece that completes the file gets it checked and stored as the served object.
    `whole_request` is False when the client went away mid-piece: what came is kept;
    `whole_file`: sent without Content-Range, as the whole file."""
    attachment, ticket = await visible_attachment(session, scope, attachment_id, for_update=True)
    if scope.read_only or attachment.uploaded_by_id != scope.member_id:
        raise UploadRefused(
            403, "FORBIDDEN", _("only the member who created the attachment uploads its bytes")
        )
    total = attachment.byte_size if total is None else total
    if total != attachment.byte_size:
        raise UploadRefused(
            400,
            "INVALID",
            _(
                "the total in Content-Range must be the attachment's byteSize ({size})",
                size=attachment.byte_size,
            ),
            "Content-Range",
        )
    if start + len(data) > total:
        raise UploadRefused(413, "TOO_LARGE", _("more bytes than the attachment's byteSize"))
    if attachment.uploaded:
        # A retry after the answer was lost: the same bytes get the same answer; other
        # bytes (or a whole file of another length) are another file.
        stored = await store.get(object_key(attachment.id)) or b""
        other = data != stored[start : start + len(data)]
        if other or (whole_file and len(data) != total and whole_request):
            raise UploadRefused(
                409, "ALREADY_UPLOADED", _("a different file was already uploaded for this id")
            )
        return state_of(attachment, attachment.byte_size)
    staging = _staging(attachment.id)
    pieces = _pieces(await store.list(staging))
    offset = _contiguous(pieces)
    if start > offset:
        raise UploadRefused(
            409,
            "UPLOAD_OFFSET_MISMATCH",
            _("the server has {offset} bytes; continue from there", offset=offset),
            "Content-Range",
            offset=offset,
        )
    fresh = data[offset - start :]
    if offset == 0 and fresh:
        head = fresh[:MAGIC_BYTES]
        if len(head) >= min(MAGIC_BYTES, total):
            try:
                _check_type(attachment, head)
            except UploadRefused:
                await store.delete_prefix(staging)
                raise
    if offset + len(fresh) < total:
        if fresh:
            await store.put(f"{staging}/{offset:012d}-{len(fresh)}", fresh)
        return state_of(attachment, offset + len(fresh))
    # The last piece is checked from memory with the earlier ones: it never goes to staging.
    return await _complete(session, store, attachment, pieces, fresh, now or utcnow())


async def _complete(
    session: AsyncSession,
    store: Store,
    attachment: TicketAttachment,
    pieces: list[tuple[int, str, int]],
    last: bytes,
    now: datetime,
) -> UploadState:
    parts = bytearray()
    for start, key, size in pieces:
        if start + size <= len(parts):
            continue  # an overlapping resend already covered
        chunk = await store.get(key)
        if chunk is None or start > len(parts):
            raise UploadRefused(409, "UPLOAD_OFFSET_MISMATCH", _("a piece went missing; resend"))
        parts += chunk[len(parts) - start :]
    data = bytes(parts) + last if parts else last
    staging = _staging(attachment.id)
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        await store.delete_prefix(staging)
        raise UploadRefused(
            422,
            "HASH_MISMATCH",
            _("the file's SHA-256 is not the record's sha256; upload discarded"),
            "sha256",
        )
    try:
        _check_type(attachment, data[:MAGIC_BYTES])
        if attachment.content_type in IMAGES:
            attachment.width, attachment.height = _image_size(data)
    except UploadRefused:
        await store.delete_prefix(staging)
        raise
    # The served object first, then the flag: a reader that sees uploaded=true finds it.
    await store.put(object_key(attachment.id), data)
    attachment.uploaded = True
    attachment.uploaded_at = now
    await session.flush()
    await store.delete_prefix(staging)
    return state_of(attachment, attachment.byte_size, now=True)


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height as shown (EXIF orientation applied), read from the headers."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            turned = image.getexif().get(_ORIENTATION) in {5, 6, 7, 8}
            image.verify()
            return (height, width) if turned else (width, height)
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise UploadRefused(
            415, "TYPE_MISMATCH", _("the image cannot be read; upload discarded"), "contentType"
        ) from None


# --- serving ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    data: bytes
    content_type: str
    etag: str


async def served(
    store: Store, attachment: TicketAttachment, *, staff: bool, size: int | None
) -> Served:
    """What a caller gets: the original (staff), the original without its GPS data (others;
    made once and cached), or a thumbnail (made once and cached). Only for a complete file."""
    if not attachment.uploaded:
        raise UploadRefused(409, "NOT_UPLOADED", _("the file has not been uploaded completely yet"))
    if size is not None:
        if size not in THUMBNAIL_SIZES:
            sizes = ", ".join(map(str, THUMBNAIL_SIZES))
            raise UploadRefused(400, "INVALID", _("size is one of {sizes}", sizes=sizes), "size")
        if attachment.content_type not in IMAGES:
            raise UploadRefused(400, "INVALID", _("thumbnails are made of images only"), "size")
        return await _variant(store, attachment, f"thumb-{size}", lambda b: _thumbnail(b, size))
    if staff or attachment.content_type not in IMAGES:
        original = await _original(store, attachment)
        return Served(original, attachment.content_type, f'"{attachment.sha256}"')
    return await _variant(store, attachment, "public", lambda b: _without_gps(b))


async def _original(store: Store, attachment: TicketAttachment) -> bytes:
    data = await store.get(object_key(attachment.id))
    if data is None:
        raise UploadRefused(409, "NOT_UPLOADED", _("the file is not in the store"))
    return data


async def _variant(store: Store, attachment: TicketAttachment, name: str, make: Any) -> Served:
    key = _derived(attachment.id, name)
    data = await store.get(key)
    if data is None:
        data = make(await _original(store, attachment))
        await store.put(key, data)
    content_type = "image/jpeg" if name.startswith("thumb-") else attachment.content_type
    # Made from the original by a fixed recipe: named by it and the original's hash.
    return Served(data, content_type, f'"{attachment.sha256[:40]}-{name}"')


def _thumbnail(data: bytes, size: int) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        picture = ImageOps.exif_transpose(image)
        picture.thumbnail((size, size))
        out = io.BytesIO()
        picture.convert("RGB").save(out, "JPEG", quality=82, optimize=True)  # no EXIF at all
        return out.getvalue()


def _without_gps(data: bytes) -> bytes:
    """The same picture without the location in its EXIF; untouched if it has none."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        if _GPS_IFD not in exif:
            return data
        del exif[_GPS_IFD]
        out = io.BytesIO()
        extra: dict[str, Any] = {"exif": exif.tobytes()}
        if image.info.get("icc_profile"):
            extra["icc_profile"] = image.info["icc_profile"]
        if image.format == "JPEG":
            # The original's quantisation tables: no second round of compression loss.
            image.save(out, "JPEG", quality="keep", **extra)
        elif image.format == "WEBP":
            image.save(out, "WEBP", quality=95, **extra)
        else:
            image.save(out, image.format or "PNG", **extra)
        return out.getvalue()


# --- deletion -------------------------------------------------------------------------------


async def purge_files(
    session: AsyncSession, store: Store, *, older_than: timedelta, now: datetime | None = None
) -> int:
    """Remove the files of attachments deleted longer ago than `older_than` (the sync
    horizon: `gridlink sync-prune` runs this before it drops their tombstones). Until then a
    phone still holding the record may be told it is gone, and the bytes stay put."""
    cutoff = (now or utcnow()) - older_than
    ids = list(
        await session.scalars(
            select(TicketAttachment.id).where(
                TicketAttachment.deleted_at.is_not(None), TicketAttachment.deleted_at <= cutoff
            )
        )
    )
    for attachment_id in ids:
        for prefix in (
            object_key(attachment_id),
            f"derived/{attachment_id}",
            _staging(attachment_id),
        ):
            await store.delete_prefix(prefix)
    return len(ids)
