"""The SSRF guard refuses local, private and oddly spelled addresses without touching them."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from bot.sources.ssrf import UnresolvableHostError, UnsafeURLError, check_url, is_public_ip


async def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"DNS lookup of {host} should not happen")


def fixed_dns(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


REFUSED_WITHOUT_DNS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/feed.xml",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://feeds.localhost/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://[::]/",
    "http://[::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://017700000001/",
    "http://1.2.3.04/",
    "file:///etc/passwd",
    "ftp://ftp.example.com/feed.xml",
    "gopher://example.com/",
    "javascript:alert(1)",
    "data:text/plain,hi",
    "not a url",
    "http:///nohost",
    "http://example.com:99999/",
]


@pytest.mark.parametrize("url", REFUSED_WITHOUT_DNS)
async def test_refused_without_dns(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        await check_url(url, resolve=no_dns)


@pytest.mark.parametrize(
    "addresses",
    [
        ("127.0.0.1",),
        ("10.0.0.7",),
        ("::1",),
        ("::ffff:10.0.0.1",),
        ("93.184.216.34", "192.168.0.10"),  # one bad address is enough
        ("fe80::1%eth0",),
    ],
)
async def test_dns_name_resolving_to_private_is_refused(addresses: tuple[str, ...]) -> None:
    with pytest.raises(UnsafeURLError, match="private or local"):
        await check_url("https://evil.example.com/feed", resolve=fixed_dns(*addresses))


async def test_public_name_is_allowed() -> None:
    await check_url(
        "https://news.example.com/feed", resolve=fixed_dns("93.184.216.34", "2606:2800:220:1::")
    )


@pytest.mark.parametrize("url", ["http://93.184.216.34/x", "https://[2606:4700::1111]/"])
async def test_public_literals_are_allowed(url: str) -> None:
    await check_url(url, resolve=no_dns)


async def test_unresolvable_host() -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnresolvableHostError, match="can't resolve"):
        await check_url("https://no-such-host.invalid/", resolve=fail)


async def test_allow_private_skips_address_checks_but_not_scheme() -> None:
    await check_url("http://127.0.0.1:1/", allow_private=True, resolve=no_dns)
    with pytest.raises(UnsafeURLError):
        await check_url("file:///etc/passwd", allow_private=True)


async def test_ip_policy_hook() -> None:
    def loopback_ok(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return str(ip) == "127.0.0.1" or is_public_ip(ip)

    await check_url("http://127.0.0.1:8080/", ip_policy=loopback_ok, resolve=no_dns)
    with pytest.raises(UnsafeURLError):
        await check_url("http://10.0.0.1/", ip_policy=loopback_ok, resolve=no_dns)
    with pytest.raises(UnsafeURLError):  # odd spellings stay refused whatever the policy
        await check_url("http://2130706433/", ip_policy=loopback_ok, resolve=no_dns)


def test_error_message_is_short_and_has_no_url() -> None:
    err = UnsafeURLError("private or local addresses are not allowed")
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("8.8.8.8", True),
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("100.100.100.100", False),
        ("169.254.169.254", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("224.0.0.251", False),
        ("::ffff:8.8.8.8", True),
        ("::ffff:192.168.1.1", False),
        ("::", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("garbage", False),
    ],
)
def test_is_public_ip(ip: str, public: bool) -> None:
    assert is_public_ip(ip) is public
