"""The dispatcher: sends pending deliveries, in order within each lane, lanes side by side.

A lane is one target (the ticket's callback, a subscription, the requester's mailbox, the
escalation contact's) and one ticket, so a slow or dead endpoint holds up only its own lanes;
an endpoint never has more than a few lanes in flight, so it cannot take every slot either.

The ledger (the deliveries table) is the truth; the dispatcher holds its pending rows in
memory (`LaneBook`) so that choosing what goes next costs no query. Deliveries are handed over
as the transaction that made them commits (`hand_off`, from the commit hook), never read back;
a rescan of the ledger, at startup and every `dispatch_rescan_interval_s`, finds what was not
handed over (another replica's, a crash's leftovers). Between those the loop sleeps until
something is due: a hand-off, a lane finishing, a backoff falling due, outcomes to record.
Outcomes (delivered, failed) are recorded in bulk at most every `mark_interval_s`.

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

from services.notifier.channels.email.mailer import Mailer
from services.notifier.channels.webhook.client import WebhookClient
from services.notifier.channels.webhook.sender import WebhookSender
from services.notifier.dispatch import ledger
from services.notifier.dispatch.domain import RetryPolicy, after_failure
from services.notifier.dispatch.lanes import LaneBook
from services.notifier.domain import SMTP_ENDPOINT, Channel, DeliveryStatus, PendingDelivery
from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)

ATTEMPTS = Counter("escalier_notifications_total", "Delivery attempts made", ["channel", "outcome"])


class Dispatcher:
    """Woken by hand-offs, by lanes finishing, by backoffs falling due, and by the rescan."""

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
        self._rescan_at = 0.0  # at once: what a previous run left pending
        self._delivered: list[int] = []  # sent, not yet recorded in the ledger
        self._failed: list[ledger.FailedAttempt] = []  # failed, not yet recorded
        self._settled: list[int] = []  # recorded as no longer pending, still known to the book
        # In the background: the record waits its turn for the writer (behind the consumer's
        # batch), and lanes must not wait with it.
        self._marking = OneAtATime("could not record deliveries' outcomes; trying again", then=self._wake.set)
        self._mark_at: float | None = None

    def hand_off(self, pending: list[PendingDelivery]) -> None:
        """Deliveries just committed as pending: hold them and send now."""
        if self._book.add(pending):
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
                        log.exception("dispatch failed; retrying in %g s", self._settings.dispatch_retry_after_s)
                        self._rescan_at = time.monotonic() + self._settings.dispatch_retry_after_s
                    await self._sleep()
            finally:
                await self._stop()

    async def dispatch_once(self, client: WebhookClient) -> int:
        """Rescan when due, record outcomes, start a sender for each lane that may go; how many started."""
        now = time.monotonic()
        if now >= self._rescan_at:
            self._rescan_at = now + self._settings.dispatch_rescan_interval_s
            self._book.add(await ledger.pending_not_in(self._db, self._book))
        if self._mark_at is not None and (now >= self._mark_at or len(self._delivered) >= 500):
            self._marking.start(self._mark)
        if self._settled:
            # Forgotten here, never during a rescan: one that read a row as pending just before
            # its outcome was recorded must still find it known.
            self._book.forget(self._settled)
            self._settled = []
        lanes = self._book.take(utcnow())
        for lane in lanes:
            self._tasks[lane] = asyncio.create_task(self._send_lane(client, lane), name=f"deliveries:{lane}")
        return len(lanes)

    async def _mark(self) -> None:
        delivered, failed = self._delivered, self._failed
        self._delivered, self._failed, self._mark_at = [], [], None
        try:
            await ledger.record_outcomes(self._db, delivered=delivered, failed=failed)
        except BaseException:
            # Recorded by a later round, before what came meanwhile.
            self._delivered, self._failed = delivered + self._delivered, failed + self._failed
            self._mark_at = time.monotonic() + self._settings.dispatch_retry_after_s
            raise
        self._settled.extend(delivered)
        self._settled.extend(f.delivery_id for f in failed if f.outcome.status == DeliveryStatus.DEAD)

    def _cap(self, endpoint: str) -> int:
        if endpoint == SMTP_ENDPOINT:
            return self._settings.smtp_max_in_flight
        return self._settings.webhook_max_in_flight_per_endpoint

    async def _sleep(self) -> None:
        """Until woken, or until the next thing falls due: the rescan, a record, a backoff."""
        wake_at = min(self._rescan_at, self._mark_at or self._rescan_at)
        timeout = max(0.0, wake_at - time.monotonic())
        if (due := self._book.next_due()) is not None:
            timeout = min(timeout, max(0.0, (due - utcnow()).total_seconds()))
        await wait_for_event(self._wake, timeout)

    async def _stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._marking.finished()
        if self._delivered or self._failed:
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
                    # The ledger could not be read (a subscription's secret) or a bug: not again at once.
                    log.exception("sending delivery %d failed; trying again later", delivery.id)
                    delivery.next_attempt_at = utcnow() + timedelta(seconds=self._settings.dispatch_retry_after_s)
                    return
                if not went:
                    return  # backing off: the book holds the lane until its head is due
                self._book.done(lane)
        finally:
            self._tasks.pop(lane, None)
            self._book.finished(lane)
            self._wake.set()

    async def _attempt(self, client: WebhookClient, delivery: PendingDelivery) -> bool:
        """Make one attempt, to be recorded; True if the lane's next delivery may go."""
        if delivery.channel == Channel.EMAIL:
            failure = await self._mailer.send(delivery)
        else:
            failure = await self._webhooks.send(client, delivery)
        if failure is None:
            self._delivered.append(delivery.id)
            self._record_soon()
            metrics.child(ATTEMPTS, delivery.channel, "delivered").inc()
            return True
        outcome = after_failure(
            delivery.attempts, now=utcnow(), policy=self._policy, permanent=failure.permanent
        )
        self._failed.append(ledger.FailedAttempt(delivery.id, failure.error, outcome))
        self._record_soon()
        delivery.attempts, delivery.next_attempt_at = outcome.attempts, outcome.next_attempt_at
        dead = outcome.status == DeliveryStatus.DEAD
        metrics.child(ATTEMPTS, delivery.channel, "dead" if dead else "failed").inc()
        log.warning(
            "delivery %d (%s, ticket %s) failed (attempt %d): %s%s",
            delivery.id, delivery.target, delivery.ticket_id, outcome.attempts, failure.error,
            "; parked as dead" if dead else "",
        )
        # A dead delivery no longer holds its lane: the next one goes (replay with POST /deliveries/{id}/retry).
        return dead

    def _record_soon(self) -> None:
        # One transaction for every outcome of the next `mark_interval_s`, not one per attempt.
        # The loop is told, so that its sleep ends in time even while a long lane goes on.
        if self._mark_at is None:
            self._mark_at = time.monotonic() + self._mark_interval_s
            self._wake.set()
