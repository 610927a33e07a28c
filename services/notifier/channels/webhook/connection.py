"""One HTTP/1.1 connection of the webhook client, and the request head a receiver's URL makes.

The answer is parsed with httptools (the C parser uvicorn uses) as it arrives; a connection
serves one request at a time and is closed on any failure, so a half-read answer never
reaches the next call.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import httptools

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
class Target:
    origin: Origin
    head: bytes  # request line and the URL's own headers (Host, Authorization)


@lru_cache(maxsize=4096)  # receivers' URLs repeat: parsed once each
def target_of(url: str) -> Target:
    """Where a URL's POST goes and its request head; CallFailed if it cannot be sent."""
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
    return Target(Origin(parts.scheme, host, port), head)


class Connection(asyncio.Protocol):
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
