"""Producer, topic creation, and the guard that refills a broker that lost its topics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.config import ServiceSettings
from shared.topics import ALL_TOPICS

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def forbid_topic_auto_creation() -> None:
    """Make this process's metadata requests ask the broker not to create missing topics.

    aiokafka always asks for it, and Tansu then creates them with 4 partitions: after an empty
    restart, clients with 6-partition metadata would write to partitions nobody reads. Topics
    are created only by `ensure_topics` (the TopicGuard), with the configured partitions.
    """
    from aiokafka.protocol import metadata

    if getattr(metadata.MetadataRequest.__init__, "_escalier", False):
        return
    original = metadata.MetadataRequest.__init__

    def init(self, topics=None, allow_auto_topic_creation=False):
        original(self, topics, allow_auto_topic_creation)

    init._escalier = True
    metadata.MetadataRequest.__init__ = init


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """A producer that waits for every replica and batches briefly (idempotence: see KAFKA-NOTES.md)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        linger_ms=settings.linger_ms,
        max_request_size=MAX_MESSAGE_BYTES,
        max_batch_size=256 * 1024,
        request_timeout_ms=15000,
        client_id=f"escalier-{settings.service_name}",
    )


async def list_topics(bootstrap: str) -> set[str]:
    """The topic names the broker knows."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def ensure_topics(
    bootstrap: str, topics: Iterable[str] = ALL_TOPICS, *, partitions: int = 6, replication: int = 1
) -> list[str]:
    """Create the topics that are missing (producing to a missing topic on Tansu loses data)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        return await _create_missing(admin, topics, partitions=partitions, replication=replication)
    finally:
        await admin.close()


async def _create_missing(
    admin: AIOKafkaAdminClient, topics: Iterable[str], *, partitions: int, replication: int
) -> list[str]:
    existing = set(await admin.list_topics())
    missing = [t for t in topics if t not in existing]
    if missing:
        try:
            await admin.create_topics(
                [NewTopic(name=t, num_partitions=partitions, replication_factor=replication) for t in missing]
            )
        except TopicAlreadyExistsError:
            pass  # another service created them first
    return missing


async def wait_for_broker(bootstrap: str, timeout_s: float = 60.0) -> None:
    """Return once the broker answers metadata requests; TimeoutError otherwise."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                await list_topics(bootstrap)
                return
            except Exception:
                await asyncio.sleep(0.2)


class TopicGuard:
    """Watches for topics the broker lost (the embedded broker keeps nothing across a restart).

    When any is missing it recreates them all and calls `on_lost` (republish the outbox).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        on_lost: Callable[[], Awaitable[object]],
        *,
        interval_s: float = 5.0,
    ) -> None:
        self._settings = settings
        self._on_lost = on_lost
        self._interval_s = interval_s
        self._admin: AIOKafkaAdminClient | None = None  # one connection for every check, not one each
        self.broker_reachable = False

    async def check(self) -> bool:
        """Recreate missing topics; True if some were missing."""
        s = self._settings
        # A marker topic of this service's own: when another service recreated the topics first,
        # ours is still missing, so every service learns the broker came back empty and republishes.
        marker = f"_escalier.{s.service_name}.seen"
        try:
            if self._admin is None:
                self._admin = AIOKafkaAdminClient(bootstrap_servers=s.kafka_bootstrap_servers, request_timeout_ms=10000)
                await self._admin.start()
            missing = await _create_missing(
                self._admin, [*ALL_TOPICS, marker], partitions=s.topic_partitions, replication=s.topic_replication
            )
        except Exception:
            self.broker_reachable = False
            await self.close()  # a fresh connection next time
            return False
        self.broker_reachable = True
        return marker in missing

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            if await self.check():
                log.warning("broker had lost topics; recreated them and republishing the retained outbox")
                await self._on_lost()

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception:
                log.debug("closing the topic guard's admin client failed", exc_info=True)
