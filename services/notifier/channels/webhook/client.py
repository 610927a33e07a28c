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
import base64
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import httptools
from aiohappyeyeballs import start_connection

# RFC 8305's connection attempt delay: the next address is tried if the last has not answered.
_NEXT_ADDRESS_AFTER_S = 0.25

# Bytes a request line or header may never hold: they would split or end the request.
_FORBIDDEN = frozenset(range(0x21)) | {0x7F}


class CallFailed(Exception):
    """No complete answer: refused, reset, closed early, malformed, or a URL that cannot be sent."""


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class _Target:
    origin: Origin
    head: bytes  # request line and the URL's own headers (Host, Authorization)


@lru_cache(maxsize=4096)  # receivers' URLs repeat: parsed once each
def _target(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise CallFailed(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallFailed(f"not an http(s) URL: {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not path.isascii() or any(b in _FORBIDDEN for b in path.encode()):
        raise CallFailed(f"the URL's path holds spaces, control or non-ASCII characters: {path!r}")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise CallFailed(f"host {parts.hostname!r} cannot be encoded: {exc}") from exc
    if ":" in host:
        host_header = f"[{host}]"  # an IPv6 literal
    else:
        host_header = host
    if parts.port is not None:
        host_header += f":{parts.port}"
    lines = [f"POST {path} HTTP/1.1", f"Host: {host_header}"]
    if parts.username is not None:  # credentials in the URL are sent as basic auth, as browsers do
        userinfo = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        lines.append(f"Authorization: Basic {base64.b64encode(userinfo).decode()}")
    head = "\r\n".join(lines).encode() + b"\r\n"
    return _Target(Origin(parts.scheme, host, port), head)


class _Connection(asyncio.Protocol):
    """One connection; one request at a time. Its answer is read to its end, or up to a limit."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.reusable = False
        self._parser: httptools.HttpResponseParser | None = None
        self._answer: asyncio.Future[int] | None = None
        self._status: int | None = None  # of the answer whose headers were read
        self._received = 0  # bytes received for the request in hand
        self._body = 0
        self._limit = 0

    async def request(self, data: bytes, *, read_at_most: int) -> int:
        """Send one request, wait for its answer; the status. The connection is closed on any failure."""
        self._status, self._received, self._body, self._limit = None, 0, 0, read_at_most
        self.reusable = False
        if self.closed or self.transport.is_closing():
            raise CallFailed("the connection was closed")
        self._parser = httptools.HttpResponseParser(self)
        self._answer = asyncio.get_running_loop().create_future()
        try:
            self.transport.write(data)
            return await self._answer
        except BaseException:
            self.close()  # failed or cancelled (a timeout) mid-call: never used again
            raise
        finally:
            self._parser = self._answer = None

    @property
    def answered_nothing(self) -> bool:
        return self._received == 0

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._parser is None:
            self.close()  # bytes no request asked for: this peer cannot be trusted with another
            return
        self._received += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"malformed answer: {exc}")

    def eof_received(self) -> bool:
        self.closed = True
        self._end_of_stream()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._end_of_stream(exc)

    def _end_of_stream(self, exc: Exception | None = None) -> None:
        if self._status is not None:
            self._finish()  # an answer without a length ends with its connection
        else:
            self._fail(f"the receiver closed the connection without answering{f' ({exc})' if exc else ''}")

    # httptools callbacks

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._body += len(body)
        if self._body > self._limit:
            self._finish()  # too long to read for nothing: the connection goes instead

    def on_message_complete(self) -> None:
        if self._status is not None and 100 <= self._status < 200:
            self._status = None  # an interim answer; the final one follows on the same parser
            return
        self._finish(reusable=self._parser.should_keep_alive())

    def _finish(self, *, reusable: bool = False) -> None:
        if self._answer is not None and not self._answer.done():
            self.reusable = reusable
            self._answer.set_result(self._status)
            if not reusable:
                self.close()

    def _fail(self, reason: str) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(CallFailed(reason))
        self.close()


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
        self._idle: dict[Origin, list[_Connection]] = {}
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
        target = _target(url)
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

    async def _open(self, origin: Origin, addresses: Sequence[object]) -> _Connection:
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
                    _Connection, sock=sock, ssl=tls, server_hostname=origin.host if tls else None
                )
            except BaseException:
                sock.close()
                raise
        except OSError as exc:  # unresolved, refused, unreachable, TLS refused
            raise CallFailed(f"could not connect to {origin.host}:{origin.port}: {exc}") from None
        return connection

    def _take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used
            if self._usable(connection, now):
                return connection
            connection.close()
        return None

    def _usable(self, connection: _Connection, now: float) -> bool:
        return not connection.closed and now - connection.idle_since < self._keepalive_s

    def _put(self, origin: Origin, connection: _Connection) -> None:
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
