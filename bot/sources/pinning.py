"""Connections that go only to addresses the SSRF guard checked.

Checking a URL and then letting the HTTP client resolve the name again leaves a gap: DNS can
answer differently the second time (rebinding). Here the lookup happens once, inside the
connection itself: every address is checked, then the socket is opened to a checked address.
TLS still verifies and sends the host name (SNI), and the Host header is the URL's, because
httpcore only asks the network backend for a TCP stream to ``host:port``.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from bot.sources.ssrf import IPPolicy, Resolver, resolve_public


class CheckedAddressBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves once, refuses private addresses, connects to the IP."""

    def __init__(
        self, *, resolve: Resolver | None = None, ip_policy: IPPolicy | None = None
    ) -> None:
        self._resolve = resolve
        self._ip_policy = ip_policy
        self._inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, str, int]] = []  # (host, address, port), newest last

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # Raises UnsafeURLError (or UnresolvableHostError) before any byte is sent.
        addresses = await resolve_public(
            host, port, resolve=self._resolve, ip_policy=self._ip_policy
        )
        error: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            self.connected = [*self.connected[-99:], (host, address, port)]
            return stream
        assert error is not None  # resolve_public never returns an empty list
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the fetcher")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over :class:`CheckedAddressBackend` (no proxies, no env)."""

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        resolve: Resolver | None = None,
        ip_policy: IPPolicy | None = None,
    ) -> None:
        super().__init__(limits=limits, trust_env=False)
        self.backend = CheckedAddressBackend(resolve=resolve, ip_policy=ip_policy)
        # httpx builds its pool without a way to pass a network backend; the pool it made is
        # replaced by the same pool over ours (httpx's request mapping is kept as it is).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self.backend,
        )
