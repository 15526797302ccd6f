"""Attachments given by reference: ``data:`` URLs, and https URLs on allowed hosts only.

A remote image is fetched only when its host is listed in ``media.remote_image_hosts``,
over https, from a public address: the host is resolved once, every address must be public
(no loopback, private, link-local, CGNAT or reserved ranges: no SSRF into the network the
server sits in), and the connection goes to that address (the name is kept for TLS and the
Host header, so a DNS answer that changes in between cannot redirect it). Redirects are not
followed; the body is cut off past the size limit and the whole fetch has a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
import socket
from urllib.parse import urlsplit, urlunsplit

import httpx

from frontdesk.errors import PayloadTooLarge, ValidationFailed
from frontdesk.media.config import MediaConfig

_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w-]+=[^;,]*)*);base64,", re.IGNORECASE)


def decode_data_url(url: str, *, limit: int) -> bytes:
    """The bytes of a base64 ``data:`` URL (its declared type is ignored: bytes are sniffed)."""
    match = _DATA_URL.match(url)
    if match is None:
        raise ValidationFailed("data URLs must be base64: data:<type>;base64,<data>")
    return decode_base64(url[match.end() :], limit=limit)


def decode_base64(payload: str, *, limit: int) -> bytes:
    if len(payload) * 3 // 4 > limit + 3:
        raise PayloadTooLarge(f"the attachment is larger than {limit} bytes", limit=limit)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("the data URL is not valid base64") from exc
    if len(data) > limit:
        raise PayloadTooLarge(f"the attachment is larger than {limit} bytes", limit=limit)
    return data


def public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve_public(host: str, port: int) -> str:
    """One public address of ``host``; refuses the name if any of its addresses is not."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ValidationFailed(f"the image host {host!r} could not be resolved") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(public_address(a) for a in addresses):
        raise ValidationFailed(f"the image host {host!r} has a private or reserved address")
    return addresses[0]


async def fetch_remote(
    url: str,
    config: MediaConfig,
    *,
    limit: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> bytes:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https" or not host:
        raise ValidationFailed("image URLs must be https (or data: URLs)")
    allowed = {h.lower().rstrip(".") for h in config.remote_image_hosts}
    if host not in allowed:
        raise ValidationFailed(
            f"images from {host!r} are not accepted: send the image as a data: URL"
        )
    if parts.username or parts.password:
        raise ValidationFailed("image URLs must not carry credentials")
    port = parts.port or 443
    address = await resolve_public(host, port)
    netloc = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    pinned = urlunsplit(("https", netloc, parts.path or "/", parts.query, ""))
    headers = {"Host": host if port == 443 else f"{host}:{port}", "Accept": "image/*"}
    tls_name = {"sni_hostname": host}  # certificate checked for the name, not the address
    try:
        async with (
            httpx.AsyncClient(
                timeout=config.remote_timeout_seconds, follow_redirects=False, transport=transport
            ) as client,
            asyncio.timeout(config.remote_timeout_seconds),
            client.stream("GET", pinned, headers=headers, extensions=tls_name) as resp,
        ):
            if resp.is_redirect:
                raise ValidationFailed("the image URL redirects; redirects are not followed")
            if resp.status_code != 200:
                raise ValidationFailed(f"the image URL answered HTTP {resp.status_code}")
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise PayloadTooLarge(f"the image is larger than {limit} bytes", limit=limit)
            return bytes(body)
    except TimeoutError as exc:
        raise ValidationFailed("fetching the image took too long") from exc
    except httpx.HTTPError as exc:
        raise ValidationFailed(f"the image could not be fetched: {type(exc).__name__}") from exc
