"""Webhook calls over HTTP/1.1: a POST of a short body, the answer's status, the connection kept.

httpx cost about 0.4 ms of CPU a call here (client, transport, pool, anyio streams, h11, and
two socket writes a request), a third of the notifier's time at 100 tickets/s. This client does
only what a webhook call needs: it writes each request at once, parses the answer with
httptools (the C parser uvicorn uses) and keeps idle connections per origin for a few seconds.
It connects to the addresses the target check allowed, not to a later DNS answer, racing
them as RFC 8305 says (aiohappyeyeballs): an address that does not answer costs 250 ms, not the
call's whole timeout. No redirects, cookies, proxies or HTTP/2.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping, Sequence

from aiohappyeyeballs import start_connection

from services.notifier.channels.webhook.connection import CallFailed, Connection, Origin, target_of

# RFC 8305's connection attempt delay: the next address is tried if the last has not answered.
_NEXT_ADDRESS_AFTER_S = 0.25


class WebhookClient:
    """POSTs to many receivers, keeping up to `max_idle_per_origin` idle connections to each."""

    def __init__(
        self,
        *,
        user_agent: str,
        max_idle_per_origin: int,
        keepalive_s: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._user_agent = f"User-Agent: {user_agent}\r\n".encode()
        self._max_idle = max_idle_per_origin
        self._keepalive_s = keepalive_s
        self._ssl = ssl_context or ssl.create_default_context()
        self._idle: dict[Origin, list[Connection]] = {}
        self._swept_at = 0.0

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        addresses: Sequence[object] = (),
        read_at_most: int = 64 * 1024,
    ) -> int:
        """The status of the answer to a POST of `content`; CallFailed if none came.

        `addresses`: where the host may be reached (checked by the caller); none: its DNS answer.
        """
        target = target_of(url)
        data = b"".join((
            target.head,
            self._user_agent,
            b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items()),
            b"Content-Length: %d\r\n\r\n" % len(content),
            content,
        ))
        connection = self._take(target.origin)
        if connection is not None:
            try:
                status = await connection.request(data, read_at_most=read_at_most)
            except CallFailed:
                if not connection.answered_nothing:
                    raise
                connection = None  # the receiver had closed it while idle: once more, on a new one
        if connection is None:
            connection = await self._open(target.origin, addresses)
            status = await connection.request(data, read_at_most=read_at_most)
        self._put(target.origin, connection)
        return status

    async def __aenter__(self) -> WebhookClient:
        return self

    async def __aexit__(self, *_) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the idle connections (calls in flight close theirs when they end)."""
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _open(self, origin: Origin, addresses: Sequence[object]) -> Connection:
        loop = asyncio.get_running_loop()
        tls = self._ssl if origin.scheme == "https" else None
        try:
            if addresses:
                candidates = [_address_info(str(address), origin.port) for address in addresses]
            else:
                candidates = await loop.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
            sock = await start_connection(candidates, happy_eyeballs_delay=_NEXT_ADDRESS_AFTER_S, interleave=1)
            try:
                _, connection = await loop.create_connection(
                    Connection, sock=sock, ssl=tls, server_hostname=origin.host if tls else None
                )
            except BaseException:
                sock.close()
                raise
        except OSError as exc:  # unresolved, refused, unreachable, TLS refused
            raise CallFailed(f"could not connect to {origin.host}:{origin.port}: {exc}") from None
        return connection

    def _take(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used
            if self._usable(connection, now):
                return connection
            connection.close()
        return None

    def _usable(self, connection: Connection, now: float) -> bool:
        return not connection.closed and now - connection.idle_since < self._keepalive_s

    def _put(self, origin: Origin, connection: Connection) -> None:
        now = time.monotonic()
        if connection.reusable and not connection.closed:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._max_idle:
                connection.idle_since = now
                idle.append(connection)
            else:
                connection.close()
        if now - self._swept_at > self._keepalive_s:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Close connections idle longer than the keep-alive, and forget origins left with none."""
        self._swept_at = now
        for origin, idle in list(self._idle.items()):
            fresh = []
            for connection in idle:
                if self._usable(connection, now):
                    fresh.append(connection)
                else:
                    connection.close()
            if fresh:
                self._idle[origin] = fresh
            else:
                del self._idle[origin]


def _address_info(address: str, port: int) -> tuple:
    """A getaddrinfo() entry for a TCP connection to `address`, an IPv4 or IPv6 literal."""
    if ipaddress.ip_address(address).version == 6:
        return socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0)
    return socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)
