"""The dispatcher: sends pending deliveries, in order within each lane, lanes side by side.

A lane is one target (the ticket's callback, a subscription, the requester's mailbox, the
escalation contact's) and one ticket, so a slow or dead endpoint holds up only its own lanes;
an endpoint never has more than a few lanes in flight, so it cannot take every slot either.

The ledger (the deliveries table) is the truth; the dispatcher holds its pending rows in
memory (`LaneBook`) so that choosing what goes next costs no query: rows committed since it
last looked are loaded when a commit wakes it, and every pending row is checked each poll
interval (replays, anything missed). Delivered rows are marked in bulk at most every
`mark_interval_s`; a failed attempt is recorded at once.

At least once: a call that succeeds but whose outcome is not recorded (crash, shutdown)
is made again; receivers drop repeats by the event id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from prometheus_client import Counter

from shared.background import OneAtATime
from shared.db import Database, utcnow
from shared.messaging import metrics
from shared.waits import wait_for_event

from services.notifier import deliveries, domain, fanout
from services.notifier.domain import Channel, DeliveryStatus, RetryPolicy
from services.notifier.http1 import WebhookClient
from services.notifier.lanes import LaneBook
from services.notifier.mailer import Mailer
from services.notifier.models import Delivery
from services.notifier.settings import NotifierSettings
from services.notifier.webhooks import WebhookSender

log = logging.getLogger(__name__)

ATTEMPTS = Counter("escalier_notifications_total", "Delivery attempts made", ["channel", "outcome"])


class Dispatcher:
    """Woken by commits, by lanes finishing, by backoffs falling due, and every poll interval."""

    def __init__(
        self,
        db: Database,
        settings: NotifierSettings,
        *,
        webhooks: WebhookSender,
        mailer: Mailer,
        mark_interval_s: float = 0.05,
    ) -> None:
        self._db = db
        self._settings = settings
        self._webhooks = webhooks
        self._mailer = mailer
        self._policy = RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base_s=settings.webhook_backoff_base_s,
            max_s=settings.webhook_backoff_max_s,
        )
        self._mark_interval_s = mark_interval_s
        self._wake = asyncio.Event()
        self._book = LaneBook(max_in_flight=settings.webhook_max_in_flight, cap_of=self._cap)
        self._tasks: dict[str, asyncio.Task] = {}
        self._loaded_up_to = 0  # every pending row with a higher id is new to the book
        self._new_rows = True
        self._rescan_at = 0.0
        self._delivered: list[int] = []  # sent, not yet marked in the ledger
        self._settled: list[int] = []  # recorded in the ledger as dead, still known to the book
        self._marked: list[int] = []  # recorded as delivered, still known to the book
        # In the background: the mark waits its turn for the writer (behind the consumer's batch),
        # and lanes must not wait with it. Then a round: ids to forget, what was sent meanwhile.
        self._marking = OneAtATime("could not record deliveries as sent; trying again", then=self._wake.set)
        self._mark_at: float | None = None

    def wake(self) -> None:
        """New pending rows were committed: load them and send now rather than at the next poll."""
        self._new_rows = True
        self._wake.set()

    async def run(self) -> None:
        """Dispatch until cancelled; the HTTP client lives exactly as long as this loop."""
        async with self._webhooks.client() as client:
            try:
                while True:
                    # Cleared before looking, so a wake-up during the round starts another.
                    self._wake.clear()
                    try:
                        await self.dispatch_once(client)
                    except Exception:
                        log.exception("dispatch failed; retrying at the next poll")
                    await self._sleep()
            finally:
                await self._stop()

    async def dispatch_once(self, client: WebhookClient) -> int:
        """Load what is new, record what was sent, start a sender for each lane that may go; how many started."""
        now = time.monotonic()
        if now >= self._rescan_at:
            self._rescan_at = now + self._settings.dispatch_poll_interval_s
            self._book.add(await deliveries.pending_not_in(self._db, self._book))
            self._new_rows = True  # and what came after
        if self._new_rows:
            self._new_rows = False
            await self._load_new()
        if self._mark_at is not None and (now >= self._mark_at or len(self._delivered) >= 500):
            self._marking.start(self._mark)
        if self._settled or self._marked:
            self._book.forget(self._settled + self._marked)
            self._settled, self._marked = [], []
        lanes = self._book.take(utcnow())
        for lane in lanes:
            self._tasks[lane] = asyncio.create_task(self._send_lane(client, lane), name=f"deliveries:{lane}")
        return len(lanes)

    async def _load_new(self) -> None:
        while True:
            rows = await deliveries.pending_after(self._db, self._loaded_up_to, limit=1000)
            if not rows:
                return
            self._loaded_up_to = max(self._loaded_up_to, rows[-1].id)
            self._book.add(rows)

    async def _mark(self) -> None:
        ids, self._delivered, self._mark_at = self._delivered, [], None
        try:
            await deliveries.mark_delivered(self._db, delivery_ids=ids)
        except BaseException:
            self._delivered = ids + self._delivered  # marked by a later round
            self._mark_at = time.monotonic() + self._settings.dispatch_poll_interval_s
            raise
        self._marked.extend(ids)  # forgotten by the loop, never during a rescan

    def _cap(self, endpoint: str) -> int:
        if endpoint == fanout.SMTP_ENDPOINT:
            return self._settings.smtp_max_in_flight
        return self._settings.webhook_max_in_flight_per_endpoint

    async def _sleep(self) -> None:
        now = time.monotonic()
        wake_at = min(self._rescan_at, self._mark_at or self._rescan_at)
        timeout = max(0.0, wake_at - now)
        if (due := self._book.next_due()) is not None:
            timeout = min(timeout, max(0.0, (due - utcnow()).total_seconds()))
        await wait_for_event(self._wake, timeout)

    async def _stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._marking.finished()
        if self._delivered:
            try:
                await self._mark()
            except Exception:
                log.exception("could not record %d deliveries as sent; they will be sent again", len(self._delivered))

    async def _send_lane(self, client: WebhookClient, lane: str) -> None:
        try:
            while (delivery := self._book.head(lane)) is not None and delivery.next_attempt_at <= utcnow():
                try:
                    went = await self._attempt(client, delivery)
                except Exception:
                    # The ledger could not be written (or a bug): try again at the next poll, not at once.
                    log.exception("sending delivery %d failed; trying again later", delivery.id)
                    delivery.next_attempt_at = utcnow() + timedelta(seconds=self._settings.dispatch_poll_interval_s)
                    return
                if not went:
                    return  # backing off: the book holds the lane until its head is due
                self._book.done(lane)
        finally:
            self._tasks.pop(lane, None)
            self._book.finished(lane)
            self._wake.set()

    async def _attempt(self, client: WebhookClient, delivery: Delivery) -> bool:
        """Make one attempt and record it; True if the lane's next delivery may go."""
        if delivery.channel == Channel.EMAIL:
            failure = await self._mailer.send(delivery)
        else:
            failure = await self._webhooks.send(client, delivery)
        if failure is None:
            self._delivered.append(delivery.id)
            if self._mark_at is None:
                self._mark_at = time.monotonic() + self._mark_interval_s
            metrics.child(ATTEMPTS, delivery.channel, "delivered").inc()
            return True
        outcome = domain.after_failure(
            delivery.attempts, now=utcnow(), policy=self._policy, permanent=failure.permanent
        )
        await deliveries.mark_failed(self._db, delivery_id=delivery.id, error=failure.error, outcome=outcome)
        delivery.attempts, delivery.next_attempt_at = outcome.attempts, outcome.next_attempt_at
        dead = outcome.status == DeliveryStatus.DEAD
        if dead:
            self._settled.append(delivery.id)  # forgotten by the loop, never during a rescan
        metrics.child(ATTEMPTS, delivery.channel, "dead" if dead else "failed").inc()
        log.warning(
            "delivery %d (%s, ticket %s) failed (attempt %d): %s%s",
            delivery.id, delivery.target, delivery.ticket_id, outcome.attempts, failure.error,
            "; parked as dead" if dead else "",
        )
        # A dead delivery no longer holds its lane: the next one goes (replay with POST /deliveries/{id}/retry).
        return dead
