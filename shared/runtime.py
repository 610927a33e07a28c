"""What every service runs besides its own rules: database, producer, outbox relay, consumer, readiness.

Built by each service's composition root (`create_app`), started and stopped by the lifespan of its app
(`shared.web.app.service_app`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlmodel import SQLModel

from shared import asyncapi
from shared.auth import TokenVerifier
from shared.config import ServiceSettings
from shared.db import Database
from shared.messaging import doorbell, metrics
from shared.messaging.broker import TopicGuard, forbid_topic_auto_creation, make_producer, wait_for_broker
from shared.messaging.consumer import ConsumerRunner, Subscriptions
from shared.messaging.lease import LeaseKeeper
from shared.messaging.outbox import OutboxRelay
from shared.messaging.wiring import Publications, Wiring
from shared.migrations import upgrade

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0


class ServiceRuntime:
    """The plumbing of one service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        schema: str,
        publications: Publications | None = None,
    ) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings)  # refuses a placeholder secret outside development
        self.db = Database(settings.effective_database_url)
        # Kafka clients need a running loop: start() builds them.
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.guard: TopicGuard | None = None
        self.schema = schema  # whose migrations (shared/migrations.py) this database follows
        self._publications = publications or {}
        self._subscriptions: Subscriptions = {}
        self._preload: Sequence[type[SQLModel]] = ()
        self._asyncapi: dict | None = None
        self.consumer: ConsumerRunner | None = None
        self._consumer_task: asyncio.Task | None = None
        self._connected = False
        self._tasks: list[asyncio.Task] = []
        self._gauges: list[Callable[[], Awaitable[None]]] = []

    def measure(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Register a coroutine that refreshes gauges needing a query; run before each scrape."""
        self._gauges.append(refresh)

    async def refresh_gauges(self, timeout_s: float = 2.0) -> None:
        """Run every registered refresh; a slow or failing one leaves its gauges as they were."""
        for refresh in self._gauges:
            try:
                await asyncio.wait_for(refresh(), timeout_s)
            except Exception:
                log.warning("could not refresh gauges with %s", getattr(refresh, "__name__", refresh), exc_info=True)

    def set_subscriptions(self, subscriptions: Subscriptions, *, preload: Sequence[type[SQLModel]] = ()) -> None:
        """Declare what the service consumes (before start), from its `subscribers.py`: after the runtime is
        built, since handlers may need its parts (its database, say).

        `preload`: models whose rows, keyed by the subjects of a batch's events, its handlers
        look up (shared.messaging.preload): read in one query per batch.
        """
        self._subscriptions = subscriptions
        self._preload = preload

    @property
    def wiring(self) -> Wiring:
        """What this service publishes and consumes, as declared."""
        return Wiring.of(self.settings.service_name, publications=self._publications, subscriptions=self._subscriptions)

    def asyncapi(self) -> dict:
        """This service's AsyncAPI document (built once, at the first request for it)."""
        if self._asyncapi is None:
            self._asyncapi = asyncapi.document([self.wiring], title=f"Escalier events: {self.settings.service_name}")
        return self._asyncapi

    def spawn(self, coro, name: str) -> asyncio.Task:
        """Run a background loop for the service's lifetime; a crash is logged, never silent."""
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_log_crash)
        self._tasks.append(task)
        return task

    async def start(self) -> None:
        """Open the database, then connect to the bus in the background.

        The API answers as soon as the database is open: a submission accepted while the
        broker is unreachable waits in the outbox until the relay can publish it.
        """
        s = self.settings
        forbid_topic_auto_creation()
        await self.migrate()
        self.producer = make_producer(s)
        # Replicas share the database; the lease lets one relay at a time publish its outbox.
        lease = LeaseKeeper(self.db, name="outbox-relay", holder=f"{socket.gethostname()}:{s.port}")
        bell = doorbell.Bell(doorbell.folder(s.kafka_bootstrap_servers, s.wakeup_dir)) if s.consumer_wakeups else None
        self.relay = OutboxRelay(
            self.db, self.producer, poll_interval_s=s.outbox_poll_interval_s, retention_s=s.outbox_retention_s,
            lease=lease, bell=bell,
        )
        self.guard = TopicGuard(s, on_lost=self._broker_lost)
        self.measure(self._backlogs)  # at each scrape, not on a timer
        self.spawn(self._connect(), "connect")

    async def migrate(self) -> None:
        """Bring the database to the service's newest schema revision."""
        await upgrade(self.db, self.schema)

    async def _broker_lost(self) -> None:
        await self.relay.republish_retained()
        if self.consumer is not None:
            self.consumer.rewind()
        self.spawn(self._republish_again(), "republish-again")

    async def _republish_again(self) -> None:
        # Seen in the fault suite: every service republishing into freshly recreated topics at
        # once, Tansu's log shows `AlreadyExists` on produce while acknowledging records it then
        # never serves. A second pass once the partitions exist closes that hole; inboxes drop
        # the repeats. (A delay, not a synchronisation: there is no event to wait for.)
        await asyncio.sleep(self.settings.republish_again_after_s)
        await self.relay.republish_retained()

    async def _connect(self) -> None:
        s = self.settings
        while True:
            try:
                await wait_for_broker(s.kafka_bootstrap_servers, timeout_s=30)
                if await self.guard.check():
                    await self.relay.republish_retained()
                await self.producer.start()
                self._connected = True
                break
            except (TimeoutError, KafkaError):
                log.warning("broker %s unreachable; retrying", s.kafka_bootstrap_servers)
        self.spawn(self.relay.run(), "outbox-relay")
        self.spawn(self.guard.run(), "topic-guard")
        for topic in self._subscriptions:
            metrics.DEAD_LETTERED.labels(topic)  # present at zero, so rate() and alerts see the first one
        if self._subscriptions:
            self.consumer = ConsumerRunner(
                settings=s, db=self.db, producer=self.producer, subscriptions=self._subscriptions,
                preload=self._preload,
            )
            await self.consumer.start()
            self._consumer_task = self.spawn(self.consumer.run(), "consumer")

    async def _backlogs(self) -> None:
        """The outbox's backlog and age, and the consumer's lag."""
        if self._connected:
            await self.relay.backlog()
        if self.consumer is not None:
            await self.consumer.observe_lag()

    async def stop(self) -> None:
        """Finish the batch in hand, commit, publish what is pending, then close."""
        if self._consumer_task is not None:
            self.consumer.stop()
            try:
                await asyncio.wait_for(asyncio.shield(self._consumer_task), SHUTDOWN_GRACE_S)
            except Exception:
                log.warning("consumer did not finish its batch in %ss", SHUTDOWN_GRACE_S)
        if self._connected:
            try:
                await asyncio.wait_for(self.relay.relay_once(), SHUTDOWN_GRACE_S / 2)
                await asyncio.wait_for(self.relay.close(), SHUTDOWN_GRACE_S / 2)
            except Exception:
                log.warning("outbox not drained at shutdown; the next start publishes it")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.close()
        if self.guard is not None:
            await self.guard.close()
        if self._connected:
            await self.producer.stop()
        await self.db.dispose()

    async def readiness(self) -> dict[str, bool]:
        """What `/readyz` checks: the database answers, the broker is reached, the consumer has partitions."""
        checks = {"database": await self.db.ping(), "broker": self._connected and self.guard.broker_reachable}
        if self._subscriptions:
            checks["consumer_assigned"] = bool(self.consumer and self.consumer.assigned)
        return checks


def _log_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s crashed", task.get_name(), exc_info=task.exception())
