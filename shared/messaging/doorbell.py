"""Wake-ups after a publish: a consumer sleeps until a producer on this host rings it.

Tansu answers a waiting fetch only at its next re-check (KAFKA-NOTES.md), so a consumer that
long-polls either waits or keeps the broker busy. Instead each consumer binds a Unix datagram
socket per topic it reads, in a folder shared by every process on this host that talks to the
same bootstrap servers:

    <wakeup_dir>/escalier-wake-<hash of the bootstrap servers>/<topic>/<hash of the group>.<pid>.sock

and the outbox relay, once the broker acknowledged a batch, sends one datagram to every socket
of each topic it wrote: which partitions grew and the offset after the last record written
(`[topic, [[partition, end], ...]]`). A socket whose process is gone is removed by the first
bell that finds it dead. A datagram is a hint, never the truth: a lost one costs at most the
consumer's safety poll, and a producer on another host or of another client (which rings no
bell) is seen at that poll too. A real Kafka answers waiting fetches itself: there the
wake-ups are harmless and can be switched off (`ESCALIER_CONSUMER_WAKEUPS=false`).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import socket
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import orjson

log = logging.getLogger(__name__)

# A full socket queue (Linux keeps about ten datagrams a socket): the wake-ups for that socket
# are merged and sent again this much later. The consumer is awake already; only the hint waits.
_RETRY_FULL_S = 0.002


def folder(bootstrap_servers: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of the sockets of every consumer of these bootstrap servers on this host."""
    digest = hashlib.sha256(bootstrap_servers.encode()).hexdigest()[:12]
    return Path(root or tempfile.gettempdir()) / f"escalier-wake-{digest}"


class Bell:
    """The producer's side: rings every consumer of a topic, never blocks, never raises."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._waiting: dict[str, dict[int, int]] = {}  # socket path -> partition -> end, for full queues
        self._topic_of: dict[str, str] = {}
        self._retry: asyncio.TimerHandle | None = None

    def ring(self, topic: str, ends: Mapping[int, int]) -> None:
        """Tell every consumer of `topic` that these partitions now end at these offsets."""
        if not ends:
            return
        try:
            paths = [str(p) for p in (self._root / topic).glob("*.sock")]
        except OSError:
            return
        for path in paths:
            self._send(path, topic, dict(ends))

    def _send(self, path: str, topic: str, ends: dict[int, int]) -> None:
        pending = self._waiting.pop(path, None)
        if pending:
            for partition, end in pending.items():
                ends[partition] = max(end, ends.get(partition, 0))
        try:
            self._socket.sendto(orjson.dumps([topic, list(ends.items())]), path)
        except BlockingIOError:
            self._waiting[path], self._topic_of[path] = ends, topic
            self._retry_later()
        except (ConnectionRefusedError, FileNotFoundError):
            _unlink(path)  # its consumer is gone
        except OSError as exc:
            if exc.errno != errno.EAGAIN:
                log.debug("wake-up to %s failed: %r", path, exc)

    def _retry_later(self) -> None:
        if self._retry is None:
            self._retry = asyncio.get_running_loop().call_later(_RETRY_FULL_S, self._send_waiting)

    def _send_waiting(self) -> None:
        self._retry = None
        waiting, self._waiting = self._waiting, {}
        for path, ends in waiting.items():
            self._send(path, self._topic_of.pop(path), ends)

    def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        self._socket.close()


class Doorbell:
    """The consumer's side: one socket per topic; `rung` is set when any of them receives."""

    def __init__(self, root: Path, topics: Iterable[str], name: str) -> None:
        self._sockets: list[tuple[socket.socket, str]] = []
        self.rung = asyncio.Event()
        self._ends: dict[tuple[str, int], int] = {}  # (topic, partition) -> highest end rung
        loop = asyncio.get_running_loop()
        try:
            for topic in topics:
                directory = root / topic
                directory.mkdir(parents=True, exist_ok=True)
                # Hashed: a socket's path may be 107 bytes at most.
                path = str(directory / f"{hashlib.sha256(name.encode()).hexdigest()[:8]}.{os.getpid()}.sock")
                _unlink(path)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.setblocking(False)
                sock.bind(path)
                self._sockets.append((sock, path))
                loop.add_reader(sock.fileno(), self._receive, sock)
        except BaseException:
            self.close()
            raise

    def _receive(self, sock: socket.socket) -> None:
        while True:
            try:
                datagram = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            try:
                topic, ends = orjson.loads(datagram)
                for partition, end in ends:
                    key = (topic, int(partition))
                    self._ends[key] = max(int(end), self._ends.get(key, 0))
            except (ValueError, TypeError):
                continue  # not ours: a wake-up all the same
            finally:
                self.rung.set()

    def take(self) -> dict[tuple[str, int], int]:
        """The partitions rung since the last take, with the highest end offset each was rung with."""
        ends, self._ends = self._ends, {}
        self.rung.clear()
        return ends

    def close(self) -> None:
        loop = asyncio.get_event_loop()
        for sock, path in self._sockets:
            try:
                loop.remove_reader(sock.fileno())
            except (ValueError, OSError):
                pass
            sock.close()
            _unlink(path)
        self._sockets = []


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
