"""The dispatcher: sends pending deliveries, in order within each lane, lanes side by side.

A lane is one target (the ticket's callback, a subscription, the requester's mailbox, the
escalation contact's) and one ticket, so a slow or dead endpoint holds up only its own lanes;
an endpoint never has more than a few lanes in flight, so it cannot take every slot either.

At least once: a call that succeeds but whose outcome is not recorded (crash, shutdown)
is made again; receivers drop repeats by the event id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter as Tally
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import httpx
from prometheus_client import Counter

from shared.db import Database, utcnow
from shared.waits import wait_for_event

from services.notifier import deliveries, domain, fanout
from services.notifier.domain import Channel, DeliveryStatus, RetryPolicy
from services.notifier.mailer import Mailer
from services.notifier.models import Delivery
from services.notifier.settings import NotifierSettings
from services.notifier.webhooks import WebhookSender

log = logging.getLogger(__name__)

ATTEMPTS = Counter("escalier_notifications_total", "Delivery attempts made", ["channel", "outcome"])


@dataclass(slots=True)
class _InFlight:
    task: asyncio.Task
    endpoint: str


class Dispatcher:
    """Woken by commits, by backoffs falling due, and every poll interval; one sender task per lane."""

    def __init__(self, db: Database, settings: NotifierSettings, *, webhooks: WebhookSender, mailer: Mailer) -> None:
        self._db = db
        self._settings = settings
        self._webhooks = webhooks
        self._mailer = mailer
        self._policy = RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base_s=settings.webhook_backoff_base_s,
            max_s=settings.webhook_backoff_max_s,
        )
        self._wake = asyncio.Event()
        self._in_flight: dict[str, _InFlight] = {}

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Dispatch until cancelled; the HTTP client lives exactly as long as this loop."""
        async with self._webhooks.client() as client:
            try:
                while True:
                    # Cleared before looking, so a commit during the query still wakes the next round.
                    self._wake.clear()
                    try:
                        await self.dispatch_once(client)
                        wake_at = await deliveries.next_wake_up(self._db, now=utcnow())
                    except Exception:
                        log.exception("dispatch failed; retrying at the next poll")
                        wake_at = None
                    await self._sleep(wake_at)
            finally:
                await self._cancel_in_flight()

    async def dispatch_once(self, client: httpx.AsyncClient) -> int:
        """Start a sender for each due lane, within the global and per-endpoint caps; how many started."""
        free = self._settings.webhook_max_in_flight - len(self._in_flight)
        if free <= 0:
            return 0
        busy = Tally(f.endpoint for f in self._in_flight.values())
        full = [e for e, n in busy.items() if n >= self._cap(e)]
        due = await deliveries.due_lanes(
            self._db, now=utcnow(), exclude_lanes=list(self._in_flight), exclude_endpoints=full, limit=free
        )
        started = 0
        for lane in due:
            if busy[lane.endpoint] >= self._cap(lane.endpoint):
                continue  # picked up again once one of this endpoint's lanes finishes
            busy[lane.endpoint] += 1
            task = asyncio.create_task(self._send_lane(client, lane.lane), name=f"deliveries:{lane.lane}")
            self._in_flight[lane.lane] = _InFlight(task, lane.endpoint)
            task.add_done_callback(partial(self._finished, lane.lane))
            started += 1
        return started

    def _cap(self, endpoint: str) -> int:
        if endpoint == fanout.SMTP_ENDPOINT:
            return self._settings.smtp_max_in_flight
        return self._settings.webhook_max_in_flight_per_endpoint

    async def _sleep(self, wake_at: datetime | None) -> None:
        timeout = self._settings.dispatch_poll_interval_s
        if wake_at is not None:
            timeout = min(timeout, max(0.0, (wake_at - utcnow()).total_seconds()))
        await wait_for_event(self._wake, timeout)

    def _finished(self, lane: str, task: asyncio.Task) -> None:
        self._in_flight.pop(lane, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("sender of lane %s crashed", lane, exc_info=task.exception())
        # A delivery committed while this lane was in flight was skipped; the endpoint has room again.
        self._wake.set()

    async def _cancel_in_flight(self) -> None:
        tasks = [f.task for f in self._in_flight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _send_lane(self, client: httpx.AsyncClient, lane: str) -> None:
        # Reloaded each round: deliveries committed meanwhile join the lane in id order.
        while True:
            delivery = await deliveries.next_pending(self._db, lane=lane)
            if delivery is None or delivery.next_attempt_at > utcnow():
                return
            if not await self._attempt(client, delivery):
                return

    async def _attempt(self, client: httpx.AsyncClient, delivery: Delivery) -> bool:
        """Make one attempt and record it; True if the lane's next delivery may go."""
        if delivery.channel == Channel.EMAIL:
            failure = await self._mailer.send(delivery)
        else:
            failure = await self._webhooks.send(client, delivery)
        if failure is None:
            await deliveries.mark_delivered(self._db, delivery_id=delivery.id)
            ATTEMPTS.labels(delivery.channel, "delivered").inc()
            return True
        outcome = domain.after_failure(
            delivery.attempts, now=utcnow(), policy=self._policy, permanent=failure.permanent
        )
        await deliveries.mark_failed(self._db, delivery_id=delivery.id, error=failure.error, outcome=outcome)
        dead = outcome.status == DeliveryStatus.DEAD
        ATTEMPTS.labels(delivery.channel, "dead" if dead else "failed").inc()
        log.warning(
            "delivery %d (%s, ticket %s) failed (attempt %d): %s%s",
            delivery.id, delivery.target, delivery.ticket_id, outcome.attempts, failure.error,
            "; parked as dead" if dead else "",
        )
        # A dead delivery no longer holds its lane: the next one goes (replay with POST /deliveries/{id}/retry).
        return dead
