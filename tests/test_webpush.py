"""Tests for sync.webpush against a real (fake) push service over real HTTP. No mocks."""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from py_vapid import Vapid

from sync.push_endpoints import EndpointPolicy
from sync.webpush import (
    MAX_PAYLOAD_BYTES,
    PushMessage,
    PushOutcome,
    PushResult,
    Urgency,
    backoff_delay,
    generate_vapid_keys,
    make_topic,
    parse_retry_after,
    public_key_from_private,
    send,
    validate_endpoint,
    validate_subscription_keys,
    vapid_audience,
)
from tests.fakepush import FakeDevice, FakePushService, unused_endpoint

SUBJECT = "mailto:ops@gridlink.example"
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
LOCAL = EndpointPolicy(allow_insecure=True)


@pytest.fixture
def keys() -> tuple[str, str]:
    return generate_vapid_keys()


@pytest.fixture
def service(keys: tuple[str, str]) -> Iterator[FakePushService]:
    with FakePushService(vapid_public_key=keys[1]) as svc:
        yield svc


def _message(
    device: FakeDevice,
    payload: bytes = b"hello",
    *,
    ttl: int = 60,
    urgency: Urgency = "normal",
    topic: str | None = None,
) -> PushMessage:
    return PushMessage(device.endpoint, device.p256dh, device.auth, payload, ttl, urgency, topic)


def _send(
    message: PushMessage, keys: tuple[str, str], session: requests.Session | None = None
) -> PushResult:
    return send(
        message,
        vapid_private_key=keys[0],
        vapid_subject=SUBJECT,
        timeout=5.0,
        session=session,
        policy=LOCAL,  # the fake push service listens on 127.0.0.1
    )


def _raw_post(
    service: FakePushService, device: FakeDevice, private_key: str, claims: dict[str, object]
) -> requests.Response:
    """POST with a hand-made VAPID token so the fake's individual checks can be probed."""
    vapid = Vapid.from_raw(private_key.encode())
    vapid.conf = {"no-strict": True}  # let py_vapid sign a bad "sub" too
    auth = vapid.sign(claims)["Authorization"]
    headers = {"Authorization": auth, "TTL": "60"}
    return requests.post(device.endpoint, headers=headers, timeout=5)


# ---------------------------------------------------------------------- keys


def test_generated_vapid_keys_have_browser_formats(keys: tuple[str, str]) -> None:
    private, public = keys
    assert B64URL.match(private) and B64URL.match(public)  # unpadded base64url
    assert len(base64.urlsafe_b64decode(private + "=")) == 32
    raw_public = base64.urlsafe_b64decode(public + "=")
    assert len(raw_public) == 65 and raw_public[0] == 4
    assert public_key_from_private(private) == public


def test_public_key_from_private_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="private key"):
        public_key_from_private("not-a-key")
    with pytest.raises(ValueError, match="private key"):
        public_key_from_private(base64.urlsafe_b64encode(b"\0" * 32).decode())


# ---------------------------------------------------------------------- delivery


def test_message_reaches_two_devices_and_decrypts(
    service: FakePushService, keys: tuple[str, str]
) -> None:
    phone, laptop = service.new_device(), service.new_device()
    payload = '{"kind":"alert","id":"42","text":"Strike vote — ÆØÅ"}'.encode()
    topic = make_topic("alert", "42")
    with requests.Session() as session:
        results = [
            _send(
                _message(dev, payload, ttl=3600, urgency="high", topic=topic), keys, session=session
            )
            for dev in (phone, laptop)
        ]
    assert all(r.outcome is PushOutcome.DELIVERED and r.status_code == 201 for r in results)
    assert all(r.ok and r.error is None and r.retry_after_seconds is None for r in results)
    for dev in (phone, laptop):
        [msg] = service.messages(dev.device_id)
        assert msg.payload == payload
        assert (msg.ttl, msg.urgency, msg.topic) == (3600, "high", topic)
        [req] = service.requests(dev.device_id)
        assert req.headers["content-encoding"] == "aes128gcm"
        assert req.headers["authorization"].startswith("vapid t=")


def test_empty_payload_and_defaults(service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    result = _send(PushMessage(dev.endpoint, dev.p256dh, dev.auth, b"", ttl=0), keys)
    assert result.outcome is PushOutcome.DELIVERED
    [msg] = service.messages(dev.device_id)
    assert (msg.payload, msg.ttl, msg.urgency, msg.topic) == (b"", 0, "normal", None)


def test_max_payload_is_accepted(service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    payload = bytes(range(256)) * (MAX_PAYLOAD_BYTES // 256) + b"x" * (MAX_PAYLOAD_BYTES % 256)
    assert _send(_message(dev, payload), keys).outcome is PushOutcome.DELIVERED
    assert service.messages(dev.device_id)[0].payload == payload
    with pytest.raises(ValueError, match="payload"):
        _message(dev, payload + b"!")


def test_wrong_vapid_key_is_refused(service: FakePushService) -> None:
    dev = service.new_device()
    other_keys = generate_vapid_keys()
    result = _send(_message(dev), other_keys)
    assert result.outcome is PushOutcome.FAILED
    assert result.status_code == 403
    assert result.error is not None and "does not match" in result.error
    assert service.messages(dev.device_id) == []


def test_fake_verifies_jwt_signature_not_just_k(
    service: FakePushService, keys: tuple[str, str]
) -> None:
    """A token signed by another key but claiming our k must fail signature verification."""
    dev = service.new_device()
    forged_private, _ = generate_vapid_keys()
    token = (
        Vapid.from_raw(forged_private.encode())
        .sign({"sub": SUBJECT, "aud": service.origin, "exp": int(time.time()) + 600})[
            "Authorization"
        ]
        .split("t=", 1)[1]
        .split(",", 1)[0]
    )
    body = b"\0" * 10
    headers = {
        "Authorization": f"vapid t={token}, k={keys[1]}",
        "TTL": "60",
        "Content-Encoding": "aes128gcm",
    }
    response = requests.post(dev.endpoint, data=body, headers=headers, timeout=5)
    assert response.status_code == 403
    assert "signature" in response.json()["error"]


def test_fake_checks_vapid_claims(service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    now = int(time.time())
    good = {"sub": SUBJECT, "aud": service.origin, "exp": now + 600}
    assert _raw_post(service, dev, keys[0], good).status_code == 201
    cases = {
        "aud": good | {"aud": "http://127.0.0.1:1"},
        "expired": good | {"exp": now - 5},
        "24h": good | {"exp": now + 25 * 3600},
        "sub": good | {"sub": "ops@gridlink.example"},
    }
    for expected, claims in cases.items():
        response = _raw_post(service, dev, keys[0], claims)
        assert response.status_code == 403, expected
        assert expected in response.json()["error"], expected
    assert len(service.messages(dev.device_id)) == 1


def test_fake_rejects_missing_auth_and_ttl(service: FakePushService) -> None:
    dev = service.new_device()
    assert requests.post(dev.endpoint, data=b"", headers={"TTL": "1"}, timeout=5).status_code == 401
    assert service.requests(dev.device_id)[-1].reason == "Missing Authorization header"


def test_subscription_made_with_old_key_is_forbidden(
    service: FakePushService, keys: tuple[str, str]
) -> None:
    old_private, old_public = generate_vapid_keys()
    dev = service.new_device(application_server_key=old_public)
    assert _send(_message(dev), keys).status_code == 403
    assert _send(_message(dev), (old_private, old_public)).outcome is PushOutcome.DELIVERED


# ---------------------------------------------------------------------- error mapping


@pytest.mark.parametrize("status", [410, 404])
def test_gone_statuses(status: int, service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    service.expire(dev.device_id, status)
    for _ in range(2):  # gone forever, not just once
        result = _send(_message(dev), keys)
        assert (result.status_code, result.outcome) == (status, PushOutcome.GONE)
    assert service.messages(dev.device_id) == []


def test_unknown_device_is_gone(service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    msg = _message(dev)
    ghost = PushMessage(
        msg.endpoint.rsplit("/", 1)[0] + "/ghost", msg.p256dh, msg.auth, msg.payload, ttl=msg.ttl
    )
    assert _send(ghost, keys).outcome is PushOutcome.GONE


def test_429_with_retry_after_then_success(service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    service.set_retry_after(7)
    service.script(dev.device_id, [429, 201])
    first = _send(_message(dev), keys)
    assert first.status_code == 429
    assert first.outcome is PushOutcome.RETRY
    assert first.retry_after_seconds == 7
    assert first.error is not None and first.error.startswith("429")
    second = _send(_message(dev), keys)
    assert second.outcome is PushOutcome.DELIVERED
    statuses = [r.status for r in service.requests(dev.device_id)]
    assert statuses == [429, 201]
    assert len(service.messages(dev.device_id)) == 1


def test_retry_after_http_date(service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    when = datetime.now(UTC) + timedelta(seconds=120)
    service.script(dev.device_id, [(503, format_datetime(when, usegmt=True))])
    result = _send(_message(dev), keys)
    assert result.outcome is PushOutcome.RETRY
    assert result.retry_after_seconds is not None
    assert 110 <= result.retry_after_seconds <= 121


def test_500_is_retry(service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    service.script(None, [500])  # global script
    result = _send(_message(dev), keys)
    assert (result.status_code, result.outcome) == (500, PushOutcome.RETRY)
    assert result.retry_after_seconds is None
    assert _send(_message(dev), keys).outcome is PushOutcome.DELIVERED


def test_400_is_failed(service: FakePushService, keys: tuple[str, str]) -> None:
    dev = service.new_device()
    service.script(dev.device_id, [400])
    result = _send(_message(dev), keys)
    assert (result.status_code, result.outcome) == (400, PushOutcome.FAILED)
    assert result.retry_after_seconds is None


def test_connection_refused_is_retry(keys: tuple[str, str]) -> None:
    _, p256dh = generate_vapid_keys()  # any valid P-256 point works as a receiver key
    auth = base64.urlsafe_b64encode(b"a" * 16).rstrip(b"=").decode()
    msg = PushMessage(unused_endpoint(), p256dh, auth, b"x", ttl=60)
    started = time.monotonic()
    result = _send(msg, keys)
    assert result.outcome is PushOutcome.RETRY
    assert result.status_code is None
    assert result.error is not None and "ConnectionError" in result.error
    assert time.monotonic() - started < 2


def test_stopped_service_is_retry(keys: tuple[str, str]) -> None:
    svc = FakePushService(vapid_public_key=keys[1]).start()
    dev = svc.new_device()
    with requests.Session() as session:
        assert _send(_message(dev), keys, session=session).ok
        svc.stop()  # also drops the session's keep-alive connection
        assert _send(_message(dev), keys, session=session).outcome is PushOutcome.RETRY


def test_unusable_subscription_keys_fail_without_request(
    service: FakePushService, keys: tuple[str, str]
) -> None:
    dev = service.new_device()
    bad = PushMessage(dev.endpoint, dev.p256dh[:-4], dev.auth, b"x", ttl=60)
    result = _send(bad, keys)
    assert (result.status_code, result.outcome) == (None, PushOutcome.FAILED)
    assert result.error is not None and "p256dh" in result.error
    assert service.requests() == []


def test_bad_vapid_configuration_raises(service: FakePushService, keys: tuple[str, str]) -> None:
    msg = _message(service.new_device())
    for subject in ["ops@gridlink.example", "mailto:ops", "https://gridlink.example/contact"]:
        with pytest.raises(ValueError, match="vapid_subject"):
            send(msg, vapid_private_key=keys[0], vapid_subject=subject)
    with pytest.raises(ValueError, match="private key"):
        send(msg, vapid_private_key="nope", vapid_subject=SUBJECT)


# ---------------------------------------------------------------------- validation


def test_subscription_key_validation_names_field(service: FakePushService) -> None:
    dev = service.new_device()
    validate_subscription_keys(dev.p256dh, dev.auth)
    raw = bytearray(base64.urlsafe_b64decode(dev.p256dh + "="))
    raw[-1] ^= 1  # almost certainly no longer on the curve
    off_curve = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    compressed = base64.urlsafe_b64encode(b"\x02" + bytes(raw[1:33])).rstrip(b"=").decode()
    for bad in ["", "!!!", dev.auth, compressed, off_curve]:
        with pytest.raises(ValueError, match=r"^p256dh must be"):
            validate_subscription_keys(bad, dev.auth)
    for bad in ["", "%%", dev.auth + "AA", dev.p256dh]:
        with pytest.raises(ValueError, match=r"^auth must be 16 bytes base64url"):
            validate_subscription_keys(dev.p256dh, bad)
    # Padded / standard-alphabet encodings from sloppy clients are still accepted.
    validate_subscription_keys(dev.p256dh + "=", dev.auth + "==")


def test_endpoint_validation() -> None:
    validate_endpoint("https://fcm.googleapis.com/fcm/send/abc:def", allow_insecure=False)
    validate_endpoint("https://updates.push.services.mozilla.com:443/wpush/v2/x", False)
    validate_endpoint("http://127.0.0.1:8080/push/x", allow_insecure=True)
    bad_secure = [
        "http://push.example.com/x",
        "ftp://push.example.com/x",
        "https:///nohost",
        "https://",
        "push.example.com/x",
        "",
        "https://user:pw@push.example.com/x",
        "https://push.example.com/a b",
        "https://localhost/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest",
        "https://push.example.com:99999/x",
        "https://push.example.com/" + "a" * 3000,
    ]
    for endpoint in bad_secure:
        with pytest.raises(ValueError, match=r"^endpoint"):
            validate_endpoint(endpoint, allow_insecure=False)
    for endpoint in ["ftp://127.0.0.1/x", "http:///x", "not a url"]:
        with pytest.raises(ValueError, match=r"^endpoint"):
            validate_endpoint(endpoint, allow_insecure=True)


def test_vapid_audience_is_origin() -> None:
    assert (
        vapid_audience("https://FCM.googleapis.com:443/fcm/send/x") == "https://fcm.googleapis.com"
    )
    assert vapid_audience("http://127.0.0.1:8123/push/a?b=c") == "http://127.0.0.1:8123"


def test_push_message_validation() -> None:
    _, p = generate_vapid_keys()
    auth = base64.urlsafe_b64encode(b"a" * 16).rstrip(b"=").decode()
    base = ("https://push.example.com/x", p, auth, b"x")
    with pytest.raises(ValueError, match="urgency"):
        PushMessage(*base, ttl=1, urgency="urgent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        PushMessage(*base, ttl=-1)
    with pytest.raises(ValueError, match="topic"):
        PushMessage(*base, ttl=1, topic="a" * 33)
    for topic in ["has space", "abc\n", ""]:
        with pytest.raises(ValueError, match="topic"):
            PushMessage(*base, ttl=1, topic=topic)


def test_make_topic_is_valid_and_stable() -> None:
    topic = make_topic("alert", "42")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", topic)
    assert len(topic) == 32
    assert topic == make_topic("alert", "42")
    assert topic != make_topic("alert", "43")
    assert make_topic("a:b", "c") != make_topic("a", "b:c")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", make_topic("", "\u00e6" * 500))


# ---------------------------------------------------------------------- back-off


def test_backoff_delay_bounds_and_jitter() -> None:
    rng = random.Random(1234)
    for attempt in range(12):
        ceiling = min(3600.0, 5.0 * 2**attempt)
        delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter actually spreads out
    assert backoff_delay(10_000, rng=rng) <= 3600.0  # no overflow on huge attempts
    assert backoff_delay(3, base=1.0, cap=4.0, rng=rng) <= 4.0
    with pytest.raises(ValueError):
        backoff_delay(-1)


def test_backoff_delay_respects_retry_after_floor() -> None:
    rng = random.Random(99)
    assert all(backoff_delay(0, retry_after=7, rng=rng) >= 7 for _ in range(100))
    assert backoff_delay(0, retry_after=7.5, rng=rng) == 7.5  # base 5 can never exceed it
    assert backoff_delay(2, cap=10, retry_after=7200, rng=rng) == 7200  # floor beats cap
    a = [backoff_delay(5, rng=random.Random(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]  # seeded → reproducible


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7
    assert parse_retry_after(" 120 ") == 120
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


def test_retry_spacing_is_observable(service: FakePushService, keys: tuple[str, str]) -> None:
    """The fake timestamps each request so callers can assert a retry honoured a delay."""
    dev = service.new_device()
    service.script(dev.device_id, [(429, "0")])
    first = _send(_message(dev), keys)
    assert first.outcome is PushOutcome.RETRY and first.retry_after_seconds == 0
    delay = backoff_delay(0, base=0.05, retry_after=first.retry_after_seconds, rng=random.Random(3))
    time.sleep(delay)
    assert _send(_message(dev), keys).ok
    r1, r2 = service.wait_for_requests(2, dev.device_id)
    assert r2.at - r1.at >= delay
    assert service.wait_for_messages(dev.device_id, 1)[0].payload == b"hello"
