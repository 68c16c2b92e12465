"""Web Push delivery primitive (RFC 8030 / RFC 8291 / RFC 8292).

This module knows how to encrypt and deliver ONE message to ONE push subscription and how
to classify the push service's answer so a caller (the outbox worker) can decide what to
do next: mark delivered, drop the subscription, retry later or give up.  It never touches
the database and never raises on HTTP errors, because a failing push endpoint is an
expected, everyday event rather than a programming error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Final, Literal, Protocol, cast
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid, VapidException
from pywebpush import WebPusher, WebPushException

from sync.push_endpoints import EndpointPolicy, RefusedAddress, guarded_session, parse_endpoint

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "URGENCIES",
    "PushMessage",
    "PushOutcome",
    "PushResult",
    "Urgency",
    "backoff_delay",
    "generate_vapid_keys",
    "make_topic",
    "parse_retry_after",
    "public_key_from_private",
    "send",
    "validate_endpoint",
    "validate_subscription_keys",
    "validate_vapid_subject",
    "vapid_audience",
]

Urgency = Literal["very-low", "low", "normal", "high"]
URGENCIES: Final[frozenset[str]] = frozenset({"very-low", "low", "normal", "high"})

# RFC 8291 §4: push services must accept 4096-byte bodies.  An aes128gcm body carries an
# 86-byte header (salt 16 + rs 4 + idlen 1 + 65-byte key), a 16-byte tag and a 1-byte
# padding delimiter, leaving 3993 bytes of plaintext that every service is obliged to take.
MAX_PAYLOAD_BYTES: Final[int] = 4096 - 86 - 16 - 1

# RFC 8030 §5.4: a topic is at most 32 characters from the URL/filename-safe base64 alphabet.
_TOPIC_RE: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
_B64_RE: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9_\-+/]*={0,2}\Z")
_MAILTO_SUB_RE: Final[re.Pattern[str]] = re.compile(
    r"^mailto:[^@\s]+@(localhost|[\w%-]+(\.[\w%-]+)+)\Z", re.IGNORECASE
)
_HTTPS_SUB_RE: Final[re.Pattern[str]] = re.compile(
    r"^https://(localhost|[\w-]+\.[\w.-]+)\Z", re.IGNORECASE
)
_VAPID_TTL_SECONDS: Final[int] = 12 * 60 * 60
_ERROR_BODY_LIMIT: Final[int] = 300
_DEFAULT_PORTS: Final[dict[str, int]] = {"http": 80, "https": 443}


# --------------------------------------------------------------------------- base64url


def _b64url_encode(data: bytes) -> str:
    """Unpadded base64url, the encoding browsers use for every Web Push key."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(value: str) -> bytes:
    """Strictly decode base64url (tolerating padding and the standard alphabet).

    ``base64.urlsafe_b64decode`` silently drops characters outside the alphabet, which would
    let garbage through validation, so the alphabet is checked explicitly first.
    """
    if not isinstance(value, str) or not _B64_RE.match(value):
        raise ValueError("not base64url")
    stripped = value.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


# --------------------------------------------------------------------------- VAPID keys


def generate_vapid_keys() -> tuple[str, str]:
    """Create a VAPID key pair as ``(private_key, public_key)``.

    The private key is the raw 32-byte P-256 scalar, base64url without padding: the form
    ``py_vapid.Vapid.from_string`` / ``from_raw`` accept, so it can live in an env var.  The
    public key is the 65-byte uncompressed point: the ``applicationServerKey`` a browser
    passes to ``pushManager.subscribe``.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64url_encode(raw), _public_point(key)


def _b64url_or_empty(value: str) -> bytes:
    """The bytes of a base64url key, or none for text that is not base64url: the caller's
    length check then refuses both with the one message that says what a key must be."""
    try:
        return _b64url_decode(value)
    except ValueError:
        return b""


def _public_point(key: ec.EllipticCurvePrivateKey) -> str:
    """Serialize a private key's public half as base64url X9.62 uncompressed point."""
    return _b64url_encode(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def _load_private_key(private_key: str) -> ec.EllipticCurvePrivateKey:
    """Parse a raw base64url P-256 scalar, failing loudly on anything else."""
    raw = _b64url_or_empty(private_key)
    if len(raw) != 32:
        raise ValueError("VAPID private key must be a base64url raw P-256 scalar (32 bytes)")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError as exc:  # zero or >= curve order
        raise ValueError("VAPID private key is not a valid P-256 scalar") from exc


def public_key_from_private(private_key: str) -> str:
    """Return the applicationServerKey matching a stored VAPID private key.

    Serving the public key derived from the private key (rather than a second config value)
    makes it impossible for the two to drift apart.
    """
    return _public_point(_load_private_key(private_key))


def validate_vapid_subject(subject: str) -> None:
    """Reject a VAPID ``sub`` claim that py_vapid or push services would refuse (RFC 8292 §2.1).

    py_vapid 1.9 only accepts ``mailto:user@domain`` or a bare ``https://host`` (no path, no
    port), so anything else is refused here, at configuration time, rather than failing
    every single send later.
    """
    if not isinstance(subject, str) or not (
        _MAILTO_SUB_RE.match(subject) or _HTTPS_SUB_RE.match(subject)
    ):
        raise ValueError(
            "vapid_subject must be a mailto:user@domain address or a bare https://host URL"
        )


# --------------------------------------------------------------------------- validation


def validate_subscription_keys(p256dh: str, auth: str) -> None:
    """Check a browser subscription's keys before storing it.

    Catching a bad key at subscribe time gives the client a useful error; catching it at
    send time would only produce a message nobody can decrypt.
    """
    point = _b64url_or_empty(p256dh)
    if len(point) != 65 or point[0] != 0x04:
        raise ValueError("p256dh must be a base64url uncompressed P-256 point (65 bytes)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise ValueError("p256dh must be a base64url uncompressed P-256 point (65 bytes)") from exc
    secret = _b64url_or_empty(auth)
    if len(secret) != 16:
        raise ValueError("auth must be 16 bytes base64url")


def validate_endpoint(endpoint: str, allow_insecure: bool) -> None:
    """Check a subscription endpoint's text before we ever POST to it (the rules are
    sync/push_endpoints.py's; this checks the text only, without resolving the host)."""
    parse_endpoint(endpoint, EndpointPolicy(allow_insecure=allow_insecure))


def vapid_audience(endpoint: str) -> str:
    """Return the endpoint's origin, the ``aud`` claim push services compare against."""
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def make_topic(kind: str, ident: str) -> str:
    """Derive a stable RFC 8030 ``Topic`` for a logical notification.

    Push services replace an undelivered message with a newer one carrying the same topic,
    so a hash of (kind, ident) collapses repeated updates about one thing.  Hashing keeps
    the value inside the 32-character base64url limit and does not leak identifiers to the
    push service.
    """
    digest = hashlib.sha256(f"{len(kind)}:{kind}\x00{ident}".encode()).digest()
    return _b64url_encode(digest)[:32]


# --------------------------------------------------------------------------- message/result


@dataclass(frozen=True, slots=True)
class PushMessage:
    """One encrypted-on-send push message addressed to one subscription.

    ``ttl`` is explicit on purpose: pywebpush defaults to 0, meaning "drop unless the device
    is online right now", which silently loses messages to sleeping phones.
    """

    endpoint: str
    p256dh: str
    auth: str
    payload: bytes
    ttl: int
    urgency: Urgency = "normal"
    topic: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.payload, bytes | bytearray):
            raise ValueError("payload must be bytes")
        if len(self.payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload must be at most {MAX_PAYLOAD_BYTES} bytes")
        if isinstance(self.ttl, bool) or not isinstance(self.ttl, int) or self.ttl < 0:
            raise ValueError("ttl must be a non-negative integer number of seconds")
        if self.urgency not in URGENCIES:
            raise ValueError("urgency must be one of very-low, low, normal, high")
        if self.topic is not None and not _TOPIC_RE.match(self.topic):
            raise ValueError("topic must be 1-32 characters of the base64url alphabet")


class PushOutcome(StrEnum):
    """What the caller should do with the subscription / message after a send."""

    DELIVERED = "DELIVERED"  # accepted by the push service (2xx)
    GONE = "GONE"  # subscription no longer exists (404/410): delete it
    RETRY = "RETRY"  # transient (429, 5xx, 408, network): try again later
    FAILED = "FAILED"  # permanent for this message (other 4xx, unusable subscription)


@dataclass(frozen=True, slots=True)
class PushResult:
    """Classified outcome of one delivery attempt; ``status_code`` is None if no response."""

    status_code: int | None
    outcome: PushOutcome
    retry_after_seconds: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the push service accepted the message."""
        return self.outcome is PushOutcome.DELIVERED


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After`` in delta-seconds or HTTP-date form (RFC 9110 §10.2.3).

    Returns seconds from ``now`` (never negative), or None when absent or unparseable, so a
    malformed header degrades to ordinary back-off instead of an exception.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def _classify(status: int) -> PushOutcome:
    """Map a push service status code to what the caller should do next."""
    if 200 <= status < 300:
        return PushOutcome.DELIVERED
    if status in (404, 410):
        return PushOutcome.GONE
    if status in (408, 429) or status >= 500:
        return PushOutcome.RETRY
    return PushOutcome.FAILED


def _error_text(response: requests.Response) -> str:
    """Short human-readable summary of a rejected push for logs/outbox rows."""
    body = (response.text or "").strip().replace("\n", " ")
    if len(body) > _ERROR_BODY_LIMIT:
        body = body[:_ERROR_BODY_LIMIT] + "..."
    text = f"{response.status_code} {response.reason or ''}".strip()
    return f"{text}: {body}" if body else text


# --------------------------------------------------------------------------- send


def send(
    message: PushMessage,
    *,
    vapid_private_key: str,
    vapid_subject: str,
    timeout: float = 10.0,
    session: requests.Session | None = None,
    policy: EndpointPolicy | None = None,
) -> PushResult:
    """Encrypt ``message`` (aes128gcm) and POST it to its push service, classifying the reply.

    HTTP and network failures are returned as a ``PushResult``, never raised.  A subscription
    whose keys cannot be used yields ``FAILED`` with ``status_code=None``.  Misconfiguration
    (bad VAPID key or subject) raises ``ValueError`` because retrying cannot fix it.  Pass a
    ``requests.Session`` from ``guarded_session`` to reuse connections when sending many
    messages; without one, a session guarded by ``policy`` (default: public addresses only)
    is made, so that the address connected to is checked (sync/push_endpoints.py).
    """
    if session is None:
        session = guarded_session(policy or EndpointPolicy())
    validate_vapid_subject(vapid_subject)
    vapid = Vapid(_load_private_key(vapid_private_key))

    try:
        validate_subscription_keys(message.p256dh, message.auth)
    except ValueError as exc:
        return PushResult(None, PushOutcome.FAILED, None, str(exc))

    claims: dict[str, str | int] = {
        "sub": vapid_subject,
        "aud": vapid_audience(message.endpoint),
        "exp": int(time.time()) + _VAPID_TTL_SECONDS,
    }
    headers: dict[str, str] = {"Urgency": message.urgency}
    if message.topic is not None:
        headers["Topic"] = message.topic
    try:
        headers.update(vapid.sign(claims))
        pusher = WebPusher(
            {
                "endpoint": message.endpoint,
                "keys": {"p256dh": message.p256dh, "auth": message.auth},
            },
            requests_session=session,
        )
    except (VapidException, WebPushException, ValueError) as exc:
        return PushResult(None, PushOutcome.FAILED, None, f"cannot prepare push: {exc}")

    try:
        response = pusher.send(
            bytes(message.payload) or None,
            headers,
            ttl=message.ttl,
            content_encoding="aes128gcm",
            timeout=timeout,
        )
    except RefusedAddress as exc:
        return PushResult(None, PushOutcome.FAILED, None, str(exc))
    except (
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.URLRequired,
        requests.exceptions.InvalidHeader,
    ) as exc:
        return PushResult(None, PushOutcome.FAILED, None, f"{type(exc).__name__}: {exc}")
    except requests.exceptions.RequestException as exc:
        return PushResult(None, PushOutcome.RETRY, None, f"{type(exc).__name__}: {exc}")
    response = cast(requests.Response, response)  # curl=False always yields a Response

    outcome = _classify(response.status_code)
    if outcome is PushOutcome.DELIVERED:
        return PushResult(response.status_code, outcome)
    retry_after = (
        parse_retry_after(response.headers.get("Retry-After"))
        if outcome is PushOutcome.RETRY
        else None
    )
    return PushResult(response.status_code, outcome, retry_after, _error_text(response))


# --------------------------------------------------------------------------- back-off


class _Uniform(Protocol):
    """Anything with ``uniform`` (the ``random`` module or a seeded ``random.Random``)."""

    def uniform(self, a: float, b: float) -> float: ...


def backoff_delay(
    attempt: int,
    *,
    base: float = 5.0,
    cap: float = 3600.0,
    retry_after: float | None = None,
    rng: _Uniform = random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0 = first retry).

    Full jitter (uniform in ``[0, min(cap, base * 2**attempt)]``) spreads retries from many
    devices so a recovering push service is not hit by a synchronized wave.  A server's
    ``Retry-After`` is a floor: we never come back sooner than we were asked to, even if
    that exceeds ``cap``.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    ceiling = min(cap, base * 2.0 ** min(attempt, 64))
    delay = rng.uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
