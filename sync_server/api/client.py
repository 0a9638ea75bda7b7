"""Who is asking: a request's address and scheme, believing proxies only when configured to.

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the connecting address is one of
`WALKAUDIT_TRUSTED_PROXIES` (comma-separated addresses or networks). Anyone else could write any
address there and so start every per-address count afresh. With a chain of proxies the client is
the rightmost address that is not a trusted proxy: what the nearest trusted proxy saw; what is
further left was written by the client and proves nothing.

This relies on uvicorn leaving the connecting address alone: `walkaudit-server serve` runs it with
proxy_headers=False (uvicorn's default trusts X-Forwarded-For from 127.0.0.1, which would let
anything on the server's own machine pick its address).
"""

from __future__ import annotations

import functools
import ipaddress
import logging

from fastapi import Request

from sync_server.config import Network, Settings, parse_trusted_proxies

log = logging.getLogger("walkaudit.server")


@functools.lru_cache(maxsize=8)
def _trusted(text: str) -> tuple[Network, ...]:
    # Settings validates the value at start-up; should a bad one get here anyway, no proxy is
    # believed (the safe side) and the reason is logged once, not on every request.
    try:
        return parse_trusted_proxies(text)
    except ValueError as exc:
        log.error("%s; no proxy is trusted until it is fixed", exc)
        return ()


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    ip = _ip(address)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.services.settings
    return settings


def _peer(request: Request) -> str:
    return request.client.host if request.client else "-"


def client_address(request: Request) -> str:
    """The address the request comes from (X-Forwarded-For only via a trusted proxy)."""
    peer = _peer(request)
    networks = _trusted(_settings(request).trusted_proxies)
    if not networks or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for")
            for hop in value.split(",")]  # fmt: skip
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_trusted(hop, networks):
            ip = _ip(hop)
            # Not an address: the proxy passed on something odd; the proxy is what we know.
            return str(ip) if ip is not None else peer
    return peer  # only trusted proxies on the way: the request is theirs


def request_scheme(request: Request) -> str:
    """http or https as the client sees it (X-Forwarded-Proto only from a trusted proxy): a
    proxy that ends TLS talks plain HTTP to the server, but the cookies must still be Secure."""
    scheme = request.url.scheme
    networks = _trusted(_settings(request).trusted_proxies)
    if networks and _is_trusted(_peer(request), networks):
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if forwarded in ("http", "https"):
            return forwarded
    return scheme
