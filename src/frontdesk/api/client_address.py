"""Who is on the other end of a request: the one place that reads proxy headers.

The client address is the socket peer, unless the peer is a trusted proxy
(``FRONTDESK_TRUSTED_PROXIES``, CIDRs, default none). Then the forwarding header
(``X-Forwarded-For`` by default, or RFC 7239 ``Forwarded``) is read from the right:
each hop a trusted proxy added is skipped, and the first untrusted address is the
client. Entries left of it were written by the client and are never believed.

Only one header is read (``FRONTDESK_TRUSTED_PROXY_HEADER``): a proxy that appends to
``X-Forwarded-For`` passes a client-written ``Forwarded`` through untouched, so reading
both would let a client choose its address.

Usage (a Starlette ``Request`` or a raw ASGI scope)::

    trusted = TrustedProxies.parse(settings.trusted_proxies, settings.trusted_proxy_header)
    address = client_address(request, trusted)
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ForwardHeader = Literal["x-forwarded-for", "forwarded"]
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The proxies whose forwarding header is believed (empty: none, the default)."""

    networks: tuple[Network, ...] = ()
    header: ForwardHeader = "x-forwarded-for"

    @classmethod
    def parse(
        cls, cidrs: Iterable[str], header: ForwardHeader = "x-forwarded-for"
    ) -> TrustedProxies:
        """Build from CIDR strings (``10.0.0.0/8``, ``::1``); a bad one raises ValueError."""
        networks = []
        for cidr in cidrs:
            try:
                networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"not an IP network: {cidr!r}") from exc
        return cls(tuple(networks), header)

    def trusts(self, address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in net for net in self.networks)


NO_PROXIES = TrustedProxies()


def client_address(
    scope_or_request: HTTPConnection | Mapping[str, Any], trusted: TrustedProxies
) -> str:
    """The client's IP address as a string (``"unknown"`` when the server gives no peer)."""
    scope = (
        scope_or_request.scope if isinstance(scope_or_request, HTTPConnection) else scope_or_request
    )
    client = scope.get("client")
    peer = str(client[0]) if client else UNKNOWN
    if not trusted.networks or not trusted.trusts(peer):
        return _normal(peer)
    hops = _forwarded_hops(scope.get("headers") or (), trusted.header)
    address = peer
    for hop in reversed(hops):
        if _ip(hop) is None:
            break  # garbage or an obfuscated identifier: stop at the last good address
        address = hop
        if not trusted.trusts(hop):
            break
    return _normal(address)


def _forwarded_hops(headers: Sequence[tuple[bytes, bytes]], name: ForwardHeader) -> list[str]:
    key = name.encode()
    values = [v.decode("latin-1") for k, v in headers if k.lower() == key]
    joined = ",".join(values)
    if name == "x-forwarded-for":
        return [part.strip() for part in joined.split(",") if part.strip()]
    hops = []
    for element in joined.split(","):
        for pair in element.split(";"):
            k, _, v = pair.strip().partition("=")
            if k.strip().lower() == "for":
                hops.append(_strip_forwarded(v.strip()))
    return hops


def _strip_forwarded(value: str) -> str:
    """RFC 7239 node: ``"[2001:db8::1]:443"`` → ``2001:db8::1``, ``1.2.3.4:80`` → ``1.2.3.4``."""
    value = value.strip('"')
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)  # one parse per address, not per request
def _normal(address: str) -> str:
    ip = _ip(address)
    if ip is None:
        return address[:64] or UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)
