"""`escalier verify`: reconcile what intake accepted with every service's state and the event log.

Reads each service's database (the URL its own settings give: `ESCALIER_<SERVICE>_DATABASE_URL`,
else the SQLite file under the data folder) and `tickets.events` from its first offset without
a consumer group, then prints the counts and every difference (`escalier_cli/reconcile.py`).
Run it once the system has settled: facts still in flight show up as differences.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import defaultdict
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.messages.envelope import PoisonMessage, decode
from shared.messages.registry import is_public
from shared.messaging.broker import MAX_MESSAGE_BYTES, forbid_topic_auto_creation
from shared.topics import SOURCE_TOPICS, TICKETS_EVENTS, dlq

from escalier_cli.reconcile import Accepted, LoggedEvent, Report, TierHolding, reconcile

TIERS = (1, 2, 3)
QUIET_POLLS = 3


def database_urls(data_dir: Path | None, overrides: dict[str, str]) -> dict[str, str]:
    """Each service's database URL, as that service's own settings resolve it."""
    from services.intake.settings import IntakeSettings
    from services.notifier.settings import NotifierSettings
    from services.tier1.settings import Tier1Settings
    from services.tier2.settings import Tier2Settings
    from services.tier3.settings import Tier3Settings

    extra = {"data_dir": data_dir} if data_dir else {}
    settings = {
        "intake": IntakeSettings, "tier1": Tier1Settings, "tier2": Tier2Settings,
        "tier3": Tier3Settings, "notifier": NotifierSettings,
    }
    return {name: overrides.get(name) or cls(**extra).effective_database_url for name, cls in settings.items()}


async def _rows(url: str, sql: str) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def read_intake(url: str) -> list[Accepted]:
    timelines: dict[str, list[str]] = defaultdict(list)
    for ticket_id, event_id in await _rows(url, "SELECT ticket_id, event_id FROM intake_timeline ORDER BY id"):
        timelines[ticket_id].append(event_id)
    rows = await _rows(url, "SELECT id, status, tier, resolution_count FROM intake_tickets")
    return [Accepted(i, s, t, r or 0, tuple(timelines.get(i, ()))) for i, s, t, r in rows]


async def read_tiers(urls: dict[str, str]) -> list[TierHolding]:
    holdings = []
    for tier in TIERS:
        rows = await _rows(urls[f"tier{tier}"], "SELECT id, status, here, next_alarm_at FROM tier_tickets")
        holdings += [TierHolding(tier, i, s, bool(h), a is not None) for i, s, h, a in rows]
    return holdings


async def read_notifier(url: str) -> tuple[dict[str, list[str]], int]:
    """Requester-visible event ids per ticket in notifier's stream, and deliveries made twice."""
    notified: dict[str, list[str]] = defaultdict(list)
    for ticket_id, event_id in await _rows(url, "SELECT ticket_id, event_id FROM notifier_stream_events ORDER BY seq"):
        notified[ticket_id].append(event_id)
    doubled = await _rows(
        url, "SELECT event_id, target FROM notifier_deliveries GROUP BY event_id, target HAVING count(*) > 1"
    )
    return notified, len(doubled)


async def read_topics(bootstrap: str, topics: list[str], *, idle_s: float = 1.0, timeout_s: float = 120.0) -> dict:
    """Every record of each topic from its first offset, without a consumer group (read until caught up)."""
    forbid_topic_auto_creation()  # reading a topic the broker lost must not recreate it with 4 partitions
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
        client_id="escalier-verify", max_partition_fetch_bytes=MAX_MESSAGE_BYTES, fetch_max_bytes=4 * MAX_MESSAGE_BYTES,
    )
    await consumer.start()
    records: dict[str, list] = {topic: [] for topic in topics}
    try:
        async with asyncio.timeout(timeout_s):
            tps = []
            for topic in topics:
                while (partitions := consumer.partitions_for_topic(topic)) is None:
                    await consumer.topics()  # refreshes metadata
                    await asyncio.sleep(0.1)
                tps += [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            # Tansu's end offsets are wrong (KAFKA-NOTES.md): read until every partition is at its
            # highwater, or (partitions never fetched have none) until a few polls come back empty.
            quiet = 0
            while quiet < QUIET_POLLS:
                batches = await consumer.getmany(timeout_ms=int(idle_s * 1000), max_records=5000)
                for tp, batch in batches.items():
                    records[tp.topic] += batch
                quiet = 0 if batches else quiet + 1
                if not batches and all([await _caught_up(consumer, tp) for tp in tps]):
                    break
    finally:
        await consumer.stop()
    return records


async def _caught_up(consumer: AIOKafkaConsumer, tp: TopicPartition) -> bool:
    highwater = consumer.highwater(tp)
    return highwater is not None and await consumer.position(tp) >= highwater


def logged(records: list) -> tuple[list[LoggedEvent], int]:
    """The ticket facts of `tickets.events` records, and how many records were not decodable."""
    events, poison = [], 0
    for record in records:
        try:
            event = decode(record.headers, record.value, record.key)
        except PoisonMessage:
            poison += 1
            continue
        if not event.type.startswith("ticket."):
            continue
        data = event.data
        tier = getattr(data, "to_tier", None) or getattr(data, "tier", None)
        events.append(
            LoggedEvent(event.id, event.type, event.time, event.subject, is_public(event.type, data), tier)
        )
    return events, poison


async def verify(bootstrap: str, urls: dict[str, str], *, check_notifier: bool = True) -> Report:
    """Gather every service's state and the log, and reconcile them."""
    accepted = await read_intake(urls["intake"])
    holdings = await read_tiers(urls)
    notified, doubled = await read_notifier(urls["notifier"]) if check_notifier else (None, 0)
    dead_letters = [dlq(topic) for topic in SOURCE_TOPICS]
    records = await read_topics(bootstrap, [TICKETS_EVENTS, *dead_letters])
    log, poison = logged(records[TICKETS_EVENTS])
    report = reconcile(accepted, holdings, log, notified)
    if doubled:
        report.differences.append(f"notifier made {doubled} deliveries twice (same event, same target)")
    dead = {topic: len(records[dlq(topic)]) for topic in SOURCE_TOPICS}
    report.counts |= {
        "log records not decodable": poison,
        **{f"dead-lettered {topic}": n for topic, n in dead.items() if n},
        "notifier double deliveries": doubled,
        "differences": len(report.differences),
    }
    return report


def cmd_verify(args: argparse.Namespace) -> int:
    overrides = dict(item.split("=", 1) for item in args.database or [])
    urls = database_urls(Path(args.data_dir) if args.data_dir else None, overrides)
    report = asyncio.run(verify(args.bootstrap, urls, check_notifier=not args.no_notifier))
    print("\n".join(report.lines(limit=args.show)), flush=True)
    return 0 if report.ok else 1


def add_parser(sub) -> None:
    """The `verify` subcommand."""
    verify_cmd = sub.add_parser("verify", help="reconcile intake, the tiers, notifier and the event log; exit 1 on any difference")
    verify_cmd.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    verify_cmd.add_argument("--data-dir", default=os.environ.get("ESCALIER_DATA_DIR"), help="where the SQLite files are")
    verify_cmd.add_argument("--database", action="append", metavar="SERVICE=URL", help="a service's database URL (repeatable)")
    verify_cmd.add_argument("--no-notifier", action="store_true", help="leave notifier's stream out of the comparison")
    verify_cmd.add_argument("--show", type=int, default=50, help="differences printed at most")
    verify_cmd.set_defaults(func=cmd_verify)
