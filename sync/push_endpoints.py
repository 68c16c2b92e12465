"""Which push endpoints the server may POST to (server-side request forgery).

An endpoint comes from a client and the push worker later connects to it, so it is checked
three times, by one policy:

1. its text, strictly: ``https://`` (``http://`` only in the test/dev escape), no
   credentials, and a host that is a DNS name of ASCII labels with a letter-led top-level
   label, a canonical dotted-quad IPv4 address or a bracketed IPv6 address — so none of the
   spellings a resolver reads as an address (``2130706433``, ``127.1``, ``0x7f000001``,
   ``0177.0.0.1``, ``0``) and no trailing dot (``localhost.``, ``127.0.0.1.``) gets through
   as a "name"; ``localhost`` and ``*.localhost`` are refused by name;
2. where it leads: when it is registered, the host is resolved and every address must be
   public (not loopback, private, shared, link-local, multicast, unspecified or reserved,
   also inside IPv4-mapped, 6to4, Teredo and NAT64 IPv6 addresses);
3. where the worker really connects: the connection's peer address is checked again before
   anything is sent (``guarded_session``), since DNS may answer differently by then.

In production only the public push services' hosts are allowed (``PUBLIC_PUSH_HOSTS``) and
``GRIDLINK_PUSH_ALLOWED_HOSTS`` adds more. ``GRIDLINK_PUSH_ALLOW_INSECURE_ENDPOINTS`` (tests,
development against a local push service) allows http and local addresses; it cannot be set
together with ``GRIDLINK_ENV=production`` (api/config.py refuses it)."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# Firebase Cloud Messaging (Chrome, Android), Mozilla autopush (Firefox), Apple Web Push
# (Safari), Windows Push Notification Services (Edge's legacy endpoints).
PUBLIC_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "*.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)
MAX_ENDPOINT_LENGTH = 2048

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]


class RefusedAddress(ValueError):
    """The push worker was about to connect to an address the policy refuses."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class EndpointPolicy:
    # Tests and development against a local push service: http and local addresses.
    allow_insecure: bool = False
    # Host names (``*.example.org`` for every name below it); None: any public host.
    allowed_hosts: tuple[str, ...] | None = None
    resolve: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_settings(cls, settings: Any) -> EndpointPolicy:
        extra = tuple(settings.push_allowed_hosts)
        if settings.production:
            return cls(allow_insecure=False, allowed_hosts=PUBLIC_PUSH_HOSTS + extra)
        return cls(
            allow_insecure=settings.push_allow_insecure_endpoints,
            allowed_hosts=(PUBLIC_PUSH_HOSTS + extra) if extra else None,
        )


def is_public(ip: Address) -> bool:
    """An address on the public internet: none of loopback, private, shared (CGNAT),
    link-local, multicast, unspecified or reserved, nor one embedding such an address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: ipaddress.IPv4Address | None = ip.ipv4_mapped or ip.sixtofour
        if ip.teredo is not None:
            embedded = ip.teredo[1]
        if ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
        if ip.scope_id:
            return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_unspecified
    )


def _host_of(netloc_host: str, bracketed: bool) -> str | Address:
    """The endpoint's host as a name or an address, refusing every ambiguous spelling."""
    if bracketed:
        if "%" in netloc_host:
            raise ValueError("endpoint must not carry an IPv6 zone")
        try:
            return ipaddress.IPv6Address(netloc_host)
        except ValueError:
            raise ValueError("endpoint has a malformed IPv6 address") from None
    if netloc_host.endswith("."):
        raise ValueError("endpoint host must not end with a dot")
    labels = netloc_host.split(".")
    if all(label.isdigit() for label in labels):
        # Only the canonical dotted quad: no short forms, no leading zeros (octal).
        if len(labels) != 4 or any(str(int(label)) != label for label in labels):
            raise ValueError("endpoint host is a number, not a host name or IPv4 address")
        try:
            return ipaddress.IPv4Address(netloc_host)
        except ValueError:
            raise ValueError("endpoint host is not a valid IPv4 address") from None
    if not netloc_host.isascii() or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError("endpoint host is not a valid host name (ASCII letters, digits, -)")
    if len(labels) < 2 or _NUMERIC_LABEL.fullmatch(labels[-1]) or not labels[-1][0].isalpha():
        raise ValueError("endpoint host must be a fully qualified host name")
    if len(netloc_host) > 253:
        raise ValueError("endpoint host name is too long")
    return netloc_host


def _allowed(host: str, patterns: Sequence[str]) -> bool:
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


@dataclass(frozen=True)
class Endpoint:
    url: str
    host: str | Address
    port: int


def parse_endpoint(endpoint: str, policy: EndpointPolicy) -> Endpoint:
    """Check an endpoint's text against the policy (no network); ValueError says why."""
    if not isinstance(endpoint, str) or not endpoint:
        raise ValueError("endpoint must be a non-empty URL")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise ValueError(f"endpoint must be at most {MAX_ENDPOINT_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in endpoint):
        raise ValueError("endpoint must not contain whitespace or control characters")
    if "\\" in endpoint:
        raise ValueError("endpoint must be a valid URL")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise ValueError("endpoint must be a valid URL") from exc
    scheme = parts.scheme.lower()
    schemes = {"https", "http"} if policy.allow_insecure else {"https"}
    if scheme not in schemes:
        raise ValueError(
            "endpoint must be an http:// or https:// URL"
            if policy.allow_insecure
            else "endpoint must be an https:// URL"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("endpoint must not contain credentials")
    if not parts.hostname:
        raise ValueError("endpoint must be a URL with a host")
    host = _host_of(parts.hostname, bracketed=parts.netloc.split(":")[0].startswith("["))
    port = port if port is not None else (443 if scheme == "https" else 80)
    if port == 0:
        raise ValueError("endpoint must not use port 0")
    if not policy.allow_insecure:
        if isinstance(host, str):
            if host == "localhost" or host.endswith(".localhost"):
                raise ValueError("endpoint must not point at a local or private address")
        elif not is_public(host):
            raise ValueError("endpoint must not point at a local or private address")
        if policy.allowed_hosts is not None and not (
            isinstance(host, str) and _allowed(host, policy.allowed_hosts)
        ):
            raise ValueError(
                "endpoint must be on a public push service "
                f"({', '.join(policy.allowed_hosts)}); GRIDLINK_PUSH_ALLOWED_HOSTS adds others"
            )
    return Endpoint(endpoint, host, port)


def check_address(address: str, policy: EndpointPolicy) -> None:
    """Refuse an address the worker may not connect to (RefusedAddress)."""
    if policy.allow_insecure:
        return
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        raise RefusedAddress(f"endpoint resolves to an unreadable address {address!r}") from None
    if not is_public(ip):
        raise RefusedAddress(f"endpoint resolves to a local or private address ({ip})")


def check_endpoint(endpoint: str, policy: EndpointPolicy) -> str:
    """Text and destination: ``parse_endpoint`` and then every address the host resolves to
    must be public. Blocks on DNS: call it from a thread in async code."""
    parsed = parse_endpoint(endpoint, policy)
    if policy.allow_insecure:
        return parsed.url
    if isinstance(parsed.host, str):
        try:
            addresses = list(policy.resolve(parsed.host, parsed.port))
        except OSError:
            addresses = []
        if not addresses:
            raise ValueError(f"endpoint host {parsed.host} could not be resolved; try again later")
        for address in addresses:
            check_address(address, policy)
    return parsed.url


# --- the worker's connections ---------------------------------------------------------------


def _guarded(connection_class: type[HTTPConnection], policy: EndpointPolicy) -> type:
    class Guarded(connection_class):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> socket.socket:
            # The peer is checked on the plain socket, before TLS or any byte of the request.
            sock = super()._new_conn()
            try:
                check_address(sock.getpeername()[0], policy)
            except RefusedAddress:
                sock.close()
                raise
            return sock

    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: EndpointPolicy) -> None:
        self._pools = {
            "http": type(
                "GuardedHTTPPool",
                (HTTPConnectionPool,),
                {"ConnectionCls": _guarded(HTTPConnection, policy)},
            ),
            "https": type(
                "GuardedHTTPSPool",
                (HTTPSConnectionPool,),
                {"ConnectionCls": _guarded(HTTPSConnection, policy)},
            ),
        }
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def guarded_session(policy: EndpointPolicy) -> requests.Session:
    """A requests session whose every connection (redirects included) is checked against
    the policy on the address actually connected to; proxies from the environment are
    ignored (the check would otherwise see the proxy)."""
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
