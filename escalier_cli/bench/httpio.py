"""A minimal HTTP/1.1 keep-alive client and server on asyncio streams.

The load generator and the webhook receiver must cost far less CPU than what they
measure; httpx and Starlette cost about as much per request as the service itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit


class HttpError(Exception):
    """The peer closed or answered something that is not HTTP/1.1 with a length."""


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


class Connection:
    """One persistent connection to one origin; one request at a time."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.base_path = parts.path.rstrip("/")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(status, body) of one request; reconnects once if the kept-alive connection was closed."""
        for attempt in (0, 1):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await self._exchange(method, path, body, headers or {})
            except (ConnectionError, asyncio.IncompleteReadError, HttpError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        lines = [f"{method} {self.base_path}{path} HTTP/1.1", f"host: {self.host}:{self.port}",
                 f"content-length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 "):
            raise HttpError(head[:40])
        payload = await self._reader.readexactly(_content_length(head))
        if b"\r\nconnection: close" in head.lower():
            self.close()
        return int(head[9:12]), payload

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def serve(port: int, on_request: Callable[[bytes, bytes], None], host: str = "127.0.0.1") -> asyncio.Server:
    """Answer every request with 204, after passing (head, body) to `on_request`."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(_content_length(head))
                on_request(head, body)
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.CancelledError):
            pass  # the peer hung up, or the receiver is closing: nothing left to answer
        finally:
            writer.close()

    return await asyncio.start_server(connection, host, port, backlog=1024)
