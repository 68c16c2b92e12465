"""Push endpoints cannot reach inside (issue 10 finding 4): every spelling of a local address
is refused when registered, a host that resolves inside is refused, production allows only
the public push services (and GRIDLINK_PUSH_ALLOWED_HOSTS), and the worker checks the address
it really connects to, so a DNS answer that changed after registration reaches nothing."""

from __future__ import annotations

import socket
from dataclasses import replace

import httpx
import pytest
import sqlalchemy as sa

from api.config import Settings, SettingsError
from api.edge.app import create_app
from sync.push_endpoints import EndpointPolicy, check_endpoint, parse_endpoint
from sync.push_models import PushSubscription
from sync.webpush import PushMessage, PushOutcome, send
from tests import fakepush
from tests.fakepush import FakePushService
from tests.helpers import gql
from tests.push_support import PASSWORD, SUBJECT, make_world

fake_push = fakepush.fake_push
vapid_keys = fakepush.vapid_keys

STRICT = EndpointPolicy()
PRODUCTION = EndpointPolicy.from_settings(Settings(env="production"))
# Every spelling of finding 4 and its relatives: loopback, private, shared, link-local,
# multicast, unspecified, in integer, short, hex, octal, trailing-dot, IPv6 and mapped forms.
LOCAL_HOSTS = [
    "2130706433",
    "127.1",
    "0x7f000001",
    "0177.0.0.1",
    "0",
    "localhost.",
    "127.0.0.1.",
    "2852039166",
    "localhost",
    "push.localhost",
    "127.0.0.1",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "224.0.0.1",
    "255.255.255.255",
    "0x7f.0.0.1",
    "127.0.0.01",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:169.254.169.254]",
    "[::127.0.0.1]",
    "[fe80::1]",
    "[fc00::1]",
    "[ff02::1]",
    "[2002:7f00:1::]",
    "[64:ff9b::7f00:1]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo for 127.0.0.1
]


def _public_dns(host: str, port: int) -> list[str]:
    """DNS as the internet answers for the public push services (none is reachable here)."""
    return {"fcm.googleapis.com": ["142.250.72.10", "2607:f8b0:4005:80a::200a"]}.get(
        host, ["93.184.215.14"]
    )


@pytest.mark.parametrize("host", LOCAL_HOSTS)
def test_every_spelling_of_a_local_address_is_refused(host: str) -> None:
    for policy in (STRICT, PRODUCTION):
        with pytest.raises(ValueError, match=r"^endpoint"):
            parse_endpoint(f"https://{host}:18450/x", policy)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/x",
        "https://user@fcm.googleapis.com/x",
        "https://fcm.googleapis.com:0/x",
        "https://fcm.googleapis.com\\@127.0.0.1/x",
        "https://intranet/x",
        "https://xn--bcher-kva.example.\u00e9/x",
        "https://-bad-.example.org/x",
        "https://[fe80::1%25eth0]/x",
    ],
)
def test_malformed_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(ValueError, match=r"^endpoint"):
        parse_endpoint(endpoint, STRICT)


def test_a_host_resolving_inside_is_refused() -> None:
    inside = replace(STRICT, resolve=lambda _h, _p: ["93.184.215.14", "127.0.0.1"])
    with pytest.raises(ValueError, match="local or private"):
        check_endpoint("https://push.example.org/x", inside)
    nowhere = replace(STRICT, resolve=lambda _h, _p: [])
    with pytest.raises(ValueError, match="could not be resolved"):
        check_endpoint("https://push.example.org/x", nowhere)
    public = replace(STRICT, resolve=_public_dns)
    assert check_endpoint("https://push.example.org/x", public) == "https://push.example.org/x"


def test_production_allows_the_public_push_services_only() -> None:
    production = replace(PRODUCTION, resolve=_public_dns)
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/x",
        "https://web.push.apple.com/QO-x",
        "https://db5p.notify.windows.com/w/?token=x",
    ):
        assert check_endpoint(endpoint, production) == endpoint
    for endpoint in (
        "https://push.example.org/x",
        "https://push.services.mozilla.com.example.org/x",
        "https://evilpush.apple.com/x",
    ):
        with pytest.raises(ValueError, match="public push service"):
            check_endpoint(endpoint, production)
    widened = EndpointPolicy.from_settings(
        Settings.from_env(
            {"GRIDLINK_ENV": "production", "GRIDLINK_PUSH_ALLOWED_HOSTS": "*.example.org"}
        )
    )
    assert check_endpoint("https://push.example.org/x", replace(widened, resolve=_public_dns))


def test_the_insecure_escape_is_impossible_in_production() -> None:
    with pytest.raises(SettingsError, match="GRIDLINK_PUSH_ALLOW_INSECURE_ENDPOINTS"):
        Settings(env="production", push_allow_insecure_endpoints=True)
    with pytest.raises(SettingsError, match="GRIDLINK_PUSH_ALLOW_INSECURE_ENDPOINTS"):
        Settings.from_env(
            {"GRIDLINK_ENV": "production", "GRIDLINK_PUSH_ALLOW_INSECURE_ENDPOINTS": "true"}
        )
    with pytest.raises(SettingsError, match="GRIDLINK_PUSH_ALLOWED_HOSTS"):
        Settings.from_env({"GRIDLINK_PUSH_ALLOWED_HOSTS": "127.0.0.1:80"})


async def test_register_refuses_local_spellings_in_production(
    database_url: str, session_factory, vapid_keys: tuple[str, str], fake_push: FakePushService
) -> None:
    settings = Settings(
        database_url=database_url,
        env="production",
        run_worker_in_process=False,
        vapid_private_key=vapid_keys[0],
        vapid_subject=SUBJECT,
    )
    world = await make_world(session_factory)
    device = fake_push.new_device()
    app = create_app(settings)
    register = """mutation($input: RegisterPushSubscriptionInput!) {
      registerPushSubscription(input: $input) { subscription { id } errors { field code } } }"""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        login = await gql(
            client,
            "mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { token } }",
            {"p": world.liaison.phone, "w": PASSWORD},
        )
        token = login["data"]["login"]["token"]
        for host in [*LOCAL_HOSTS, "push.example.org", "fcm.googleapis.com.evil.example"]:
            body = await gql(
                client,
                register,
                {
                    "input": {
                        "endpoint": f"https://{host}:18450/x",
                        "p256dh": device.p256dh,
                        "auth": device.auth,
                    }
                },
                token=token,
            )
            payload = body["data"]["registerPushSubscription"]
            assert payload["subscription"] is None, host
            assert payload["errors"] == [{"field": "endpoint", "code": "INVALID"}], host
    async with session_factory() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 0


def test_the_worker_checks_the_address_it_connects_to(
    fake_push: FakePushService, vapid_keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name was public when registered; at send time it answers
    127.0.0.1. The connection is refused before a byte is sent."""
    device = fake_push.new_device()
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host: str, *args, **kwargs):  # the outside world's DNS, answering inside
        if host == "push.rebind.example":
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    rebound = device.endpoint.replace("127.0.0.1", "push.rebind.example")
    message = PushMessage(rebound, device.p256dh, device.auth, b"{}", 60)
    for policy in (STRICT, PRODUCTION):
        result = send(
            message, vapid_private_key=vapid_keys[0], vapid_subject=SUBJECT, policy=policy
        )
        assert result.outcome is PushOutcome.FAILED and "127.0.0.1" in (result.error or "")
    assert fake_push.requests() == []
    # The same name through the test/dev escape reaches the local fake service.
    local = EndpointPolicy(allow_insecure=True)
    result = send(message, vapid_private_key=vapid_keys[0], vapid_subject=SUBJECT, policy=local)
    assert result.status_code is not None and len(fake_push.requests()) == 1
