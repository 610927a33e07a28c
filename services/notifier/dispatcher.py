"""The webhook dispatcher: posts pending deliveries, in order per ticket, tickets side by side.

At least once: a call that succeeds but whose outcome is not recorded (crash, shutdown)
is made again; receivers drop repeats by `X-Escalier-Event-Id`.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import httpx
import orjson
from prometheus_client import Counter

from shared.db import Database, utcnow

from services.notifier import domain, handlers
from services.notifier.domain import DeliveryStatus, RetryPolicy
from services.notifier.models import Delivery
from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)

WEBHOOK_CALLS = Counter("escalier_webhook_calls_total", "Webhook calls made", ["outcome"])
USER_AGENT = "Escalier-Notifier/0.1"


class Dispatcher:
    """Woken by commits (and every poll interval), starts one sender task per due ticket."""

    def __init__(
        self, db: Database, settings: NotifierSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._db = db
        self._settings = settings
        self._policy = RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base_s=settings.webhook_backoff_base_s,
            max_s=settings.webhook_backoff_max_s,
        )
        self._transport = transport  # tests pass an httpx.MockTransport
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task] = {}

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Dispatch until cancelled; the HTTP client lives exactly as long as this loop."""
        async with self._client() as client:
            try:
                while True:
                    # Cleared before looking, so a commit during the query still wakes the next round.
                    self._wake.clear()
                    try:
                        await self.dispatch_once(client)
                    except Exception:
                        log.exception("webhook dispatch failed; retrying at the next poll")
                    await self._sleep()
            finally:
                await self._cancel_in_flight()

    async def dispatch_once(self, client: httpx.AsyncClient) -> int:
        """Start a sender for each due ticket not already in flight; return how many started."""
        free = self._settings.webhook_max_in_flight - len(self._in_flight)
        if free <= 0:
            return 0
        ticket_ids = await handlers.due_tickets(self._db, now=utcnow(), exclude=list(self._in_flight), limit=free)
        for ticket_id in ticket_ids:
            task = asyncio.create_task(self._send_ticket(client, ticket_id), name=f"webhooks:{ticket_id}")
            self._in_flight[ticket_id] = task
            task.add_done_callback(partial(self._finished, ticket_id))
        return len(ticket_ids)

    def _client(self) -> httpx.AsyncClient:
        n = self._settings.webhook_max_in_flight
        return httpx.AsyncClient(
            timeout=self._settings.webhook_timeout_s,
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            headers={"user-agent": USER_AGENT},
            transport=self._transport,
        )

    async def _sleep(self) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), self._settings.dispatch_poll_interval_s)
        except TimeoutError:
            pass

    def _finished(self, ticket_id: str, task: asyncio.Task) -> None:
        self._in_flight.pop(ticket_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook sender for ticket %s crashed", ticket_id, exc_info=task.exception())
        # A delivery committed while this ticket was in flight was skipped: look again.
        self._wake.set()

    async def _cancel_in_flight(self) -> None:
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _send_ticket(self, client: httpx.AsyncClient, ticket_id: str) -> None:
        # Reloaded each round: deliveries committed meanwhile join the sequence in id order.
        while True:
            delivery = await handlers.next_pending(self._db, ticket_id=ticket_id)
            if delivery is None or delivery.next_attempt_at > utcnow():
                return
            if not await self._attempt(client, delivery):
                return

    async def _attempt(self, client: httpx.AsyncClient, delivery: Delivery) -> bool:
        """Make one call and record it; True if the ticket's next delivery may go."""
        error = await self._post(client, delivery)
        if error is None:
            await handlers.mark_delivered(self._db, delivery_id=delivery.id)
            WEBHOOK_CALLS.labels("delivered").inc()
            return True
        outcome = domain.after_failure(delivery.attempts, now=utcnow(), policy=self._policy)
        await handlers.mark_failed(self._db, delivery_id=delivery.id, error=error, outcome=outcome)
        dead = outcome.status == DeliveryStatus.DEAD
        WEBHOOK_CALLS.labels("dead" if dead else "failed").inc()
        log.warning(
            "webhook %d for ticket %s failed (attempt %d): %s%s",
            delivery.id, delivery.ticket_id, outcome.attempts, error, "; giving up" if dead else "",
        )
        return dead

    async def _post(self, client: httpx.AsyncClient, delivery: Delivery) -> str | None:
        """POST the delivery's body; None on a 2xx, else why it failed."""
        try:
            # httpx's timeout is per phase; this bounds the whole call against a slow-drip receiver.
            async with asyncio.timeout(self._settings.webhook_timeout_s):
                # Streamed and never read: the receiver's body does not matter, however large.
                async with client.stream(
                    "POST",
                    delivery.url,
                    content=orjson.dumps(delivery.body),
                    headers=domain.webhook_headers(delivery.body),
                ) as response:
                    status = response.status_code
        except TimeoutError:
            return f"timed out after {self._settings.webhook_timeout_s:g} s"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if domain.is_success(status) else f"HTTP {status}"
