"""SSRF guard: refuse URLs that point at the bot's own machine or private networks."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urlsplit

from bot.errors import UserError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
IPPolicy = Callable[[IPAddress], bool]

ALLOWED_SCHEMES = ("http", "https")

# Ranges Python's is_private/is_global miss or got wrong in older releases; checked explicitly.
_BLOCKED_NETWORKS = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        "2001:db8::/32",
        "100::/64",
    )
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_BLOCKED_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
# inet_aton accepts 1-4 parts, each decimal, octal (leading 0) or hex (0x): "2130706433",
# "0177.0.0.1", "0x7f.1". We only allow the canonical dotted-quad spelling.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.I)


class UnsafeURLError(UserError, ValueError):
    """The URL is not allowed (scheme, host or address); the message is safe to show users."""


class UnresolvableHostError(UnsafeURLError):
    """The host name does not resolve (a network problem rather than an unsafe address)."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated) ::a.b.c.d
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip))
    return None


def is_public_ip(ip: str | IPAddress) -> bool:
    """True if ``ip`` is a globally routable unicast address (False for anything odd)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0] if isinstance(ip, str) else ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        if isinstance(ip, str) and "%" in ip:
            return False  # zone ids only make sense for link-local
        if addr.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is the IPv4 host itself; judge that address.
            return is_public_ip(addr.ipv4_mapped)
        inner = _embedded_ipv4(addr)
        if inner is not None and not is_public_ip(inner):
            return False
    if any(addr in net for net in _BLOCKED_NETWORKS if net.version == addr.version):
        return False
    return not (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global
    )


async def _default_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _parse_host(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError("that doesn't look like a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "no scheme"
        raise UnsafeURLError(f"only http and https URLs are allowed (got {shown})")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeURLError("the URL has no host name")
    return scheme, host, port or (443 if scheme == "https" else 80)


async def check_url(
    url: str,
    *,
    allow_private: bool = False,
    resolve: Resolver | None = None,
    ip_policy: IPPolicy | None = None,
    dns: bool = True,
) -> None:
    """Raise UnsafeURLError unless ``url`` is http(s) and every address of its host is public.

    ``resolve`` replaces DNS (tests); ``ip_policy`` replaces :func:`is_public_ip`. With
    ``dns=False`` only the URL itself is judged: the connection does the lookup and checks the
    addresses it is about to use (see :mod:`bot.sources.pinning`).
    """
    _scheme, host, port = _parse_host(url)
    if allow_private:
        return
    if dns:
        await resolve_public(host, port, resolve=resolve, ip_policy=ip_policy)
    else:
        _check_host(host, ip_policy or is_public_ip)


def _check_host(host: str, policy: IPPolicy) -> IPAddress | None:
    """Judge a host without DNS: its IP if it is a literal (already checked), else None."""
    if host in _BLOCKED_NAMES or host.endswith(".localhost"):
        raise UnsafeURLError("local addresses are not allowed")
    if "%" in host:
        if ":" in host:
            raise UnsafeURLError("IPv6 zone ids are not allowed")
        # "%31%32%37.0.0.1": some resolvers decode it. Judge what it decodes to, so a private
        # address gets the private-address answer; anything left is still refused.
        decoded = unquote(host).rstrip(".").lower()
        if "%" not in decoded:
            _check_host(decoded, policy)
        raise UnsafeURLError("percent-encoded host names are not allowed")
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and _NUMERIC_HOST.match(host):
        # Numeric but not canonical dotted-quad: glibc would still connect to it.
        raise UnsafeURLError("unusual IP address spellings are not allowed")
    if literal is not None:
        if isinstance(literal, ipaddress.IPv4Address) and str(literal) != host:
            raise UnsafeURLError("unusual IP address spellings are not allowed")
        if not policy(literal):
            raise UnsafeURLError("private or local addresses are not allowed")
    return literal


async def resolve_public(
    host: str,
    port: int,
    *,
    resolve: Resolver | None = None,
    ip_policy: IPPolicy | None = None,
) -> list[str]:
    """The addresses of ``host``, looked up once, each checked; UnsafeURLError if any is refused."""
    host = host.strip("[]").rstrip(".").lower()
    policy = ip_policy or is_public_ip
    literal = _check_host(host, policy)
    if literal is not None:
        return [str(literal)]
    try:
        addresses = await (resolve or _default_resolve)(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnresolvableHostError(f"can't resolve host {host}") from exc
    if not addresses:
        raise UnresolvableHostError(f"can't resolve host {host}")
    checked: list[str] = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError as exc:
            raise UnsafeURLError("the host resolved to an invalid address") from exc
        # Every address must pass: a rebinding host may hand out a mix.
        if not policy(ip):
            raise UnsafeURLError(f"{host} points to a private or local address")
        if str(ip) not in checked:
            checked.append(str(ip))
    return checked
