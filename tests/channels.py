"""Test doubles of the outside world that notifier talks to: real servers, steerable by the tests.

`ReceiverControl` makes the webhook receiver (tests/conftest.py) fail or hang on chosen paths;
`SmtpSink` is a real SMTP server (aiosmtpd) that keeps what it accepts.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections import Counter
from email.message import EmailMessage

from aiosmtpd.controller import Controller

CALLBACK_SECRET = "test-callback-secret-7f3a9c"

# What the system under test needs to reach the test's receivers quickly: loopback allowed
# explicitly (targets are otherwise refused), and small retry delays.
NOTIFIER_TEST_ENV = {
    "ESCALIER_NOTIFIER_ALLOWED_TARGET_CIDRS": "127.0.0.0/8,::1/128",
    "ESCALIER_NOTIFIER_CALLBACK_SECRET": CALLBACK_SECRET,
    "ESCALIER_NOTIFIER_WEBHOOK_MAX_ATTEMPTS": "5",
    "ESCALIER_NOTIFIER_WEBHOOK_BACKOFF_BASE_S": "0.05",
    "ESCALIER_NOTIFIER_WEBHOOK_BACKOFF_MAX_S": "0.4",
    "ESCALIER_NOTIFIER_SMTP_HOST": "127.0.0.1",
}

HOLD_LIMIT_S = 60.0  # a held call is answered at the latest then, so the receiver can always stop


class ReceiverControl:
    """How the webhook receiver answers each path: 204, 503 for a while, or not until released."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, int | None] = {}  # path -> failures left (None: until recovered)
        self._holds: dict[str, threading.Event] = {}
        self.waiting: Counter[str] = Counter()  # calls being held, per path

    def fail(self, path: str, times: int | None = None) -> None:
        """Answer 503 to the next `times` calls to `path` (every call if None)."""
        with self._lock:
            self._failures[_norm(path)] = times

    def recover(self, path: str) -> None:
        with self._lock:
            self._failures.pop(_norm(path), None)

    def hold(self, path: str) -> None:
        """Keep calls to `path` waiting, unanswered, until `release`."""
        with self._lock:
            self._holds[_norm(path)] = threading.Event()

    def release(self, path: str) -> None:
        with self._lock:
            held = self._holds.pop(_norm(path), None)
        if held is not None:
            held.set()

    async def answer(self, path: str) -> int:
        """The status to answer a call to `path` with, once it may be answered."""
        with self._lock:
            held = self._holds.get(path)
        if held is not None:
            self.waiting[path] += 1
            try:
                await asyncio.to_thread(held.wait, HOLD_LIMIT_S)
            finally:
                self.waiting[path] -= 1
        with self._lock:
            if path not in self._failures:
                return 204
            left = self._failures[path]
            if left is not None:
                if left <= 0:
                    del self._failures[path]
                    return 204
                self._failures[path] = left - 1
            return 503


def _norm(path: str) -> str:
    return "/" + path.lstrip("/")


class SmtpSink:
    """A real SMTP server on a free loopback port, keeping every message it accepts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.refused: list[str] = []
        self._busy: dict[str, int] = {}  # address -> temporary refusals left
        self._unknown: set[str] = set()
        self._controller = Controller(self, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()  # returns once the server answers

    def stop(self) -> None:
        self._controller.stop()

    def busy(self, address: str, times: int) -> None:
        """Refuse `address` with a temporary 451 for the next `times` attempts."""
        self._busy[address] = times

    def unknown(self, address: str) -> None:
        """Refuse `address` for good with 550, as for a mailbox that does not exist."""
        self._unknown.add(address)

    def to(self, address: str, ticket_id: str | None = None) -> list[EmailMessage]:
        """The messages accepted for `address`, in order, optionally about one ticket."""
        return [
            m for m in list(self.messages)
            if address in m["To"] and (ticket_id is None or m["X-Escalier-Ticket-Id"] == ticket_id)
        ]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd hook)
        if address in self._unknown:
            self.refused.append(address)
            return "550 5.1.1 No such mailbox"
        if self._busy.get(address, 0) > 0:
            self._busy[address] -= 1
            self.refused.append(address)
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"
