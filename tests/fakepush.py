"""A fake Web Push service that behaves like a browser vendor's, for tests.

It is a real HTTP server on 127.0.0.1 (ephemeral port, background thread) so the code under
test exercises its actual HTTP client, encryption and VAPID signing.  The fake deliberately
does NOT reuse ``sync.webpush`` or pywebpush helpers for verification: it checks the JWT and
decrypts the aes128gcm body independently, so a bug on the sending side cannot be masked by
the same bug on the receiving side.

Typical use::

    from tests.fakepush import FakePushService, fake_vapid_keys

    with FakePushService(vapid_public_key=public) as service:
        device = service.new_device()
        ...send to device.endpoint / device.p256dh / device.auth...
        [msg] = service.messages(device.device_id)

Or as pytest fixtures: ``from tests.fakepush import fake_push, vapid_keys  # noqa: F401``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import secrets
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_BODY_BYTES = 4096  # RFC 8291 §4: the size every push service must accept
MAX_VAPID_EXP_SECONDS = 24 * 60 * 60  # RFC 8292 §2: exp no more than 24h ahead
_URGENCIES = frozenset({"very-low", "low", "normal", "high"})
_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
_PATH_RE = re.compile(r"^/push/([A-Za-z0-9_-]+)\Z")

# A scripted answer: a status code, or (status, Retry-After value) to override the default.
ScriptEntry = int | tuple[int, str | int | None]


def b64url(data: bytes) -> str:
    """Unpadded base64url, as browsers serialize subscription keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """Decode unpadded base64url strictly (raises ValueError on junk)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", value):
        raise ValueError("not base64url")
    value = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def fake_vapid_keys() -> tuple[str, str]:
    """Make an application-server VAPID pair (raw private scalar, public point), base64url.

    Generated here rather than via ``sync.webpush`` so the fake stays independent of the
    code it checks.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big")), b64url(
        _point(key.public_key())
    )


def unused_endpoint(device_id: str = "nobody") -> str:
    """An http endpoint on a port nothing listens on, for connection-refused tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/push/{device_id}"


@dataclass(frozen=True)
class FakeDevice:
    """A browser-like push subscription: ECDH key pair plus 16-byte auth secret."""

    device_id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    auth_secret: bytes = field(repr=False)
    application_server_key: str = field(repr=False)

    @property
    def p256dh(self) -> str:
        """The subscription's public key as ``PushSubscription.toJSON().keys.p256dh``."""
        return b64url(_point(self.private_key.public_key()))

    @property
    def auth(self) -> str:
        """The auth secret as ``PushSubscription.toJSON().keys.auth``."""
        return b64url(self.auth_secret)


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the fake accepted and decrypted for a device."""

    device_id: str
    payload: bytes
    ttl: int
    urgency: str | None
    topic: str | None
    received_at: float  # time.time()


@dataclass(frozen=True)
class RecordedRequest:
    """Every POST the fake saw (accepted or not), with the status it answered."""

    device_id: str | None
    status: int
    at: float  # time.time() when the request arrived
    headers: dict[str, str]
    body_length: int
    reason: str


class _HTTPError(Exception):
    """Internal: abort request handling with a status and an autopush-style error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakePushService:
    """Thread-safe fake RFC 8030 push service.

    Answer precedence for a known device: request validation (401/403/400/413/415) →
    ``expire`` (gone forever) → the device's script → the global script → 201.
    Unknown device ids get 404, as real services do for never-existing subscriptions.
    """

    def __init__(self, vapid_public_key: str, *, host: str = "127.0.0.1") -> None:
        b64url_decode(vapid_public_key)  # fail fast on a malformed key
        self.vapid_public_key = vapid_public_key
        self._host = host
        self._lock = threading.Condition()
        self._devices: dict[str, FakeDevice] = {}
        self._expired: dict[str, int] = {}
        self._scripts: dict[str | None, deque[ScriptEntry]] = defaultdict(deque)
        self._retry_after: str | None = None
        self._messages: dict[str, list[ReceivedMessage]] = defaultdict(list)
        self._requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakePushService:
        """Bind an ephemeral port and serve in a daemon thread."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self._host, 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (later sends see connection refused)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for conn in connections:  # drop keep-alive connections too: the service is "down"
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakePushService:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakePushService is not running")
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        """The origin VAPID ``aud`` must equal."""
        return f"http://{self._host}:{self.port}"

    # ------------------------------------------------------------------ devices

    def new_device(
        self, device_id: str | None = None, *, application_server_key: str | None = None
    ) -> FakeDevice:
        """Subscribe a new browser-like device (like ``pushManager.subscribe``).

        ``application_server_key`` defaults to the service's VAPID key; pass another to model
        a subscription made before a VAPID key rotation.
        """
        device_id = device_id or secrets.token_urlsafe(12)
        if not _PATH_RE.match(f"/push/{device_id}"):
            raise ValueError("device_id must be base64url characters")
        device = FakeDevice(
            device_id=device_id,
            endpoint=f"{self.origin}/push/{device_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
            application_server_key=application_server_key or self.vapid_public_key,
        )
        with self._lock:
            if device_id in self._devices:
                raise ValueError(f"device {device_id!r} already exists")
            self._devices[device_id] = device
        return device

    # ------------------------------------------------------------------ behaviour control

    def script(self, device_id: str | None, statuses: Iterable[ScriptEntry]) -> None:
        """Answer the next requests with ``statuses`` in turn, then 201 again.

        ``device_id=None`` scripts every device (used after a device's own script).  An
        entry may be ``(status, retry_after)`` to set that answer's ``Retry-After``.
        """
        with self._lock:
            self._scripts[device_id].extend(statuses)

    def set_retry_after(self, value: float | str | None) -> None:
        """``Retry-After`` sent with scripted 429/503 answers (seconds or an HTTP-date)."""
        with self._lock:
            if value is None or isinstance(value, str):
                self._retry_after = value
            else:
                self._retry_after = str(int(value))

    def expire(self, device_id: str, status: int = 410) -> None:
        """Make a device's subscription gone forever (410 by default, or 404)."""
        if status not in (404, 410):
            raise ValueError("expired devices answer 404 or 410")
        with self._lock:
            self._expired[device_id] = status

    def reset(self) -> None:
        """Forget scripts, expiry and recordings (devices stay subscribed)."""
        with self._lock:
            self._scripts.clear()
            self._expired.clear()
            self._retry_after = None
            self._messages.clear()
            self._requests.clear()

    # ------------------------------------------------------------------ inspection

    def messages(self, device_id: str) -> list[ReceivedMessage]:
        """Messages accepted for a device, oldest first."""
        with self._lock:
            return list(self._messages.get(device_id, ()))

    def requests(self, device_id: str | None = None) -> list[RecordedRequest]:
        """All requests seen (optionally for one device), oldest first."""
        with self._lock:
            return [r for r in self._requests if device_id is None or r.device_id == device_id]

    def wait_for_messages(
        self, device_id: str, count: int = 1, timeout: float = 5.0
    ) -> list[ReceivedMessage]:
        """Block until ``count`` messages reached a device (for background senders)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._messages.get(device_id, ())) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{device_id}: got {len(self._messages.get(device_id, ()))} of "
                        f"{count} messages within {timeout}s"
                    )
                self._lock.wait(remaining)
            return list(self._messages[device_id])

    def wait_for_requests(
        self, count: int, device_id: str | None = None, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Block until ``count`` requests (optionally for one device) have been answered."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                seen = [r for r in self._requests if device_id is None or r.device_id == device_id]
                if len(seen) >= count:
                    return seen
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"got {len(seen)} of {count} requests within {timeout}s")
                self._lock.wait(remaining)

    # ------------------------------------------------------------------ request handling

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Decide the answer to one request and record it; runs on a server thread."""
        received = time.time()
        device_id: str | None = None
        extra: dict[str, str] = {}
        try:
            match = _PATH_RE.match(path.split("?", 1)[0])
            if match is None:
                raise _HTTPError(404, "Not found")
            device_id = match.group(1)
            if method != "POST":
                raise _HTTPError(405, "Method not allowed")
            with self._lock:
                device = self._devices.get(device_id)
            if device is None:
                raise _HTTPError(404, "No such subscription")
            self._check_vapid(headers, device)
            ttl, urgency, topic = self._check_headers(headers, body)
            with self._lock:
                status, retry_after = self._next_answer(device_id)
            if not 200 <= status < 300:
                if retry_after is not None:
                    extra["Retry-After"] = retry_after
                raise _HTTPError(status, "Scripted failure")
            payload = self._decrypt(device, body)
            message = ReceivedMessage(device_id, payload, ttl, urgency, topic, received)
            extra["Location"] = f"{self.origin}/m/{uuid.uuid4().hex}"
            with self._lock:
                self._messages[device_id].append(message)
                self._record(device_id, status, received, headers, body, "Created")
            return status, extra, b""
        except _HTTPError as err:
            with self._lock:
                self._record(device_id, err.status, received, headers, body, err.message)
            error_body = json.dumps(
                {"code": err.status, "errno": err.status, "error": err.message}
            ).encode()
            extra["Content-Type"] = "application/json"
            return err.status, extra, error_body

    def _record(
        self,
        device_id: str | None,
        status: int,
        at: float,
        headers: dict[str, str],
        body: bytes,
        reason: str,
    ) -> None:
        """Append to the request log and wake waiters; caller holds the lock."""
        self._requests.append(RecordedRequest(device_id, status, at, headers, len(body), reason))
        self._lock.notify_all()

    def _next_answer(self, device_id: str) -> tuple[int, str | None]:
        """Pop the next scripted status for a device; caller holds the lock."""
        if device_id in self._expired:
            return self._expired[device_id], None
        for queue in (self._scripts.get(device_id), self._scripts.get(None)):
            if queue:
                entry = queue.popleft()
                if isinstance(entry, tuple):
                    status, retry = entry
                    return status, None if retry is None else str(retry)
                retry_after = self._retry_after if entry in (429, 503) else None
                return entry, retry_after
        return 201, None

    def _check_vapid(self, headers: dict[str, str], device: FakeDevice) -> None:
        """Verify ``Authorization: vapid t=<jwt>, k=<key>`` per RFC 8292."""
        auth = headers.get("authorization")
        if not auth:
            raise _HTTPError(401, "Missing Authorization header")
        scheme, _, params = auth.partition(" ")
        if scheme.lower() != "vapid":
            raise _HTTPError(401, "Authorization scheme must be vapid")
        fields: dict[str, str] = {}
        for part in params.split(","):
            name, sep, value = part.strip().partition("=")
            if sep:
                fields[name.strip().lower()] = value.strip()
        token, key = fields.get("t"), fields.get("k")
        if not token or not key:
            raise _HTTPError(401, "vapid Authorization needs t= and k=")
        try:
            key_bytes = b64url_decode(key)
            expected = b64url_decode(device.application_server_key)
        except ValueError as exc:
            raise _HTTPError(401, "vapid k is not base64url") from exc
        if key_bytes != expected:
            raise _HTTPError(403, "vapid k does not match the subscription's key")
        claims = _verify_es256_jwt(token, key_bytes)
        now = time.time()
        if claims.get("aud") != self.origin:
            raise _HTTPError(403, f"vapid aud must be {self.origin}")
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise _HTTPError(403, "vapid exp missing")
        if exp <= now:
            raise _HTTPError(403, "vapid token expired")
        if exp > now + MAX_VAPID_EXP_SECONDS:
            raise _HTTPError(403, "vapid exp more than 24h in the future")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
            raise _HTTPError(403, "vapid sub must be mailto: or https:")

    def _check_headers(
        self, headers: dict[str, str], body: bytes
    ) -> tuple[int, str | None, str | None]:
        """Validate RFC 8030 request headers; returns (ttl, urgency, topic)."""
        raw_ttl = headers.get("ttl")
        if raw_ttl is None:
            raise _HTTPError(400, "Missing TTL header")
        if not raw_ttl.strip().isdigit():
            raise _HTTPError(400, "Invalid TTL header")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in _URGENCIES:
            raise _HTTPError(400, "Invalid Urgency header")
        topic = headers.get("topic")
        if topic is not None and not _TOPIC_RE.match(topic):
            raise _HTTPError(400, "Invalid Topic header")
        if len(body) > MAX_BODY_BYTES:
            raise _HTTPError(413, "Payload too large")
        if body and headers.get("content-encoding", "").lower() != "aes128gcm":
            raise _HTTPError(415, "Content-Encoding must be aes128gcm")
        return int(raw_ttl), urgency, topic

    @staticmethod
    def _decrypt(device: FakeDevice, body: bytes) -> bytes:
        """Decrypt an aes128gcm body as the browser would (RFC 8291)."""
        if not body:
            return b""
        try:
            return http_ece.decrypt(
                body,
                private_key=device.private_key,
                auth_secret=device.auth_secret,
                version="aes128gcm",
            )
        except Exception as exc:  # http_ece raises assorted errors on bad input
            raise _HTTPError(400, f"Cannot decrypt payload: {exc}") from exc


def _verify_es256_jwt(token: str, public_point: bytes) -> dict[str, object]:
    """Verify a compact ES256 JWT against a raw P-256 point and return its claims."""
    try:
        header_b64, claims_b64, sig_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(sig_b64)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_point)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _HTTPError(403, "vapid t is not a well-formed JWT") from exc
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise _HTTPError(403, "vapid JWT alg must be ES256")
    if not isinstance(claims, dict) or len(signature) != 64:
        raise _HTTPError(403, "vapid JWT malformed")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public_key.verify(
            der, f"{header_b64}.{claims_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature as exc:
        raise _HTTPError(403, "vapid JWT signature invalid") from exc
    return claims


def _make_handler(service: FakePushService) -> type[BaseHTTPRequestHandler]:
    """Build a request handler class bound to one service instance."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real push services
        server_version = "FakePush/1.0"

        def setup(self) -> None:
            super().setup()
            with service._lock:
                service._connections.add(self.connection)

        def finish(self) -> None:
            with service._lock:
                service._connections.discard(self.connection)
            super().finish()

        def _serve(self) -> None:
            length_header = self.headers.get("Content-Length")
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self._reply(411, {}, b"")
                self.close_connection = True
                return
            try:
                length = int(length_header or 0)
            except ValueError:
                length = -1
            if length < 0 or length > 1_000_000:
                self._reply(400, {}, b"")
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                # The sender went away mid-request (e.g. a killed worker): nothing was delivered,
                # as with a real push service; an empty read must not pass for an empty message.
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = service._handle(self.command, self.path, headers, body)
            self._reply(status, extra, payload)

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        do_POST = _serve
        do_GET = _serve
        do_PUT = _serve
        do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    return Handler


# ---------------------------------------------------------------------- pytest fixtures


@pytest.fixture
def vapid_keys() -> tuple[str, str]:
    """A fresh (private, public) VAPID pair, base64url."""
    return fake_vapid_keys()


@pytest.fixture
def fake_push(vapid_keys: tuple[str, str]) -> Iterator[FakePushService]:
    """A running fake push service expecting ``vapid_keys``' public key."""
    with FakePushService(vapid_public_key=vapid_keys[1]) as service:
        yield service
